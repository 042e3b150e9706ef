package dns

import (
	"errors"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/hub/snapshot"
	"github.com/rampart-cert/rampart/internal/intel"
)

func TestBatcherMergesAndKeepsWhatFailed(t *testing.T) {
	var sent [][]byte
	fail := false
	b, err := NewBatcher("hn1", func(subject string, data []byte) error {
		if subject != "rampart.dns.hn1.blocked" {
			t.Errorf("subject %s", subject)
		}
		if fail {
			return errors.New("down")
		}
		sent = append(sent, data)
		return nil
	}, BatcherOptions{MaxPending: 3})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	host := netip.MustParseAddr("198.51.100.7")
	for i := range 1000 {
		b.Blocked(host, "Evil.Example.", "malware", t0.Add(time.Duration(i)*time.Millisecond))
	}
	b.Blocked(netip.MustParseAddr("::ffff:198.51.100.8"), "evil.example", "malware", t0)
	fail = true
	if err := b.Flush(); err == nil {
		t.Fatal("a failed publish reported no error")
	}
	fail = false
	b.Blocked(host, "evil.example", "malware", t0.Add(-time.Second))
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 1 {
		t.Fatalf("%d reports", len(sent))
	}
	r, err := DecodeBlockedReport(sent[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Items) != 2 {
		t.Fatalf("items %+v", r.Items)
	}
	for _, it := range r.Items {
		if it.Client == host && (it.Count != 1001 || !it.First.Equal(t0.Add(-time.Second)) || it.Name != "evil.example") {
			t.Errorf("merged item %+v", it)
		}
		if it.Client != host && it.Client != netip.MustParseAddr("198.51.100.8") {
			t.Errorf("client %s not unmapped", it.Client)
		}
	}
	// Beyond MaxPending distinct items, new ones are counted as dropped.
	for i := range 5 {
		b.Blocked(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), "evil.example", "malware", t0)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	r, _ = DecodeBlockedReport(sent[1])
	if len(r.Items) != 3 || r.Dropped != 2 {
		t.Fatalf("items %d dropped %d", len(r.Items), r.Dropped)
	}
	if os.Getenv("UPDATE_SEEDS") != "" {
		os.WriteFile("testdata/report.json", sent[0], 0o644)
	}
}

func TestResolverOf(t *testing.T) {
	for subj, want := range map[string]string{"rampart.dns.hn1.blocked": "hn1", "rampart.dns.HN1.blocked": "", "rampart.dns.a.b.blocked": "", "rampart.sensor.x.blocked": ""} {
		got, ok := ResolverOf(subj)
		if got != want || ok != (want != "") {
			t.Errorf("%s: %q %v", subj, got, ok)
		}
	}
}

func FuzzDecodeBlockedReport(f *testing.F) {
	b, err := os.ReadFile("testdata/report.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"id":"x","items":[{"client":"::1","name":"a..b","list":"l","count":1,"first":"2026-12-07T10:00:00Z","last":"2026-12-07T10:00:00Z"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeBlockedReport(b)
		if err != nil {
			return
		}
		for _, it := range r.Items {
			if !it.Client.IsValid() || it.Count <= 0 || it.Last.Before(it.First) {
				t.Fatalf("accepted a bad item %+v", it)
			}
			if n, ok := canonicalName(it.Name); !ok || n != it.Name {
				t.Fatalf("name %q not canonical", it.Name)
			}
		}
	})
}

func TestSpecOf(t *testing.T) {
	pol := snapshot.Policy{Lists: []snapshot.ListRule{
		{Name: "phishing", Action: snapshot.ActionRedirect, Categories: []intel.Category{intel.CategoryPhishing}},
		{Name: "urlhaus", Action: snapshot.ActionNoData, Feeds: []string{"urlhaus"}},
	}, RedirectA: "192.0.2.80", RedirectTTL: 30}
	domains := map[string]snapshot.Entry{
		"phish.example": {Kind: intel.KindDomain, Value: "phish.example", Category: intel.CategoryPhishing, Feed: "urlhaus"},
		"mal.example":   {Kind: intel.KindDomain, Value: "mal.example", Category: intel.CategoryMalware, Feed: "urlhaus"},
		"c2.example":    {Kind: intel.KindDomain, Value: "c2.example", Category: intel.CategoryC2, Feed: "feodo"},
	}
	spec, err := SpecOf(7, domains, []string{"ok.example"}, &pol)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]struct {
		list string
		act  Action
	}{"www.phish.example": {"phishing", ActionRedirect}, "mal.example": {"urlhaus", ActionNoData}, "c2.example": {snapshot.DefaultList, ActionNXDomain}} {
		list, act, blocked := p.Lookup(name)
		if !blocked || list != want.list || act != want.act {
			t.Errorf("%s: %s %s %v", name, list, act, blocked)
		}
	}
	if _, _, blocked := p.Lookup("ok.example"); blocked {
		t.Error("an allowlisted name is blocked")
	}
	bad := pol
	bad.RedirectA = "2001:db8::1"
	if _, err := SpecOf(7, domains, nil, &bad); err == nil {
		t.Error("an IPv6 walled garden for A answers passed")
	}
}

func TestClientIndexLongestPrefix(t *testing.T) {
	ix := &clientIndex{}
	ix.add(netip.MustParsePrefix("198.51.100.0/24"), owner{1, 10})
	ix.add(netip.MustParsePrefix("198.51.100.8/29"), owner{2, 20})
	ix.add(netip.MustParsePrefix("2001:db8::/32"), owner{3, 30})
	ix.done()
	for a, want := range map[string]int64{"198.51.100.9": 2, "198.51.100.200": 1, "::ffff:198.51.100.10": 2, "2001:db8::5": 3, "203.0.113.1": 0} {
		o, ok := ix.lookup(netip.MustParseAddr(a))
		if o.org != want || ok != (want != 0) {
			t.Errorf("%s: org %d", a, o.org)
		}
	}
}
