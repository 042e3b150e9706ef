package auth

import (
	"encoding/base32"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// RFC 6238 appendix B: the SHA-1 key is the ASCII "12345678901234567890".
var rfc6238Secret = base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))

var rfc6238Vectors = []struct {
	unix int64
	code string // 8 digits, as in the RFC
}{
	{59, "94287082"},
	{1111111109, "07081804"},
	{1111111111, "14050471"},
	{1234567890, "89005924"},
	{2000000000, "69279037"},
	{20000000000, "65353130"},
}

func TestTOTPRFC6238(t *testing.T) {
	key := []byte("12345678901234567890")
	for _, v := range rfc6238Vectors {
		tm := time.Unix(v.unix, 0).UTC()
		step, _ := totpStep(tm)
		if got := hotp(key, step, 8); got != v.code {
			t.Errorf("8-digit code at %d = %s, want %s", v.unix, got, v.code)
		}
		// Six digits are the last six of eight: both are the same number
		// modulo a power of ten.
		want := v.code[2:]
		got, err := TOTPCode(rfc6238Secret, tm)
		if err != nil || got != want {
			t.Errorf("TOTPCode at %d = %q, %v; want %q", v.unix, got, err, want)
		}
		if !VerifyTOTP(rfc6238Secret, want, tm) {
			t.Errorf("VerifyTOTP(%s) at %d = false", want, v.unix)
		}
	}
}

func TestVerifyTOTPWindow(t *testing.T) {
	secret := NewTOTPSecret()
	base := time.Unix(1_700_000_010, 0) // 10 s into a step
	code, err := TOTPCode(secret, base)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		at   time.Time
		code string
		want bool
	}{
		{"same step", base, code, true},
		{"same step end", base.Add(19 * time.Second), code, true},
		{"next step", base.Add(30 * time.Second), code, true},
		{"previous step", base.Add(-30 * time.Second), code, true},
		{"two steps later", base.Add(60 * time.Second), code, false},
		{"two steps earlier", base.Add(-40 * time.Second), code, false},
		{"spaced", base, code[:3] + " " + code[3:], true},
		{"too short", base, code[:5], false},
		{"too long", base, code + "0", false},
		{"empty", base, "", false},
		{"letters", base, "abcdef", false},
	}
	for _, tt := range tests {
		if got := VerifyTOTP(secret, tt.code, tt.at); got != tt.want {
			t.Errorf("%s: VerifyTOTP = %v, want %v", tt.name, got, tt.want)
		}
	}
	// MatchTOTP names the step that matched, for replay checks.
	now, _ := totpStep(base)
	for _, d := range []int64{-30, 0, 30} {
		step, ok := MatchTOTP(secret, code, base.Add(time.Duration(d)*time.Second))
		if !ok || step != now {
			t.Errorf("MatchTOTP at %+ds = %d, %v; want %d, true", d, step, ok, now)
		}
	}
}

func TestTOTPSecret(t *testing.T) {
	s := NewTOTPSecret()
	if len(s) != 32 || strings.Contains(s, "=") {
		t.Errorf("NewTOTPSecret() = %q, want 32 base32 characters without padding", s)
	}
	if s == NewTOTPSecret() {
		t.Error("NewTOTPSecret repeated")
	}
	code, err := TOTPCode(s, time.Now())
	if err != nil || len(code) != 6 {
		t.Errorf("TOTPCode(new secret) = %q, %v", code, err)
	}
	// Forms people type: lower case, grouped, padded.
	tm := time.Unix(59, 0)
	for _, form := range []string{strings.ToLower(rfc6238Secret), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ", rfc6238Secret + "===="} {
		if got, err := TOTPCode(form, tm); err != nil || got != "287082" {
			t.Errorf("TOTPCode(%q) = %q, %v", form, got, err)
		}
	}
	for _, bad := range []string{"", "not base32!", "1111"} {
		if _, err := TOTPCode(bad, tm); !errors.Is(err, ErrInvalid) {
			t.Errorf("TOTPCode(%q) error = %v, want ErrInvalid", bad, err)
		}
		if VerifyTOTP(bad, "000000", tm) {
			t.Errorf("VerifyTOTP(%q) = true", bad)
		}
	}
	if _, err := TOTPCode(rfc6238Secret, time.Unix(-1, 0)); !errors.Is(err, ErrInvalid) {
		t.Errorf("TOTPCode before 1970: %v", err)
	}
	// Step 0 must not wrap around looking for step -1.
	if !VerifyTOTP(rfc6238Secret, "755224", time.Unix(0, 0)) {
		t.Error("VerifyTOTP at step 0 = false")
	}
}

func TestTOTPURI(t *testing.T) {
	got := TOTPURI("Rampart VNCERT", "an.nguyen@example.gov.vn", "JBSWY3DPEHPK3PXP")
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" {
		t.Errorf("URI %q: scheme/host %q/%q", got, u.Scheme, u.Host)
	}
	if want := "/Rampart VNCERT:an.nguyen@example.gov.vn"; u.Path != want {
		t.Errorf("label %q, want %q", u.Path, want)
	}
	if !strings.HasPrefix(got, "otpauth://totp/Rampart%20VNCERT:an.nguyen@example.gov.vn?") {
		t.Errorf("URI %q: spaces must be %%20", got)
	}
	q := u.Query()
	for k, want := range map[string]string{"secret": "JBSWY3DPEHPK3PXP", "issuer": "Rampart VNCERT", "algorithm": "SHA1", "digits": "6", "period": "30"} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	if strings.Contains(got, "+") {
		t.Errorf("URI %q has '+': some apps read it literally", got)
	}
	// A colon inside a part would split the label wrongly: it is escaped.
	if got := TOTPURI("a:b", "c", "X"); !strings.HasPrefix(got, "otpauth://totp/a%3Ab:c?") {
		t.Errorf("TOTPURI with colon = %q", got)
	}
}
