package svc

import (
	"bufio"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strings"

	"github.com/rampart-cert/rampart/internal/check"
)

// A host key is read with our own minimal key exchange: KEXINIT naming
// one key exchange and one host-key algorithm, then the client's ephemeral
// public value; the server's reply (message 31) carries its host key blob
// K_S. We never finish the exchange (no NEWKEYS, no authentication), so
// any key type the server has can be read, DSA included, which
// golang.org/x/crypto/ssh no longer parses.

// kexWeCanStart are the key exchanges whose first client message we can
// build, best first.
var kexWeCanStart = []string{"curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256",
	"diffie-hellman-group14-sha256", "diffie-hellman-group16-sha512", "diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1"}

// sshString appends an SSH string.
func sshString(b []byte, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// sshPacket frames a cleartext binary packet (RFC 4253 §6).
func sshPacket(payload []byte) []byte {
	pad := 8 - (len(payload)+5)%8
	if pad < 4 {
		pad += 8
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(len(payload)+pad+1))
	out = append(out, byte(pad))
	out = append(out, payload...)
	return append(out, make([]byte, pad)...)
}

// sshMpint encodes a positive integer as an SSH mpint.
func sshMpint(b []byte, n *big.Int) []byte {
	v := n.Bytes()
	if len(v) > 0 && v[0]&0x80 != 0 {
		v = append([]byte{0}, v...)
	}
	return sshString(b, v)
}

// kexFirstMessage is the client's ephemeral value for kex: message 30
// with an X25519 or P-256 public key, or with a DH value e (random, in
// range: the server only checks 1 < e < p-1, and never learns that we do
// not know its logarithm).
func kexFirstMessage(kex string) ([]byte, bool) {
	msg := []byte{30}
	switch kex {
	case "curve25519-sha256", "curve25519-sha256@libssh.org":
		k, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			return nil, false
		}
		return sshString(msg, k.PublicKey().Bytes()), true
	case "ecdh-sha2-nistp256":
		k, err := ecdh.P256().GenerateKey(rand.Reader)
		if err != nil {
			return nil, false
		}
		return sshString(msg, k.PublicKey().Bytes()), true
	}
	bits := map[string]int{"diffie-hellman-group14-sha256": 2048, "diffie-hellman-group14-sha1": 2048,
		"diffie-hellman-group16-sha512": 4096, "diffie-hellman-group1-sha1": 1024}[kex]
	if bits == 0 {
		return nil, false
	}
	// Below 2^(bits-1), under the group's prime, and far above 1.
	e, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bits-2)))
	if err != nil {
		return nil, false
	}
	e.SetBit(e, bits-3, 1)
	return sshMpint(msg, e), true
}

// sshHostKey reads the host key the server uses for alg. It returns nil
// (no error) when no key exchange we can start is offered or the server
// does not answer with a reply.
func sshHostKey(ctx context.Context, env *check.Env, t check.Target, server *KexInit, alg string) (*SSHHostKey, error) {
	var kex string
	for _, k := range kexWeCanStart {
		if slices.Contains(server.Kex, k) {
			kex = k
			break
		}
	}
	first, ok := kexFirstMessage(kex)
	if !ok {
		return nil, nil
	}
	c, err := conn(ctx, env, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	r := bufio.NewReader(io.LimitReader(c, maxReply))
	for range 20 {
		line, err := readLine(r)
		if err != nil {
			return nil, nil
		}
		if strings.HasPrefix(line, "SSH-") {
			break
		}
	}
	var cookie [16]byte
	_, _ = rand.Read(cookie[:])
	ki := append([]byte{20}, cookie[:]...)
	for _, l := range [][]string{{kex}, {alg}, server.CiphersS2C, server.CiphersC2S, server.MACsS2C, server.MACsC2S, server.CompressS2C, server.CompressC2S, nil, nil} {
		ki = sshString(ki, []byte(strings.Join(l, ",")))
	}
	ki = append(ki, 0, 0, 0, 0, 0)
	msg := append([]byte(sshClientIdent), sshPacket(ki)...)
	if _, err := c.Write(append(msg, sshPacket(first)...)); err != nil {
		return nil, nil
	}
	for range 4 { // the server's KEXINIT, maybe an ignore or debug message, then the reply
		p, err := ReadSSHPacket(r)
		if err != nil {
			return nil, nil
		}
		if len(p) > 0 && p[0] == 31 {
			blob, err := sshFirstString(p[1:])
			if err != nil {
				return nil, nil
			}
			k, err := ParseSSHHostKeyBlob(blob)
			if err != nil {
				return nil, nil
			}
			return k, nil
		}
		if len(p) > 0 && p[0] == 1 { // disconnect: no common algorithm after all
			return nil, nil
		}
	}
	return nil, nil
}

// sshFirstString reads one SSH string from b.
func sshFirstString(b []byte) ([]byte, error) {
	if len(b) < 4 {
		return nil, ErrNotSSH
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, ErrNotSSH
	}
	return b[4 : 4+n], nil
}

// ParseSSHHostKeyBlob reads a public host key blob (RFC 4253 §6.6,
// RFC 5656, RFC 8709): its type, the size of an RSA modulus or DSA prime,
// and its SHA-256 fingerprint as ssh-keygen prints it.
func ParseSSHHostKeyBlob(blob []byte) (*SSHHostKey, error) {
	typ, err := sshFirstString(blob)
	if err != nil || len(typ) == 0 || len(typ) > 64 {
		return nil, fmt.Errorf("%w: host key type", ErrNotSSH)
	}
	sum := sha256.Sum256(blob)
	k := &SSHHostKey{Type: string(typ), Fingerprint: "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])}
	rest := blob[4+len(typ):]
	field := func(i int) ([]byte, error) {
		for ; i > 0; i-- {
			v, err := sshFirstString(rest)
			if err != nil {
				return nil, err
			}
			rest = rest[4+len(v):]
		}
		return sshFirstString(rest)
	}
	switch k.Type {
	case "ssh-rsa": // e, n
		n, err := field(1)
		if err != nil {
			return nil, fmt.Errorf("%w: RSA key", ErrNotSSH)
		}
		k.Bits = new(big.Int).SetBytes(n).BitLen()
	case "ssh-dss": // p, q, g, y
		p, err := field(0)
		if err != nil {
			return nil, fmt.Errorf("%w: DSA key", ErrNotSSH)
		}
		k.Bits = new(big.Int).SetBytes(p).BitLen()
	}
	return k, nil
}
