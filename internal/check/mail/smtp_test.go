package mail

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

// mode is how the fixture SMTP server behaves.
type mode int

const (
	modeSTARTTLS mode = iota // advertises STARTTLS and upgrades
	modePlain                // no STARTTLS
	modeRefuse               // advertises STARTTLS, answers 454
	modeBroken               // advertises STARTTLS, answers 220, then no TLS
	modeNoEHLO               // 502 to EHLO, HELO only
	modeReject               // 554 greeting
	modeFlood                // an endless EHLO reply
	modeInject               // pipelines a command after 220 to STARTTLS
	modeSilent               // never greets
)

// startSMTP runs a tiny SMTP server on 127.0.0.1:0 until the test ends.
func startSMTP(t *testing.T, m mode) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cert := selfSigned(t)
	var wg sync.WaitGroup
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				serveSMTP(c, m, cert, done)
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

func serveSMTP(c net.Conn, m mode, cert tls.Certificate, done chan struct{}) {
	w := func(s string) { c.Write([]byte(s)) }
	switch m {
	case modeSilent:
		<-done
		return
	case modeReject:
		w("554 5.7.1 no service for you\r\n")
		return
	}
	w("220 mx.fixture.test ESMTP ready\r\n")
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			switch m {
			case modeNoEHLO:
				w("502 5.5.2 command not recognized\r\n")
				continue
			case modeFlood:
				for {
					if _, err := c.Write([]byte("250-" + strings.Repeat("X", 900) + "\r\n")); err != nil {
						return
					}
				}
			}
			w("250-mx.fixture.test greets you\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n")
			if m != modePlain {
				w("250-STARTTLS\r\n")
			}
			w("250 8BITMIME\r\n")
		case cmd == "STARTTLS":
			switch m {
			case modeRefuse:
				w("454 4.7.0 TLS not available due to temporary reason\r\n")
				continue
			case modeBroken:
				w("220 2.0.0 go ahead\r\n")
				w("this is not a TLS server hello\r\n")
				return
			case modeInject:
				w("220 2.0.0 go ahead\r\n250 injected\r\n")
			default:
				w("220 2.0.0 go ahead\r\n")
			}
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
			if err := tc.Handshake(); err != nil {
				return
			}
			c, r = tc, bufio.NewReader(tc)
			w = func(s string) { tc.Write([]byte(s)) }
		case cmd == "QUIT":
			w("221 2.0.0 bye\r\n")
			return
		default:
			w("500 5.5.1 unrecognized\r\n")
		}
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.fixture.test"},
		DNSNames:     []string{"mx.fixture.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func testEnv() *check.Env {
	return &check.Env{
		Timeout: time.Second,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil || !ap.Addr().IsLoopback() {
				return nil, errors.New("test dialer: loopback only")
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
}

func smtpTarget(ap netip.AddrPort) check.Target {
	return check.Target{Kind: check.TargetService, Addr: ap, Service: "smtp", Host: "mx.fixture.test"}
}

func TestRegister(t *testing.T) {
	r := check.NewRegistry()
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	c, ok := r.Get("mail.starttls-missing")
	if !ok || c.Meta().Severity != finding.Medium || c.Meta().Description.VI == "" {
		t.Fatalf("meta: %+v", c)
	}
}

func TestApplies(t *testing.T) {
	c := Checks()[0]
	ap := func(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
	yes := []check.Target{
		{Kind: check.TargetService, Addr: ap("127.0.0.1:25"), Service: "smtp"},
		{Kind: check.TargetService, Addr: ap("127.0.0.1:587"), Service: "submission"},
		{Kind: check.TargetService, Addr: ap("127.0.0.1:2525"), Service: "SMTP"},
		{Kind: check.TargetService, Addr: ap("127.0.0.1:25")},
		{Kind: check.TargetService, Addr: ap("127.0.0.1:587")},
	}
	no := []check.Target{
		{Kind: check.TargetService, Addr: ap("127.0.0.1:465"), Service: "smtp", TLS: true},
		{Kind: check.TargetService, Addr: ap("127.0.0.1:80"), Service: "http"},
		{Kind: check.TargetService, Addr: ap("127.0.0.1:2525")},
		{Kind: check.TargetDomain, Host: "example.org"},
	}
	for _, tg := range yes {
		if !c.Applies(tg) {
			t.Errorf("does not apply to %+v", tg)
		}
	}
	for _, tg := range no {
		if c.Applies(tg) {
			t.Errorf("applies to %+v", tg)
		}
	}
}

func TestSTARTTLS(t *testing.T) {
	cases := []struct {
		name        string
		mode        mode
		fire        bool
		unreachable bool
		title       string
	}{
		{name: "hardened", mode: modeSTARTTLS},
		{name: "pipelined injection is discarded", mode: modeInject},
		{name: "not advertised", mode: modePlain, fire: true, title: "does not offer STARTTLS"},
		{name: "refused", mode: modeRefuse, fire: true, title: "refuses it (454)"},
		{name: "handshake fails", mode: modeBroken, fire: true, title: "handshake fails"},
		{name: "no EHLO", mode: modeNoEHLO, fire: true, title: "refuses EHLO (502)"},
		{name: "554 greeting", mode: modeReject, unreachable: true},
		{name: "flood", mode: modeFlood, unreachable: true},
		{name: "silent", mode: modeSilent, unreachable: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := startSMTP(t, c.mode)
			start := time.Now()
			got, err := Checks()[0].Run(context.Background(), testEnv(), smtpTarget(addr))
			if elapsed := time.Since(start); elapsed > 4*time.Second {
				t.Errorf("took %v", elapsed)
			}
			if c.unreachable {
				if !errors.Is(err, check.ErrUnreachable) {
					t.Fatalf("err = %v, want unreachable", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.fire {
				if len(got) != 0 {
					t.Fatalf("fired on a clean server: %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %+v", got)
			}
			r := got[0]
			if r.Check != "mail.starttls-missing" || r.Severity != finding.Medium || !strings.Contains(r.Title, c.title) {
				t.Errorf("result %+v", r)
			}
			if !strings.Contains(r.Evidence.Response, "C: EHLO [127.0.0.1]") || !strings.Contains(r.Evidence.Response, "S: 220 mx.fixture.test") {
				t.Errorf("transcript:\n%s", r.Evidence.Response)
			}
		})
	}
}

func TestSTARTTLSClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	if _, err := Checks()[0].Run(context.Background(), testEnv(), smtpTarget(addr)); !errors.Is(err, check.ErrUnreachable) {
		t.Fatalf("err = %v", err)
	}
}

func TestSTARTTLSCancel(t *testing.T) {
	addr := startSMTP(t, modeSilent)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	env := testEnv()
	env.Timeout = time.Minute
	start := time.Now()
	if _, err := Checks()[0].Run(ctx, env, smtpTarget(addr)); !errors.Is(err, check.ErrUnreachable) {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("cancellation did not interrupt the read")
	}
}
