package svc

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

var metaSSHAlgorithms = meta("svc.ssh-weak-algorithms", finding.Medium,
	"SSH server offers legacy algorithms", "Máy chủ SSH cho phép thuật toán lỗi thời",
	"The SSH server's key exchange offer (KEXINIT) includes algorithms that current OpenSSH has retired: key exchange with SHA-1, CBC-mode, RC4 (arcfour) or 3DES ciphers, MD5 or truncated MACs, or host-key signatures with SHA-1 or DSA. An attacker in the path can push a client towards them (downgrade) and weaken or break the session's protection. One result per kind of algorithm (key exchange, cipher, MAC, host key); 1024-bit Diffie-Hellman is reported as svc.dh-weak-group.",
	"Gói đề xuất trao đổi khóa (KEXINIT) của máy chủ SSH có các thuật toán mà OpenSSH hiện nay đã loại bỏ: trao đổi khóa dùng SHA-1, mã hóa chế độ CBC, RC4 (arcfour) hoặc 3DES, MAC dùng MD5 hoặc bị cắt ngắn, hoặc chữ ký khóa máy chủ dùng SHA-1 hay DSA. Kẻ tấn công đứng giữa có thể ép máy khách dùng các thuật toán này (hạ cấp) và làm yếu hoặc phá vỡ lớp bảo vệ của phiên. Mỗi loại thuật toán (trao đổi khóa, mã hóa, MAC, khóa máy chủ) là một kết quả; Diffie-Hellman 1024 bit được báo trong svc.dh-weak-group.",
	"Offer only current algorithms (OpenSSH: KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,diffie-hellman-group16-sha512; Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes128-ctr; MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com; no ssh-dss or ssh-rsa in HostKeyAlgorithms), or upgrade the device's SSH server.",
	"Chỉ cho phép các thuật toán hiện hành (OpenSSH: KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,diffie-hellman-group16-sha512; Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes128-ctr; MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com; bỏ ssh-dss và ssh-rsa khỏi HostKeyAlgorithms), hoặc nâng cấp máy chủ SSH của thiết bị.",
	"CWE-327", "CVE-2008-5161", "CVE-2016-2183", "RFC 9142")

// KexInit is the algorithm lists of an SSH_MSG_KEXINIT (RFC 4253 §7.1).
type KexInit struct {
	Kex, HostKey               []string
	CiphersC2S, CiphersS2C     []string
	MACsC2S, MACsS2C           []string
	CompressC2S, CompressS2C   []string
	FirstKexFollows            bool
	languagesC2S, languagesS2C []string
}

// ErrNotSSH says a reply is not an SSH server's identification or
// KEXINIT.
var ErrNotSSH = errors.New("svc: not an SSH KEXINIT")

// maxSSHPacket caps one cleartext packet (a KEXINIT is well under 4 KiB;
// RFC 4253 asks implementations to take 35000 bytes).
const maxSSHPacket = 35000

// ReadSSHPacket reads one unencrypted binary packet and returns its
// payload.
func ReadSSHPacket(r io.Reader) ([]byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSSH, err)
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	pad := uint32(hdr[4])
	if n < 5 || n > maxSSHPacket || pad+1 > n {
		return nil, fmt.Errorf("%w: packet length %d, padding %d", ErrNotSSH, n, pad)
	}
	body := make([]byte, n-1)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSSH, err)
	}
	return body[:n-1-pad], nil
}

