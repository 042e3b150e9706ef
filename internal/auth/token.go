package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// API token format: "rpt_" followed by 40 base62 characters, about 238 bits
// of entropy. The fixed prefix lets secret scanners (and LooksLikeToken)
// recognise a leaked Rampart token.
const (
	TokenPrefix     = "rpt_"
	tokenBodyLen    = 40
	tokenLen        = len(TokenPrefix) + tokenBodyLen
	tokenShownLen   = 12 // characters of the secret kept in clear as Token.Prefix
	tokenBodyChars  = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	bearerScheme    = "bearer"
	bearerSchemeLen = len(bearerScheme)
)

// NewToken makes a new API token. secret is shown to the user once and never
// stored; prefix (its first 12 characters) identifies it in lists; hash is
// what the store keeps and looks tokens up by. err is always nil today
// (crypto/rand does not fail on supported systems); it stays in the
// signature so callers handle a future source of randomness that can.
func NewToken() (secret, prefix, hash string, err error) {
	secret = TokenPrefix + randomString(tokenBodyChars, tokenBodyLen)
	return secret, secret[:tokenShownLen], HashToken(secret), nil
}

// HashToken returns the hex SHA-256 of a token secret.
//
// A fast, unsalted hash is right here, unlike for passwords: the secret is
// 238 random bits, so there is nothing to brute-force or precompute, and a
// deterministic hash lets the store find a token by an indexed equality
// lookup on every API request without a slow KDF in the hot path.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ParseBearer extracts the credential from an Authorization header value of
// the form "Bearer <token>". The scheme is case-insensitive (RFC 9110
// section 11.1); surrounding spaces are ignored.
func ParseBearer(header string) (string, bool) {
	header = strings.TrimSpace(header)
	if len(header) <= bearerSchemeLen || !strings.EqualFold(header[:bearerSchemeLen], bearerScheme) {
		return "", false
	}
	if c := header[bearerSchemeLen]; c != ' ' && c != '\t' {
		return "", false
	}
	tok := strings.TrimSpace(header[bearerSchemeLen+1:])
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}

// LooksLikeToken reports whether s has the shape of a Rampart API token. It
// is a cheap syntactic filter to run before touching the store; it says
// nothing about whether the token exists.
func LooksLikeToken(s string) bool {
	if len(s) != tokenLen || !strings.HasPrefix(s, TokenPrefix) {
		return false
	}
	for i := len(TokenPrefix); i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}
