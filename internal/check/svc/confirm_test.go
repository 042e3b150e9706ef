package svc

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/probe/fingerprint"
)

// redirect is an environment whose connections all go to real, whatever
// address a target names: a target can claim port 5432 while the fixture
// listens on a port of its own (5432 itself is taken on this machine).
func redirect(real netip.AddrPort) *check.Env {
	e := env()
	e.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, real.String())
	}
	return e
}

// webServer is a plain HTTP server, as nginx answers.
func webServer(t *testing.T) netip.AddrPort {
	return serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "nginx/1.26.2")
		io.WriteString(w, "<html><title>Portal</title></html>")
	})
}

// TestHTTPOnDatabasePorts: an HTTP server on a database (or RDP, SMB,
// telnet) port is not an exposed database. The fingerprint, asked about
// port 5432 and the others, names it "http", and then no check keyed to
// those ports applies; a target the fingerprint could not name, on those
// ports, is checked by protocol and stays silent.
func TestHTTPOnDatabasePorts(t *testing.T) {
	web := webServer(t)
	e := redirect(web)
	e.Timeout = 500 * time.Millisecond // loopback: a silent reply is silence
	// Credential attempts on: an HTTP server on 5432 or 3306 is no
	// database to log in to either.
	e.Extra = map[string]any{Family: Options{Credentials: true}}
	prober := fingerprint.New(nil, fingerprint.Options{Timeout: time.Second, BannerWait: 200 * time.Millisecond, IdleGap: 100 * time.Millisecond, Dial: e.Dial})
	ports := []uint16{5432, 3306, 1433, 3389, 445, 139, 23, 5900, 6379, 27017, 11211, 9200, 2375, 21}
	for _, port := range ports {
		t.Run(fmt.Sprint(port), func(t *testing.T) {
			t.Parallel()
			httpOnPort(t, prober, e, port)
		})
	}
}

func httpOnPort(t *testing.T, prober *fingerprint.Prober, e *check.Env, port uint16) {
	{
		ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
		svc, err := prober.Identify(context.Background(), ap, "")
		if err != nil {
			t.Fatal(err)
		}
		if svc.Service != "http" || svc.Product != "nginx" {
			t.Fatalf("port %d: fingerprint says %q %q", port, svc.Service, svc.Product)
		}
		tg := check.Target{Kind: check.TargetService, Addr: ap, Service: svc.Service, Product: svc.Product, Version: svc.Version,
			CPE: svc.CPE, Banner: svc.Banner}
		for _, c := range Checks() {
			if !webChecks[c.Meta().ID] && c.Applies(tg) {
				t.Errorf("port %d: %s applies to the HTTP server the fingerprint saw", port, c.Meta().ID)
			}
		}
		// The fingerprint could not tell (a timeout, an odd server): the
		// check applies for the port, speaks the protocol, finds HTTP.
		unknown := check.Target{Kind: check.TargetService, Addr: ap, Service: "unknown"}
		for _, c := range Checks() {
			if !c.Applies(unknown) {
				continue
			}
			rs, err := c.Run(context.Background(), e, unknown)
			if err != nil {
				t.Errorf("port %d: %s: %v", port, c.Meta().ID, err)
			}
			if len(rs) != 0 {
				t.Errorf("port %d: %s reports on an HTTP server: %+v", port, c.Meta().ID, rs)
			}
		}
	}
}

// TestPortOnlyConfirmed: on a port the fingerprint could not name, a
// server that does speak the protocol is reported, with what proved it.
func TestPortOnlyConfirmed(t *testing.T) {
	pg := serve(t, func(c net.Conn) {
		buf := make([]byte, 8)
		if _, err := io.ReadFull(c, buf); err == nil && binary.BigEndian.Uint32(buf[4:]) == 80877103 {
			c.Write([]byte{'N'})
		}
		io.ReadAll(io.LimitReader(c, 1))
	})
	my := serve(t, func(c net.Conn) {
		payload := append([]byte{10}, "8.0.36\x00"...)
		payload = append(payload, make([]byte, 40)...)
		c.Write(append([]byte{byte(len(payload)), 0, 0, 0}, payload...))
		io.ReadAll(io.LimitReader(c, 1))
	})
	tn := serve(t, func(c net.Conn) {
		c.Write([]byte{0xff, 0xfd, 0x18, 0xff, 0xfd, 0x20})
		io.ReadAll(io.LimitReader(c, 1))
	})
	for _, c := range []struct {
		id    string
		port  uint16
		real  netip.AddrPort
		proof string
	}{
		{"svc.database-exposed", 5432, pg, `PostgreSQL answered an SSLRequest with 'N'`},
		{"svc.database-exposed", 3306, my, "MySQL handshake (protocol 10)"},
		{"svc.telnet-exposed", 23, tn, "telnet option negotiation"},
	} {
		tg := check.Target{Kind: check.TargetService, Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), c.port)}
		ch := find(c.id)
		if !ch.Applies(tg) {
			t.Fatalf("%s does not apply to an unnamed service on %d", c.id, c.port)
		}
		rs, err := ch.Run(context.Background(), redirect(c.real), tg)
		if err != nil || len(rs) != 1 || rs[0].Evidence.Fields["confirmed_by"] != c.proof {
			t.Errorf("%s on %d: %+v %v", c.id, c.port, rs, err)
		}
		// The same servers do not pass for another protocol.
		other := check.Target{Kind: check.TargetService, Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 1433)}
		if rs, _ := find("svc.database-exposed").Run(context.Background(), redirect(c.real), other); len(rs) != 0 {
			t.Errorf("%s fixture passes for SQL Server: %+v", c.id, rs)
		}
	}
}

