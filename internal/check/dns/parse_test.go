package dns

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSPF(t *testing.T) {
	cases := []struct {
		in      string
		err     error
		mechs   []string // String() of each mechanism
		all     byte
		redir   string
		lookups int
	}{
		{in: "v=spf1 -all", mechs: []string{"-all"}, all: '-'},
		{in: "V=SPF1 MX A:Mail.Example.org/24 ~ALL", mechs: []string{"+mx", "+a:Mail.Example.org/24", "~all"}, all: '~', lookups: 2},
		{in: "v=spf1", mechs: nil},
		{in: "v=spf1  ip4:192.0.2.0/24   ip6:2001:db8::/32 include:_spf.example.org ?all", mechs: []string{"+ip4:192.0.2.0/24", "+ip6:2001:db8::/32", "+include:_spf.example.org", "?all"}, all: '?', lookups: 1},
		{in: "v=spf1 a/24//64 mx//64 ptr exists:%{i}.spf.example.org redirect=_spf.example.org exp=explain.example.org x-custom=1", mechs: []string{"+a/24//64", "+mx//64", "+ptr", "+exists:%{i}.spf.example.org"}, redir: "_spf.example.org", lookups: 4},
		{in: "v=spf1 all", mechs: []string{"+all"}, all: '+'},
		{in: "v=spf10 -all", err: ErrNotSPF},
		{in: "spf1 -all", err: ErrNotSPF},
		{in: "", err: ErrNotSPF},
		{in: "v=spf1 foo -all", err: ErrSPFSyntax},
		{in: "v=spf1 ip4:300.1.1.1 -all", err: ErrSPFSyntax},
		{in: "v=spf1 ip4:192.0.2.1/33 -all", err: ErrSPFSyntax},
		{in: "v=spf1 ip4:2001:db8::1 -all", err: ErrSPFSyntax},
		{in: "v=spf1 ip6:2001:db8::/129", err: ErrSPFSyntax},
		{in: "v=spf1 include -all", err: ErrSPFSyntax},
		{in: "v=spf1 all:example.org", err: ErrSPFSyntax},
		{in: "v=spf1 redirect=a.example redirect=b.example", err: ErrSPFSyntax},
		{in: "v=spf1 a/024", err: ErrSPFSyntax},
		{in: "v=spf1 a:", err: ErrSPFSyntax},
	}
	for _, c := range cases {
		rec, err := ParseSPF(c.in)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("ParseSPF(%q) err = %v, want %v", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSPF(%q): %v", c.in, err)
			continue
		}
		var got []string
		lookups := 0
		for _, m := range rec.Mechanisms {
			got = append(got, m.String())
			if m.countsLookup() {
				lookups++
			}
		}
		if strings.Join(got, " ") != strings.Join(c.mechs, " ") {
			t.Errorf("ParseSPF(%q) = %q, want %q", c.in, got, c.mechs)
		}
		all, ok := rec.All()
		if (c.all == 0) == ok || (ok && all.Qualifier != c.all) {
			t.Errorf("ParseSPF(%q).All() = %q %v, want %q", c.in, all.Qualifier, ok, c.all)
		}
		if rec.Redirect != c.redir || lookups != c.lookups {
			t.Errorf("ParseSPF(%q): redirect %q lookups %d", c.in, rec.Redirect, lookups)
		}
	}
}

