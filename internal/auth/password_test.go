package auth

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// cheapArgon2 keeps tests fast; the format and the code paths are the same.
var cheapArgon2 = Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashPasswordRoundTrip(t *testing.T) {
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	for _, pw := range []string{"correct horse battery", "", "mật khẩu rất dài và an toàn", strings.Repeat("x", MaxPasswordBytes)} {
		h, err := HashPasswordWith(pw, cheapArgon2)
		if err != nil {
			t.Fatalf("HashPasswordWith(%q): %v", pw, err)
		}
		if !phc.MatchString(h) {
			t.Errorf("hash %q is not in the expected PHC format", h)
		}
		if ok, err := VerifyPassword(pw, h); !ok || err != nil {
			t.Errorf("VerifyPassword(right) = %v, %v; want true, nil", ok, err)
		}
		if ok, err := VerifyPassword(pw+"x", h); ok || err != nil {
			t.Errorf("VerifyPassword(wrong) = %v, %v; want false, nil", ok, err)
		}
		h2, _ := HashPasswordWith(pw, cheapArgon2)
		if h == h2 {
			t.Errorf("two hashes of %q are equal: salt is not random", pw)
		}
	}
}

func TestHashPasswordDefault(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if want := "$argon2id$v=19$m=65536,t=3,p=2$"; !strings.HasPrefix(h, want) {
		t.Errorf("HashPassword = %q, want prefix %q", h, want)
	}
	if NeedsRehash(h) {
		t.Errorf("NeedsRehash(default hash) = true")
	}
	cheap, _ := HashPasswordWith("x", cheapArgon2)
	if !NeedsRehash(cheap) {
		t.Errorf("NeedsRehash(cheap hash) = false")
	}
}

// Hashes made by argon2-cffi (the C reference implementation), from its
// documentation: they pin interoperability, not just our own round trip.
func TestVerifyPasswordInterop(t *testing.T) {
	tests := []struct{ pw, hash string }{
		{"correct horse battery staple", "$argon2id$v=19$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg"},
		{"s3kr3tp4ssw0rd", "$argon2id$v=19$m=102400,t=2,p=8$tSm+JOWigOgPZx/g44K5fQ$WDyus6py50bVFIPkjA28lQ"},
	}
	if testing.Short() {
		t.Skip("argon2 at 64-100 MiB")
	}
	for _, tt := range tests {
		if ok, err := VerifyPassword(tt.pw, tt.hash); !ok || err != nil {
			t.Errorf("VerifyPassword(%q, %q) = %v, %v; want true", tt.pw, tt.hash, ok, err)
		}
		if ok, _ := VerifyPassword("Tr0ub4dor&3", tt.hash); ok {
			t.Errorf("VerifyPassword(wrong, %q) = true", tt.hash)
		}
	}
}

