package svc

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	tlscheck "github.com/rampart-cert/rampart/internal/check/tls"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/probe/tlsprobe"
)

var metaDH = meta("svc.dh-weak-group", finding.Medium,
	"Diffie-Hellman group under 2048 bits", "Nhóm Diffie-Hellman dưới 2048 bit",
	"The server agrees keys with finite-field Diffie-Hellman over a group smaller than 2048 bits: TLS DHE with the server's parameters, or SSH's diffie-hellman-group1-sha1 (the 1024-bit Oakley group 2). 1024-bit groups are within reach of well-funded attackers, and common ones were precomputed (Logjam); a 512-bit export group is broken outright (high).",
	"Máy chủ thỏa thuận khóa bằng Diffie-Hellman trường hữu hạn với nhóm nhỏ hơn 2048 bit: TLS DHE với tham số của máy chủ, hoặc diffie-hellman-group1-sha1 của SSH (nhóm Oakley 2, 1024 bit). Nhóm 1024 bit nằm trong tầm tay của kẻ tấn công có nhiều tài nguyên, và các nhóm phổ biến đã được tính trước (Logjam); nhóm 512 bit loại xuất khẩu thì đã bị phá hoàn toàn (mức cao).",
	"TLS: prefer ECDHE suites and give DHE a group of at least 2048 bits (nginx ssl_dhparam with a 2048 or 3072-bit file, Apache SSLOpenSSLConfCmd DHParameters, or the RFC 7919 ffdhe2048 group), or drop DHE suites. SSH: remove diffie-hellman-group1-sha1 from KexAlgorithms and keep group-exchange moduli of 2048 bits or more (/etc/ssh/moduli).",
	"TLS: ưu tiên bộ mã ECDHE và dùng nhóm DHE ít nhất 2048 bit (nginx ssl_dhparam với tệp 2048 hoặc 3072 bit, Apache SSLOpenSSLConfCmd DHParameters, hoặc nhóm ffdhe2048 của RFC 7919), hoặc bỏ các bộ mã DHE. SSH: bỏ diffie-hellman-group1-sha1 khỏi KexAlgorithms và chỉ giữ moduli group-exchange từ 2048 bit trở lên (/etc/ssh/moduli).",
	"CWE-326", "CVE-2015-4000", "RFC 7919")

// runDH judges an SSH service by its KEXINIT and a TLS service by the
// DHE parameters of its ServerKeyExchange.
func runDH(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	m := metaDH
	if strings.EqualFold(t.Service, "ssh") || !identified(t) && t.Addr.Port() == 22 {
		ident, kex, ok, err := sshHello(ctx, env, t)
		if err != nil || !ok {
			return nil, err
		}
		if !slices.Contains(kex.Kex, "diffie-hellman-group1-sha1") {
			return nil, nil
		}
		r := result(m, m.Severity, fmt.Sprintf("SSH server on %s offers diffie-hellman-group1-sha1 (1024-bit group)", t.Addr),
			check.Evidence{Request: strings.TrimSpace(sshClientIdent) + ", then read the server's KEXINIT", Response: check.Cap(ident + "\n" + kexSummary(kex)),
				Fields: map[string]string{"protocol": "ssh", "kex": "diffie-hellman-group1-sha1", "bits": "1024", "server": ident}})
		r.Subject = "ssh"
		return []check.Result{r}, nil
	}
	bits, suite, ok, err := dheBits(ctx, env, t)
	if err != nil || !ok || bits >= 2048 {
		return nil, err
	}
	sev := m.Severity
	if bits <= 768 {
		sev = finding.High
	}
	r := result(m, sev, fmt.Sprintf("TLS server on %s uses a %d-bit Diffie-Hellman group (%s)", t.Addr, bits, tlsprobe.SuiteName(suite)),
		check.Evidence{Request: "TLS 1.2 ClientHello offering DHE suites only", Response: fmt.Sprintf("ServerHello %s; ServerKeyExchange dh_p of %d bits", tlsprobe.SuiteName(suite), bits),
			Fields: map[string]string{"protocol": "tls", "suite": tlsprobe.SuiteName(suite), "bits": fmt.Sprint(bits)}})
	r.Subject = "tls"
	return []check.Result{r}, nil
}

