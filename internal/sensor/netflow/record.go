package netflow

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
)

// ntpEpoch is the NTP era-0 start (1900-01-01) in Unix seconds; IPFIX
// micro- and nanosecond timestamps count from it (RFC 7011 §6.1.9).
const ntpEpoch = -2208988800

// uintN reads a big-endian unsigned integer of 1 to 8 bytes (IPFIX allows
// reduced-size encoding, RFC 7011 §6.2).
func uintN(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// decodeData decodes the data set of template id in b. A set before its
// template is counted and skipped; options data only updates the domain's
// sampling interval.
func (d *Decoder) decodeData(h *header, id uint16, b []byte, out []sensor.Event) ([]sensor.Event, error) {
	t := d.lookup(h.dom, id, h.recvd)
	switch {
	case t == nil:
		if h.mode != modeLearn {
			d.noTemplate.Add(1)
		}
		return out, nil
	case t.options && h.mode == modeFlows, !t.options && h.mode == modeLearn:
		return out, nil // the other pass's
	}
	info := d.domain(h.dom)
	for len(b) >= t.minSize {
		var r rec
		n, ok := t.read(b, &r)
		if !ok {
			return out, ErrMalformed
		}
		b = b[n:]
		if t.options {
			if rate := r.rate(); rate > 0 {
				info.rate = rate
			}
			if r.initMs > 0 {
				info.initMs = r.initMs
			}
			d.setDomain(h.dom, info)
			continue
		}
		if !r.src.IsValid() && !r.dst.IsValid() {
			continue // not an IP flow (layer 2, MPLS): nothing to match
		}
		out = append(out, r.event(h, info))
	}
	return out, nil
}

// rec is what one data record said.
type rec struct {
	src, dst              netip.Addr
	sport, dport          uint16
	proto                 uint8
	bytes, packets        uint64
	bytesTotal, pktsTotal uint64
	hasDelta              bool
	endUptime             uint32
	hasUptime             bool
	endNs                 int64 // absolute end time, unix ns; 0: none
	initMs                uint64
	sampling              uint64 // samplingInterval (34) or FLOW_SAMPLER_RANDOM_INTERVAL (50)
	pktInterval, pktSpace uint64 // samplingPacketInterval (305), samplingPacketSpace (306)
}

// rate is the sampling the record states: one packet of rate counted;
// 0 when it states none.
func (r *rec) rate() uint32 {
	v := r.sampling
	if r.pktInterval > 0 {
		v = (r.pktInterval + r.pktSpace) / r.pktInterval
	}
	return uint32(min(v, 1<<31))
}

// read decodes the record at the start of b and returns its length, or
// false when b ends inside it.
func (t *template) read(b []byte, r *rec) (int, bool) {
	if t.fixed {
		if len(b) < t.minSize {
			return 0, false
		}
		for _, w := range t.wanted {
			r.set(w.kind, b[w.off:w.off+int(w.length)])
		}
		return t.minSize, true
	}
	off := 0
	for _, f := range t.fields {
		l := int(f.length)
		if f.length == varLength {
			if off >= len(b) {
				return 0, false
			}
			l = int(b[off])
			off++
			if l == 255 {
				if off+2 > len(b) {
					return 0, false
				}
				l = int(binary.BigEndian.Uint16(b[off:]))
				off += 2
			}
		}
		if off+l > len(b) {
			return 0, false
		}
		if f.kind != kSkip {
			r.set(f.kind, b[off:off+l])
		}
		off += l
	}
	return off, true
}

// set records field v of kind k; v has the length kindOf asked for.
func (r *rec) set(k uint8, v []byte) {
	switch k {
	case kSrc4:
		r.src = netip.AddrFrom4([4]byte(v))
	case kDst4:
		r.dst = netip.AddrFrom4([4]byte(v))
	case kSrc6:
		r.src = netip.AddrFrom16([16]byte(v)).Unmap()
	case kDst6:
		r.dst = netip.AddrFrom16([16]byte(v)).Unmap()
	case kSrcPort:
		r.sport = uint16(uintN(v))
	case kDstPort:
		r.dport = uint16(uintN(v))
	case kProto:
		r.proto = v[0]
	case kBytes:
		r.bytes, r.hasDelta = uintN(v), true
	case kPackets:
		r.packets, r.hasDelta = uintN(v), true
	case kBytesTotal:
		r.bytesTotal = uintN(v)
	case kPktsTotal:
		r.pktsTotal = uintN(v)
	case kEndUptime:
		r.endUptime, r.hasUptime = uint32(uintN(v)), true
	case kEndSec:
		r.endNs = int64(uintN(v)) * 1e9
	case kEndMs:
		r.endNs = int64(uintN(v)) * 1e6
	case kEndMicro:
		s, frac := binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:])
		r.endNs = (int64(s)+ntpEpoch)*1e9 + int64((uint64(frac&^0x7ff)*1e9)>>32)
	case kEndNano:
		s, frac := binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:])
		r.endNs = (int64(s)+ntpEpoch)*1e9 + int64((uint64(frac)*1e9)>>32)
	case kInitMs:
		r.initMs = uintN(v)
	case kSampling:
		r.sampling = uintN(v)
	case kPktInterval:
		r.pktInterval = uintN(v)
	case kPktSpace:
		r.pktSpace = uintN(v)
	}
}

// sinceInit returns the unix ms of uptime ms after init (unix ms), the
// sysUpTime counter having wrapped as often as it must have by export: the
// 32-bit uptime wraps every 49.7 days, and an exporter replaying a capture
// (softflowd -r) counts it back from its own start.
func sinceInit(init uint64, uptime uint32, export time.Time) int64 {
	exp := export.UnixMilli()
	delta := int64(int32(uint32(exp-int64(init)) - uptime)) // ms from the flow's end to export, within ±24.8 days
	return exp - delta
}

// event makes the record's event. info is what the domain's options data
// said (sampling, system init time); what the record says wins.
func (r *rec) event(h *header, info domainInfo) sensor.Event {
	e := sensor.Event{
		Type:    sensor.TypeFlow,
		Src:     r.src,
		Dst:     r.dst,
		SrcPort: r.sport,
		DstPort: r.dport,
		Proto:   r.proto,
		Bytes:   r.bytes,
		Packets: r.packets,
		Input:   h.input,
	}
	if !r.hasDelta {
		e.Bytes, e.Packets = r.bytesTotal, r.pktsTotal
	}
	rate := info.rate
	if rr := r.rate(); rr > 0 {
		rate = rr
	}
	if rate > 1 {
		e.Bytes *= uint64(rate)
		e.Packets *= uint64(rate)
	}
	switch {
	case r.endNs > 0:
		e.Time = time.Unix(0, r.endNs)
	case r.hasUptime && (r.initMs > 0 || info.initMs > 0):
		init := r.initMs
		if init == 0 {
			init = info.initMs
		}
		e.Time = time.UnixMilli(sinceInit(init, r.endUptime, h.export))
	case r.hasUptime && h.dom.version == 9:
		// LAST_SWITCHED is the uptime at the flow's end; the header gives
		// the uptime at export. int32 keeps a wrapped uptime right.
		e.Time = h.export.Add(-time.Duration(int32(h.uptimeMs-r.endUptime)) * time.Millisecond)
	case h.export.Unix() > 0:
		e.Time = h.export
	default:
		e.Time = h.recvd
	}
	return e
}
