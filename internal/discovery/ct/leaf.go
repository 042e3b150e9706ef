package ct

import (
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ErrLeaf wraps every error of a log entry that cannot be read.
var ErrLeaf = errors.New("discovery: ct: bad log entry")

// EntryType says what a log entry carries (RFC 6962 3.1, LogEntryType).
type EntryType uint16

// The entry types.
const (
	X509Entry    EntryType = 0 // a certificate
	PrecertEntry EntryType = 1 // a precertificate's TBSCertificate
)

// MaxCert bounds one certificate in a leaf: the RFC allows 2^24-1 bytes,
// real certificates are a few KiB.
const MaxCert = 1 << 20

// Leaf is a decoded MerkleTreeLeaf: a TimestampedEntry.
type Leaf struct {
	Timestamp uint64 // milliseconds since the epoch
	Type      EntryType
	// DER is the certificate (X509Entry) or the precertificate's
	// TBSCertificate (PrecertEntry); it aliases the input.
	DER []byte
	// IssuerKeyHash is the SHA-256 of the issuer's public key
	// (PrecertEntry only).
	IssuerKeyHash [32]byte
}

// ParseLeaf decodes the leaf_input of a log entry: a MerkleTreeLeaf of
// version v1 holding a timestamped_entry (RFC 6962 3.4).
func ParseLeaf(b []byte) (Leaf, error) {
	var l Leaf
	s := cryptobyte.String(b)
	var version, leafType uint8
	if !s.ReadUint8(&version) || !s.ReadUint8(&leafType) {
		return l, fmt.Errorf("%w: short leaf header", ErrLeaf)
	}
	if version != 0 {
		return l, fmt.Errorf("%w: leaf version %d (only v1 is known)", ErrLeaf, version)
	}
	if leafType != 0 {
		return l, fmt.Errorf("%w: leaf type %d (only timestamped_entry is known)", ErrLeaf, leafType)
	}
	var typ uint16
	if !s.ReadUint64(&l.Timestamp) || !s.ReadUint16(&typ) {
		return l, fmt.Errorf("%w: short timestamped entry", ErrLeaf)
	}
	l.Type = EntryType(typ)
	switch l.Type {
	case X509Entry:
	case PrecertEntry:
		if !s.CopyBytes(l.IssuerKeyHash[:]) {
			return l, fmt.Errorf("%w: short issuer key hash", ErrLeaf)
		}
	default:
		return l, fmt.Errorf("%w: entry type %d", ErrLeaf, typ)
	}
	var der cryptobyte.String
	if !s.ReadUint24LengthPrefixed(&der) || len(der) == 0 {
		return l, fmt.Errorf("%w: certificate length", ErrLeaf)
	}
	if len(der) > MaxCert {
		return l, fmt.Errorf("%w: certificate of %d bytes", ErrLeaf, len(der))
	}
	var ext cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&ext) {
		return l, fmt.Errorf("%w: extensions length", ErrLeaf)
	}
	if !s.Empty() {
		return l, fmt.Errorf("%w: %d trailing bytes", ErrLeaf, len(s))
	}
	l.DER = der
	return l, nil
}

// Certificate parses the leaf's certificate. A precertificate's
// TBSCertificate is wrapped in a certificate with an empty signature so
// that crypto/x509 reads it; the CT poison extension (a critical extension
// x509 does not handle) does not stop the parse, and the signature is
// never checked, so the result is for reading names only.
func (l Leaf) Certificate() (*x509.Certificate, error) {
	der := l.DER
	if l.Type == PrecertEntry {
		var err error
		if der, err = wrapTBS(der); err != nil {
			return nil, err
		}
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLeaf, err)
	}
	return c, nil
}

// wrapTBS builds Certificate ::= SEQUENCE { tbs, signatureAlgorithm,
// signatureValue } around a TBSCertificate, taking the algorithm from the
// TBSCertificate's own signature field (x509 insists they agree) and an
// empty signature.
func wrapTBS(tbs []byte) ([]byte, error) {
	in := cryptobyte.String(tbs)
	var body cryptobyte.String
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, fmt.Errorf("%w: precertificate TBSCertificate is not one SEQUENCE", ErrLeaf)
	}
	if !body.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, fmt.Errorf("%w: precertificate version", ErrLeaf)
	}
	var serial cryptobyte.String
	if !body.ReadASN1(&serial, cbasn1.INTEGER) {
		return nil, fmt.Errorf("%w: precertificate serial", ErrLeaf)
	}
	var alg cryptobyte.String
	if !body.ReadASN1Element(&alg, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: precertificate signature algorithm", ErrLeaf)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddBytes(alg)
		b.AddASN1BitString(nil)
	})
	return b.Bytes()
}

// ChainEntry is the extra_data of an entry: the chain that was logged
// with it. For a precertificate the first element is the precertificate
// itself.
type ChainEntry struct {
	Precert []byte   // the precertificate (PrecertEntry only)
	Chain   [][]byte // issuers, leaf's issuer first
}