// dheSuites are the suites whose key exchange is finite-field DH with the
// server's parameters.
var dheSuites = sync.OnceValue(func() []uint16 {
	var out []uint16
	for _, id := range tlsprobe.Suites(0) {
		n := tlsprobe.SuiteName(id)
		if strings.Contains(n, "_DHE_") || strings.Contains(n, "_DH_anon_") {
			out = append(out, id)
		}
	}
	return out
})

// ErrNoDHParams says a ServerKeyExchange holds no DH parameters.
var ErrNoDHParams = errors.New("svc: no DH parameters in ServerKeyExchange")

// ParseDHServerKeyExchange returns the size in bits of dh_p from a
// ServerKeyExchange body of a DHE or DH_anon suite (RFC 5246 §7.4.3:
// dh_p, dh_g, dh_Ys, each with a 16-bit length).
func ParseDHServerKeyExchange(body []byte) (int, error) {
	var vals [3][]byte
	for i := range vals {
		if len(body) < 2 {
			return 0, ErrNoDHParams
		}
		n := int(body[0])<<8 | int(body[1])
		if n == 0 || len(body) < 2+n {
			return 0, ErrNoDHParams
		}
		vals[i] = body[2 : 2+n]
		body = body[2+n:]
	}
	return new(big.Int).SetBytes(vals[0]).BitLen(), nil
}

// dheBits offers only DHE suites and reads the group size from the
// ServerKeyExchange; ok is false when the server picks no DHE suite
// (refuses, or is not TLS).
func dheBits(ctx context.Context, env *check.Env, t check.Target) (bits int, suite uint16, ok bool, err error) {
	// Through the TLS family's dialer: a STARTTLS service is upgraded
	// first.
	dctx, cancel := context.WithTimeout(ctx, 2*timeoutOf(env))
	defer cancel()
	c, err := tlscheck.DialerFor(env, t)(dctx, "tcp", t.Addr.String())
	if err != nil {
		return 0, 0, false, fmt.Errorf("%w: %s: %v", check.ErrUnreachable, t.Addr, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	hello := &tlsprobe.Hello{Version: tlsprobe.TLS12, Suites: dheSuites(), ServerName: t.Host}
	if _, err := c.Write(hello.Marshal()); err != nil {
		return 0, 0, false, nil
	}
	_ = c.SetReadDeadline(time.Now().Add(timeoutOf(env)))
	var buf, hs []byte
	chunk := make([]byte, 16<<10)
	for len(buf) < 256<<10 {
		n, err := c.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for {
			rec, used, perr := tlsprobe.ParseRecord(buf)
			if errors.Is(perr, tlsprobe.ErrShort) {
				break
			}
			if perr != nil || rec.Type != tlsprobe.RecordHandshake {
				return 0, 0, false, nil // an alert (no DHE suite), or not TLS
			}
			hs = append(hs, rec.Fragment...)
			buf = buf[used:]
			msgs, rest, herr := tlsprobe.ParseHandshakes(hs)
			if herr != nil {
				return 0, 0, false, nil
			}
			for _, msg := range msgs {
				switch msg.Type {
				case tlsprobe.TypeServerHello:
					sh, err := tlsprobe.ParseServerHello(msg.Body)
					if err != nil || !slices.Contains(dheSuites(), sh.Suite) {
						return 0, 0, false, nil
					}
					suite = sh.Suite
				case tlsprobe.TypeServerKeyExchange:
					if suite == 0 {
						return 0, 0, false, nil
					}
					b, err := ParseDHServerKeyExchange(msg.Body)
					if err != nil {
						return 0, 0, false, nil
					}
					return b, suite, true, nil
				case tlsprobe.TypeServerHelloDone:
					return 0, 0, false, nil
				}
			}
			hs = append([]byte(nil), rest...)
		}
		if err != nil {
			return 0, 0, false, nil
		}
	}
	return 0, 0, false, nil
}

// dhCheck applies to SSH services and to TLS services (the TLS family's
// rule).
type dhCheck struct{}

func (dhCheck) Meta() check.Meta { return metaDH }

func (dhCheck) Applies(t check.Target) bool {
	if t.Kind != check.TargetService {
		return false
	}
	if strings.EqualFold(t.Service, "ssh") || !identified(t) && t.Addr.Port() == 22 {
		return true
	}
	return tlscheck.Applies(t)
}

func (dhCheck) Run(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	return runDH(ctx, env, t)
}