func TestVerifyPasswordRejectsBadHashes(t *testing.T) {
	const salt, key = "c29tZXNhbHRzb21lc2FsdA", "YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg"
	tests := []struct{ name, hash string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"old version", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"params order", "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key},
		{"params missing", "$argon2id$v=19$m=64,t=1$" + salt + "$" + key},
		{"params junk", "$argon2id$v=19$m=64,t=1,p=1,x=2$" + salt + "$" + key},
		{"memory not a number", "$argon2id$v=19$m=lots,t=1,p=1$" + salt + "$" + key},
		{"memory negative", "$argon2id$v=19$m=-1,t=1,p=1$" + salt + "$" + key},
		{"memory over 1 GiB", "$argon2id$v=19$m=1048577,t=1,p=1$" + salt + "$" + key},
		{"memory overflows uint32", "$argon2id$v=19$m=4294967296,t=1,p=1$" + salt + "$" + key},
		{"memory too small", "$argon2id$v=19$m=7,t=1,p=1$" + salt + "$" + key},
		{"time zero", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key},
		{"time over 100", "$argon2id$v=19$m=64,t=101,p=1$" + salt + "$" + key},
		{"threads zero", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key},
		{"threads over 255", "$argon2id$v=19$m=64,t=1,p=256$" + salt + "$" + key},
		{"salt padded", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key},
		{"salt not base64", "$argon2id$v=19$m=64,t=1,p=1$sa!t$" + key},
		{"salt short", "$argon2id$v=19$m=64,t=1,p=1$YWJj$" + key},
		{"hash short", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$YWJj"},
		{"hash missing", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"trailing field", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$"},
		{"leading junk", "x$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyPassword("password", tt.hash)
			if ok || !errors.Is(err, ErrInvalid) {
				t.Errorf("VerifyPassword(%q) = %v, %v; want false, ErrInvalid", tt.hash, ok, err)
			}
		})
	}
}

func TestHashPasswordWithRejectsBadParams(t *testing.T) {
	tests := []struct {
		name string
		p    Argon2Params
	}{
		{"zero", Argon2Params{}},
		{"memory over 1 GiB", Argon2Params{Memory: 2 << 20, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{"time over 100", Argon2Params{Memory: 64, Time: 101, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{"short salt", Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32}},
		{"short key", Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8}},
	}
	for _, tt := range tests {
		if _, err := HashPasswordWith("pw", tt.p); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: HashPasswordWith error = %v, want ErrInvalid", tt.name, err)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		pw   string
		want string // "" for valid, else a substring of the error
	}{
		{"", "shorter than 12"},
		{"elevenchars", "shorter than 12"},
		{"twelve chars", ""},
		{"mậtkhẩuđủdài", ""},               // 12 characters, more bytes
		{"ααααααααααα", "shorter than 12"}, // 11 characters, 22 bytes
		{strings.Repeat("a", 1020) + "bcde", ""},
		{strings.Repeat("a", 1025), "longer than 1024 bytes"},
		{strings.Repeat("é", 513), "longer than 1024 bytes"}, // 513 characters, 1026 bytes
		{"twelve chars\xff", "UTF-8"},
	}
	for _, tt := range tests {
		err := ValidatePassword(tt.pw)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("ValidatePassword(%.20q) = %v, want nil", tt.pw, err)
		case tt.want != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("ValidatePassword(%.20q) = %v, want ErrInvalid with %q", tt.pw, err, tt.want)
		}
	}
}

func TestRandomPassword(t *testing.T) {
	seen := map[string]bool{}
	counts := map[rune]int{}
	for range 200 {
		pw := RandomPassword()
		if len(pw) != 20 {
			t.Fatalf("RandomPassword() = %q, length %d", pw, len(pw))
		}
		if err := ValidatePassword(pw); err != nil {
			t.Fatalf("RandomPassword() = %q fails ValidatePassword: %v", pw, err)
		}
		for _, c := range pw {
			if !strings.ContainsRune(randomPasswordChars, c) {
				t.Fatalf("RandomPassword() = %q has %q outside the alphabet", pw, c)
			}
			counts[c]++
		}
		if seen[pw] {
			t.Fatalf("RandomPassword() repeated %q", pw)
		}
		seen[pw] = true
	}
	for _, c := range "0O1lI" {
		if strings.ContainsRune(randomPasswordChars, c) {
			t.Errorf("alphabet has the ambiguous %q", c)
		}
	}
	// 4000 draws over 56 characters: each expected ~71 times. A character
	// never drawn means the sampling is broken, not bad luck (p ≈ 1e-29).
	if len(counts) != len(randomPasswordChars) {
		t.Errorf("only %d of %d characters ever drawn", len(counts), len(randomPasswordChars))
	}
}

// BenchmarkHashPassword measures the production cost. Target: 50-300 ms per
// hash on a 2-core server.
func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPassword(b *testing.B) {
	h, _ := HashPassword("correct horse battery staple")
	for b.Loop() {
		VerifyPassword("correct horse battery staple", h)
	}
}

// FuzzParseArgon2 feeds the hash parser arbitrary strings: whatever it
// accepts must be within the parameter limits, so a planted hash cannot
// make VerifyPassword expensive.
func FuzzParseArgon2(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg")
	f.Add("$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA")
	f.Add("$argon2i$v=19$m=64,t=1,p=1$$")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := parseArgon2(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("parseArgon2(%q) error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		if p.Memory > maxArgon2Memory || p.Time > maxArgon2Time || p.Threads == 0 ||
			len(salt) < minArgon2SaltLen || len(key) < minArgon2KeyLen || len(key) > maxArgon2KeyLen {
			t.Fatalf("parseArgon2(%q) accepted %+v", s, p)
		}
	})
}

// TestF20PasswordPolicy: common and breached passwords, trivial repetitions
// and sequences, and the user's own name are refused; ordinary passphrases
// pass.
func TestF20PasswordPolicy(t *testing.T) {
	tests := []struct {
		pw       string
		personal []string
		want     string // "" for valid
	}{
		{"            ", nil, "fewer than 5"},
		{"aaaaaaaaaaaa", nil, "fewer than 5"},
		{"password1234", nil, "common"},
		{"Password1234!", nil, "common"},
		{"iloveyou2026!!", nil, "common"},
		{"1qaz2wsx3edc", nil, ""}, // on the list or a keyboard column: refused either way
		{"qwertyuiopas", nil, "sequence"},
		{"abcdefghijkl", nil, "sequence"},
		{"123456789012", nil, "sequence"},
		{"987654321098", nil, "sequence"},
		{"abcdeabcdeab", nil, "repeats"},
		{"xyzuvxyzuvxyzuv", nil, "repeats"},
		{"aaaaaaaa1234", nil, "trivial pattern"},
		{"nguyenvana-2026!", []string{"nguyenvana"}, "user's name"},
		{"Secret-Hanoi-Rampart", []string{"hanoi.cert@example.vn", "ha"}, ""},
		{"RedTeam-Pass-2026!", []string{"a_admin"}, ""},
		{"correct horse battery staple 42", nil, ""},
		{"rampart-demo-2026", []string{"admin"}, ""},
	}
	for _, tt := range tests {
		err := ValidatePassword(tt.pw, tt.personal...)
		if tt.pw == "1qaz2wsx3edc" {
			if err == nil {
				t.Errorf("ValidatePassword(%q) = nil, want refused", tt.pw)
			}
			continue
		}
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("ValidatePassword(%q) = %v, want nil", tt.pw, err)
		case tt.want != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("ValidatePassword(%q) = %v, want ErrInvalid with %q", tt.pw, err, tt.want)
		}
	}
	if !IsCommonPassword("PASSWORD") || IsCommonPassword("RedTeam-Pass-2026!") {
		t.Error("IsCommonPassword: case folding or a false positive")
	}
}
