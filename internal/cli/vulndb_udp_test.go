package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// memcachedCVE keeps the fields the matcher reads of NVD's record of
// CVE-2018-1000115 (memcached 1.5.5's UDP amplification).
const memcachedCVE = `{"id": "CVE-2018-1000115", "sourceIdentifier": "cve@mitre.org", "published": "2018-03-05T14:29:00.203",
 "lastModified": "2024-11-21T03:39:40.657", "vulnStatus": "Modified",
 "descriptions": [{"lang": "en", "value": "Memcached version 1.5.5 contains an Insufficient Control of Network Message Volume vulnerability in the UDP support of the memcached server."}],
 "metrics": {"cvssMetricV30": [{"source": "nvd@nist.gov", "type": "Primary", "cvssData": {"version": "3.0", "vectorString": "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", "baseScore": 7.5, "baseSeverity": "HIGH"}}]},
 "configurations": [{"nodes": [{"operator": "OR", "negate": false, "cpeMatch": [{"vulnerable": true, "criteria": "cpe:2.3:a:memcached:memcached:1.5.5:*:*:*:*:*:*:*", "matchCriteriaId": "81CD27E0-30C4-484D-A846-6121C88C49EA"}]}]}]}`

// TestVulnDBRetroHuntUDP: a UDP service in the inventory (memcached on
// 11211/udp, heard by a UDP scan) is matched again on import like a TCP
// one, and its finding names the UDP service as the worker would.
func TestVulnDBRetroHuntUDP(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	sys := auth.SystemPrincipal
	host := seedScannedHost(t, data, org.Organization{Code: "U", Name: "U", NameEN: "U", Kind: org.KindAgency}, store.ScanReport{JobID: "scan-u",
		Hosts: []string{"192.0.2.11"}, UDPHosts: []string{"192.0.2.11"}, UDPPorts: []int{11211},
		Open: []store.Observation{{IP: "192.0.2.11", Port: 11211, Proto: "udp", Service: "memcached", Product: "memcached", Version: "1.5.5"}}})

	r := must(t, runCLI(t, nil, "", "vulndb", "import", "--data", data, write(t, dir, "CVE-2018-1000115.json", memcachedCVE)))
	if !strings.Contains(r.stdout, "retro-hunt: 1 open services on 1 assets matched again, 1 new findings") {
		t.Fatalf("import: %s%s", r.stdout, r.stderr)
	}
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(data, "rampart.db"), nil)
	must0(t, err)
	defer st.Close()
	page, err := st.ListFindings(ctx, sys, store.FindingFilter{AssetID: host.ID})
	must0(t, err)
	if len(page.Items) != 1 {
		t.Fatalf("findings: %+v", page.Items)
	}
	f := page.Items[0]
	if f.Check != "vuln.known-cve" || f.Subject != "CVE-2018-1000115" || f.Target != "192.0.2.11:11211/udp" || f.State != finding.StateOpen {
		t.Fatalf("UDP finding: %+v", f)
	}
}
