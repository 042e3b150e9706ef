package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// SecretKeyLen is the length of the key a SecretBox seals with (AES-256).
const SecretKeyLen = 32

// sealedPrefix marks a sealed value; a stored value without it is a clear
// value from before sealing, which Open returns as is.
const sealedPrefix = "enc1:"

// SecretBox seals secrets the platform must be able to read back (TOTP
// secrets, webhook signing keys) before they go into the database, with
// AES-256-GCM under a key kept outside the database, so a copy of the
// database alone does not yield them. The label (for example
// "users.totp_secret") is authenticated with the value, so a sealed value
// moved into another column does not open.
type SecretBox struct {
	aead cipher.AEAD
}

// NewSecretBox makes a SecretBox from a SecretKeyLen-byte key.
func NewSecretBox(key []byte) (*SecretBox, error) {
	if len(key) != SecretKeyLen {
		return nil, fmt.Errorf("%w: secret key must be %d bytes, not %d", ErrInvalid, SecretKeyLen, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("auth: secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("auth: secret key: %w", err)
	}
	return &SecretBox{aead: aead}, nil
}

// NewSecretKey returns a new random key.
func NewSecretKey() []byte {
	k := make([]byte, SecretKeyLen)
	rand.Read(k) // never fails; see randomString
	return k
}

// IsSealed reports whether a stored value is sealed.
func IsSealed(stored string) bool { return strings.HasPrefix(stored, sealedPrefix) }

// Seal encrypts plain for the column label. "" stays "" (no secret).
func (b *SecretBox) Seal(plain, label string) string {
	if plain == "" {
		return ""
	}
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	out := b.aead.Seal(nonce, nonce, []byte(plain), []byte(label))
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a value Seal made for label. A value that is not sealed
// (stored before sealing began) comes back unchanged.
func (b *SecretBox) Open(stored, label string) (string, error) {
	if !IsSealed(stored) {
		return stored, nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(stored[len(sealedPrefix):])
	ns := b.aead.NonceSize()
	if err != nil || len(raw) < ns {
		return "", fmt.Errorf("%w: sealed %s is malformed", ErrInvalid, label)
	}
	plain, err := b.aead.Open(nil, raw[:ns], raw[ns:], []byte(label))
	if err != nil {
		return "", fmt.Errorf("%w: sealed %s does not open with this key (was the key file replaced?)", ErrInvalid, label)
	}
	return string(plain), nil
}

// TokenFingerprint is a short, non-secret name for a token secret that is
// not one of ours (RAMPART_ADMIN_TOKEN may be any string): the first
// characters of its SHA-256, so lists and logs can tell two values apart
// without showing any of the secret.
func TokenFingerprint(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(sum[:4])
}
