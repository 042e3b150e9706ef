package auth

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"

	"golang.org/x/crypto/argon2"
)

// DummyHash returns an encoded hash that no password matches, made with
// DefaultArgon2's parameters. A login for an unknown name verifies against
// it, so a failed login costs the same whether or not the name exists.
//
// It hashes nothing: the salt and key are random bytes, so verifying costs
// exactly one argon2 pass, and building it is cheap. It is built on first
// use, not at package initialisation, and the same value is returned after.
func DummyHash() string { return dummyHash() }

var dummyHash = sync.OnceValue(func() string {
	p := DefaultArgon2
	buf := make([]byte, p.SaltLen+p.KeyLen)
	rand.Read(buf) // never returns an error (crypto/rand, Go 1.24+)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(buf[:p.SaltLen]), b64.EncodeToString(buf[p.SaltLen:]))
})
