package dns

import (
	"net/netip"
	"testing"
)

func TestPolicyLookup(t *testing.T) {
	p, err := Compile(&PolicySpec{
		Version: 7,
		Lists: []List{
			{Name: "malware", Action: ActionNXDomain, Names: []string{"evil.example", "Bad.Test.", "*.wild.test", "x.deep.evil.example"}},
			{Name: "phish", Action: ActionRedirect, Names: []string{"deep.evil.example", "phish.test", "evil.example"}},
			{Name: "bad", Action: ActionNoData, Names: []string{"", ".", "a..b", "sp ace.test", "back\\slash.test"}},
		},
		Allow:     []string{"good.evil.example", "phish.test"},
		RedirectA: netip.MustParseAddr("192.0.2.1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Names() != 6 || p.Allowed() != 2 || p.Rejected() != 5 || p.Version() != 7 {
		t.Fatalf("names %d allowed %d rejected %d version %d", p.Names(), p.Allowed(), p.Rejected(), p.Version())
	}
	for _, c := range []struct {
		q, list string
		act     Action
		blocked bool
	}{
		{"evil.example", "malware", ActionNXDomain, true},
		{"EVIL.example.", "malware", ActionNXDomain, true},
		{"a.b.evil.example", "malware", ActionNXDomain, true},
		{"deep.evil.example", "phish", ActionRedirect, true},   // longest match
		{"w.deep.evil.example", "phish", ActionRedirect, true}, // longest match
		{"x.deep.evil.example", "malware", ActionNXDomain, true},
		{"good.evil.example", "", 0, false}, // allow wins
		{"a.good.evil.example", "", 0, false},
		{"phish.test", "", 0, false},
		{"bad.test", "malware", ActionNXDomain, true},
		{"wild.test", "malware", ActionNXDomain, true},
		{"notevil.example", "", 0, false},
		{"example", "", 0, false},
		{"evil\\.example", "", 0, false},
		{"a\\.evil.example", "", 0, false}, // one label "a.evil" under "example"
		{"x.a\\.evil.example", "", 0, false},
		{"", "", 0, false},
		{".", "", 0, false},
	} {
		list, act, blocked := p.Lookup(c.q)
		if list != c.list || act != c.act || blocked != c.blocked {
			t.Errorf("Lookup(%q) = %q %v %v, want %q %v %v", c.q, list, act, blocked, c.list, c.act, c.blocked)
		}
	}
}

func TestCompileRejectsBadSpec(t *testing.T) {
	for _, spec := range []*PolicySpec{
		nil,
		{RedirectA: netip.MustParseAddr("2001:db8::1")},
		{RedirectAAAA: netip.MustParseAddr("192.0.2.1")},
		{Lists: []List{{Name: "x", Action: 9}}},
	} {
		if _, err := Compile(spec); err == nil {
			t.Errorf("Compile(%+v) succeeded", spec)
		}
	}
}

func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"evil.example", "*.Evil.Example.", " a.b ", "a..b", "\\.", "xn--bcher-kva.example", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n, ok := NormalizeName(raw)
		if !ok {
			return
		}
		if len(n) == 0 || len(n) > 253 || n[len(n)-1] == '.' || n[0] == '.' {
			t.Fatalf("NormalizeName(%q) = %q", raw, n)
		}
		p, err := Compile(&PolicySpec{Lists: []List{{Name: "l", Names: []string{raw}}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{n, n + ".", "sub." + n} {
			if _, _, blocked := p.Lookup(q); !blocked {
				t.Fatalf("%q listed (as %q) but %q not blocked", raw, n, q)
			}
		}
		if n2, ok := NormalizeName(n); !ok || n2 != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", raw, n, n2)
		}
	})
}
