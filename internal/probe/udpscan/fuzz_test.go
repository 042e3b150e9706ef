package udpscan

import (
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// Every parser of bytes from a target has a fuzz target here. Seeds: a
// real Net-SNMP 5.9.3 reply (testdata/, captured from Debian 12's snmpd),
// the requests the scanner sends, replies built byte by byte from the
// protocols' specifications (IPMI v2.0 section 22.13, RFC 1002 4.2.18,
// RFC 7252, RFC 1350) as the udptest fakes build them, and broken ones.
// The invariants: no panic, shown strings are valid UTF-8 and capped,
// and a success carries what it promises.

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// realSNMP is Net-SNMP 5.9.3's answer to SNMPGet(SNMPv2c, "public",
// 0x72616d70, OIDSysDescr).
func realSNMP(tb testing.TB) []byte {
	b, err := os.ReadFile("testdata/netsnmp-5.9.3-v2c-sysdescr.bin")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Replies built from the specifications.
var (
	// Get Channel Authentication Capabilities: IPMI 1.5 and 2.0, auth
	// types none, MD2, MD5 and password, non-null user names only.
	specIPMI = unhex("0600ff0700000000000000000010811c632000380001970403000000000009")
	// Node status: FILESRV<00>, FILESRV<20>, WRKGROUP<00> (group), MAC.
	specNBSTAT = unhex("72618400000000010000000020434b41414141414141414141414141414141414141414141414141414141414100002100010000000000650346494c45535256202020202020202000040046494c45535256202020202020202020040057524b47524f555020202020202020008400000c2912345600000000000000000000000000000000000000000000000000000000000000000000000000000000")
)

func checkText(t *testing.T, s string, max int) {
	t.Helper()
	if !utf8.ValidString(s) || len(s) > max {
		t.Fatalf("bad shown text (%d bytes): %q", len(s), s)
	}
}

func FuzzParseSNMP(f *testing.F) {
	for _, c := range []struct {
		v    int
		comm string
	}{{SNMPv2c, "public"}, {SNMPv1, "private"}} {
		b, _ := SNMPGet(c.v, c.comm, 1, OIDSysDescr, OIDSysContact)
		f.Add(b)
		resp, _ := SNMPEncode(SNMPReply{Version: c.v, Community: c.comm, PDU: SNMPGetResponsePDU, RequestID: 1,
			Vars: []SNMPVar{{OID: OIDSysDescr, Type: 0x04, Value: "Linux host 6.1.0 #1 SMP x86_64"}, {OID: "1.3.6.1.2.1.1.3.0", Type: 0x02, Value: "123456"}}})
		f.Add(resp)
	}
	f.Add(realSNMP(f))
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x05})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseSNMP(b)
		if err != nil {
			return
		}
		if r.PDU != SNMPGetResponsePDU && r.PDU != snmpReport {
			t.Fatalf("pdu %#x accepted as a response", r.PDU)
		}
		if len(r.Vars) > maxSNMPVars {
			t.Fatalf("%d vars", len(r.Vars))
		}
		for _, v := range r.Vars {
			if v.Type == 0x04 {
				checkText(t, v.Value, 1024)
			}
		}
	})
}

func FuzzParseNTP(f *testing.F) {
	f.Add(NTPClientRequest(probeStamp))
	srv := make([]byte, 48)
	srv[0], srv[1] = 0x24, 2
	f.Add(srv)
	f.Add(NTPReadVarRequest(1))
	f.Add(append(unhex("1682000100000000000000"+"0010"), []byte(`version="ntpd 4"`)...))
	f.Add(NTPMonlistRequest())
	f.Add(unhex("d700032a00060048"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := ParseNTPServer(b); err == nil {
			checkText(t, r.RefID, 16)
			if r.Version < 1 || r.Version > 4 {
				t.Fatalf("version %d", r.Version)
			}
		}
		if c, err := ParseNTPControl(b); err == nil {
			if len(c.Data) != c.Count || c.Count > len(b)-12 {
				t.Fatalf("count %d, data %d", c.Count, len(c.Data))
			}
			vars := c.Vars()
			if len(vars) > 64 {
				t.Fatalf("%d vars", len(vars))
			}
			for _, v := range vars {
				checkText(t, v, 256)
			}
		}
		if p, err := ParseNTPPrivate(b); err == nil && len(p.Data) != len(b)-8 {
			t.Fatal("private data")
		}
	})
}

