package netflow

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"time"
)

// The softflowd interoperability test writes its traffic as a pcap file
// by hand (the classic libpcap format, Ethernet link type): a few hundred
// TCP and UDP packets in both directions of each conversation.

// flowKey is one direction of a conversation, as a flow exporter sees it.
type flowKey struct {
	src, dst     netip.Addr
	sport, dport uint16
	proto        uint8
}

func (k flowKey) String() string {
	return fmt.Sprintf("%d %s:%d>%s:%d", k.proto, k.src, k.sport, k.dst, k.dport)
}

type flowCount struct{ packets, bytes uint64 }

type pcapWriter struct {
	b []byte
}

func newPcap() *pcapWriter {
	w := &pcapWriter{}
	w.b = binary.LittleEndian.AppendUint32(w.b, 0xa1b2c3d4)
	w.b = binary.LittleEndian.AppendUint16(w.b, 2)
	w.b = binary.LittleEndian.AppendUint16(w.b, 4)
	w.b = binary.LittleEndian.AppendUint32(w.b, 0) // thiszone
	w.b = binary.LittleEndian.AppendUint32(w.b, 0) // sigfigs
	w.b = binary.LittleEndian.AppendUint32(w.b, 65535)
	w.b = binary.LittleEndian.AppendUint32(w.b, 1) // LINKTYPE_ETHERNET
	return w
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// packet appends one Ethernet/IPv4/TCP-or-UDP frame with payload bytes of
// data and returns the IP length (what exporters count as the flow's
// octets).
func (w *pcapWriter) packet(ts time.Time, k flowKey, payload int, tcpFlags byte) int {
	var l4 []byte
	switch k.proto {
	case 6:
		l4 = make([]byte, 20+payload)
		binary.BigEndian.PutUint16(l4[0:], k.sport)
		binary.BigEndian.PutUint16(l4[2:], k.dport)
		binary.BigEndian.PutUint32(l4[4:], 1000)
		binary.BigEndian.PutUint32(l4[8:], 2000)
		l4[12] = 5 << 4
		l4[13] = tcpFlags
		binary.BigEndian.PutUint16(l4[14:], 65535)
	default:
		l4 = make([]byte, 8+payload)
		binary.BigEndian.PutUint16(l4[0:], k.sport)
		binary.BigEndian.PutUint16(l4[2:], k.dport)
		binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
	}
	var ip []byte
	etherType := uint16(0x0800)
	if k.src.Is4() {
		ip = make([]byte, 20, 20+len(l4))
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
		binary.BigEndian.PutUint16(ip[4:], 1)
		ip[8] = 64
		ip[9] = k.proto
		s, d := k.src.As4(), k.dst.As4()
		copy(ip[12:], s[:])
		copy(ip[16:], d[:])
		binary.BigEndian.PutUint16(ip[10:], checksum(ip))
	} else {
		etherType = 0x86dd
		ip = make([]byte, 40, 40+len(l4))
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(len(l4)))
		ip[6] = k.proto
		ip[7] = 64
		s, d := k.src.As16(), k.dst.As16()
		copy(ip[8:], s[:])
		copy(ip[24:], d[:])
	}
	ip = append(ip, l4...)
	frame := make([]byte, 14, 14+len(ip))
	copy(frame[0:6], []byte{2, 0, 0, 0, 0, 1})
	copy(frame[6:12], []byte{2, 0, 0, 0, 0, 2})
	binary.BigEndian.PutUint16(frame[12:], etherType)
	frame = append(frame, ip...)
	w.b = binary.LittleEndian.AppendUint32(w.b, uint32(ts.Unix()))
	w.b = binary.LittleEndian.AppendUint32(w.b, uint32(ts.Nanosecond()/1000))
	w.b = binary.LittleEndian.AppendUint32(w.b, uint32(len(frame)))
	w.b = binary.LittleEndian.AppendUint32(w.b, uint32(len(frame)))
	w.b = append(w.b, frame...)
	return len(ip)
}

// writeTraffic writes conversations between 10.x and 127.x addresses to
// path and returns each direction's packet and byte counts. With v6, one
// conversation in four is between fd00::/64 addresses instead.
func writeTraffic(path string, conversations int, seed uint64, v6 bool) (map[flowKey]flowCount, int, error) {
	r := rand.New(rand.NewPCG(seed, 1))
	w := newPcap()
	want := make(map[flowKey]flowCount)
	ts := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	packets := 0
	for i := range conversations {
		client := netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(256)), byte(1 + r.IntN(254))})
		server := netip.AddrFrom4([4]byte{127, 0, byte(r.IntN(4)), byte(1 + r.IntN(254))})
		if i%3 == 0 {
			client, server = server, client
		}
		if v6 && i%4 == 1 {
			client = netip.AddrFrom16([16]byte{0xfd, 0, 15: byte(1 + r.IntN(254))})
			server = netip.AddrFrom16([16]byte{0xfd, 0, 14: 1, 15: byte(1 + r.IntN(254))})
		}
		k := flowKey{src: client, dst: server, sport: uint16(20000 + i), dport: []uint16{80, 443, 53, 123, 22}[r.IntN(5)], proto: 6}
		if k.dport == 53 || k.dport == 123 {
			k.proto = 17
		}
		back := flowKey{src: k.dst, dst: k.src, sport: k.dport, dport: k.sport, proto: k.proto}
		n := 1 + r.IntN(12)
		for j := range n {
			ts = ts.Add(time.Duration(1+r.IntN(5)) * time.Millisecond)
			dir, flags := k, byte(0x18) // PSH|ACK
			if j%2 == 1 {
				dir = back
			}
			if j == 0 && k.proto == 6 {
				flags = 0x02 // SYN
			}
			l := w.packet(ts, dir, r.IntN(1200), flags)
			c := want[dir]
			c.packets++
			c.bytes += uint64(l)
			want[dir] = c
			packets++
		}
	}
	return want, packets, os.WriteFile(path, w.b, 0o644)
}