// ParseExtra decodes a log entry's extra_data for its type: a
// certificate chain (X509ChainEntry) or a precertificate and its chain
// (PrecertChainEntry), RFC 6962 4.6.
func ParseExtra(t EntryType, b []byte) (ChainEntry, error) {
	var ce ChainEntry
	s := cryptobyte.String(b)
	if t == PrecertEntry {
		var pre cryptobyte.String
		if !s.ReadUint24LengthPrefixed(&pre) {
			return ce, fmt.Errorf("%w: extra data: precertificate length", ErrLeaf)
		}
		ce.Precert = pre
	}
	var chain cryptobyte.String
	if !s.ReadUint24LengthPrefixed(&chain) || !s.Empty() {
		return ce, fmt.Errorf("%w: extra data: chain length", ErrLeaf)
	}
	for !chain.Empty() {
		var c cryptobyte.String
		if !chain.ReadUint24LengthPrefixed(&c) {
			return ce, fmt.Errorf("%w: extra data: chain certificate length", ErrLeaf)
		}
		ce.Chain = append(ce.Chain, c)
	}
	return ce, nil
}

// Names returns the DNS names of a certificate: its DNS subject
// alternative names and, when it looks like a host name, its subject
// common name; lower-case, without a trailing dot, a wildcard's "*."
// dropped (a wildcard certificate for *.a.example names a.example), each
// once.
func Names(c *x509.Certificate) []string {
	out := make([]string, 0, len(c.DNSNames)+1)
	add := func(n string) {
		n = CleanName(n)
		if n == "" {
			return
		}
		for _, o := range out {
			if o == n {
				return
			}
		}
		out = append(out, n)
	}
	add(c.Subject.CommonName)
	for _, n := range c.DNSNames {
		add(n)
	}
	return out
}

// CleanName returns n as a host name (lower-case, no trailing dot, no
// leading "*."), or "" when it is not one: at least two labels of letters,
// digits, '-' and '_', each 1-63 bytes, 253 bytes at most, the last not
// all digits.
func CleanName(n string) string {
	n = strings.TrimSuffix(strings.TrimSpace(n), ".")
	n = strings.TrimPrefix(n, "*.")
	if len(n) == 0 || len(n) > 253 {
		return ""
	}
	lower := true
	labels, start, last := 0, 0, 0
	for i := 0; i <= len(n); i++ {
		if i == len(n) || n[i] == '.' {
			if i-start < 1 || i-start > 63 {
				return ""
			}
			labels++
			last, start = start, i+1
			continue
		}
		c := n[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		case 'A' <= c && c <= 'Z':
			lower = false
		default:
			return ""
		}
	}
	if labels < 2 || allDigits(n[last:]) {
		return "" // one label, or an address: top-level domains are not numbers
	}
	if !lower {
		n = strings.ToLower(n)
	}
	return n
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// AppendLeaf encodes a MerkleTreeLeaf (for logs and tests): version v1, a
// timestamped_entry of type t carrying der (a certificate, or for a
// precertificate its TBSCertificate with the issuer key hash), no
// extensions.
func AppendLeaf(dst []byte, timestamp uint64, t EntryType, der []byte, issuerKeyHash [32]byte) []byte {
	dst = append(dst, 0, 0)
	dst = binary.BigEndian.AppendUint64(dst, timestamp)
	dst = binary.BigEndian.AppendUint16(dst, uint16(t))
	if t == PrecertEntry {
		dst = append(dst, issuerKeyHash[:]...)
	}
	n := len(der)
	dst = append(dst, byte(n>>16), byte(n>>8), byte(n))
	dst = append(dst, der...)
	return append(dst, 0, 0)
}

// AppendExtra encodes an entry's extra_data: for a precertificate the
// precertificate, then the chain.
func AppendExtra(dst []byte, t EntryType, precert []byte, chain [][]byte) []byte {
	u24 := func(dst []byte, n int) []byte { return append(dst, byte(n>>16), byte(n>>8), byte(n)) }
	if t == PrecertEntry {
		dst = u24(dst, len(precert))
		dst = append(dst, precert...)
	}
	total := 0
	for _, c := range chain {
		total += 3 + len(c)
	}
	dst = u24(dst, total)
	for _, c := range chain {
		dst = u24(dst, len(c))
		dst = append(dst, c...)
	}
	return dst
}

// TBSOf returns the TBSCertificate of a DER certificate, with the CT
// poison extension (1.3.6.1.4.1.11129.2.4.3) left as it is: what a log
// stores for a precertificate.
func TBSOf(der []byte) ([]byte, error) {
	in := cryptobyte.String(der)
	var cert, tbs cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1Element(&tbs, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: not a certificate", ErrLeaf)
	}
	return tbs, nil
}
