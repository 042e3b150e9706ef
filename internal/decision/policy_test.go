package decision

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/store"
)

func TestJudge(t *testing.T) {
	three := []Reporter{{Org: "A"}, {Org: "B"}, {Org: "C", Critical: true}}
	for _, tc := range []struct {
		name  string
		in    Input
		state store.DecisionState
		rule  string
	}{
		{"three members", Input{Reporters: three}, store.DecisionActive, ""},
		{"registered asset", Input{Reporters: three, Held: true, Guard: blocklist.Review{Rule: blocklist.RuleRegistered}}, store.DecisionPending, RuleConstituency},
		{"special", Input{Reporters: three, Held: true, Guard: blocklist.Review{Rule: blocklist.RuleSpecial}}, store.DecisionPending, RuleSpecial},
		{"public resolver", Input{Reporters: three, Public: "Google Public DNS"}, store.DecisionPending, RulePublic},
		{"configured", Input{Reporters: three, NeverAuto: netip.MustParsePrefix("203.0.113.0/24")}, store.DecisionPending, RuleNeverAuto},
		{"critical alone", Input{Reporters: []Reporter{{Org: "D", Critical: true}}}, store.DecisionPending, RuleCritical},
		{"normal alone", Input{Reporters: []Reporter{{Org: "A"}}}, store.DecisionActive, ""},
		{"approve all", Input{Reporters: three, ApproveAll: true}, store.DecisionPending, RuleApproveAll},
		// The registry wins over the rest.
		{"registered and public", Input{Reporters: three, Public: "x", Held: true, Guard: blocklist.Review{Rule: blocklist.RuleRegistered}}, store.DecisionPending, RuleConstituency},
	} {
		v := Judge(tc.in)
		if v.State != tc.state || v.Rule != tc.rule || (v.State == store.DecisionPending) != (v.Reason != "" || tc.in.Held) {
			t.Errorf("%s: %+v, want %s %q", tc.name, v, tc.state, tc.rule)
		}
	}
}

func TestPublicServices(t *testing.T) {
	n := PublicServices()
	if n.Len() < 40 {
		t.Fatalf("only %d public networks", n.Len())
	}
	for addr, want := range map[string]string{
		"8.8.8.8": "Google Public DNS", "1.1.1.1": "Cloudflare DNS", "2606:4700:4700::1111": "Cloudflare DNS",
		"104.16.1.1": "Cloudflare CDN", "151.101.1.1": "Fastly CDN", "9.9.9.9": "Quad9", "::ffff:8.8.4.4": "Google Public DNS",
	} {
		got, ok := n.Lookup(netip.MustParseAddr(addr))
		if !ok || got.Name != want {
			t.Errorf("%s: %+v %v, want %s", addr, got, ok, want)
		}
	}
	if got, ok := n.Lookup(netip.MustParseAddr("203.0.113.7")); ok {
		t.Errorf("203.0.113.7 is public: %+v", got)
	}
	if _, err := ParseNetworks(strings.NewReader("10.0.0.0/33 bad\n")); err == nil {
		t.Error("a bad prefix parsed")
	}
}

func FuzzParseNetworks(f *testing.F) {
	f.Add(publicInfraText)
	f.Add("203.0.113.0/24 never_auto\n198.51.100.7\n# comment\n")
	f.Add("::ffff:1.2.3.4/128 x\n2001:db8::/32\tname with spaces # c\n")
	f.Add("1.2.3.4/99\n")
	f.Fuzz(func(t *testing.T, text string) {
		n, err := ParseNetworks(strings.NewReader(text))
		if err != nil {
			return
		}
		for i := 1; i < len(n.list); i++ {
			if n.list[i-1].Prefix.Bits() < n.list[i].Prefix.Bits() {
				t.Fatalf("not most specific first: %v", n.list)
			}
		}
		_, _ = n.Lookup(netip.MustParseAddr("203.0.113.7"))
	})
}
