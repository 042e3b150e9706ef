package synscan

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// Sizes of the SYN the scanner sends: an IPv4 header without options and
// a TCP header with one option (MSS 1460), as ordinary stacks send.
const (
	ipHeaderLen  = 20
	tcpHeaderLen = 24
	synLen       = ipHeaderLen + tcpHeaderLen
)

// TCP flags.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagACK = 0x10
)

// cookie is the sequence number of a SYN to dst:dport from sport: a keyed
// hash, so a SYN-ACK proves it answers a SYN this scan sent (its
// acknowledgment number is cookie+1) without any state per probe.
func cookie(key uint64, dst netip.Addr, dport, sport uint16) uint32 {
	a := dst.As4()
	x := key ^ (uint64(binary.BigEndian.Uint32(a[:]))<<32 | uint64(dport)<<16 | uint64(sport))
	// splitmix64's finalizer.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return uint32(x) ^ uint32(x>>32)
}

// buildSYN writes a SYN from src:sport to dst:dport with sequence seq into
// b (at least synLen bytes) and returns its length. The IP checksum is
// left to the kernel (IP_HDRINCL fills it); the TCP checksum is computed.
func buildSYN(b []byte, src, dst netip.Addr, sport, dport uint16, seq uint32, ipID uint16) int {
	b = b[:synLen]
	s4, d4 := src.As4(), dst.As4()
	b[0] = 0x45 // version 4, 5 words
	b[1] = 0
	binary.BigEndian.PutUint16(b[2:], synLen)
	binary.BigEndian.PutUint16(b[4:], ipID)
	binary.BigEndian.PutUint16(b[6:], 0) // no fragment flags
	b[8] = 64                            // TTL
	b[9] = 6                             // TCP
	b[10], b[11] = 0, 0
	copy(b[12:16], s4[:])
	copy(b[16:20], d4[:])
	binary.BigEndian.PutUint16(b[10:], ipChecksum(b[:ipHeaderLen]))
	t := b[ipHeaderLen:]
	binary.BigEndian.PutUint16(t[0:], sport)
	binary.BigEndian.PutUint16(t[2:], dport)
	binary.BigEndian.PutUint32(t[4:], seq)
	binary.BigEndian.PutUint32(t[8:], 0)
	t[12] = (tcpHeaderLen / 4) << 4
	t[13] = flagSYN
	binary.BigEndian.PutUint16(t[14:], 64240) // window
	t[16], t[17] = 0, 0                       // checksum, below
	t[18], t[19] = 0, 0                       // urgent pointer
	t[20], t[21], t[22], t[23] = 2, 4, 0x05, 0xb4
	binary.BigEndian.PutUint16(t[16:], tcpChecksum(s4, d4, t[:tcpHeaderLen]))
	return synLen
}

// sum16 adds b as big-endian 16-bit words to s.
func sum16(s uint32, b []byte) uint32 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func ipChecksum(h []byte) uint16 { return fold(sum16(0, h)) }

func tcpChecksum(src, dst [4]byte, seg []byte) uint16 {
	s := sum16(0, src[:])
	s = sum16(s, dst[:])
	s += 6 + uint32(len(seg))
	return fold(sum16(s, seg))
}

// reply is what the scanner reads from an answer.
type reply struct {
	src          netip.Addr
	sport, dport uint16
	seq, ack     uint32
	flags        byte
}

var errPacket = errors.New("synscan: not an IPv4 TCP segment")

// parseReply reads an IPv4 packet carrying a TCP segment (as a raw
// IPPROTO_TCP socket delivers it). The TCP checksum is not checked: the
// kernel dropped bad ones before the copy.
func parseReply(b []byte) (reply, error) {
	var r reply
	if len(b) < ipHeaderLen || b[0]>>4 != 4 {
		return r, errPacket
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < ipHeaderLen || len(b) < ihl+20 || b[9] != 6 {
		return r, errPacket
	}
	if binary.BigEndian.Uint16(b[6:])&0x1fff != 0 {
		return r, errPacket // a later fragment
	}
	r.src = netip.AddrFrom4([4]byte(b[12:16]))
	t := b[ihl:]
	r.sport = binary.BigEndian.Uint16(t[0:])
	r.dport = binary.BigEndian.Uint16(t[2:])
	r.seq = binary.BigEndian.Uint32(t[4:])
	r.ack = binary.BigEndian.Uint32(t[8:])
	r.flags = t[13]
	return r, nil
}
