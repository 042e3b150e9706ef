package match

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestLastDot(t *testing.T) {
	cases := []string{"", ".", "a", "abcdefgh", "abcdefg.", ".bcdefgh", "a.b", "abcdefghijk.lmnop",
		"a.bcdefghijklmnopqrstu", "x/.y", "//./////abcdefgh", "..........", "/////////.////////", "\xae\x2e\xff"}
	r := rand.New(rand.NewPCG(1, 1))
	for range 2000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = "a./-\x2f\xae\x00"[r.IntN(7)]
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		if got, want := lastDot(s), strings.LastIndexByte(s, '.'); got != want {
			t.Errorf("lastDot(%q) = %d, want %d", s, got, want)
		}
	}
}

// TestStepSeparates checks that the suffix hash tells apart what a weak
// one would not: labels that differ only in the middle, in length, or by
// where the dots fall.
func TestStepSeparates(t *testing.T) {
	k := hashKey{0x0123456789abcdef, 0xfedcba9876543210}
	names := []string{"a", "aa", "aaa", "aaaa", "aaaab", "baaaa", "abaaa", "aabaa", "a.aaaa", "aa.aaa", "aaaaaaaa",
		"aaaaaaaaa", "aaaaaaaab", "baaaaaaaa", "aaaabaaaa", "aaaa.aaaaa", "example.com", "exampke.com", "xexample.com",
		strings.Repeat("q", 40), strings.Repeat("q", 39) + "r", "r" + strings.Repeat("q", 39), "q.q", "qq"}
	seen := make(map[uint64]string)
	for _, n := range names {
		h := suffixHash(k, n)
		if other, dup := seen[h]; dup {
			t.Errorf("%q and %q hash alike", n, other)
		}
		seen[h] = n
	}
	if suffixHash(k, "evil.example") == suffixHash(hashKey{1, 2}, "evil.example") {
		t.Error("the key does not change the hash")
	}
}
