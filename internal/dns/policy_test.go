package dns

import (
	"fmt"
	"math/rand/v2"
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

func TestQueryLogRing(t *testing.T) {
	q := newQueryLog(1, 3)
	for i := 0; i < 5; i++ {
		q.add(QueryLogEntry{Name: string(rune('a' + i))})
	}
	got := q.entries()
	if len(got) != 3 || got[0].Name != "c" || got[2].Name != "e" {
		t.Fatalf("entries %+v", got)
	}
	half := newQueryLog(0.5, 10)
	n := 0
	for i := 0; i < 10000; i++ {
		if half.sample() {
			n++
		}
	}
	if n < 4000 || n > 6000 {
		t.Fatalf("sampled %d of 10000 at 0.5", n)
	}
	if newQueryLog(0, 1).sample() {
		t.Fatal("sampled at rate 0")
	}
}

func TestSortByHomeStable(t *testing.T) {
	for _, mask := range []uint64{15, 1<<16 - 1, 1<<30 - 1} { // 1, 2 and 3 passes
		r := rand.New(rand.NewPCG(1, uint64(mask)))
		a := make([]slot, 5000)
		for i := range a {
			a[i] = slot{h: r.Uint64(), off: uint32(i)}
			if i%7 == 0 && i > 0 {
				a[i].h = a[i-1].h // equal homes keep their order
			}
		}
		sortByHome(a, make([]slot, len(a)), mask)
		for i := 1; i < len(a); i++ {
			x, y := a[i-1].h&mask, a[i].h&mask
			if x > y || x == y && a[i-1].off > a[i].off {
				t.Fatalf("mask %x: out of order at %d", mask, i)
			}
		}
	}
}

func TestCompileMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	ref := map[string]string{} // name → first list holding it
	spec := &PolicySpec{Lists: make([]List, 3)}
	var all []string
	for i := 0; i < 30000; i++ {
		n := fmt.Sprintf("n%d.d%d.test", r.IntN(20000), r.IntN(3))
		l := r.IntN(3)
		spec.Lists[l].Name = fmt.Sprint("list", l)
		spec.Lists[l].Names = append(spec.Lists[l].Names, n)
		all = append(all, n)
	}
	for l := range spec.Lists {
		for _, n := range spec.Lists[l].Names {
			if _, ok := ref[n]; !ok {
				ref[n] = spec.Lists[l].Name
			}
		}
	}
	p, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if p.Names() != len(ref) {
		t.Fatalf("names %d, want %d", p.Names(), len(ref))
	}
	for _, n := range all {
		if list, _, ok := p.Lookup("x." + n); !ok || list != ref[n] {
			t.Fatalf("%s: %q %v, want %q", n, list, ok, ref[n])
		}
	}
	if _, _, ok := p.Lookup("n1.d9.test"); ok {
		t.Fatal("unlisted name blocked")
	}
}
