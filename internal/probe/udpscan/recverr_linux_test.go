//go:build linux

package udpscan

import (
	"encoding/binary"
	"syscall"
	"testing"
	"unsafe"
)

func unsafePointer(b *byte) unsafe.Pointer { return unsafe.Pointer(b) }

// cmsg builds one control message as the kernel writes it.
func cmsg(level, typ int32, data []byte) []byte {
	h := make([]byte, syscall.CmsgSpace(len(data)))
	hdr := (*syscall.Cmsghdr)(unsafePointer(&h[0]))
	hdr.Level, hdr.Type = level, typ
	hdr.SetLen(syscall.CmsgLen(len(data)))
	copy(h[syscall.CmsgLen(0):], data)
	return h
}

func extErr(origin, typ, code byte) []byte {
	d := make([]byte, 16+16)
	binary.NativeEndian.PutUint32(d, uint32(syscall.ECONNREFUSED))
	d[4], d[5], d[6] = origin, typ, code
	return d
}

// The receive path's control-message parser.
func FuzzParseRecvErr(f *testing.F) {
	f.Add(cmsg(syscall.IPPROTO_IP, ipRecvErr, extErr(soEEOriginICMP, 3, 3)), false)
	f.Add(cmsg(syscall.IPPROTO_IPV6, ipv6RecvErr, extErr(soEEOriginICMP6, 1, 4)), true)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		parseRecvErr(b, v6)
	})
}

func TestParseRecvErr(t *testing.T) {
	if typ, code, ok := parseRecvErr(cmsg(syscall.IPPROTO_IP, ipRecvErr, extErr(soEEOriginICMP, 3, 13)), false); !ok || typ != 3 || code != 13 {
		t.Fatal(typ, code, ok)
	}
	if _, _, ok := parseRecvErr(cmsg(syscall.IPPROTO_IP, ipRecvErr, extErr(1, 0, 0)), false); ok {
		t.Fatal("a local error read as ICMP")
	}
	if st, _ := icmpVerdict(false, 3, 3); st != Closed {
		t.Fatal(st)
	}
	if st, r := icmpVerdict(false, 3, 13); st != Filtered || r != "admin-prohibited" {
		t.Fatal(st, r)
	}
	if st, _ := icmpVerdict(true, 1, 4); st != Closed {
		t.Fatal(st)
	}
	if st, _ := icmpVerdict(false, 11, 0); st != 0 {
		t.Fatal("time exceeded decided a verdict")
	}
}
