package fingerprint

import (
	"math/rand/v2"
	"testing"
)

// TestF24GarbageIsNotTelnetOrNetBIOS: random bytes that happen to start
// with a telnet IAC or a NetBIOS session response type are not taken for
// telnet or NetBIOS; real negotiations still are.
func TestF24GarbageIsNotTelnetOrNetBIOS(t *testing.T) {
	r := rand.New(rand.NewPCG(24, 24))
	for i := 0; i < 2000; i++ {
		junk := make([]byte, 64+r.IntN(1024))
		for j := range junk {
			junk[j] = byte(r.UintN(256))
		}
		for _, first := range [][]byte{{iac, tDO, 24}, {iac, tWIL, 1}, {0x82}, {0x83}} {
			b := append(append([]byte(nil), first...), junk...)
			if f, reply := parseTelnet(b); f["telnet.iac"] != "" || len(reply) != 0 {
				t.Fatalf("garbage %x... taken for telnet: %v", b[:8], f)
			}
			if f := parseBanner(b); f["telnet.iac"] != "" {
				t.Fatalf("garbage %x... banner taken for telnet: %v", b[:8], f)
			}
			if f, err := parseSMB(b); err == nil && f["netbios.session"] != "" {
				t.Fatalf("garbage %x... taken for a NetBIOS session response: %v", b[:8], f)
			}
		}
	}
	linux := []byte("\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27")
	if f, reply := parseTelnet(linux); f["telnet.iac"] != "1" || len(reply) != 12 {
		t.Fatalf("Linux telnetd negotiation: %v, reply %x", f, reply)
	}
	banner := append([]byte("\xff\xfb\x01\xff\xfb\x03"), "\r\nUbuntu 22.04 LTS\r\nlogin: "...)
	if f := parseBanner(banner); f["telnet.iac"] != "1" {
		t.Fatalf("telnet banner: %v", f)
	}
	for _, nb := range [][]byte{{0x82, 0, 0, 0}, {0x83, 0, 0, 1, 0x82}} {
		if f, err := parseSMB(nb); err != nil || f["netbios.session"] == "" {
			t.Fatalf("NetBIOS %x: %v %v", nb, f, err)
		}
	}
}
