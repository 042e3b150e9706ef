//go:build linux

package synscan

import (
	"context"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// A SYN as buildSYN writes it: both checksums verify (the one's
// complement sum over the header, checksum included, is all ones), and
// parseReply reads back what was written.
func TestBuildSYN(t *testing.T) {
	src, dst := netip.MustParseAddr("10.98.0.1"), netip.MustParseAddr("10.99.3.7")
	b := make([]byte, synLen)
	if n := buildSYN(b, src, dst, 40123, 443, 0xdeadbeef, 7); n != synLen {
		t.Fatal(n)
	}
	if fold(sum16(0, b[:ipHeaderLen])) != 0 {
		t.Fatal("IP checksum does not verify")
	}
	s4, d4 := src.As4(), dst.As4()
	if tcpChecksum(s4, d4, b[ipHeaderLen:]) != 0 {
		t.Fatal("TCP checksum does not verify")
	}
	r, err := parseReply(b)
	if err != nil || r.src != src || r.sport != 40123 || r.dport != 443 || r.seq != 0xdeadbeef || r.flags != flagSYN {
		t.Fatalf("%+v %v", r, err)
	}
	// RFC 1071's example: 0001 f203 f4f5 f6f7 sums to ddf2, checksum 220d.
	if c := fold(sum16(0, []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7})); c != 0x220d {
		t.Fatalf("checksum %04x", c)
	}
}

func TestCookie(t *testing.T) {
	a, b := netip.MustParseAddr("10.99.0.1"), netip.MustParseAddr("10.99.0.2")
	seen := map[uint32]bool{}
	for _, c := range []uint32{cookie(1, a, 80, 40000), cookie(1, b, 80, 40000), cookie(1, a, 81, 40000), cookie(1, a, 80, 40001), cookie(2, a, 80, 40000)} {
		if seen[c] {
			t.Fatalf("cookie %08x repeats", c)
		}
		seen[c] = true
	}
	if cookie(9, a, 80, 40000) != cookie(9, a, 80, 40000) {
		t.Fatal("not deterministic")
	}
}

func FuzzParseReply(f *testing.F) {
	b := make([]byte, synLen)
	buildSYN(b, netip.MustParseAddr("10.99.0.5"), netip.MustParseAddr("10.98.0.1"), 80, 40123, 1, 1)
	b[ipHeaderLen+13] = flagSYN | flagACK
	binary.BigEndian.PutUint32(b[ipHeaderLen+8:], 0xdeadbef0)
	f.Add(b)
	f.Add(b[:ipHeaderLen+10])
	f.Add([]byte{0x46, 0, 0, 40})
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := parseReply(p)
		if err == nil && (!r.src.Is4() || len(p) < 40) {
			t.Fatalf("accepted %x as %+v", p, r)
		}
	})
}

// The pacer is a ceiling: 2,000 SYNs at 20,000/s take at least ~90ms.
func TestPacer(t *testing.T) {
	p := &pacer{rate: 20000}
	start := time.Now()
	for i := 0; i < 10; i++ {
		p.wait(context.Background(), 200)
	}
	if el := time.Since(start); el < 85*time.Millisecond {
		t.Fatalf("2,000 at 20,000/s in %v", el)
	}
}
