// Package udptest runs fake UDP services on loopback for the tests and
// benchmarks of the UDP scanner and the UDP checks: an SNMP agent, an NTP
// server with or without the control and private modes, a DNS server
// (miekg/dns) that resolves for anyone or refuses, an SSDP responder, an
// mDNS responder, memcached over UDP, an IPMI BMC with or without cipher
// zero, a NetBIOS name service, a CoAP server, a TFTP server and a silent
// socket. Each answers the way the real software does, byte for byte where
// it matters to a parser, and counts the requests it got.
package udptest

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/probe/udpscan"
)

// TB is the part of testing.TB the servers need (a benchmark command
// passes its own).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Responder sends a handler's answers.
type Responder interface {
	// Reply answers from the server's own port.
	Reply(b []byte)
	// ReplyFromNewPort answers from a new port of the server's address,
	// as TFTP servers do.
	ReplyFromNewPort(b []byte)
}

// Handler answers one datagram.
type Handler func(req []byte, from netip.AddrPort, w Responder)

// Server is a running fake.
type Server struct {
	Addr     netip.AddrPort
	Requests atomic.Int64
	// SentBytes counts the bytes of every answer.
	SentBytes atomic.Int64
	conn      *net.UDPConn
	wg        sync.WaitGroup
}

// Start serves h on ip (a loopback address) and port (0: any free port)
// until the test ends.
func Start(t TB, ip string, port int, h Handler) *Server {
	t.Helper()
	s, err := Listen(ip, port, h)
	if err != nil {
		t.Fatalf("udptest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Listen serves h on ip:port until Close.
func Listen(ip string, port int, h Handler) (*Server, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.IsLoopback() {
		return nil, fmt.Errorf("udptest: %q is not a loopback address", ip)
	}
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, uint16(port))))
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: c.LocalAddr().(*net.UDPAddr).AddrPort(), conn: c}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					continue
				}
				if strings.Contains(err.Error(), "closed") {
					return
				}
				continue
			}
			s.Requests.Add(1)
			if h != nil {
				h(append([]byte(nil), buf[:n]...), from, &responder{s: s, to: from})
			}
		}
	}()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() {
	s.conn.Close()
	s.wg.Wait()
}

type responder struct {
	s  *Server
	to netip.AddrPort
}

func (r *responder) Reply(b []byte) {
	if n, err := r.s.conn.WriteToUDPAddrPort(b, r.to); err == nil {
		r.s.SentBytes.Add(int64(n))
	}
}

func (r *responder) ReplyFromNewPort(b []byte) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(r.s.Addr.Addr(), 0)))
	if err != nil {
		return
	}
	defer c.Close()
	if n, err := c.WriteToUDPAddrPort(b, r.to); err == nil {
		r.s.SentBytes.Add(int64(n))
	}
}

// Silent never answers: an open port that ignores the probe.
func Silent() Handler { return nil }

// SNMP is an agent that answers GET requests in the communities it
// accepts (any version) with sysDescr and sysContact, and ignores other
// communities and every SET, as Net-SNMP does for an unknown community.
func SNMP(sysDescr string, communities ...string) Handler {
	ok := map[string]bool{}
	for _, c := range communities {
		ok[c] = true
	}
	return func(req []byte, _ netip.AddrPort, w Responder) {
		m, err := udpscan.ParseSNMPMessage(req)
		if err != nil || !ok[m.Community] || m.PDU != udpscan.SNMPGetRequestPDU {
			return
		}
		resp := udpscan.SNMPReply{Version: m.Version, Community: m.Community, PDU: udpscan.SNMPGetResponsePDU, RequestID: m.RequestID}
		for _, v := range m.Vars {
			switch v.OID {
			case udpscan.OIDSysDescr:
				resp.Vars = append(resp.Vars, udpscan.SNMPVar{OID: v.OID, Type: 0x04, Value: sysDescr})
			case udpscan.OIDSysContact:
				resp.Vars = append(resp.Vars, udpscan.SNMPVar{OID: v.OID, Type: 0x04, Value: "Me <me@example.org>"})
			default:
				resp.Vars = append(resp.Vars, udpscan.SNMPVar{OID: v.OID, Type: 0x05})
			}
		}
		if b, err := udpscan.SNMPEncode(resp); err == nil {
			w.Reply(b)
		}
	}
}

