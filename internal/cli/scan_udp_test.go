package cli

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/probe/udpscan/udptest"
)

// rampart scan --udp scans the UDP ports beside TCP, prints open UDP
// ports as proto "udp" and the UDP totals in the summary, and runs the
// UDP checks (an SNMP agent on 161 answering "public", when this test may
// bind a privileged port).
func TestScanUDP(t *testing.T) {
	const ip = "127.74.0.1"
	echo := udptest.Start(t, ip, 0, func(req []byte, _ netip.AddrPort, w udptest.Responder) { w.Reply([]byte("hello")) })
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	closed := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	udpPorts := fmt.Sprintf("%d,%d", echo.Addr.Port(), closed)
	snmp, err := udptest.Listen(ip, 161, udptest.SNMP("Linux edge 5.10", "public"))
	if err == nil {
		t.Cleanup(snmp.Close)
		udpPorts += ",161"
	} else {
		t.Logf("no agent on %s:161 (%v): the SNMP finding is not looked for", ip, err)
	}
	data := filepath.Join(t.TempDir(), "data")
	r := runCLI(t, nil, "", "scan", "--data", data, "--ports", "1", "--udp", "--udp-ports", udpPorts, "--timeout", "300ms",
		"--scope", "none", "--checks", "udp", ip)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	ports := map[int]map[string]any{}
	findings := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		switch m["type"] {
		case "port":
			ports[int(m["port"].(float64))] = m
		case "finding":
			findings[m["check"].(string)] = m["target"].(string)
		}
	}
	e := ports[int(echo.Addr.Port())]
	if e["proto"] != "udp" || e["service"] != "unknown" || e["banner"] != "hello" {
		t.Fatalf("echo port %v\n%s", e, r.stdout)
	}
	if _, ok := ports[closed]; ok {
		t.Fatal("the closed port was reported")
	}
	want := "UDP: 2 probed, 1 open, 1 closed, 0 filtered, 0 open|filtered"
	if snmp != nil {
		want = "UDP: 3 probed, 2 open, 1 closed, 0 filtered, 0 open|filtered"
		if ports[161]["service"] != "snmp" || findings["svc.snmp-default-community"] != ip+":161/udp" {
			t.Fatalf("snmp: %v %v", ports[161], findings)
		}
	}
	if !strings.Contains(r.stderr, want) {
		t.Fatalf("summary: %s", r.stderr)
	}
	// Without --udp nothing is sent over UDP.
	before := echo.Requests.Load()
	if r := runCLI(t, nil, "", "scan", "--data", data, "--ports", "1", "--timeout", "300ms", "--scope", "none", ip); r.code != 0 || strings.Contains(r.stderr, "UDP:") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if echo.Requests.Load() != before {
		t.Fatal("a scan without --udp sent UDP probes")
	}
}