// ParseKexInit reads a KEXINIT payload: message 20, a 16-byte cookie, ten
// name-lists, the first_kex_packet_follows flag and a reserved word.
func ParseKexInit(p []byte) (*KexInit, error) {
	if len(p) < 17 || p[0] != 20 {
		return nil, ErrNotSSH
	}
	p = p[17:]
	lists := make([][]string, 10)
	for i := range lists {
		if len(p) < 4 {
			return nil, fmt.Errorf("%w: name-list %d cut", ErrNotSSH, i)
		}
		n := binary.BigEndian.Uint32(p)
		if uint64(n) > uint64(len(p)-4) {
			return nil, fmt.Errorf("%w: name-list %d of %d bytes", ErrNotSSH, i, n)
		}
		s := string(p[4 : 4+n])
		p = p[4+n:]
		if s != "" {
			for _, name := range strings.Split(s, ",") {
				if name == "" || len(name) > 64 || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r > '~' }) {
					return nil, fmt.Errorf("%w: bad algorithm name in list %d", ErrNotSSH, i)
				}
				lists[i] = append(lists[i], name)
			}
		}
	}
	if len(p) < 5 {
		return nil, fmt.Errorf("%w: no first_kex_packet_follows", ErrNotSSH)
	}
	return &KexInit{Kex: lists[0], HostKey: lists[1], CiphersC2S: lists[2], CiphersS2C: lists[3],
		MACsC2S: lists[4], MACsS2C: lists[5], CompressC2S: lists[6], CompressS2C: lists[7],
		languagesC2S: lists[8], languagesS2C: lists[9], FirstKexFollows: p[0] != 0}, nil
}

// sshClientIdent is what we say we are.
const sshClientIdent = "SSH-2.0-Rampart_Scanner\r\n"