// NTPOptions say which queries an NTP fake answers besides mode 3.
type NTPOptions struct {
	// ReadVar answers mode 6 READVAR with the system variables (ntpd
	// without "restrict ... noquery").
	ReadVar bool
	// Monlist answers mode 7 MON_GETLIST_1 with this many 72-byte entries
	// (ntpd before 4.2.7p26 without "disable monitor"); 0 ignores mode 7.
	Monlist int
}

// NTP is an NTP server.
func NTP(o NTPOptions) Handler {
	return func(req []byte, _ netip.AddrPort, w Responder) {
		if len(req) < 1 {
			return
		}
		switch req[0] & 7 {
		case udpscan.NTPModeClient:
			if len(req) < 48 {
				return
			}
			b := make([]byte, 48)
			b[0] = req[0]&0x38 | udpscan.NTPModeServer
			b[1], b[2], b[3] = 2, 6, 0xe9 // stratum 2, poll 6, precision
			copy(b[12:16], []byte{192, 0, 2, 1})
			copy(b[24:32], req[40:48]) // origin = client's transmit
			binary.BigEndian.PutUint64(b[40:], uint64(time.Now().Unix()+2208988800)<<32)
			w.Reply(b)
		case udpscan.NTPModeControl:
			c, err := udpscan.ParseNTPControl(req)
			if err != nil || !o.ReadVar || c.Response || c.Op != udpscan.NTPOpReadVar {
				return
			}
			vars := `version="ntpd 4.2.8p15@1.3728-o Wed Sep 23 11:46:38 UTC 2020 (1)", processor="x86_64", system="Linux/6.1.0-18-amd64", leap=00, stratum=2, precision=-23, rootdelay=1.234, rootdisp=22.5, refid=192.0.2.1, reftime=0xe9b5c1a2.12345678, clock=0xe9b5c3d4.9abcdef0, peer=12345, tc=10, mintc=3, offset=-0.123, frequency=-12.345, sys_jitter=0.456, clk_jitter=0.321, clk_wander=0.012, tai=37, leapsec=201701010000, expire=202612280000`
			data := []byte(vars)
			for off := 0; off < len(data); off += 468 {
				end := min(off+468, len(data))
				b := make([]byte, 12, 12+468+4)
				b[0] = req[0]&0x38 | udpscan.NTPModeControl
				b[1] = 0x80 | udpscan.NTPOpReadVar
				if end < len(data) {
					b[1] |= 0x20
				}
				copy(b[2:4], req[2:4])
				binary.BigEndian.PutUint16(b[4:], 0x0615)
				binary.BigEndian.PutUint16(b[8:], uint16(off))
				binary.BigEndian.PutUint16(b[10:], uint16(end-off))
				b = append(b, data[off:end]...)
				for len(b)%4 != 0 {
					b = append(b, 0)
				}
				w.Reply(b)
			}
		case udpscan.NTPModePrivate:
			p, err := udpscan.ParseNTPPrivate(req)
			if err != nil || o.Monlist == 0 || p.Response || p.Req != udpscan.NTPMonlist {
				return
			}
			const item, per = 72, 6
			for i := 0; i < o.Monlist; i += per {
				n := min(per, o.Monlist-i)
				b := make([]byte, 8, 8+n*item)
				b[0] = 0x80 | req[0]&0x38 | udpscan.NTPModePrivate
				if i+n < o.Monlist {
					b[0] |= 0x40
				}
				b[1] = byte(i / per & 0x7f)
				b[2], b[3] = req[2], req[3]
				binary.BigEndian.PutUint16(b[4:], uint16(n))
				binary.BigEndian.PutUint16(b[6:], item)
				for j := 0; j < n; j++ {
					e := make([]byte, item)
					binary.BigEndian.PutUint32(e[16:], uint32(0xc6336400+i+j)) // 198.51.100.x
					b = append(b, e...)
				}
				w.Reply(b)
			}
		}
	}
}

