package tlsprobe

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// seeds returns captured traffic from testdata: ClientHellos this package
// built and what Go's crypto/tls server answered to them (a TLS 1.0, 1.2
// and 1.3 ServerHello flight and an SSLv3 protocol_version alert).
func seeds(t testing.TB, prefix string) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", prefix+"*.bin"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s seeds in testdata: %v", prefix, err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// firstMessage returns the body of the first handshake message in a
// record stream, for seeding the message parsers.
func firstMessage(b []byte) []byte {
	rec, _, err := ParseRecord(b)
	if err != nil {
		return nil
	}
	msgs, _, _ := ParseHandshakes(rec.Fragment)
	if len(msgs) == 0 {
		return nil
	}
	return msgs[0].Body
}

func FuzzParseRecord(f *testing.F) {
	for _, s := range append(seeds(f, "sh-"), seeds(f, "ch-")...) {
		f.Add(s)
	}
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	f.Add([]byte{0x80, 0x2e, 0x04, 0x00, 0x02}) // an SSLv2 server hello
	f.Fuzz(func(t *testing.T, b []byte) {
		var hs []byte
		for len(b) > 0 {
			rec, n, err := ParseRecord(b)
			if err != nil {
				if !errors.Is(err, ErrShort) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				return
			}
			if n <= 0 || n > len(b) || len(rec.Fragment) != n-recordHeaderLen {
				t.Fatalf("bad length %d of %d", n, len(b))
			}
			b = b[n:]
			switch rec.Type {
			case RecordHandshake:
				hs = append(hs, rec.Fragment...)
				msgs, rest, err := ParseHandshakes(hs)
				if err != nil {
					return
				}
				for _, m := range msgs {
					switch m.Type {
					case TypeServerHello:
						_, _ = ParseServerHello(m.Body)
					case TypeClientHello:
						_, _ = ParseClientHello(m.Body)
					case TypeCertificate:
						_, _ = ParseCertificate(m.Body)
					}
				}
				hs = rest
			case RecordAlert:
				_, _ = ParseAlert(rec.Fragment)
			}
		}
	})
}

func FuzzParseServerHello(f *testing.F) {
	for _, s := range seeds(f, "sh-") {
		if body := firstMessage(s); body != nil {
			f.Add(body)
		}
	}
	f.Add(firstMessage(ServerFlight(SSL30, 0x0001, nil)))
	f.Fuzz(func(t *testing.T, body []byte) {
		sh, err := ParseServerHello(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		_ = sh.Summary()
		// A hello we accept must round-trip through our own builder's
		// view of it: version major 3 and a sane session id.
		if sh.LegacyVersion>>8 != 3 || sh.SessionIDLen > 32 {
			t.Fatalf("accepted an impossible hello: %+v", sh)
		}
	})
}

func FuzzParseClientHello(f *testing.F) {
	for _, s := range seeds(f, "ch-") {
		if body := firstMessage(s); body != nil {
			f.Add(body)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ch, err := ParseClientHello(body)
		if err != nil {
			return
		}
		if len(ch.Suites) == 0 || len(ch.SessionID) > 32 {
			t.Fatalf("accepted an impossible hello: %+v", ch)
		}
	})
}

func FuzzParseCertificate(f *testing.F) {
	for _, s := range seeds(f, "sh-TLSv1.2") {
		rec, _, err := ParseRecord(s)
		if err != nil {
			continue
		}
		msgs, _, _ := ParseHandshakes(rec.Fragment)
		for _, m := range msgs {
			if m.Type == TypeCertificate {
				f.Add(m.Body)
			}
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		certs, err := ParseCertificate(body)
		if err != nil {
			return
		}
		if len(certs) > maxChainCerts {
			t.Fatalf("%d certificates kept", len(certs))
		}
		for _, c := range certs {
			if len(c) == 0 || !bytes.Contains(body, c) {
				t.Fatal("certificate not from the input")
			}
		}
	})
}
