package svc

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

// serve runs handle for each connection on a loopback listener.
func serve(t *testing.T, handle func(c net.Conn)) netip.AddrPort {
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
				handle(c)
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

func serveHTTP(t *testing.T, h http.HandlerFunc) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return netip.MustParseAddrPort(ln.Addr().String())
}

func env() *check.Env {
	return &check.Env{Timeout: 2 * time.Second, Now: func() time.Time { return time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC) }}
}

func find(id string) check.Check {
	for _, c := range Checks() {
		if c.Meta().ID == id {
			return c
		}
	}
	panic(id)
}

// run applies check id to target t and returns its results.
func run(t *testing.T, id string, tg check.Target) []check.Result {
	t.Helper()
	c := find(id)
	if !c.Applies(tg) {
		t.Fatalf("%s does not apply to %+v", id, tg)
	}
	rs, err := c.Run(context.Background(), env(), tg)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	for _, r := range rs {
		if r.Check != id || !r.Severity.Valid() || r.Title == "" {
			t.Fatalf("bad result %+v", r)
		}
	}
	return rs
}

func target(ap netip.AddrPort, service string) check.Target {
	return check.Target{Kind: check.TargetService, Addr: ap, Service: service}
}

func redisServer(t *testing.T, password bool) netip.AddrPort {
	return serve(t, func(c net.Conn) {
		buf := make([]byte, 1024)
		if _, err := c.Read(buf); err != nil {
			return
		}
		if password {
			io.WriteString(c, "-NOAUTH Authentication required.\r\n")
			return
		}
		body := "# Server\r\nredis_version:7.2.4\r\nredis_mode:standalone\r\nos:Linux 6.1.0 x86_64\r\n"
		fmt.Fprintf(c, "$%d\r\n%s\r\n", len(body), body)
	})
}

func TestRedis(t *testing.T) {
	rs := run(t, "svc.redis-unauthenticated", target(redisServer(t, false), "redis"))
	if len(rs) != 1 || !strings.Contains(rs[0].Title, "7.2.4") || rs[0].Severity != finding.Critical {
		t.Fatalf("open redis: %+v", rs)
	}
	if rs := run(t, "svc.redis-unauthenticated", target(redisServer(t, true), "redis")); len(rs) != 0 {
		t.Fatalf("password-protected redis fired: %+v", rs)
	}
}

func TestMemcached(t *testing.T) {
	open := serve(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		if l, _ := r.ReadString('\n'); strings.TrimSpace(l) == "stats" {
			io.WriteString(c, "STAT pid 1\r\nSTAT version 1.6.21\r\nSTAT curr_items 42\r\nEND\r\n")
		}
	})
	rs := run(t, "svc.memcached-exposed", target(open, "memcached"))
	if len(rs) != 1 || !strings.Contains(rs[0].Title, "1.6.21") {
		t.Fatalf("memcached: %+v", rs)
	}
	notMemcached := serve(t, func(c net.Conn) { io.WriteString(c, "ERROR\r\n") })
	if rs := run(t, "svc.memcached-exposed", target(notMemcached, "memcached")); len(rs) != 0 {
		t.Fatalf("fired on a non-memcached reply: %+v", rs)
	}
}

