package rpz

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Key is a TSIG key (RFC 8945), HMAC-SHA256 only.
type Key struct {
	// Name is the key's name, a domain name both sides agree on
	// ("hanoi-resolver.rampart."); compared without case.
	Name string
	// Secret is the key material, base64 as tsig-keygen and BIND's key
	// clauses write it; at least 16 bytes (RFC 8945 wants the hash's 32).
	Secret string
}

// MinSecret is the shortest key material accepted, in bytes.
const MinSecret = 16

// tsigFudge is the time difference, in seconds, a signature allows.
const tsigFudge = 300

// signer is a Key ready to sign: its name and algorithm in canonical
// wire form and the decoded secret.
type signer struct {
	name   string // canonical FQDN
	secret []byte
	b64    string // for dns.TsigVerify
	nameW  []byte
	algW   []byte
}

var algWire = wireName(dns.HmacSHA256)

func newSigner(k *Key) (*signer, error) {
	name := strings.ToLower(dns.Fqdn(k.Name))
	if _, ok := dns.IsDomainName(name); !ok || name == "." {
		return nil, fmt.Errorf("rpz: TSIG key name %q is not a domain name", k.Name)
	}
	sec, err := base64.StdEncoding.DecodeString(k.Secret)
	if err != nil {
		return nil, fmt.Errorf("rpz: TSIG key %s: secret is not base64: %w", name, err)
	}
	if len(sec) < MinSecret {
		return nil, fmt.Errorf("rpz: TSIG key %s: secret of %d bytes, want at least %d", name, len(sec), MinSecret)
	}
	return &signer{name: name, secret: sec, b64: k.Secret, nameW: wireName(name), algW: algWire}, nil
}

// tsigState carries a signed exchange from message to message: the MAC
// of the request for the first answer, then of the previous answer.
type tsigState struct {
	s      *signer
	prior  []byte
	first  bool
	origID uint16
	now    func() time.Time // the signing time of each message: a long transfer stays within the fudge
	mac    hash.Hash
}

func (s *signer) start(reqMAC []byte, origID uint16, now func() time.Time) *tsigState {
	return &tsigState{s: s, prior: reqMAC, first: true, origID: origID, now: now, mac: hmac.New(sha256.New, s.secret)}
}

// sign appends a TSIG record to the DNS message b[off:] (its ARCOUNT
// not counting the record yet) and returns b: RFC 8945 section 4.3 for the
// first answer (request MAC, message, all TSIG variables) and 5.3.1 for
// the ones after it (prior MAC, message, timers only).
func (t *tsigState) sign(msg []byte, off int) []byte {
	var u16 [2]byte
	var timers [8]byte
	now := uint64(t.now().Unix())
	binary.BigEndian.PutUint16(timers[0:], uint16(now>>32))
	binary.BigEndian.PutUint32(timers[2:], uint32(now))
	binary.BigEndian.PutUint16(timers[6:], tsigFudge)

	h := t.mac
	h.Reset()
	if len(t.prior) > 0 {
		binary.BigEndian.PutUint16(u16[:], uint16(len(t.prior)))
		h.Write(u16[:])
		h.Write(t.prior)
	}
	h.Write(msg[off:])
	if t.first {
		h.Write(t.s.nameW)
		h.Write([]byte{0, dns.ClassANY, 0, 0, 0, 0}) // class ANY, TTL 0
		h.Write(t.s.algW)
		h.Write(timers[:])
		h.Write([]byte{0, 0, 0, 0}) // error 0, other length 0
	} else {
		h.Write(timers[:])
	}
	mac := h.Sum(nil)
	t.prior, t.first = mac, false

	msg = append(msg, t.s.nameW...)
	msg = binary.BigEndian.AppendUint16(msg, dns.TypeTSIG)
	msg = binary.BigEndian.AppendUint16(msg, dns.ClassANY)
	msg = binary.BigEndian.AppendUint32(msg, 0)
	rdlen := len(t.s.algW) + 8 + 2 + len(mac) + 6
	msg = binary.BigEndian.AppendUint16(msg, uint16(rdlen))
	msg = append(msg, t.s.algW...)
	msg = append(msg, timers[:]...)
	msg = binary.BigEndian.AppendUint16(msg, uint16(len(mac)))
	msg = append(msg, mac...)
	msg = binary.BigEndian.AppendUint16(msg, t.origID)
	msg = append(msg, 0, 0, 0, 0) // error, other length
	binary.BigEndian.PutUint16(msg[off+10:], binary.BigEndian.Uint16(msg[off+10:])+1)
	return msg
}
