package netflow

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
)

// NetFlow v5 layout: a 24-byte header and up to 30 records of 48 bytes.
const (
	v5Header = 24
	v5Record = 48
	v5Max    = 30
)

// decodeV5 decodes a NetFlow v5 datagram. Header: version, count,
// sysUptime (ms), unix_secs, unix_nsecs, flow_sequence, engine type and
// ID, sampling (2 bits mode, 14 bits interval). Record: srcaddr, dstaddr,
// nexthop, input, output, dPkts, dOctets, first, last (sysUptime ms),
// srcport, dstport, pad, tcp_flags, prot, tos, src_as, dst_as, masks, pad.
func (d *Decoder) decodeV5(pkt []byte, out []sensor.Event) ([]sensor.Event, error) {
	if len(pkt) < v5Header {
		return out, ErrShort
	}
	count := int(binary.BigEndian.Uint16(pkt[2:]))
	if count == 0 || count > v5Max {
		return out, ErrMalformed
	}
	if len(pkt) < v5Header+count*v5Record {
		return out, ErrShort
	}
	uptime := binary.BigEndian.Uint32(pkt[4:])
	export := time.Unix(int64(binary.BigEndian.Uint32(pkt[8:])), int64(binary.BigEndian.Uint32(pkt[12:])%1e9))
	rate := uint64(binary.BigEndian.Uint16(pkt[22:]) & 0x3fff)
	for i := 0; i < count; i++ {
		r := pkt[v5Header+i*v5Record : v5Header+(i+1)*v5Record]
		e := sensor.Event{
			Type:    sensor.TypeFlow,
			Src:     netip.AddrFrom4([4]byte(r[0:4])),
			Dst:     netip.AddrFrom4([4]byte(r[4:8])),
			Packets: uint64(binary.BigEndian.Uint32(r[16:])),
			Bytes:   uint64(binary.BigEndian.Uint32(r[20:])),
			SrcPort: binary.BigEndian.Uint16(r[32:]),
			DstPort: binary.BigEndian.Uint16(r[34:]),
			Proto:   r[38],
			Input:   "netflow",
		}
		last := binary.BigEndian.Uint32(r[28:])
		e.Time = export.Add(-time.Duration(int32(uptime-last)) * time.Millisecond)
		if rate > 1 {
			e.Packets *= rate
			e.Bytes *= rate
		}
		out = append(out, e)
	}
	return out, nil
}