func TestElasticsearch(t *testing.T) {
	open := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_cat/indices" {
			io.WriteString(w, "citizens\nlogs-2026.11\n")
			return
		}
		io.WriteString(w, `{"name":"node-1","cluster_name":"hanoi-prod","version":{"number":"7.10.2"},"tagline":"You Know, for Search"}`)
	})
	rs := run(t, "svc.elasticsearch-unauthenticated", target(open, "elasticsearch"))
	if len(rs) != 1 || rs[0].Evidence.Fields["indices"] != "2" || !strings.Contains(rs[0].Title, "hanoi-prod") {
		t.Fatalf("elastic: %+v", rs)
	}
	secured := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="security"`)
		w.WriteHeader(401)
		io.WriteString(w, `{"error":{"type":"security_exception"},"status":401}`)
	})
	if rs := run(t, "svc.elasticsearch-unauthenticated", target(secured, "elasticsearch")); len(rs) != 0 {
		t.Fatalf("secured elastic fired: %+v", rs)
	}
}

func TestDocker(t *testing.T) {
	open := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/version" {
			io.WriteString(w, `{"Version":"24.0.7","ApiVersion":"1.43","Os":"linux"}`)
			return
		}
		http.NotFound(w, r)
	})
	rs := run(t, "svc.docker-api-exposed", target(open, "docker"))
	if len(rs) != 1 || rs[0].Evidence.Fields["api_version"] != "1.43" {
		t.Fatalf("docker: %+v", rs)
	}
	other := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>hello</html>") })
	if rs := run(t, "svc.docker-api-exposed", target(other, "docker")); len(rs) != 0 {
		t.Fatalf("plain web server fired: %+v", rs)
	}
}

func ftpServer(t *testing.T, anonymous bool) netip.AddrPort {
	return serve(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		io.WriteString(c, "220-Welcome\r\n220 (vsFTPd 3.0.5)\r\n")
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch cmd := strings.TrimSpace(l); {
			case strings.HasPrefix(cmd, "USER"):
				io.WriteString(c, "331 Please specify the password.\r\n")
			case strings.HasPrefix(cmd, "PASS") && anonymous:
				io.WriteString(c, "230 Login successful.\r\n")
			case strings.HasPrefix(cmd, "PASS"):
				io.WriteString(c, "530 Login incorrect.\r\n")
			case cmd == "QUIT":
				io.WriteString(c, "221 Goodbye.\r\n")
				return
			}
		}
	})
}

func TestFTPAnonymous(t *testing.T) {
	if rs := run(t, "svc.ftp-anonymous", target(ftpServer(t, true), "ftp")); len(rs) != 1 {
		t.Fatalf("anonymous ftp: %+v", rs)
	}
	if rs := run(t, "svc.ftp-anonymous", target(ftpServer(t, false), "ftp")); len(rs) != 0 {
		t.Fatalf("closed ftp fired: %+v", rs)
	}
}

// mongoServer answers any OP_MSG with ok:1 and two databases, or with an
// authentication error.
func mongoServer(t *testing.T, open bool) netip.AddrPort {
	return serve(t, func(c net.Conn) {
		var hdr [16]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		rest := make([]byte, binary.LittleEndian.Uint32(hdr[:4])-16)
		io.ReadFull(c, rest)
		var doc []byte
		if open {
			dbs := bsonDoc(docElem("0", bsonDoc(bsonString("name", "admin"))), docElem("1", bsonDoc(bsonString("name", "hoso_canbo"))))
			doc = bsonDoc(arrayElem("databases", dbs), doubleElem("ok", 1))
		} else {
			doc = bsonDoc(doubleElem("ok", 0), bsonString("errmsg", "command listDatabases requires authentication"), bsonInt32("code", 13))
		}
		msg := make([]byte, 16)
		msg = binary.LittleEndian.AppendUint32(msg, 0)
		msg = append(msg, 0)
		msg = append(msg, doc...)
		binary.LittleEndian.PutUint32(msg[0:4], uint32(len(msg)))
		binary.LittleEndian.PutUint32(msg[12:16], 2013)
		c.Write(msg)
	})
}

func docElem(name string, doc []byte) []byte {
	return append(append([]byte{0x03}, append([]byte(name), 0)...), doc...)
}
func arrayElem(name string, doc []byte) []byte {
	return append(append([]byte{0x04}, append([]byte(name), 0)...), doc...)
}
func doubleElem(name string, v float64) []byte {
	out := append([]byte{0x01}, append([]byte(name), 0)...)
	return binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
}

func TestMongo(t *testing.T) {
	rs := run(t, "svc.mongodb-unauthenticated", target(mongoServer(t, true), "mongodb"))
	if len(rs) != 1 || rs[0].Evidence.Fields["databases"] != "2" || !strings.Contains(rs[0].Evidence.Fields["names"], "hoso_canbo") {
		t.Fatalf("open mongo: %+v", rs)
	}
	if rs := run(t, "svc.mongodb-unauthenticated", target(mongoServer(t, false), "mongodb")); len(rs) != 0 {
		t.Fatalf("auth mongo fired: %+v", rs)
	}
}

func vncServer(t *testing.T, types ...byte) netip.AddrPort {
	return serve(t, func(c net.Conn) {
		io.WriteString(c, "RFB 003.008\n")
		buf := make([]byte, 12)
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		c.Write(append([]byte{byte(len(types))}, types...))
		io.ReadAll(io.LimitReader(c, 1))
	})
}

func TestVNC(t *testing.T) {
	rs := run(t, "svc.vnc-exposed", target(vncServer(t, 1), "vnc"))
	if len(rs) != 1 || rs[0].Severity != finding.Critical {
		t.Fatalf("no-auth vnc: %+v", rs)
	}
	rs = run(t, "svc.vnc-exposed", target(vncServer(t, 2), "vnc"))
	if len(rs) != 1 || rs[0].Severity != finding.High {
		t.Fatalf("password vnc: %+v", rs)
	}
}

func TestExposure(t *testing.T) {
	ap := netip.MustParseAddrPort("127.0.0.1:3389")
	cases := []struct {
		id      string
		service string
		port    uint16
	}{
		{"svc.database-exposed", "mysql", 3306}, {"svc.database-exposed", "postgresql", 5432}, {"svc.database-exposed", "mssql", 1433},
		{"svc.telnet-exposed", "telnet", 23}, {"svc.rdp-exposed", "rdp", 3389}, {"svc.smb-exposed", "smb", 445},
	}
	for _, c := range cases {
		tg := check.Target{Kind: check.TargetService, Addr: netip.AddrPortFrom(ap.Addr(), c.port), Service: c.service, Product: "X", Version: "1"}
		if rs := run(t, c.id, tg); len(rs) != 1 {
			t.Errorf("%s on %s: %+v", c.id, c.service, rs)
		}
	}
	// A hardened web server: none of the exposure checks apply.
	web := check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort("127.0.0.1:443"), Service: "https", TLS: true}
	for _, c := range Checks() {
		if !webChecks[c.Meta().ID] && c.Applies(web) {
			t.Errorf("%s applies to an https service", c.Meta().ID)
		}
	}
	// Port fallback only for unknown services.
	if !find("svc.redis-unauthenticated").Applies(check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort("127.0.0.1:6379")}) {
		t.Error("redis check does not apply to an unidentified 6379")
	}
	if find("svc.redis-unauthenticated").Applies(check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort("127.0.0.1:6379"), Service: "http"}) {
		t.Error("redis check applies to http on 6379")
	}
}

// webChecks are the family's checks meant for web servers too: the
// release's end of life, Basic authentication over plain HTTP, DHE group
// size on TLS, default credentials of web applications.
var webChecks = map[string]bool{"svc.end-of-life": true, "svc.http-basic-cleartext": true, "svc.dh-weak-group": true, "svc.default-credentials": true}

func TestEndOfLife(t *testing.T) {
	ap := netip.MustParseAddrPort("127.0.0.1:80")
	cases := []struct {
		product, version string
		fires            bool
	}{
		{"nginx", "1.18.0", true}, {"nginx", "1.26.2", false}, {"nginx", "1.180.0", false},
		{"PHP", "5.6.40", true}, {"PHP", "8.3.1", false}, {"Apache httpd", "2.2.34", true}, {"Apache httpd", "2.4.62", false},
		{"OpenSSH", "6.6.1p1", true}, {"OpenSSH", "9.6p1", false}, {"Microsoft IIS", "7.5", true}, {"Microsoft IIS", "10.0", false},
		{"Redis", "6.2.14", true}, {"Redis", "7.2.4", false}, {"UnknownWare", "1.0", false},
	}
	for _, c := range cases {
		tg := check.Target{Kind: check.TargetService, Addr: ap, Service: "http", Product: c.product, Version: c.version}
		rs := run(t, "svc.end-of-life", tg)
		if (len(rs) == 1) != c.fires {
			t.Errorf("%s %s: %+v, want fires=%v", c.product, c.version, rs, c.fires)
		}
	}
	if _, err := ParseEOL([]byte("- {product: x, cycle: '1', eol: soon}")); err == nil {
		t.Error("bad date accepted")
	}
	if _, err := ParseEOL([]byte("- {product: x, cycle: '1', eol: 2020-01-01, color: red}")); err == nil {
		t.Error("unknown key accepted")
	}
}

func TestUnreachable(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ap := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	for _, id := range []string{"svc.redis-unauthenticated", "svc.memcached-exposed", "svc.mongodb-unauthenticated", "svc.ftp-anonymous", "svc.docker-api-exposed", "svc.elasticsearch-unauthenticated", "svc.vnc-exposed"} {
		_, err := find(id).Run(context.Background(), env(), target(ap, ""))
		if !errors.Is(err, check.ErrUnreachable) {
			t.Errorf("%s on a closed port: %v", id, err)
		}
	}
}

func TestRegister(t *testing.T) {
	r := check.NewRegistry()
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	if len(r.All()) != 28 {
		t.Fatalf("%d checks", len(r.All()))
	}
}

func FuzzParseRedisInfo(f *testing.F) {
	f.Add([]byte("$30\r\n# Server\r\nredis_version:7.2.4\r\n"))
	f.Add([]byte("-NOAUTH Authentication required.\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseRedisInfo(b) })
}

func FuzzParseMemcachedStats(f *testing.F) {
	f.Add([]byte("STAT pid 1\r\nSTAT version 1.6.21\r\nEND\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseMemcachedStats(b) })
}

func FuzzParseMongoReply(f *testing.F) {
	ok := bsonDoc(arrayElem("databases", bsonDoc(docElem("0", bsonDoc(bsonString("name", "admin"))))), doubleElem("ok", 1))
	f.Add(uint32(2013), append([]byte{0, 0, 0, 0, 0}, ok...))
	f.Add(uint32(1), make([]byte, 30))
	f.Fuzz(func(t *testing.T, op uint32, b []byte) { ParseMongoReply(op, b) })
}

func FuzzParseRFBSecurity(f *testing.F) {
	f.Add("RFB 003.008", []byte{2, 1, 2})
	f.Add("RFB 003.003", []byte{0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, v string, b []byte) { ParseRFBSecurity(v, b) })
}

func FuzzParseEOL(f *testing.F) {
	f.Add(eolData)
	f.Fuzz(func(t *testing.T, b []byte) { ParseEOL(b) })
}

// TestEndOfLifeDistribution: a package a distribution ships lives as long
// as its release (distro.yaml), whatever the upstream cycle's end; the
// test's clock is 2026-11-25.
func TestEndOfLifeDistribution(t *testing.T) {
	ap := netip.MustParseAddrPort("127.0.0.1:22")
	cases := []struct {
		name, product, version, banner string
		subject                        string // "" for no finding
	}{
		{"stretch from the revision", "OpenSSH", "7.4p1 Debian-10+deb9u7", "", "Debian 9 (stretch)"},
		{"stretch from the banner", "OpenSSH", "7.4p1", `SSH-2.0-OpenSSH_7.4p1 Debian-10+deb9u7\r\n`, "Debian 9 (stretch)"},
		{"bookworm", "OpenSSH", "9.2p1 Debian-2+deb12u3", "", ""},
		{"bookworm past regular support, in LTS", "OpenSSH", "9.2p1 Debian-2+deb12u7", "", ""},
		{"bullseye after its LTS", "OpenSSH", "8.4p1 Debian-5+deb11u3", "", "Debian 11 (bullseye)"},
		{"trusty from the upstream version", "OpenSSH", "6.6.1p1 Ubuntu-2ubuntu2.13", "", "Ubuntu 14.04 LTS (trusty)"},
		{"focal without Pro", "OpenSSH", "8.2p1 Ubuntu-4ubuntu0.11", "", "Ubuntu 20.04 LTS (focal)"},
		{"focal with an ESM revision", "OpenSSH", "8.2p1 Ubuntu-4ubuntu0.13+esm1", "", ""},
		{"jammy", "OpenSSH", "8.9p1 Ubuntu-3ubuntu0.10", "", ""},
		{"nginx 1.18 on Ubuntu: jammy still ships it", "nginx", "1.18.0", `HTTP/1.1 200 OK\r\nServer: nginx/1.18.0 (Ubuntu)\r\n`, ""},
		{"nginx 1.22 without a distribution: upstream", "nginx", "1.22.1", `HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n`, "nginx 1.22"},
		{"apache on jammy", "Apache httpd", "2.4.52", `Server: Apache/2.4.52 (Ubuntu)`, ""},
		{"apache on wheezy", "Apache httpd", "2.2.22", `Server: Apache/2.2.22 (Debian)`, "Debian 7 (wheezy)"},
		{"apache 2.4.62 on an unknown Debian release", "Apache httpd", "2.4.62", `Server: Apache/2.4.62 (Debian)`, ""},
		{"apache 2.2.34 on an unknown Debian release: upstream", "Apache httpd", "2.2.34", `Server: Apache/2.2.34 (Debian)`, "Apache httpd 2.2"},
		{"centos 7", "Apache httpd", "2.4.6", `Server: Apache/2.4.6 (CentOS) OpenSSL/1.0.2k-fips`, "CentOS 7"},
		{"bind on bookworm", "ISC BIND", "9.18.49 Debian-1~deb12u3", "", ""},
		{"bind on buster", "ISC BIND", "9.11.5-P4 Debian-5.1+deb10u11", "", "Debian 10 (buster)"},
	}
	for _, c := range cases {
		tg := check.Target{Kind: check.TargetService, Addr: ap, Service: "ssh", Product: c.product, Version: c.version, Banner: c.banner}
		rs := run(t, "svc.end-of-life", tg)
		switch {
		case c.subject == "" && len(rs) != 0:
			t.Errorf("%s: %+v, want none", c.name, rs)
		case c.subject != "" && (len(rs) != 1 || rs[0].Subject != c.subject):
			t.Errorf("%s: %+v, want subject %q", c.name, rs, c.subject)
		}
	}
	rs := run(t, "svc.end-of-life", check.Target{Kind: check.TargetService, Addr: ap, Product: "OpenSSH", Version: "7.4p1 Debian-10+deb9u7"})
	if f := rs[0].Evidence.Fields; rs[0].Title != "OpenSSH 7.4p1 comes from Debian 9 (stretch), whose security support ended on 2022-06-30" ||
		f["package"] != "Debian stretch openssh 1:7.4p1-10+deb9u7" || f["basis"] != "the package revision names the release" {
		t.Errorf("stretch: %q %v", rs[0].Title, f)
	}
	rs = run(t, "svc.end-of-life", check.Target{Kind: check.TargetService, Addr: ap, Product: "Apache httpd", Version: "2.2.34", Banner: "Server: Apache/2.2.34 (Debian)"})
	if rs[0].Evidence.Fields["distribution"] != "Debian (release not shown)" {
		t.Errorf("fallback evidence: %v", rs[0].Evidence.Fields)
	}

	for _, bad := range []string{
		"releases: [{distro: debian, release: x, name: X, security: soon}]",
		"releases: [{distro: debian, release: x, name: X, security: 2020-01-01, colour: red}]",
		"releases: [{distro: debian, release: x, security: 2020-01-01}]",
		"releases: [{distro: debian, release: x, name: X, security: 2020-01-01}]\nships: [{distro: debian, package: p, upstream: '1', releases: [y]}]",
	} {
		if _, err := ParseDistroTable([]byte(bad)); err == nil {
			t.Errorf("accepted: %s", bad)
		}
	}
}

func FuzzParseDistroTable(f *testing.F) {
	f.Add(distroData)
	f.Fuzz(func(t *testing.T, b []byte) { ParseDistroTable(b) })
}
