package discovery_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/discovery"
	"github.com/rampart-cert/rampart/internal/discovery/ct"
	"github.com/rampart-cert/rampart/internal/discovery/dnsdisc"
	"github.com/rampart-cert/rampart/internal/lab"
)

func startLab(t testing.TB, base string) *lab.Lab {
	t.Helper()
	l, err := lab.Start(context.Background(), lab.Options{Base: netip.MustParseAddr(base)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// labRun discovers under the lab's registered zones with every DNS
// source and the lab's CT log.
func labRun(t testing.TB, l *lab.Lab) (*sink, discovery.Stats) {
	t.Helper()
	key, err := ct.ParseKey(l.CTLogKey())
	must(t, err)
	var zones []string
	for _, d := range l.Domains() {
		if d.Name != "khuyenmai.hcm-demo.gov.vn" {
			zones = append(zones, d.Name)
		}
	}
	o := discovery.Options{
		Sources:  []discovery.Source{discovery.SourceCT, discovery.SourceAXFR, discovery.SourceWordlist, discovery.SourceNSEC},
		Resolver: &dnsdisc.Resolver{Server: l.DNSAddr(), Timeout: 2 * time.Second, Limiter: dnsdisc.NewLimiter(2000, 50)},
		CTLogs:   []discovery.CTLog{{Client: &ct.Client{URL: l.CTLogURL(), Key: key}}},
		Dial:     l.Dial,
	}
	var s sink
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := discovery.Run(ctx, discovery.Targets{Domains: zones}, o, s.emit)
	must(t, err)
	return &s, st
}

// TestLabSources runs discovery on the demo lab: each unregistered name
// is found by its one source, and by no source that should not see it.
func TestLabSources(t *testing.T) {
	l := startLab(t, "127.77.96.0")
	s, st := labRun(t, l)
	for src, ss := range st.Sources {
		t.Logf("%s: %d targets, %d found, errors %v", src, ss.Targets, ss.Found, ss.Errors)
	}
	bySource := map[discovery.Source][]string{}
	for _, src := range discovery.Sources {
		bySource[src] = s.values(src)
	}
	for _, u := range l.Unregistered() {
		src := discovery.Source(u.Source)
		if !slices.Contains(bySource[src], u.Name) {
			t.Errorf("%s not found by %s (found %v)", u.Name, src, bySource[src])
		}
	}
	// The CT-only name is nowhere else; the zone-only name is not in the
	// wordlist nor CT; the NSEC-only name not in the wordlist.
	for src, absent := range map[discovery.Source][]string{
		discovery.SourceWordlist: {"hoso-truc-tuyen.hn-demo.gov.vn", "sukien2023.hcm-demo.gov.vn", "noibo.btttt-demo.gov.vn"},
		discovery.SourceAXFR:     {"hoso-truc-tuyen.hn-demo.gov.vn", "vpn.epay-demo.vn", "noibo.btttt-demo.gov.vn"},
		discovery.SourceCT:       {"sukien2023.hcm-demo.gov.vn", "vpn.epay-demo.vn", "shop.thuongmai-demo.vn"},
	} {
		for _, n := range absent {
			if slices.Contains(bySource[src], n) {
				t.Errorf("%s found by %s", n, src)
			}
		}
	}
	// Names are resolved through the lab DNS before they are emitted.
	for _, c := range s.cs {
		if c.Name == "hoso-truc-tuyen.hn-demo.gov.vn" && len(c.Addresses) != 1 {
			t.Errorf("CT candidate without its address: %+v", c)
		}
		if c.Name == "sukien2023.hcm-demo.gov.vn" && (len(c.CNAMEs) != 1 || c.CNAMEs[0] != "hcm-demo-sukien2023.azurewebsites.net") {
			t.Errorf("AXFR candidate without its CNAME: %+v", c)
		}
	}
	if ctst := st.CT[l.CTLogURL()]; ctst.Entries != 7 || ctst.Bad != 0 {
		t.Errorf("CT stats %+v", ctst)
	}
}
