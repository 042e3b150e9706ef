package auth

import (
	"strings"
	"testing"
)

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		secret, prefix, hash, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if len(secret) != 44 || !strings.HasPrefix(secret, "rpt_") {
			t.Fatalf("secret %q: want rpt_ + 40 characters", secret)
		}
		if !LooksLikeToken(secret) {
			t.Fatalf("LooksLikeToken(%q) = false for a fresh token", secret)
		}
		if prefix != secret[:12] {
			t.Errorf("prefix %q, want %q", prefix, secret[:12])
		}
		if hash != HashToken(secret) || len(hash) != 64 {
			t.Errorf("hash %q is not HashToken(secret)", hash)
		}
		if seen[secret] {
			t.Fatalf("NewToken repeated %q", secret)
		}
		seen[secret] = true
	}
}

func TestHashToken(t *testing.T) {
	tests := []struct{ in, want string }{
		// FIPS 180-2 SHA-256 examples.
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	}
	for _, tt := range tests {
		if got := HashToken(tt.in); got != tt.want {
			t.Errorf("HashToken(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestParseBearer(t *testing.T) {
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		{"Bearer rpt_abc", "rpt_abc", true},
		{"bearer rpt_abc", "rpt_abc", true},
		{"BEARER rpt_abc", "rpt_abc", true},
		{"  Bearer   rpt_abc  ", "rpt_abc", true},
		{"Bearer\trpt_abc", "rpt_abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearerrpt_abc", "", false},
		{"Basic dXNlcjpwYXNz", "", false},
		{"Bearer a b", "", false},
		{"", "", false},
		{"rpt_abc", "", false},
	}
	for _, tt := range tests {
		got, ok := ParseBearer(tt.header)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseBearer(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}

func TestLooksLikeToken(t *testing.T) {
	body := strings.Repeat("aZ9", 13) + "x" // 40 characters
	tests := []struct {
		s    string
		want bool
	}{
		{"rpt_" + body, true},
		{"rpt_" + body[:39], false},
		{"rpt_" + body + "x", false},
		{"RPT_" + body, false},
		{"xyz_" + body, false},
		{"rpt_" + body[:39] + "-", false},
		{"rpt_" + body[:39] + "é"[:1], false},
		{"", false},
	}
	for _, tt := range tests {
		if got := LooksLikeToken(tt.s); got != tt.want {
			t.Errorf("LooksLikeToken(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer rpt_abc", "bearer  x", "Basic abc", "Bearer", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, ok := ParseBearer(header)
		if ok && (tok == "" || strings.ContainsAny(tok, " \t")) {
			t.Errorf("ParseBearer(%q) = %q, true", header, tok)
		}
	})
}