func FuzzParseDNS(f *testing.F) {
	f.Add(DNSVersionQuery(1))
	f.Add(MDNSServicesQuery())
	// An answer to version.bind CH TXT as BIND 9.18 gives it.
	f.Add(unhex("72618400000100010000000007766572" + "73696f6e0462696e640000100003c00c0010000300000000001110392e31382e32342d312d44656269616e"))
	f.Add([]byte{0, 1, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseDNS(b)
		if err != nil {
			return
		}
		if len(r.Answers) > 32 || len(r.TXT) > 32 || len(r.PTR) > 32 {
			t.Fatal("too many records kept")
		}
		for _, s := range append(append(r.Answers, r.TXT...), r.PTR...) {
			checkText(t, s, 256)
		}
	})
}

func FuzzParseSSDP(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: upnp:rootdevice\r\nUSN: uuid:6c1a::upnp:rootdevice\r\nEXT:\r\nSERVER: Linux/5.10 UPnP/1.0 MiniUPnPd/2.3.3\r\nLOCATION: http://192.168.1.1:5000/rootDesc.xml\r\n\r\n"))
	f.Add([]byte("NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNTS: ssdp:alive\r\n\r\n"))
	f.Add(SSDPSearch())
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseSSDP(b)
		if err != nil {
			return
		}
		if len(r.Headers) > 32 {
			t.Fatal("too many headers")
		}
		for _, v := range r.Headers {
			checkText(t, v, 256)
		}
	})
}

func FuzzParseMemcached(f *testing.F) {
	f.Add(MemcachedStatsRequest(1))
	f.Add(append(unhex("0001000000010000"), "STAT pid 1\r\nSTAT version 1.6.18\r\nEND\r\n"...))
	f.Add(append(unhex("0001000100020000"), "STAT curr_items 0\r\n"...))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseMemcachedFrame(b)
		if err != nil {
			return
		}
		if fr.Seq >= fr.Total {
			t.Fatal("sequence beyond total")
		}
		if st, err := ParseMemcachedStats(fr.Body); err == nil {
			if len(st) == 0 || len(st) > 128 {
				t.Fatalf("%d stats", len(st))
			}
			for k, v := range st {
				checkText(t, k, 64)
				checkText(t, v, 128)
			}
		}
		identifyMemcached(b)
	})
}

func FuzzParseIPMI(f *testing.F) {
	f.Add(IPMIAuthCapRequest())
	f.Add(specIPMI)
	f.Add(IPMIOpenSessionRequest(1, 0xa0a2a3a4))
	f.Add(unhex("0600ff070611000000000000000024000000040000a4a3a2a0b2a1000200000008000000000100000800000000020000080000000000"))
	f.Add(unhex("0600ff07061100000000000000000800011100000000a4a3a2a0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := ParseIPMIAuthCap(b); err == nil {
			checkText(t, c.String(), 256)
		}
		if s, err := ParseIPMIOpenSession(b); err == nil && s.Status == 0 && len(b) < 28 {
			t.Fatal("accepted session from a short reply")
		}
	})
}

func FuzzParseNetBIOS(f *testing.F) {
	f.Add(specNBSTAT)
	f.Add(NetBIOSStatusRequest(1))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseNetBIOSStatus(b)
		if err != nil {
			return
		}
		if len(s.Names) > 64 {
			t.Fatal("too many names")
		}
		for _, n := range s.Names {
			checkText(t, n.Name, 15)
		}
	})
}

func FuzzParseCoAP(f *testing.F) {
	f.Add(CoAPWellKnownCore(7))
	f.Add(append(unhex("60450007c128ff"), `</sensors/temp>;rt="temperature";if="sensor",</actuators/led>`...))
	f.Add(unhex("7000abcd"))
	f.Add(unhex("40010001d10e01ee01020304"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseCoAP(b)
		if err != nil {
			return
		}
		if len(m.Token) > 8 || len(m.Options) > 64 {
			t.Fatal("token or options")
		}
		identifyCoAP(b)
	})
}