// sshHello reads the server's identification (RFC 4253 allows other
// lines before it), sends ours, and reads the server's KEXINIT. ok is
// false when the port does not speak SSH. Nothing else is sent: no key
// exchange, no authentication.
func sshHello(ctx context.Context, env *check.Env, t check.Target) (ident string, kex *KexInit, ok bool, err error) {
	c, err := conn(ctx, env, t)
	if err != nil {
		return "", nil, false, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	r := bufio.NewReader(io.LimitReader(c, maxReply))
	for range 20 {
		line, err := readLine(r)
		if err != nil {
			return "", nil, false, nil
		}
		if strings.HasPrefix(line, "SSH-") {
			ident = line
			break
		}
	}
	if !strings.HasPrefix(ident, "SSH-2.0-") && !strings.HasPrefix(ident, "SSH-1.99-") {
		return ident, nil, false, nil
	}
	if _, err := io.WriteString(c, sshClientIdent); err != nil {
		return ident, nil, false, nil
	}
	p, err := ReadSSHPacket(r)
	if err != nil {
		return ident, nil, false, nil
	}
	kex, err = ParseKexInit(p)
	if err != nil {
		return ident, nil, false, nil
	}
	return ident, kex, true, nil
}

// weakness is a legacy algorithm and why.
type weakness struct {
	name, why string
}

// sshWeakKex, sshWeakCiphers, sshWeakMACs and sshWeakHostKeys judge an
// algorithm name; "" means fine.
func sshWeakKex(name string) string {
	switch {
	case name == "diffie-hellman-group1-sha1":
		return "" // svc.dh-weak-group reports the 1024-bit group
	case name == "diffie-hellman-group14-sha1", name == "diffie-hellman-group-exchange-sha1":
		return "SHA-1 exchange hash"
	case name == "rsa1024-sha1":
		return "1024-bit RSA key exchange, SHA-1"
	case strings.HasPrefix(name, "gss-") && strings.Contains(name, "sha1-"):
		return "SHA-1 exchange hash (GSSAPI)"
	}
	return ""
}

func sshWeakCipher(name string) string {
	switch {
	case name == "none":
		return "no encryption"
	case strings.HasPrefix(name, "arcfour"):
		return "RC4"
	case name == "3des-cbc", name == "3des-ctr":
		return "3DES, 64-bit block (Sweet32)"
	case name == "des-cbc", name == "des", name == "des-cbc@ssh.com":
		return "single DES"
	case name == "blowfish-cbc", name == "cast128-cbc", name == "idea-cbc":
		return "64-bit block cipher in CBC mode"
	case strings.HasSuffix(name, "-cbc") || name == "rijndael-cbc@lysator.liu.se":
		return "CBC mode (plaintext recovery, CVE-2008-5161)"
	}
	return ""
}

func sshWeakMAC(name string) string {
	switch {
	case name == "none":
		return "no integrity protection"
	case strings.HasPrefix(name, "hmac-md5"):
		return "MD5"
	case strings.HasPrefix(name, "hmac-sha1-96"):
		return "SHA-1 truncated to 96 bits"
	case strings.HasPrefix(name, "hmac-ripemd160"):
		return "RIPEMD-160, retired"
	case strings.HasPrefix(name, "umac-32"):
		return "32-bit tag"
	}
	return ""
}

func sshWeakHostKeyAlg(name string) string {
	switch name {
	case "ssh-dss", "ssh-dss-cert-v01@openssh.com":
		return "DSA (1024-bit, SHA-1)"
	case "ssh-rsa", "ssh-rsa-cert-v01@openssh.com":
		return "RSA signatures with SHA-1"
	}
	return ""
}

// weakOf lists the weak names of lists, each once, in the server's order.
func weakOf(judge func(string) string, lists ...[]string) []weakness {
	var out []weakness
	seen := map[string]bool{}
	for _, l := range lists {
		for _, n := range l {
			if why := judge(n); why != "" && !seen[n] {
				seen[n] = true
				out = append(out, weakness{n, why})
			}
		}
	}
	return out
}

func names(ws []weakness) string {
	s := make([]string, len(ws))
	for i, w := range ws {
		s[i] = w.name + " (" + w.why + ")"
	}
	return strings.Join(s, ", ")
}

// runSSHAlgorithms reads the server's KEXINIT and reports each kind of
// algorithm that has legacy entries.
func runSSHAlgorithms(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	ident, kex, ok, err := sshHello(ctx, env, t)
	if err != nil || !ok {
		return nil, err
	}
	kinds := []struct {
		subject, label string
		weak           []weakness
	}{
		{"kex", "key exchange", weakOf(sshWeakKex, kex.Kex)},
		{"cipher", "ciphers", weakOf(sshWeakCipher, kex.CiphersC2S, kex.CiphersS2C)},
		{"mac", "MACs", weakOf(sshWeakMAC, kex.MACsC2S, kex.MACsS2C)},
		{"hostkey", "host-key algorithms", weakOf(sshWeakHostKeyAlg, kex.HostKey)},
	}
	var out []check.Result
	for _, k := range kinds {
		if len(k.weak) == 0 {
			continue
		}
		r := result(m, m.Severity, fmt.Sprintf("SSH server on %s offers legacy %s: %s", t.Addr, k.label, firstNames(k.weak, 4)),
			check.Evidence{Request: strings.TrimSpace(sshClientIdent) + ", then read the server's KEXINIT",
				Response: check.Cap(ident + "\n" + kexSummary(kex)),
				Fields:   map[string]string{"server": ident, "weak": names(k.weak)}})
		r.Subject = k.subject
		out = append(out, r)
	}
	return out, nil
}

func firstNames(ws []weakness, n int) string {
	s := make([]string, 0, n)
	for i, w := range ws {
		if i == n {
			s = append(s, fmt.Sprintf("and %d more", len(ws)-n))
			break
		}
		s = append(s, w.name)
	}
	return strings.Join(s, ", ")
}

func kexSummary(k *KexInit) string {
	ciphers := uniq(append(slices.Clone(k.CiphersS2C), k.CiphersC2S...))
	macs := uniq(append(slices.Clone(k.MACsS2C), k.MACsC2S...))
	return "kex: " + strings.Join(k.Kex, ",") + "\nhost keys: " + strings.Join(k.HostKey, ",") +
		"\nciphers: " + strings.Join(ciphers, ",") + "\nmacs: " + strings.Join(macs, ",")
}

// uniq keeps the first of each name, in order.
func uniq(l []string) []string {
	seen := map[string]bool{}
	out := l[:0]
	for _, s := range l {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