func TestParseDMARC(t *testing.T) {
	cases := []struct {
		in       string
		err      error
		p, sp    string
		pct, rua int
	}{
		{in: "v=DMARC1; p=reject; rua=mailto:a@example.org,mailto:b@example.org", p: "reject", sp: "reject", pct: 100, rua: 2},
		{in: "v=DMARC1;p=none", p: "none", sp: "none", pct: 100},
		{in: " v = DMARC1 ; P=Quarantine ; sp=none; pct=50;", p: "quarantine", sp: "none", pct: 50},
		{in: "v=DMARC1; rua=mailto:x@example.org", p: "none", sp: "none", pct: 100, rua: 1},
		{in: "v=DMARC1; p=bogus; rua=mailto:x@example.org", p: "none", sp: "none", pct: 100, rua: 1},
		{in: "v=DMARC1; p=reject; sp=bogus", p: "reject", sp: "reject", pct: 100},
		{in: "v=DMARC1", err: ErrDMARCSyntax},
		{in: "v=DMARC1; p=block", err: ErrDMARCSyntax},
		{in: "v=DMARC1; p=none; p=reject", err: ErrDMARCSyntax},
		{in: "v=DMARC1; p=none; pct=101", err: ErrDMARCSyntax},
		{in: "v=DMARC1; p=none; junk", err: ErrDMARCSyntax},
		{in: "p=reject; v=DMARC1", err: ErrNotDMARC},
		{in: "v=spf1 -all", err: ErrNotDMARC},
		{in: "", err: ErrNotDMARC},
	}
	for _, c := range cases {
		d, err := ParseDMARC(c.in)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("ParseDMARC(%q) err = %v, want %v", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseDMARC(%q): %v", c.in, err)
			continue
		}
		if d.Policy != c.p || d.SubdomainPolicy != c.sp || d.Percent != c.pct || len(d.RUA) != c.rua {
			t.Errorf("ParseDMARC(%q) = %+v", c.in, d)
		}
	}
}

func FuzzParseSPF(f *testing.F) {
	for _, s := range []string{
		"v=spf1 -all",
		"v=spf1 mx a:mail.example.org/24//64 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.google.com ~all",
		"v=spf1 exists:%{i}._spf.%{d} redirect=_spf.example.org exp=%{l}.explain",
		"v=spf1 +all", "v=spf1 ?all x=y", "v=spf1 a//", "v=spf1 ip6:::/0", "v=spf1 =",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := ParseSPF(s)
		if err != nil {
			if rec != nil {
				t.Fatal("record with error")
			}
			return
		}
		if !IsSPF(s) {
			t.Fatal("parsed a non-SPF string")
		}
		// Rendering and parsing again gives the same mechanisms.
		parts := []string{"v=spf1"}
		for _, m := range rec.Mechanisms {
			parts = append(parts, m.String())
		}
		again, err := ParseSPF(strings.Join(parts, " "))
		if err != nil || len(again.Mechanisms) != len(rec.Mechanisms) {
			t.Fatalf("round trip of %q: %v", s, err)
		}
	})
}

func FuzzParseDMARC(f *testing.F) {
	for _, s := range []string{
		"v=DMARC1; p=reject; rua=mailto:dmarc@example.gov.vn; pct=100; adkim=s",
		"v=DMARC1;p=none", "v=DMARC1; rua=mailto:a@b", "v=DMARC1; p=quarantine; sp=none; pct=0;",
		"v=DMARC1;;;", "v=DMARC1; =", "v=DMARC1; p=reject; p=none",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDMARC(s)
		if err != nil {
			return
		}
		if _, ok := dmarcPolicy(d.Policy); !ok {
			t.Fatalf("policy %q", d.Policy)
		}
		if _, ok := dmarcPolicy(d.SubdomainPolicy); !ok {
			t.Fatalf("subdomain policy %q", d.SubdomainPolicy)
		}
		if d.Percent < 0 || d.Percent > 100 {
			t.Fatalf("pct %d", d.Percent)
		}
	})
}

// FuzzReply feeds hostile bytes to what reads a DNS reply: the matching
// against our query, the CNAME walk and the evidence rendering.
func FuzzReply(f *testing.F) {
	q := newQuery("example.org.", 16, true, false)
	r := q.Copy()
	r.Response = true
	r.Answer = append(r.Answer, mustRR(f, `example.org. 300 IN CNAME a.example.org.`), mustRR(f, `a.example.org. 300 IN TXT "v=spf1 -all"`))
	wire, err := r.Pack()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(wire)
	f.Add(wire[:len(wire)/2])
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := checkReply(q, raw)
		if err != nil {
			return
		}
		follow(m.Answer, "example.org.", 16)
		follow(m.Answer, "example.org.", 5)
		if len(renderMsg(m)) > 1<<20 {
			t.Fatal("evidence unbounded")
		}
	})
}
