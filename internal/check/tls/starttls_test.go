package tls_test

import (
	"bufio"
	gotls "crypto/tls"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	tlscheck "github.com/rampart-cert/rampart/internal/check/tls"
	"github.com/rampart-cert/rampart/internal/check/tls/tlstest"
)

// startTLSServer speaks proto's clear-text greeting and upgrade, then TLS
// with cfg; with refuse it turns the upgrade down as a server without a
// certificate does.
func startTLSServer(t *testing.T, proto string, cfg *gotls.Config, refuse bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				r := bufio.NewReader(c)
				say := func(s string) { c.Write([]byte(s + "\r\n")) }
				read := func() string { l, _ := r.ReadString('\n'); return strings.TrimSpace(l) }
				switch proto {
				case "smtp":
					say("220 mx.rampart.test ESMTP Postfix")
					if !strings.HasPrefix(read(), "EHLO") {
						return
					}
					say("250-mx.rampart.test\r\n250-STARTTLS\r\n250 8BITMIME")
					if read() != "STARTTLS" {
						return
					}
					if refuse {
						say("454 4.7.0 TLS not available due to local problem")
						read()
						say("221 2.0.0 Bye")
						return
					}
					say("220 2.0.0 Ready to start TLS")
				case "imap":
					say("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] Dovecot ready.")
					l := read()
					tag, _, _ := strings.Cut(l, " ")
					say(tag + " OK Begin TLS negotiation now.")
				case "pop3":
					say("+OK Dovecot ready.")
					if read() != "STLS" {
						return
					}
					say("+OK Begin TLS negotiation now.")
				}
				if r.Buffered() > 0 {
					return // a client that did not wait for our answer
				}
				tc := gotls.Server(c, cfg)
				tc.Handshake()
				tc.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

func TestStartTLS(t *testing.T) {
	p := newPKI(t)
	expired := issue(t, p.ca, tlstest.Leaf{NotBefore: time.Now().Add(-60 * 24 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	cfg := &gotls.Config{Certificates: []gotls.Certificate{expired}, MinVersion: gotls.VersionTLS10,
		CipherSuites: append([]uint16{gotls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}, tlstest.StrongSuites...)}
	for _, proto := range []string{"smtp", "imap", "pop3"} {
		t.Run(proto, func(t *testing.T) {
			tg := target(t, startTLSServer(t, proto, cfg, false))
			tg.TLS, tg.Service = false, proto
			if tlscheck.StartTLSProtocol(tg) != proto || !tlscheck.Applies(tg) {
				t.Fatalf("%s is not a STARTTLS target", proto)
			}
			got := runAll(t, p.env(), tg)
			for _, want := range []string{"tls.cert-expired high", "tls.legacy-protocol TLSv1.0 medium"} {
				if !slices.Contains(got, want) {
					t.Errorf("%s after STARTTLS: want %q in %v", proto, want, got)
				}
			}
		})
	}
	// A server that refuses the upgrade is no TLS service: nothing is
	// reported, and nothing is unreachable.
	tg := target(t, startTLSServer(t, "smtp", cfg, true))
	tg.TLS, tg.Service = false, "smtp"
	env := p.env()
	env.Timeout = 500 * time.Millisecond
	if got := runAll(t, env, tg); len(got) != 0 {
		t.Fatalf("STARTTLS refused: %v", got)
	}
	// Implicit TLS and other services need no upgrade.
	for _, tg := range []check.Target{{Service: "smtps", TLS: true}, {Service: "https"}, {Service: "ssh"}} {
		if tlscheck.StartTLSProtocol(tg) != "" {
			t.Errorf("%+v upgraded", tg)
		}
	}
}