// DNS serves DNS with miekg/dns on ip:port (0: any). An open resolver
// answers a recursive A query for any name outside its zone with RA set
// and an address; a closed one refuses recursion. Both answer
// version.bind CH TXT with version.
func DNS(t TB, ip string, port int, open bool, version string) *Server {
	t.Helper()
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.IsLoopback() {
		t.Fatalf("udptest: %q is not a loopback address", ip)
	}
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, uint16(port))))
	if err != nil {
		t.Fatalf("udptest: %v", err)
	}
	s := &Server{Addr: pc.LocalAddr().(*net.UDPAddr).AddrPort(), conn: pc}
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, q *mdns.Msg) {
		s.Requests.Add(1)
		r := new(mdns.Msg)
		r.SetReply(q)
		r.RecursionAvailable = open
		if len(q.Question) == 1 {
			qq := q.Question[0]
			switch {
			case qq.Qclass == mdns.ClassCHAOS && strings.EqualFold(qq.Name, "version.bind."):
				r.Answer = append(r.Answer, &mdns.TXT{Hdr: mdns.RR_Header{Name: qq.Name, Rrtype: mdns.TypeTXT, Class: mdns.ClassCHAOS}, Txt: []string{version}})
			case strings.HasSuffix(strings.ToLower(qq.Name), "zone.test."):
				r.Authoritative = true
				if qq.Qtype == mdns.TypeA {
					r.Answer = append(r.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: qq.Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 300}, A: net.IPv4(192, 0, 2, 10)})
				}
			case open && q.RecursionDesired && qq.Qtype == mdns.TypeA:
				r.Answer = append(r.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: qq.Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 3600}, A: net.IPv4(198, 41, 0, 4)})
			default:
				r.Rcode = mdns.RcodeRefused
			}
		}
		b, _ := r.Pack()
		s.SentBytes.Add(int64(len(b)))
		w.WriteMsg(r)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatalf("udptest: dns server did not start")
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.ShutdownContext(ctx)
	})
	return s
}

// SSDP is a UPnP device answering M-SEARCH with one response per service
// type it has (a home router has several, which is what makes SSDP an
// amplifier).
func SSDP(server string, services int) Handler {
	return func(req []byte, from netip.AddrPort, w Responder) {
		if !strings.HasPrefix(string(req), "M-SEARCH * HTTP/1.1") {
			return
		}
		for i := 0; i < max(1, services); i++ {
			st := "upnp:rootdevice"
			if i > 0 {
				st = fmt.Sprintf("urn:schemas-upnp-org:service:WANIPConnection:%d", i)
			}
			w.Reply([]byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: %s\r\nUSN: uuid:6c1a2d4e-0000-0000-0000-000000000001::%s\r\nEXT:\r\nSERVER: %s\r\nLOCATION: http://192.168.1.1:5000/rootDesc.xml\r\n\r\n", st, st, server)))
		}
	}
}

// MDNS answers the DNS-SD service enumeration with the given service
// types, over unicast to the asking port.
func MDNS(services ...string) Handler {
	return func(req []byte, _ netip.AddrPort, w Responder) {
		q := new(mdns.Msg)
		if q.Unpack(req) != nil || len(q.Question) != 1 || q.Question[0].Qtype != mdns.TypePTR {
			return
		}
		r := new(mdns.Msg)
		r.Id = q.Id
		r.Response, r.Authoritative = true, true
		r.Question = q.Question
		r.Question[0].Qclass &^= 1 << 15
		for _, s := range services {
			r.Answer = append(r.Answer, &mdns.PTR{Hdr: mdns.RR_Header{Name: "_services._dns-sd._udp.local.", Rrtype: mdns.TypePTR, Class: mdns.ClassINET, Ttl: 10}, Ptr: mdns.Fqdn(s)})
		}
		if b, err := r.Pack(); err == nil {
			w.Reply(b)
		}
	}
}

// Memcached answers "stats" over UDP (memcached before 1.5.6, or started
// with -U 11211), in as many 1400-byte datagrams as it takes.
func Memcached(version string) Handler {
	return func(req []byte, _ netip.AddrPort, w Responder) {
		if len(req) < 8 || !strings.HasPrefix(string(req[8:]), "stats") {
			return
		}
		var body strings.Builder
		fmt.Fprintf(&body, "STAT pid 4242\r\nSTAT uptime 86400\r\nSTAT version %s\r\nSTAT libevent 2.1.12-stable\r\nSTAT pointer_size 64\r\n", version)
		for i := 0; i < 60; i++ {
			fmt.Fprintf(&body, "STAT counter_%02d %d\r\n", i, 1000000+i)
		}
		body.WriteString("END\r\n")
		data := []byte(body.String())
		const chunk = 1400
		total := (len(data) + chunk - 1) / chunk
		for i := 0; i < total; i++ {
			b := make([]byte, 8)
			copy(b, req[:2])
			binary.BigEndian.PutUint16(b[2:], uint16(i))
			binary.BigEndian.PutUint16(b[4:], uint16(total))
			w.Reply(append(b, data[i*chunk:min((i+1)*chunk, len(data))]...))
		}
	}
}

// IPMIOptions describe a fake BMC.
type IPMIOptions struct {
	Anonymous  bool // null user name and password accepted (anonymous login)
	CipherZero bool // RMCP+ open session with cipher suite 0 accepted
}

// IPMI is a BMC answering Get Channel Authentication Capabilities and
// RMCP+ Open Session Requests.
func IPMI(o IPMIOptions) Handler {
	return func(req []byte, _ netip.AddrPort, w Responder) {
		if len(req) < 5 || req[0] != 0x06 || req[3] != 0x07 {
			return
		}
		if req[4] == 0x00 && len(req) >= 20 && req[19] == 0x38 {
			flags := byte(0x04) // non-null user names
			if o.Anonymous {
				flags |= 0x03
			}
			msg := []byte{0x81, 0x1c, 0, 0x20, req[18], 0x38, 0x00, 0x01, 0x97, flags, 0x03, 0, 0, 0, 0, 0}
			msg[2] = -(msg[0] + msg[1])
			var s byte
			for _, c := range msg[3:] {
				s += c
			}
			msg = append(msg, -s)
			b := []byte{0x06, 0x00, 0xff, 0x07, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, byte(len(msg))}
			w.Reply(append(b, msg...))
			return
		}
		if req[4] == 0x06 && len(req) >= 16+32 && req[5]&0x3f == 0x10 {
			p := req[16:]
			// Cipher zero: algorithm 0 in the three payloads.
			zero := p[12] == 0 && p[20] == 0 && p[28] == 0
			var out []byte
			if zero && o.CipherZero {
				out = make([]byte, 36)
				out[0], out[1], out[2] = p[0], 0x00, 0x04
				copy(out[4:8], p[4:8])
				binary.LittleEndian.PutUint32(out[8:], 0x0200a1b2)
				copy(out[12:], p[8:32])
			} else {
				out = []byte{p[0], 0x11, 0, 0, p[4], p[5], p[6], p[7]}
			}
			b := []byte{0x06, 0x00, 0xff, 0x07, 0x06, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, byte(len(out)), 0}
			w.Reply(append(b, out...))
		}
	}
}

// NetBIOS answers node status queries with a workstation and a workgroup
// name, as Samba's nmbd does.
func NetBIOS(host, workgroup string) Handler {
	return func(req []byte, _ netip.AddrPort, w Responder) {
		if len(req) < 50 || req[2]&0x80 != 0 {
			return
		}
		b := append([]byte(nil), req[:2]...)
		b = append(b, 0x84, 0x00, 0, 0, 0, 1, 0, 0, 0, 0)
		b = append(b, req[12:46]...) // the queried name
		b = append(b, 0x00, 0x21, 0x00, 0x01, 0, 0, 0, 0)
		names := []struct {
			n      string
			suffix byte
			group  bool
		}{{host, 0x00, false}, {host, 0x20, false}, {workgroup, 0x00, true}}
		rd := []byte{byte(len(names))}
		for _, n := range names {
			e := []byte(fmt.Sprintf("%-15s", strings.ToUpper(n.n)))[:15]
			e = append(e, n.suffix, 0x04, 0x00)
			if n.group {
				e[16] |= 0x80
			}
			rd = append(rd, e...)
		}
		rd = append(rd, 0x00, 0x0c, 0x29, 0x12, 0x34, 0x56)
		rd = append(rd, make([]byte, 40)...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(rd)))
		w.Reply(append(b, rd...))
	}
}

