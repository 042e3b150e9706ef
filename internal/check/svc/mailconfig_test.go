package svc

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// smtpFake answers like Postfix: relaying open or closed, VRFY enabled or
// disabled. It records the commands it saw, so the test can prove that no
// DATA was ever sent.
type smtpFake struct {
	relay, vrfy bool
	sameForAll  bool // VRFY answers 252 whoever is asked about (Exchange)
	mu          sync.Mutex
	seen        []string
}

func (f *smtpFake) serve(t *testing.T) netip.AddrPort {
	return serve(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		say := func(s string) { c.Write([]byte(s + "\r\n")) }
		say("220 mail.example.test ESMTP Postfix (Debian/GNU)")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSpace(line)
			f.mu.Lock()
			f.seen = append(f.seen, line)
			f.mu.Unlock()
			verb := strings.ToUpper(strings.Fields(line + " x")[0])
			switch {
			case verb == "EHLO":
				say("250-mail.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250 8BITMIME")
			case verb == "MAIL":
				say("250 2.1.0 Ok")
			case verb == "RCPT" && strings.Contains(line, "@example.net") && !f.relay:
				say("454 4.7.1 <rampart-relay-test@example.net>: Relay access denied")
			case verb == "RCPT":
				say("250 2.1.5 Ok")
			case verb == "VRFY" && f.vrfy && f.sameForAll:
				say("252 2.1.5 Cannot VRFY user, but will accept message for delivery")
			case verb == "VRFY" && f.vrfy && strings.Contains(line, "rampart-no-such-user"):
				say("550 5.1.1 <" + strings.Fields(line)[1] + ">: Recipient address rejected: User unknown in local recipient table")
			case verb == "VRFY" && f.vrfy:
				say("252 2.0.0 " + strings.Fields(line)[1])
			case verb == "VRFY":
				say("502 5.5.1 VRFY command is disabled")
			case verb == "RSET":
				say("250 2.0.0 Ok")
			case verb == "QUIT":
				say("221 2.0.0 Bye")
				return
			case verb == "DATA":
				say("354 End data with <CR><LF>.<CR><LF>")
			default:
				say("502 5.5.2 Error: command not recognized")
			}
		}
	})
}

func TestSMTPRelayAndVRFY(t *testing.T) {
	open := &smtpFake{relay: true, vrfy: true}
	rs := run(t, "svc.smtp-open-relay", target(open.serve(t), "smtp"))
	if len(rs) != 1 || rs[0].Evidence.Fields["rcpt_reply"] != "250 2.1.5 Ok" {
		t.Fatalf("open relay: %+v", rs)
	}
	open.mu.Lock()
	for _, l := range open.seen {
		if strings.HasPrefix(strings.ToUpper(l), "DATA") {
			t.Fatal("the relay test sent DATA")
		}
	}
	if !strings.HasPrefix(open.seen[len(open.seen)-2], "RSET") {
		t.Fatalf("no RSET before QUIT: %q", open.seen)
	}
	open.mu.Unlock()
	rs = run(t, "svc.smtp-user-enumeration", target(open.serve(t), "smtp"))
	if len(rs) != 1 || !strings.Contains(rs[0].Title, "VRFY") || !strings.HasPrefix(rs[0].Evidence.Fields["vrfy_unknown"], "550") {
		t.Fatalf("VRFY 252 for postmaster, 550 for an unknown user: %+v", rs)
	}

	closed := &smtpFake{}
	for _, id := range []string{"svc.smtp-open-relay", "svc.smtp-user-enumeration"} {
		if rs := run(t, id, target(closed.serve(t), "smtp")); len(rs) != 0 {
			t.Errorf("hardened SMTP fired %s: %+v", id, rs)
		}
	}
	// VRFY that says 252 to everyone reveals nothing.
	if rs := run(t, "svc.smtp-user-enumeration", target((&smtpFake{vrfy: true, sameForAll: true}).serve(t), "smtp")); len(rs) != 0 {
		t.Errorf("252 for every user fired: %+v", rs)
	}
}

func ftpFake(t *testing.T, authTLS string) netip.AddrPort {
	return serve(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		c.Write([]byte("220-Welcome\r\n220 (vsFTPd 3.0.3)\r\n"))
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch strings.TrimSpace(line) {
			case "AUTH TLS":
				c.Write([]byte(authTLS + "\r\n"))
			case "QUIT":
				c.Write([]byte("221 Goodbye.\r\n"))
				return
			default:
				c.Write([]byte("530 Please login with USER and PASS.\r\n"))
			}
		}
	})
}

func TestFTPCleartext(t *testing.T) {
	rs := run(t, "svc.ftp-cleartext", target(ftpFake(t, "530 Please login with USER and PASS."), "ftp"))
	if len(rs) != 1 || rs[0].Evidence.Fields["auth_tls_reply"] != "530 Please login with USER and PASS." {
		t.Fatalf("FTP without TLS: %+v", rs)
	}
	if rs := run(t, "svc.ftp-cleartext", target(ftpFake(t, "234 Proceed with negotiation."), "ftp")); len(rs) != 0 {
		t.Fatalf("FTP with AUTH TLS fired: %+v", rs)
	}
}

func TestHTTPBasicCleartext(t *testing.T) {
	basic := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Router admin", charset="UTF-8"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	rs := run(t, "svc.http-basic-cleartext", target(basic, "http"))
	if len(rs) != 1 || rs[0].Evidence.Fields["realm"] != "Router admin" {
		t.Fatalf("Basic over HTTP: %+v", rs)
	}
	for name, h := range map[string]http.HandlerFunc{
		"redirect to HTTPS": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://"+r.Host+"/", http.StatusMovedPermanently)
		},
		"bearer": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
			w.WriteHeader(http.StatusUnauthorized)
		},
		"open page": func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) },
	} {
		if rs := run(t, "svc.http-basic-cleartext", target(serveHTTP(t, h), "http")); len(rs) != 0 {
			t.Errorf("%s fired: %+v", name, rs)
		}
	}
	tg := target(basic, "https")
	if rs, _ := find("svc.http-basic-cleartext").Run(context.Background(), env(), tg); len(rs) != 0 {
		t.Error("an HTTPS target fired")
	}
}

// dnsServer answers version.bind with version ("" refuses it) over TCP.
func dnsServer(t *testing.T, version string) netip.AddrPort {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		if version == "" {
			m.Rcode = dns.RcodeRefused
		} else {
			m.Answer = []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: "version.bind.", Rrtype: dns.TypeTXT, Class: dns.ClassCHAOS}, Txt: []string{version}}}
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return netip.MustParseAddrPort(ln.Addr().String())
}

func TestDNSVersion(t *testing.T) {
	rs := run(t, "svc.dns-version-disclosure", target(dnsServer(t, "9.18.49-1~deb12u3-Debian"), "dns"))
	if len(rs) != 1 || rs[0].Evidence.Fields["version"] != "9.18.49-1~deb12u3-Debian" {
		t.Fatalf("BIND version: %+v", rs)
	}
	for _, v := range []string{"none", ""} {
		if rs := run(t, "svc.dns-version-disclosure", target(dnsServer(t, v), "dns")); len(rs) != 0 {
			t.Errorf("version %q fired: %+v", v, rs)
		}
	}
}
