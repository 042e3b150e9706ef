package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// TOTP parameters (RFC 6238): HMAC-SHA-1, 6 digits, 30-second steps. These
// are the only values every authenticator app supports, so they are fixed.
const (
	TOTPDigits    = 6
	TOTPPeriod    = 30 * time.Second
	totpSecretLen = 20 // bytes: 160 bits, as RFC 4226 recommends
	totpSkew      = 1  // steps accepted either side of now, for clock drift
)

var totpEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a new random TOTP secret: 20 bytes in unpadded
// base32, as authenticator apps expect.
func NewTOTPSecret() string {
	b := make([]byte, totpSecretLen)
	rand.Read(b) // never fails; see randomString
	return totpEncoding.EncodeToString(b)
}

// decodeTOTPSecret accepts the base32 forms people and apps produce: any
// case, with or without padding, with spaces or dashes between groups.
func decodeTOTPSecret(secret string) ([]byte, error) {
	s := strings.ToUpper(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '=' {
			return -1
		}
		return r
	}, secret))
	key, err := totpEncoding.DecodeString(s)
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("%w: TOTP secret is not base32", ErrInvalid)
	}
	return key, nil
}

// totpStep is the RFC 6238 time counter T for t.
func totpStep(t time.Time) (uint64, error) {
	u := t.Unix()
	if u < 0 {
		return 0, fmt.Errorf("%w: TOTP time before 1970", ErrInvalid)
	}
	return uint64(u) / uint64(TOTPPeriod/time.Second), nil
}

// hotp is RFC 4226 HOTP with dynamic truncation, zero-padded to digits.
func hotp(key []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// TOTPCode returns the 6-digit code for secret at time t.
func TOTPCode(secret string, t time.Time) (string, error) {
	key, err := decodeTOTPSecret(secret)
	if err != nil {
		return "", err
	}
	step, err := totpStep(t)
	if err != nil {
		return "", err
	}
	return hotp(key, step, TOTPDigits), nil
}

// VerifyTOTP reports whether code is valid for secret at time t, accepting
// the previous and next step for clock drift. It does the same work whether
// or not, and wherever, the code matches.
//
// It does not stop replays: a caller that must refuse a code seen before
// uses MatchTOTP and remembers the last step it accepted per user.
func VerifyTOTP(secret, code string, t time.Time) bool {
	_, ok := MatchTOTP(secret, code, t)
	return ok
}

// MatchTOTP is VerifyTOTP that also returns the RFC 6238 step the code
// belongs to, so a caller can reject a step at or before the last one it
// accepted.
func MatchTOTP(secret, code string, t time.Time) (step uint64, ok bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != TOTPDigits {
		return 0, false
	}
	key, err := decodeTOTPSecret(secret)
	if err != nil {
		return 0, false
	}
	now, err := totpStep(t)
	if err != nil {
		return 0, false
	}
	found := 0
	for d := -totpSkew; d <= totpSkew; d++ {
		if d < 0 && now < uint64(-d) {
			continue
		}
		s := now + uint64(d)
		eq := subtle.ConstantTimeCompare([]byte(hotp(key, s, TOTPDigits)), []byte(code))
		step = uint64(subtle.ConstantTimeSelect(eq&(1-found), int(s), int(step)))
		found |= eq
	}
	return step, found == 1
}

// TOTPURI returns the otpauth:// URI that authenticator apps read from a QR
// code (the Google Authenticator "Key Uri Format"):
//
//	otpauth://totp/Issuer:account?secret=...&issuer=Issuer&algorithm=SHA1&digits=6&period=30
func TOTPURI(issuer, account, secret string) string {
	esc := func(s string) string {
		return strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
	}
	label := esc(account)
	if issuer != "" {
		label = esc(issuer) + ":" + label
	}
	q := url.Values{}
	q.Set("secret", secret)
	if issuer != "" {
		q.Set("issuer", issuer)
	}
	q.Set("algorithm", "SHA1")
	q.Set("digits", fmt.Sprint(TOTPDigits))
	q.Set("period", fmt.Sprint(int(TOTPPeriod/time.Second)))
	return "otpauth://totp/" + label + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
}
