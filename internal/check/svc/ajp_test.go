package svc

import (
	"context"
	"net"
	"net/netip"
	"testing"
)

// ajpServer answers a CPing like a Tomcat AJP connector (CPong), or, when
// cpong is false, like a web server that reads the bytes and says 400.
func ajpServer(t *testing.T, cpong bool) netip.AddrPort {
	return serve(t, func(c net.Conn) {
		buf := make([]byte, 16)
		n, err := c.Read(buf)
		if err != nil || n < 5 {
			return
		}
		if cpong && buf[0] == 0x12 && buf[1] == 0x34 && buf[4] == 0x0a {
			c.Write([]byte{'A', 'B', 0x00, 0x01, 0x09})
			return
		}
		c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
	})
}

func TestAJP(t *testing.T) {
	rs := run(t, "svc.ajp-exposed", target(ajpServer(t, true), "ajp13"))
	if len(rs) != 1 || rs[0].Evidence.Response != "CPong (41 42 00 01 09)" {
		t.Fatalf("AJP connector: %+v", rs)
	}
	rs, err := find("svc.ajp-exposed").Run(context.Background(), env(), target(ajpServer(t, false), ""))
	if err != nil || len(rs) != 0 {
		t.Fatalf("web server fired: %+v %v", rs, err)
	}
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
