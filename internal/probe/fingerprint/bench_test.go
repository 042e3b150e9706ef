package fingerprint

import (
	"context"
	"net/netip"
	"testing"
)

// Identify over loopback against fakes; the numbers are dominated by
// connection setup and, for TLS, the handshake.

func benchIdentify(b *testing.B, h handler, port uint16, want string) {
	addr := serve(b, h)
	o := testOptions(addr)
	p := New(nil, o)
	ap := netip.AddrPortFrom(netip.MustParseAddrPort(addr).Addr(), port)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		svc, err := p.Identify(context.Background(), ap, "")
		if err != nil || svc.Service != want {
			b.Fatalf("%+v %v", svc, err)
		}
	}
}

func BenchmarkIdentifySSH(b *testing.B) {
	benchIdentify(b, banner("SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n"), 22, "ssh")
}

func BenchmarkIdentifyHTTP(b *testing.B) {
	benchIdentify(b, httpServer(map[string]httpReply{"": {headers: []string{"Server: nginx/1.24.0"}, body: "ok"}}), 80, "http")
}

func BenchmarkIdentifyHTTPS(b *testing.B) {
	benchIdentify(b, tlsWrap(b, nil, httpServer(map[string]httpReply{"": {headers: []string{"Server: nginx/1.24.0"}, body: "ok"}})), 443, "https")
}

func BenchmarkIdentifyRedis(b *testing.B) {
	benchIdentify(b, redisServer(redisInfo), 6379, "redis")
}

func BenchmarkIdentifyMySQL(b *testing.B) {
	benchIdentify(b, banner(string(mysqlHandshake("8.0.36"))), 3306, "mysql")
}

func BenchmarkRulesMatchHTTP(b *testing.B) {
	rs := DefaultRules()
	f, err := parseHTTPResponse([]byte("HTTP/1.1 200 OK\r\nServer: Microsoft-IIS/10.0\r\nContent-Type: text/html\r\nContent-Length: 30\r\n\r\n<html><title>IIS</title></html>"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if m, ok := rs.Match(KindHTTP, f); !ok || m.Product != "Microsoft IIS httpd" {
			b.Fatal(m)
		}
	}
}
