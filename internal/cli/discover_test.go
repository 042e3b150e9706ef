package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	demolab "github.com/rampart-cert/rampart/internal/lab"
)

// TestDiscoverCommand runs `rampart discover` against the demo lab's DNS
// and CT log and reads its JSON lines as a script would.
func TestDiscoverCommand(t *testing.T) {
	l, err := demolab.Start(context.Background(), demolab.Options{Base: netip.MustParseAddr("127.77.100.0")})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	words := filepath.Join(t.TempDir(), "words.txt")
	if err := os.WriteFile(words, []byte("www\nvpn\nmail\nnothere\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	code := Run(context.Background(), []string{"discover", "--data", t.TempDir(), "--sources", "ct,wordlist", "--resolver", l.DNSAddr(),
		"--ct-log", l.CTLogURL(), "--ct-from", "0", "--wordlist", words, "hn-demo.gov.vn", "epay-demo.vn"}, env)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	type line struct {
		Type      string   `json:"type"`
		Name      string   `json:"name"`
		Source    string   `json:"source"`
		Addresses []string `json:"addresses"`
	}
	got := map[string]line{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var ln line
		if err := json.Unmarshal(sc.Bytes(), &ln); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if ln.Type != "candidate" {
			t.Fatalf("line type %q", ln.Type)
		}
		got[ln.Source+" "+ln.Name] = ln
	}
	for _, want := range []string{"ct hoso-truc-tuyen.hn-demo.gov.vn", "ct dichvucong.hn-demo.gov.vn", "wordlist vpn.epay-demo.vn", "wordlist www.hn-demo.gov.vn"} {
		if _, ok := got[want]; !ok {
			t.Errorf("no candidate %q in:\n%s", want, out.String())
		}
	}
	if ln := got["wordlist vpn.epay-demo.vn"]; len(ln.Addresses) != 1 || !strings.HasPrefix(ln.Addresses[0], "127.77.103.") {
		t.Errorf("vpn.epay-demo.vn addresses %v", ln.Addresses)
	}
	for k := range got {
		if strings.Contains(k, "thuongmai-demo") || strings.Contains(k, "btttt-demo") {
			t.Errorf("candidate %q is under no target", k)
		}
	}
	if !strings.Contains(errb.String(), "candidates") {
		t.Errorf("no summary: %s", errb.String())
	}
	if code := Run(context.Background(), []string{"discover", "--sources", "ct,whois", "x.vn"}, env); code != 2 {
		t.Fatalf("unknown source: exit %d", code)
	}
}
