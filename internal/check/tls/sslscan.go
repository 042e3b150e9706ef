package tls

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"os/exec"

	"github.com/rampart-cert/rampart/internal/probe/tlsprobe"
)

// SSLScan runs the sslscan program at bin against addr and returns its
// protocol verdicts. It exists to cross-check our enumeration (tests and
// bench/tls); checks never call it.
func SSLScan(ctx context.Context, bin, addr string, extraArgs ...string) (map[tlsprobe.Version]bool, error) {
	args := append([]string{"--no-colour", "--xml=-"}, extraArgs...)
	args = append(args, addr)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("tls: sslscan %s: %w: %s", addr, err, stderr.Bytes())
	}
	return ParseSSLScanXML(out.Bytes())
}

// ParseSSLScanXML reads the protocol elements of sslscan's --xml output.
func ParseSSLScanXML(b []byte) (map[tlsprobe.Version]bool, error) {
	// sslscan prints its console report before the XML with --xml=-
	// unless quiet; start at the XML declaration.
	if i := bytes.Index(b, []byte("<?xml")); i > 0 {
		b = b[i:]
	}
	var doc struct {
		Tests []struct {
			Protocols []struct {
				Type    string `xml:"type,attr"`
				Version string `xml:"version,attr"`
				Enabled string `xml:"enabled,attr"`
			} `xml:"protocol"`
		} `xml:"ssltest"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("tls: sslscan xml: %w", err)
	}
	if len(doc.Tests) == 0 {
		return nil, fmt.Errorf("tls: sslscan xml: no ssltest element")
	}
	names := map[string]tlsprobe.Version{
		"ssl/3": tlsprobe.SSL30, "tls/1.0": tlsprobe.TLS10, "tls/1.1": tlsprobe.TLS11,
		"tls/1.2": tlsprobe.TLS12, "tls/1.3": tlsprobe.TLS13,
	}
	out := map[tlsprobe.Version]bool{}
	for _, p := range doc.Tests[0].Protocols {
		if v, ok := names[p.Type+"/"+p.Version]; ok {
			out[v] = p.Enabled == "1"
		}
	}
	return out, nil
}
