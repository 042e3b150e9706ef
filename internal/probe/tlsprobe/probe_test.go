package tlsprobe_test

import (
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
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/probe/tlsprobe"
	"github.com/rampart-cert/rampart/internal/probe/tlsprobe/tlsprobetest"
)

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "probe.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"probe.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// goServer serves crypto/tls on loopback with cfg.
func goServer(t *testing.T, cfg *tls.Config) string {
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
				tc := tls.Server(c, cfg)
				_ = tc.SetDeadline(time.Now().Add(2 * time.Second))
				_ = tc.Handshake()
				tc.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

func probe(t *testing.T, addr string, v tlsprobe.Version, suites []uint16, certs bool) *tlsprobe.Result {
	t.Helper()
	h := &tlsprobe.Hello{Version: v, Suites: suites, ServerName: "probe.test"}
	res, err := tlsprobe.Probe(context.Background(), nil, addr, h, tlsprobe.Options{Timeout: 2 * time.Second, Certificates: certs})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestProbeGoServerVersions(t *testing.T) {
	cert := selfSigned(t)
	addr := goServer(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS13})
	all := tlsprobe.Suites(0)
	tests := []struct {
		v      tlsprobe.Version
		suites []uint16
		want   bool
	}{
		{tlsprobe.SSL30, all, false},
		{tlsprobe.TLS10, all, false},
		{tlsprobe.TLS11, all, true},
		{tlsprobe.TLS12, all, true},
		{tlsprobe.TLS13, tlsprobe.Suites(tlsprobe.ClassTLS13), true},
		{tlsprobe.TLS12, tlsprobe.Suites(tlsprobe.WeakClasses), false},
	}
	for _, tt := range tests {
		res := probe(t, addr, tt.v, tt.suites, true)
		if got := res.Accepted(); got != tt.want {
			t.Errorf("%s: accepted %v, want %v (%s)", tt.v, got, tt.want, res.Summary())
		}
		if tt.want && tt.v <= tlsprobe.TLS12 {
			if len(res.Certificates) != 1 || string(res.Certificates[0]) != string(cert.Certificate[0]) {
				t.Errorf("%s: got %d certificates, want the server's one", tt.v, len(res.Certificates))
			}
		}
		if !tt.want && res.Outcome != tlsprobe.OutcomeAlert {
			t.Errorf("%s: outcome %s, want an alert", tt.v, res.Summary())
		}
	}
}

func TestProbeFakeLegacy(t *testing.T) {
	srv, err := tlsprobetest.Start("127.0.0.1:0", tlsprobetest.Config{
		Versions: []tlsprobe.Version{tlsprobe.SSL30, tlsprobe.TLS10},
		Suites:   []uint16{0x0001, 0x0003, 0x0018}, // NULL_MD5, EXPORT_RC4_40, DH_anon_RC4
		Chain:    selfSigned(t).Certificate,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	res := probe(t, srv.Addr(), tlsprobe.SSL30, tlsprobe.Suites(tlsprobe.ClassExport), true)
	if !res.Accepted() || res.ServerHello.Suite != 0x0003 || len(res.Certificates) != 1 {
		t.Fatalf("SSLv3 export: %s, %d certs", res.Summary(), len(res.Certificates))
	}
	res = probe(t, srv.Addr(), tlsprobe.TLS10, []uint16{0x0018}, true)
	if !res.Accepted() || len(res.Certificates) != 0 {
		t.Fatalf("anon: %s, %d certs (an anonymous suite has none)", res.Summary(), len(res.Certificates))
	}
	// A TLS 1.2 offer is answered with TLS 1.0: not an acceptance of 1.2.
	res = probe(t, srv.Addr(), tlsprobe.TLS12, tlsprobe.Suites(0), false)
	if res.Accepted() || res.Outcome != tlsprobe.OutcomeHello || res.ServerHello.Version != tlsprobe.TLS10 {
		t.Fatalf("TLS 1.2 offer: %s", res.Summary())
	}
	res = probe(t, srv.Addr(), tlsprobe.TLS10, tlsprobe.Suites(tlsprobe.Class3DES), false)
	if res.Accepted() || res.Outcome != tlsprobe.OutcomeAlert || res.Alert.Description != tlsprobe.AlertHandshakeFailure {
		t.Fatalf("3DES offer: %s", res.Summary())
	}
}

// rawServer answers every connection with fn.
func rawServer(t *testing.T, fn func(net.Conn)) string {
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
			go func() { defer c.Close(); fn(c) }()
		}
	}()
	return ln.Addr().String()
}

func TestProbeHostileAnswers(t *testing.T) {
	read := func(c net.Conn) { _, _ = c.Read(make([]byte, 4096)) }
	tests := []struct {
		name string
		fn   func(net.Conn)
		want tlsprobe.Outcome
	}{
		{"http", func(c net.Conn) { read(c); c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n")) }, tlsprobe.OutcomeGarbage},
		{"close", func(c net.Conn) { read(c) }, tlsprobe.OutcomeClosed},
		{"silent", func(c net.Conn) { read(c); time.Sleep(2 * time.Second) }, tlsprobe.OutcomeTimeout},
		{"huge-record", func(c net.Conn) { read(c); c.Write([]byte{22, 3, 3, 0xff, 0xff}) }, tlsprobe.OutcomeGarbage},
		{"huge-message", func(c net.Conn) { read(c); c.Write([]byte{22, 3, 3, 0, 4, 2, 0xff, 0xff, 0xff}) }, tlsprobe.OutcomeGarbage},
		{"trickle", func(c net.Conn) {
			read(c)
			for _, b := range tlsprobe.ServerFlight(tlsprobe.TLS12, 0x002F, nil) {
				c.Write([]byte{b})
			}
		}, tlsprobe.OutcomeHello},
		{"endless", func(c net.Conn) {
			read(c)
			hdr := []byte{22, 3, 3, 0x40, 0x00}
			body := make([]byte, 0x4000)
			body[0], body[1], body[2], body[3] = 2, 0x01, 0xff, 0xff // a 130 KiB "server hello"
			for i := 0; i < 64; i++ {
				if _, err := c.Write(append(hdr, body...)); err != nil {
					return
				}
				body = make([]byte, 0x4000)
			}
		}, tlsprobe.OutcomeGarbage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := rawServer(t, tt.fn)
			h := &tlsprobe.Hello{Version: tlsprobe.TLS12, Suites: tlsprobe.Suites(0)}
			res, err := tlsprobe.Probe(context.Background(), nil, addr, h, tlsprobe.Options{Timeout: 500 * time.Millisecond, MaxRead: 64 << 10})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tt.want {
				t.Fatalf("outcome %s, want %s", res.Summary(), tt.want)
			}
		})
	}
}

func TestProbeDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	h := &tlsprobe.Hello{Version: tlsprobe.TLS12, Suites: tlsprobe.Suites(0)}
	_, err = tlsprobe.Probe(context.Background(), nil, addr, h, tlsprobe.Options{Timeout: time.Second})
	if !errors.Is(err, tlsprobe.ErrDial) {
		t.Fatalf("err = %v, want ErrDial", err)
	}
}

func TestClientHelloRoundTrip(t *testing.T) {
	for _, v := range tlsprobe.Versions {
		h := &tlsprobe.Hello{Version: v, Suites: []uint16{0x002F, 0x0005}, ServerName: "www.example.gov.vn."}
		rec, _, err := tlsprobe.ParseRecord(h.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		msgs, rest, err := tlsprobe.ParseHandshakes(rec.Fragment)
		if err != nil || len(msgs) != 1 || len(rest) != 0 {
			t.Fatalf("%s: %d messages, %d left, %v", v, len(msgs), len(rest), err)
		}
		ch, err := tlsprobe.ParseClientHello(msgs[0].Body)
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if ch.MaxVersion() != v || len(ch.Suites) != 2 {
			t.Errorf("%s: parsed max version %s, %d suites", v, ch.MaxVersion(), len(ch.Suites))
		}
		wantSNI := "www.example.gov.vn"
		if v == tlsprobe.SSL30 {
			wantSNI = ""
		}
		if ch.ServerName != wantSNI {
			t.Errorf("%s: SNI %q, want %q", v, ch.ServerName, wantSNI)
		}
	}
	h := &tlsprobe.Hello{Version: tlsprobe.TLS12, Suites: []uint16{0x002F}, ServerName: "127.0.0.1"}
	rec, _, _ := tlsprobe.ParseRecord(h.Marshal())
	msgs, _, _ := tlsprobe.ParseHandshakes(rec.Fragment)
	if ch, _ := tlsprobe.ParseClientHello(msgs[0].Body); ch.ServerName != "" {
		t.Errorf("an address went into SNI: %q", ch.ServerName)
	}
}

func TestSuiteCatalog(t *testing.T) {
	weak := tlsprobe.Suites(tlsprobe.WeakClasses)
	for _, id := range weak {
		if s, ok := tlsprobe.LookupSuite(id); !ok || !s.Weak() {
			t.Errorf("0x%04x in the weak list but not weak", id)
		}
	}
	for _, id := range tlsprobe.Suites(0) {
		if s, _ := tlsprobe.LookupSuite(id); s.Class&tlsprobe.ClassTLS13 != 0 {
			t.Errorf("%s offered before TLS 1.3", s.Name)
		}
	}
	// Go's names agree with ours wherever Go knows a suite.
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if got := tlsprobe.SuiteName(cs.ID); got != cs.Name {
			t.Errorf("0x%04x: our name %s, Go's %s", cs.ID, got, cs.Name)
		}
	}
}
