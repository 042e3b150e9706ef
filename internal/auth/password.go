package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the cost parameters of an argon2id password hash. They
// are written into every encoded hash, so changing DefaultArgon2 only affects
// new hashes; old ones keep verifying with the parameters they were made with.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultArgon2 follows the RFC 9106 "second recommended" profile scaled to
// a small server: 64 MiB, 3 passes, 2 lanes. Measured at 65-90 ms per hash
// on a 2-core AMD EPYC VM (BenchmarkHashPassword), inside the 50-300 ms a
// login can afford.
var DefaultArgon2 = Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}

// Limits on parameters read back from a stored hash. A hash string is data,
// and a corrupted or planted one must not make a login cost gigabytes or
// minutes.
const (
	maxArgon2Memory  = 1024 * 1024 // KiB, 1 GiB
	maxArgon2Time    = 100
	minArgon2SaltLen = 8
	maxArgon2SaltLen = 64
	minArgon2KeyLen  = 16
	maxArgon2KeyLen  = 64
)

// Password length bounds. The upper bound is in bytes: it caps the work a
// single login request can ask for, not what a person may choose.
const (
	MinPasswordLen      = 12   // characters
	MaxPasswordBytes    = 1024 // bytes
	randomPasswordLen   = 20
	randomPasswordChars = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789" // no 0/O, 1/l/I
)

// HashPassword hashes pw with argon2id and DefaultArgon2 and returns it in
// the PHC string format:
//
//	$argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>
//
// with salt and hash in unpadded standard base64.
func HashPassword(pw string) (string, error) {
	return HashPasswordWith(pw, DefaultArgon2)
}

// HashPasswordWith is HashPassword with explicit parameters; tests use it
// with cheap ones.
func HashPasswordWith(pw string, p Argon2Params) (string, error) {
	if why := p.problem(); why != "" {
		return "", fmt.Errorf("%w: %s", ErrInvalid, why)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: password salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// problem says what is wrong with p, or "" when p is usable.
func (p Argon2Params) problem() string {
	switch {
	case p.Threads < 1:
		return "argon2 threads must be at least 1"
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgon2Memory:
		return fmt.Sprintf("argon2 memory %d KiB out of range", p.Memory)
	case p.Time < 1 || p.Time > maxArgon2Time:
		return fmt.Sprintf("argon2 time %d out of range", p.Time)
	case p.SaltLen < minArgon2SaltLen || p.SaltLen > maxArgon2SaltLen:
		return fmt.Sprintf("argon2 salt length %d out of range", p.SaltLen)
	case p.KeyLen < minArgon2KeyLen || p.KeyLen > maxArgon2KeyLen:
		return fmt.Sprintf("argon2 key length %d out of range", p.KeyLen)
	}
	return ""
}

// VerifyPassword reports whether pw matches the encoded hash. A wrong
// password is (false, nil); an error means the hash itself is unusable
// (malformed, another algorithm, or parameters beyond sane limits).
func VerifyPassword(pw, encoded string) (bool, error) {
	p, salt, want, err := parseArgon2(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NeedsRehash reports whether encoded was made with parameters other than
// DefaultArgon2, so a caller can upgrade it after a successful login.
func NeedsRehash(encoded string) bool {
	p, salt, _, err := parseArgon2(encoded)
	if err != nil {
		return true
	}
	d := DefaultArgon2
	return p.Memory != d.Memory || p.Time != d.Time || p.Threads != d.Threads ||
		p.KeyLen != d.KeyLen || uint32(len(salt)) != d.SaltLen
}

// parseArgon2 splits a PHC argon2id string into its parameters, salt and key.
func parseArgon2(encoded string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	bad := func(why string) (Argon2Params, []byte, []byte, error) {
		return p, nil, nil, fmt.Errorf("%w: password hash: %s", ErrInvalid, why)
	}
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("not in PHC format")
	}
	if parts[1] != "argon2id" {
		return bad("unsupported algorithm")
	}
	v, ok := strings.CutPrefix(parts[2], "v=")
	if !ok || v != strconv.Itoa(argon2.Version) {
		return bad("unsupported version")
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return bad("malformed parameters")
	}
	for i, name := range []string{"m", "t", "p"} {
		val, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return bad("malformed parameters")
		}
		bits := 32
		if name == "p" {
			bits = 8
		}
		n, err := strconv.ParseUint(val, 10, bits)
		if err != nil {
			return bad("malformed parameter " + name)
		}
		switch name {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			p.Threads = uint8(n)
		}
	}
	b64 := base64.RawStdEncoding.Strict()
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return bad("malformed salt")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return bad("malformed hash")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if why := p.problem(); why != "" {
		return bad(why)
	}
	return p, salt, key, nil
}

// ValidatePassword checks a password a person chose, as NIST SP 800-63B
// asks: at least MinPasswordLen characters, at most MaxPasswordBytes bytes,
// no composition rules, and not a password attackers try first — one on the
// shipped list of common and breached passwords (also padded with digits or
// symbols), a trivial repetition or sequence ("aaaaaaaaaaaa",
// "abcdefghijkl", "qwertyuiop12"), or one containing any of personal (the
// user's login name, display name, e-mail address). Errors wrap ErrInvalid.
func ValidatePassword(pw string, personal ...string) error {
	switch {
	case !utf8.ValidString(pw):
		return fmt.Errorf("%w: password is not valid UTF-8", ErrInvalid)
	case len(pw) > MaxPasswordBytes:
		return fmt.Errorf("%w: password longer than %d bytes", ErrInvalid, MaxPasswordBytes)
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return fmt.Errorf("%w: password shorter than %d characters", ErrInvalid, MinPasswordLen)
	}
	return passwordPolicy(pw, personal)
}

// RandomPassword returns a 20-character password from an alphabet without
// look-alike characters (about 116 bits), for bootstrap admins and resets
// that are read off a screen or a printout.
func RandomPassword() string {
	return randomString(randomPasswordChars, randomPasswordLen)
}

// randomString draws n characters uniformly from alphabet using crypto/rand.
// crypto/rand.Read never fails on supported platforms (Go 1.24+ panics
// instead of returning an error), so there is no error to return.
func randomString(alphabet string, n int) string {
	out := make([]byte, n)
	// Rejection sampling: discard bytes at or above the largest multiple of
	// len(alphabet) so every character is equally likely.
	limit := 256 - 256%len(alphabet)
	buf := make([]byte, n+n/2)
	for i := 0; i < n; {
		rand.Read(buf)
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out[i] = alphabet[int(b)%len(alphabet)]
			if i++; i == n {
				break
			}
		}
	}
	return string(out)
}
