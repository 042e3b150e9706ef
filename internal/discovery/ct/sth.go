package ct

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// ErrSignature means a tree head's signature does not verify.
var ErrSignature = errors.New("discovery: ct: tree head signature does not verify")

// The TLS 1.2 hash and signature algorithm numbers a log uses (RFC 5246
// 7.4.1.4.1).
const (
	hashSHA256 = 4
	sigRSA     = 1
	sigECDSA   = 3
)

// TreeHeadInput is the data a log signs for a tree head (RFC 6962 3.5):
// version v1, signature type tree_hash, timestamp, tree size, root hash.
func TreeHeadInput(sth STH) []byte {
	b := make([]byte, 0, 2+8+8+32)
	b = append(b, 0, 1)
	b = binary.BigEndian.AppendUint64(b, sth.Timestamp)
	b = binary.BigEndian.AppendUint64(b, sth.TreeSize)
	return append(b, sth.SHA256RootHash...)
}

// ParseKey reads a log's key as the log list gives it: base64 of a DER
// SubjectPublicKeyInfo.
func ParseKey(b64 string) (crypto.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("discovery: ct: log key: %w", err)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("discovery: ct: log key: %w", err)
	}
	return k, nil
}

// VerifySTH checks a tree head's signature (a TLS DigitallySigned struct
// over TreeHeadInput) with the log's key: ECDSA or RSA with SHA-256.
func VerifySTH(key crypto.PublicKey, sth STH) error {
	s := cryptobyte.String(sth.TreeHeadSignature)
	var hash, alg uint8
	var sig cryptobyte.String
	if !s.ReadUint8(&hash) || !s.ReadUint8(&alg) || !s.ReadUint16LengthPrefixed(&sig) || !s.Empty() {
		return fmt.Errorf("%w: malformed DigitallySigned", ErrSignature)
	}
	if hash != hashSHA256 {
		return fmt.Errorf("%w: hash algorithm %d is not SHA-256", ErrSignature, hash)
	}
	digest := sha256.Sum256(TreeHeadInput(sth))
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if alg != sigECDSA || !ecdsa.VerifyASN1(k, digest[:], sig) {
			return ErrSignature
		}
	case *rsa.PublicKey:
		if alg != sigRSA || rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig) != nil {
			return ErrSignature
		}
	default:
		return fmt.Errorf("%w: key type %T", ErrSignature, key)
	}
	return nil
}

// SignTreeHead signs a tree head with an ECDSA key, as a log does (used by
// the built-in test log).
func SignTreeHead(key *ecdsa.PrivateKey, sth *STH) error {
	digest := sha256.Sum256(TreeHeadInput(*sth))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return fmt.Errorf("discovery: ct: sign tree head: %w", err)
	}
	b := []byte{hashSHA256, sigECDSA, byte(len(sig) >> 8), byte(len(sig))}
	sth.TreeHeadSignature = append(b, sig...)
	return nil
}

// LeafHash is the Merkle tree hash of one leaf: SHA-256(0x00 || leaf).
func LeafHash(leaf []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(leaf)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// RootHash is the Merkle tree hash of the leaf hashes (RFC 6962 2.1):
// the hash of an empty tree is SHA-256 of nothing, a tree of n > 1 leaves
// splits at the largest power of two below n.
func RootHash(leaves [][32]byte) [32]byte {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := RootHash(leaves[:k]), RootHash(leaves[k:])
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(l[:])
	h.Write(r[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}
