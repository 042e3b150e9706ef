package blocklist

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/intel"
)

// FuzzRender: hostile indicator values (a bug upstream, a feed that got
// past normalization) never break a list's syntax: every value is one
// token on its own line, and nothing but a value reaches a line.
func FuzzRender(f *testing.F) {
	for _, in := range sample() {
		f.Add(uint8(0), in.Value, in.Value)
	}
	f.Add(uint8(3), "evil.example\n*.gov.vn CNAME .", "x")
	f.Add(uint8(3), "a.rpz-ip", "b.rpz-nsdname")
	f.Add(uint8(0), "192.0.2.1 }; flush ruleset; add element", "::ffff:10.0.0.1")
	f.Add(uint8(4), "http://moh.gov.vn/\"; /system reset", "")
	reg := NewAssetIndex([]RegisteredAsset{{asset.KindDomain, "moh.gov.vn", "MOH"}, {asset.KindCIDR, "198.51.100.0/24", "MOH"}})
	f.Fuzz(func(t *testing.T, k uint8, v1, v2 string) {
		kind := intel.Kinds[int(k)%len(intel.Kinds)]
		var ins []intel.Indicator
		for _, v := range []string{v1, v2} {
			for _, kk := range []intel.Kind{kind, intel.KindCIDR, intel.KindDomain} {
				in := ind(kk, v, intel.TLPClear, 90, intel.CategoryC2, 1)
				ins = append(ins, in)
			}
		}
		l, review := Build(ins, &Guard{Registry: reg})
		if l.Len()+len(review) > len(ins) {
			t.Fatalf("%d listed + %d held out of %d", l.Len(), len(review), len(ins))
		}
		for _, fm := range Formats {
			var b bytes.Buffer
			if _, err := l.Render(&b, fm, everything, testNow); err != nil {
				t.Fatal(err)
			}
			for line := range strings.Lines(b.String()) {
				line = strings.TrimSuffix(line, "\n")
				if strings.ContainsAny(line, "\r\x00") {
					t.Fatalf("%s: control character in %q", fm, line)
				}
				switch fm {
				case FormatPlain:
					if line == "" || strings.ContainsAny(line, " \t;\"") {
						t.Fatalf("plain line %q", line)
					}
				case FormatRPZ:
					if !strings.HasPrefix(line, ";") && !strings.HasPrefix(line, "$") && !strings.HasPrefix(line, "@") &&
						(!strings.HasSuffix(line, " CNAME .") || strings.Count(line, " ") != 2) {
						t.Fatalf("rpz line %q", line)
					}
				case FormatNFT:
					if !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "add ") && !strings.HasPrefix(line, "flush set ") {
						t.Fatalf("nft line %q", line)
					}
				}
			}
		}
	})
}

// FuzzAssetIndex: any registered values and any query: no panic, and an
// address query agrees with a linear scan.
func FuzzAssetIndex(f *testing.F) {
	f.Add("198.51.100.0/24", "2001:db8::/32", "198.51.100.7")
	f.Add("203.0.113.5", "moh.gov.vn", "203.0.113.0/24")
	f.Add("0.0.0.0/0", "::/0", "::1")
	f.Fuzz(func(t *testing.T, a1, a2, q string) {
		x := NewAssetIndex([]RegisteredAsset{{asset.KindCIDR, a1, "A"}, {asset.KindCIDR, a2, "B"}, {asset.KindDomain, a2, "C"}})
		_, _ = x.Covers(intel.KindDomain, q)
		_, _ = x.Covers(intel.KindURL, q)
		qp, ok := parsePrefix(q)
		if !ok {
			return
		}
		_, got := x.Covers(intel.KindCIDR, q)
		want := false
		for _, a := range []string{a1, a2} {
			if p, ok := parsePrefix(a); ok && p.Overlaps(qp) {
				want = true
			}
		}
		if got != want {
			t.Fatalf("overlap of %s with {%s, %s}: %v, want %v", q, a1, a2, got, want)
		}
	})
}