// rfbRefusing is a VNC server that refuses every handshake with a reason,
// as RealVNC and TightVNC do after repeated failed logins.
func rfbRefusing(t *testing.T, version, reason string) netip.AddrPort {
	return serve(t, func(c net.Conn) {
		io.WriteString(c, version)
		buf := make([]byte, 12)
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		msg := []byte{0} // RFB 3.7+: no security types
		if strings.HasPrefix(version, "RFB 003.003") {
			msg = []byte{0, 0, 0, 0} // RFB 3.3: security type 0 (invalid)
		}
		msg = binary.BigEndian.AppendUint32(msg, uint32(len(reason)))
		c.Write(append(msg, reason...))
		io.ReadAll(io.LimitReader(c, 1))
	})
}

// TestVNCTooManySecurityFailures: a refusal proves neither a password nor
// its absence; the server is reported as exposed, with the reason, and
// nothing says it has or lacks a password.
func TestVNCTooManySecurityFailures(t *testing.T) {
	for _, version := range []string{"RFB 003.008\n", "RFB 003.003\n"} {
		ap := rfbRefusing(t, version, "Too many security failures")
		rs := run(t, "svc.vnc-exposed", target(ap, "vnc"))
		if len(rs) != 1 {
			t.Fatalf("%q: %+v", version, rs)
		}
		r := rs[0]
		f := r.Evidence.Fields
		if r.Severity != finding.High || strings.Contains(r.Title, "without a password") || !strings.Contains(r.Title, "Too many security failures") ||
			f["failure_reason"] != "Too many security failures" || f["security_types"] != "" ||
			f["authentication"] != "not shown: the server refused the handshake" {
			t.Errorf("%q: %+v", version, r)
		}
		// The fingerprint sees a VNC server and keeps the failure to itself:
		// no security types, nothing that reads as authentication.
		svc, err := fingerprint.New(nil, fingerprint.Options{Timeout: 2 * time.Second}).Identify(context.Background(), ap, "")
		if err != nil || svc.Service != "vnc" || svc.Extra["vnc.security_types"] != "" {
			t.Errorf("%q: fingerprint %+v %v", version, svc, err)
		}
	}
	// A password server and a no-password one are told as before.
	if rs := run(t, "svc.vnc-exposed", target(vncServer(t, 2), "vnc")); len(rs) != 1 || rs[0].Evidence.Fields["authentication"] != "required (security types 2)" {
		t.Errorf("password: %+v", rs)
	}
	if rs := run(t, "svc.vnc-exposed", target(vncServer(t, 1, 2), "vnc")); len(rs) != 1 || rs[0].Severity != finding.Critical {
		t.Errorf("none: %+v", rs)
	}
}

func TestParseRFBSecurity(t *testing.T) {
	reason := binary.BigEndian.AppendUint32(nil, 26)
	reason = append(reason, "Too many security failures"...)
	for _, c := range []struct {
		version string
		b       []byte
		want    RFBOffer
	}{
		{"RFB 003.008", []byte{2, 2, 16}, RFBOffer{Types: "2,16"}},
		{"RFB 003.008", []byte{2, 1, 2}, RFBOffer{Types: "1,2", NoAuth: true}},
		{"RFB 003.008", append([]byte{0}, reason...), RFBOffer{Refused: true, Reason: "Too many security failures"}},
		{"RFB 003.003", append([]byte{0, 0, 0, 0}, reason...), RFBOffer{Refused: true, Reason: "Too many security failures"}},
		{"RFB 003.003", []byte{0, 0, 0, 1}, RFBOffer{Types: "1", NoAuth: true}},
		{"RFB 003.008", []byte{0, 0, 0, 0, 200, 'x'}, RFBOffer{Refused: true, Reason: "x"}}, // a length past the data
		{"RFB 003.008", []byte{0, 0, 0, 0, 3, 'a', 0, 'b'}, RFBOffer{Refused: true, Reason: "a?b"}},
		{"RFB 003.008", []byte{0}, RFBOffer{Refused: true}},
		{"RFB 003.008", []byte{3, 1}, RFBOffer{}}, // truncated list: nothing claimed
	} {
		if got := ParseRFBSecurity(c.version, c.b); got != c.want {
			t.Errorf("%s % x: %+v, want %+v", c.version, c.b, got, c.want)
		}
	}
}

// FuzzConfirm feeds each protocol confirmation arbitrary replies: no
// panic, and a reply too short to hold the protocol's header proves
// nothing.
func FuzzConfirm(f *testing.F) {
	f.Add([]byte{'N'})
	f.Add(append([]byte{11, 0, 0, 0, 10}, "8.0.36\x00xxxx"...))
	f.Add([]byte{0x04, 0x01, 0x00, 0x25, 0, 0, 1, 0})
	f.Add([]byte{0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0})
	f.Add([]byte("\x00\x00\x00\x40\xfeSMB"))
	f.Add([]byte{0x82, 0, 0, 0})
	f.Add([]byte{0xff, 0xfd, 0x18})
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	f.Fuzz(func(t *testing.T, reply []byte) {
		e := env()
		e.Timeout = 50 * time.Millisecond
		e.Dial = func(ctx context.Context, _, _ string) (net.Conn, error) {
			client, server := net.Pipe()
			go func() {
				server.SetDeadline(time.Now().Add(time.Second))
				go io.Copy(io.Discard, server)
				server.Write(reply)
				server.Close()
			}()
			return client, nil
		}
		for _, port := range []uint16{3306, 5432, 1433, 3389, 445, 139, 23} {
			tg := check.Target{Kind: check.TargetService, Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)}
			proof, err := confirmByPort(port)(context.Background(), e, tg)
			if err == nil && proof != "" && len(reply) < 1 {
				t.Fatalf("port %d: %q proven by nothing", port, proof)
			}
		}
	})
}
