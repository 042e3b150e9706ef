package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/dns"
	"github.com/rampart-cert/rampart/internal/hub/snapshot"
	"github.com/rampart-cert/rampart/internal/intel"
)

// TestSnapshotOptionsFromConfig: the dns: section becomes the policy the
// resolvers get.
func TestSnapshotOptionsFromConfig(t *testing.T) {
	o, err := snapshotOptions(&config.DNSConfig{
		Lists:         []config.DNSList{{Name: "phishing", Action: "REDIRECT", Categories: []string{"Phishing"}}},
		DefaultAction: "nodata", WalledGardenA: "192.0.2.80", RedirectTTL: 30, Contact: "soc@cert.example", Allow: []string{"ok.example"}, MaxTLP: "amber",
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.MaxTLP != intel.TLPAmber || o.Allow[0] != "ok.example" || o.DNS.RedirectA != "192.0.2.80" || o.DNS.RedirectTTL != 30 ||
		o.DNS.Lists[0].Action != snapshot.ActionRedirect || o.DNS.Lists[0].Categories[0] != intel.CategoryPhishing ||
		o.DNS.Default.Action != snapshot.ActionNoData || o.DNS.Default.Name != snapshot.DefaultList {
		t.Fatalf("options %+v", o)
	}
	if err := o.DNS.Validate(); err != nil {
		t.Fatal(err)
	}
	if o, err := snapshotOptions(nil); err != nil || o.MaxTLP != "" {
		t.Fatalf("no section: %+v %v", o, err)
	}
}

// TestPlatformWalledGarden: the platform's walled garden finds the list of
// a blocked name (or of its parent) in the published snapshot.
func TestPlatformWalledGarden(t *testing.T) {
	w := newDNSWorld(t)
	waitUntil(t, 10*time.Second, "the first snapshot", func() bool { return w.pdns.Publisher.Current() != nil })
	g := &gardenLookup{pub: w.pdns.Publisher}
	for name, want := range map[string]string{"login.phish.example": "phishing", "dropper.example": "urlhaus", "evil-c2.example": "rampart", "fine.example": ""} {
		if got, blocked := g.lookup(name); got != want || blocked != (want != "") {
			t.Errorf("%s: %q %v", name, got, blocked)
		}
	}
	h := dns.GardenHandler(g.lookup, func() string { return "soc@cert.example" })
	req := httptest.NewRequest("GET", "http://login.phish.example/some/path", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body := rec.Body.String()
	if rec.Code != http.StatusForbidden || !strings.Contains(body, "<strong>phishing</strong>") || !strings.Contains(body, "Truy cập tới tên miền này đã bị chặn") {
		t.Fatalf("page %d: %s", rec.Code, body)
	}
	// Hostile Host headers are escaped, never echoed raw.
	req = httptest.NewRequest("GET", "http://x/", nil)
	req.Host = "<script>alert(1)</script>.example"
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if strings.Contains(rec.Body.String(), "<script>") {
		t.Fatal("the Host header reached the page unescaped")
	}
}