func FuzzParseTFTP(f *testing.F) {
	f.Add(append([]byte{0, 5, 0, 1}, "File not found\x00"...))
	f.Add(append([]byte{0, 3, 0, 1}, "hostname router1\n"...))
	f.Add(append([]byte{0, 6}, "blksize\x001428\x00"...))
	f.Add(TFTPReadRequest("x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseTFTP(b)
		if err != nil {
			return
		}
		checkText(t, r.ErrMsg, 256)
		if r.Opcode != 3 && r.Opcode != 5 && r.Opcode != 6 {
			t.Fatalf("opcode %d", r.Opcode)
		}
	})
}

func TestRealReplies(t *testing.T) {
	r, err := ParseSNMP(realSNMP(t))
	if err != nil || r.Community != "public" || r.Version != SNMPv2c || r.RequestID != 0x72616d70 {
		t.Fatalf("%+v %v", r, err)
	}
	if d, ok := r.Value(OIDSysDescr); !ok || !strings.HasPrefix(d, "Linux vm 6.18.44") {
		t.Fatalf("sysDescr %q", d)
	}
	c, err := ParseIPMIAuthCap(specIPMI)
	if err != nil || !c.V20 || !c.V15 || c.Anonymous || !c.NonNullUsers || len(c.AuthTypes) != 4 {
		t.Fatalf("%+v %v", c, err)
	}
	s, err := ParseNetBIOSStatus(specNBSTAT)
	if host, wg := s.Computer(); err != nil || host != "FILESRV" || wg != "WRKGROUP" || s.MAC != "00:0c:29:12:34:56" {
		t.Fatalf("%+v %v", s, err)
	}
	d, err := ParseDNS(unhex("72618400000100010000000007766572" + "73696f6e0462696e640000100003c00c0010000300000000001110392e31382e32342d312d44656269616e"))
	if err != nil || len(d.TXT) != 1 || d.TXT[0] != "9.18.24-1-Debian" {
		t.Fatalf("%+v %v", d, err)
	}
	if p, v := dnsProduct("9.18.24-1-Debian"); p != "BIND" || v != "9.18.24-1-Debian" {
		t.Fatal(p, v)
	}
	if p, v := dnsProduct("unbound 1.17.1"); p != "Unbound" || v != "1.17.1" {
		t.Fatal(p, v)
	}
}

func TestSNMPRoundTrip(t *testing.T) {
	b, err := SNMPGet(SNMPv1, "community with space", 0x7fffffff, OIDSysDescr, "1.3.6.1.4.1.8072.3.2.10", "2.999.1")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseSNMPMessage(b)
	if err != nil || m.PDU != SNMPGetRequestPDU || m.Community != "community with space" || m.RequestID != 0x7fffffff || len(m.Vars) != 3 ||
		m.Vars[1].OID != "1.3.6.1.4.1.8072.3.2.10" || m.Vars[2].OID != "2.999.1" {
		t.Fatalf("%+v %v", m, err)
	}
	if _, err := ParseSNMP(b); err == nil {
		t.Fatal("a request parsed as a response")
	}
	for _, bad := range []string{"1", "3.1", "1.40", "1.3.x"} {
		if _, err := SNMPGet(SNMPv2c, "p", 1, bad); err == nil {
			t.Errorf("oid %q accepted", bad)
		}
	}
	for _, n := range []int64{0, 1, -1, 127, 128, -128, -129, 1 << 40} {
		if v, err := decodeInt(encodeInt(n)); err != nil || v != n {
			t.Errorf("int %d → %d %v", n, v, err)
		}
	}
}

func TestClean(t *testing.T) {
	if s := clean([]byte("a\x00b\r\n\xffé"), 100); s != `a\x00b\r\n\xffé` {
		t.Fatalf("%q", s)
	}
	if s := clean([]byte("ééééé"), 5); s != "éé" {
		t.Fatalf("%q", s)
	}
}
