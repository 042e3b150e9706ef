package svc

import (
	"context"
	"io"
	"net"
	"net/netip"
	"testing"

	"github.com/rampart-cert/rampart/internal/finding"
)

// ajpServer answers a CPing like a Tomcat AJP connector (CPong) and a
// forwarded request with SEND_HEADERS of status (403: the connector
// requires its secret), or, when status is 0, like a web server that
// reads the bytes and says 400.
func ajpServer(t *testing.T, status int) netip.AddrPort {
	return serve(t, func(c net.Conn) {
		hdr := make([]byte, 4)
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		if status == 0 || hdr[0] != 0x12 || hdr[1] != 0x34 {
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
			return
		}
		body := make([]byte, int(hdr[2])<<8|int(hdr[3]))
		if _, err := io.ReadFull(c, body); err != nil || len(body) == 0 {
			return
		}
		switch body[0] {
		case 0x0a: // CPing
			c.Write([]byte{'A', 'B', 0x00, 0x01, 0x09})
		case 0x02: // FORWARD_REQUEST: SEND_HEADERS, no headers, then END_RESPONSE
			msg := "OK"
			if status == 403 {
				msg = "Forbidden"
			}
			p := []byte{0x04, byte(status >> 8), byte(status), 0, byte(len(msg))}
			p = append(append(p, msg...), 0, 0, 0)
			c.Write(append([]byte{'A', 'B', byte(len(p) >> 8), byte(len(p))}, p...))
			c.Write([]byte{'A', 'B', 0, 2, 0x05, 0x01})
		}
	})
}

func TestAJP(t *testing.T) {
	rs := run(t, "svc.ajp-exposed", target(ajpServer(t, 200), "ajp13"))
	if len(rs) != 1 || rs[0].Evidence.Response != "CPong (41 42 00 01 09)" || rs[0].Severity != finding.High ||
		rs[0].Evidence.Fields["forwarded_status"] != "200" {
		t.Fatalf("AJP connector serving forwarded requests: %+v", rs)
	}
	// A connector that requires its secret refuses the forwarded request:
	// reachable, guarded, low.
	rs = run(t, "svc.ajp-exposed", target(ajpServer(t, 403), "ajp13"))
	if len(rs) != 1 || rs[0].Severity != finding.Low || rs[0].Evidence.Fields["forwarded_status"] != "403" {
		t.Fatalf("AJP connector requiring a secret: %+v", rs)
	}
	rs, err := find("svc.ajp-exposed").Run(context.Background(), env(), target(ajpServer(t, 0), ""))
	if err != nil || len(rs) != 0 {
		t.Fatalf("web server fired: %+v %v", rs, err)
	}
}

func TestParseAJPStatus(t *testing.T) {
	if st, err := ParseAJPStatus([]byte{'A', 'B', 0, 5, 4, 1, 0x93, 0, 0}); err != nil || st != 403 {
		t.Fatalf("403: %d %v", st, err)
	}
	for _, b := range [][]byte{{'A', 'B', 0, 1, 9}, {'A', 'B', 0, 3, 4, 0, 5}, []byte("HTTP/1.1 200"), {'A', 'B', 0, 5, 3, 1, 0x93}} {
		if _, err := ParseAJPStatus(b); err == nil {
			t.Errorf("% x accepted", b)
		}
	}
	// The request is one well-formed AJP13 packet.
	f := ajpForward("portal.example.gov.vn", 80)
	if f[0] != 0x12 || f[1] != 0x34 || int(f[2])<<8|int(f[3]) != len(f)-4 || f[4] != 0x02 || f[len(f)-1] != 0xff {
		t.Fatalf("forward request % x", f)
	}
}

func FuzzParseAJPStatus(f *testing.F) {
	f.Add([]byte{'A', 'B', 0, 5, 4, 0, 200, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if st, err := ParseAJPStatus(b); err == nil && (st < 100 || st > 999 || b[4] != 4) {
			t.Fatalf("accepted % x as status %d", b, st)
		}
	})
}

func TestParseAJPCPong(t *testing.T) {
	if err := ParseAJPCPong([]byte{'A', 'B', 0, 1, 9}); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{{'A', 'B', 0, 2, 4, 0}, {'A', 'B', 0, 0, 9}, []byte("HTTP/1.1"), {'A'}} {
		if ParseAJPCPong(b) == nil {
			t.Errorf("% x accepted", b)
		}
	}
}

func FuzzParseAJPCPong(f *testing.F) {
	f.Add([]byte{'A', 'B', 0, 1, 9})
	f.Add([]byte{'A', 'B', 0, 2, 4, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if ParseAJPCPong(b) == nil && (len(b) < 5 || b[4] != 9) {
			t.Fatal("accepted a non-CPong")
		}
	})
}