// CoAP answers GET /.well-known/core with a link-format resource list.
func CoAP(resources string) Handler {
	return func(req []byte, _ netip.AddrPort, w Responder) {
		m, err := udpscan.ParseCoAP(req)
		if err != nil || m.Code != "0.01" {
			return
		}
		b := []byte{0x60 | byte(len(m.Token)), 0x45, byte(m.MID >> 8), byte(m.MID)}
		b = append(b, m.Token...)
		b = append(b, 0xc1, 0x28) // Content-Format (12): 40, application/link-format
		b = append(b, 0xff)
		w.Reply(append(b, resources...))
	}
}

// TFTP serves files by name from a new port, and answers "File not
// found" for the rest.
func TFTP(files map[string][]byte) Handler {
	return func(req []byte, _ netip.AddrPort, w Responder) {
		if len(req) < 4 || req[0] != 0 || req[1] != 1 {
			return
		}
		name, _, _ := strings.Cut(string(req[2:]), "\x00")
		if data, ok := files[name]; ok {
			b := []byte{0, 3, 0, 1}
			w.ReplyFromNewPort(append(b, data[:min(len(data), 512)]...))
			return
		}
		w.ReplyFromNewPort(append([]byte{0, 5, 0, 1}, "File not found\x00"...))
	}
}
