package netflow

import (
	"bytes"
	"encoding/binary"
	"sync/atomic"
	"time"
)

// varLength is the field length that announces a variable-length IPFIX
// field (RFC 7011 §7).
const varLength = 0xffff

// What the decoder takes from a field; everything else is skipped by its
// length.
const (
	kSkip uint8 = iota
	kSrc4
	kDst4
	kSrc6
	kDst6
	kSrcPort
	kDstPort
	kProto
	kBytes       // octetDeltaCount (1)
	kPackets     // packetDeltaCount (2)
	kBytesTotal  // octetTotalCount (85), when no delta count is given
	kPktsTotal   // packetTotalCount (86)
	kEndUptime   // flowEndSysUpTime / LAST_SWITCHED (21), ms of exporter uptime
	kEndSec      // flowEndSeconds (151)
	kEndMs       // flowEndMilliseconds (153)
	kEndMicro    // flowEndMicroseconds (155), NTP format
	kEndNano     // flowEndNanoseconds (157), NTP format
	kInitMs      // systemInitTimeMilliseconds (160): when sysUpTime was 0
	kSampling    // samplingInterval (34), FLOW_SAMPLER_RANDOM_INTERVAL (50)
	kPktInterval // samplingPacketInterval (305): packets sampled in a row
	kPktSpace    // samplingPacketSpace (306): packets skipped between
)

// field is one compiled field specifier of a template.
type field struct {
	length uint16 // varLength: variable
	kind   uint8
}

// wanted is a field read from a fixed-size record, at its offset.
type wanted struct {
	off int
	field
}

// template is a compiled template; immutable once published except seen.
type template struct {
	fields  []field
	wanted  []wanted // fixed templates: the fields read, at their offsets
	minSize int      // a record's size with every variable-length field empty
	fixed   bool     // no variable-length field: every record is minSize
	options bool     // an options template: its data carries no flows
	raw     []byte
	seen    atomic.Int64 // unix ns of the last time the exporter sent it
}

// kindOf says what the decoder takes from information element ie of the
// given length in a data record (options false) or an options record.
func kindOf(ie, length uint16, options bool) uint8 {
	isInt := length >= 1 && length <= 8
	if options {
		switch {
		case !isInt:
			return kSkip
		case ie == 34 || ie == 50:
			return kSampling
		case ie == 305:
			return kPktInterval
		case ie == 306:
			return kPktSpace
		case ie == 160:
			return kInitMs
		}
		return kSkip
	}
	switch {
	case ie == 8 && length == 4:
		return kSrc4
	case ie == 12 && length == 4:
		return kDst4
	case ie == 27 && length == 16:
		return kSrc6
	case ie == 28 && length == 16:
		return kDst6
	case ie == 7 && (length == 1 || length == 2):
		return kSrcPort
	case ie == 11 && (length == 1 || length == 2):
		return kDstPort
	case ie == 4 && length == 1:
		return kProto
	case !isInt:
		return kSkip
	}
	switch ie {
	case 1:
		return kBytes
	case 2:
		return kPackets
	case 85:
		return kBytesTotal
	case 86:
		return kPktsTotal
	case 21:
		return kEndUptime
	case 151:
		return kEndSec
	case 153:
		return kEndMs
	case 155:
		if length == 8 {
			return kEndMicro
		}
	case 157:
		if length == 8 {
			return kEndNano
		}
	case 160:
		return kInitMs
	case 34, 50:
		return kSampling
	case 305:
		return kPktInterval
	case 306:
		return kPktSpace
	}
	return kSkip
}

// learnTemplates reads a template set (options false) or an options
// template set of domain dom: v9 (RFC 3954 §5.2, §6.1) or IPFIX (RFC 7011
// §3.4.1, §3.4.2, §8.1 withdrawals).
func (d *Decoder) learnTemplates(dom domainKey, b []byte, options bool, now time.Time) error {
	v9 := dom.version == 9
	for {
		hdr := 4
		if options {
			hdr = 6
		}
		if len(b) < hdr {
			return nil // padding
		}
		id := binary.BigEndian.Uint16(b)
		a := binary.BigEndian.Uint16(b[2:])
		if !v9 && a == 0 && len(b) >= 4 { // IPFIX withdrawal: 4 bytes, no scope count
			d.withdraw(dom, id, options)
			b = b[4:]
			continue
		}
		if id < 256 {
			return nil // padding (zeros) or nothing we can use
		}
		var scopes, count int
		switch {
		case v9 && options: // scope length and option length in bytes
			if a%4 != 0 || binary.BigEndian.Uint16(b[4:])%4 != 0 {
				return ErrMalformed
			}
			scopes = int(a) / 4
			count = scopes + int(binary.BigEndian.Uint16(b[4:]))/4
		case options:
			count, scopes = int(a), int(binary.BigEndian.Uint16(b[4:]))
			if scopes == 0 || scopes > count {
				return ErrMalformed
			}
		default:
			count = int(a)
		}
		// First the record's extent, so a template sent again (most
		// template sets) costs a comparison and no allocation.
		p := hdr
		for range count {
			if len(b) < p+4 {
				return ErrMalformed
			}
			if !v9 && binary.BigEndian.Uint16(b[p:])&0x8000 != 0 {
				p += 4 // the Private Enterprise Number
			}
			p += 4
		}
		if len(b) < p {
			return ErrMalformed
		}
		raw := b[:p]
		b = b[p:]
		k := templateKey{dom, id}
		if d.refresh(k, raw, now) {
			continue
		}
		if count > maxTemplateFields {
			d.refused.Add(1)
			continue
		}
		t, err := compile(raw[hdr:], count, scopes, options, v9)
		if err != nil {
			return err
		}
		if t.minSize == 0 {
			d.refused.Add(1) // records of no bytes: nothing to read, endless
			continue
		}
		d.store(k, t, raw, now)
	}
}

// compile builds the template of count field specifiers in b, the first
// scopes of them scope fields.
func compile(b []byte, count, scopes int, options, v9 bool) (*template, error) {
	t := &template{options: options, fixed: true, fields: make([]field, 0, count)}
	p := 0
	for i := range count {
		ie := binary.BigEndian.Uint16(b[p:])
		l := binary.BigEndian.Uint16(b[p+2:])
		p += 4
		enterprise := !v9 && ie&0x8000 != 0
		if enterprise {
			p += 4 // the field is skipped by its length
		}
		f := field{length: l, kind: kSkip}
		if !enterprise && i >= scopes {
			f.kind = kindOf(ie, l, options)
		}
		if l == varLength {
			if v9 {
				return nil, ErrMalformed // v9 has no variable-length fields
			}
			t.fixed = false
			t.minSize++
		} else {
			t.minSize += int(l)
		}
		t.fields = append(t.fields, f)
	}
	if t.fixed {
		off := 0
		for _, f := range t.fields {
			if f.kind != kSkip {
				t.wanted = append(t.wanted, wanted{off: off, field: f})
			}
			off += int(f.length)
		}
	}
	return t, nil
}

// refresh marks the template under k seen at now if the exporter sent it
// unchanged, and says whether it did.
func (d *Decoder) refresh(k templateKey, raw []byte, now time.Time) bool {
	d.mu.RLock()
	old := d.templates[k]
	d.mu.RUnlock()
	if old != nil && bytes.Equal(old.raw, raw) {
		old.seen.Store(now.UnixNano())
		return true
	}
	return false
}

// store publishes t under k, or refreshes the template there when the
// exporter sent the same one again.
func (d *Decoder) store(k templateKey, t *template, raw []byte, now time.Time) {
	t.raw = bytes.Clone(raw)
	t.seen.Store(now.UnixNano())
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.templates[k]; !ok && len(d.templates) >= d.maxTemplates {
		d.refused.Add(1)
		return
	}
	d.templates[k] = t
	d.learned.Add(1)
}

// withdraw removes template id of dom, or all templates (or all options
// templates) of dom when id is the set ID 2 (3).
func (d *Decoder) withdraw(dom domainKey, id uint16, options bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if id >= 256 {
		delete(d.templates, templateKey{dom, id})
		return
	}
	if (id == 2 && !options) || (id == 3 && options) {
		for k, t := range d.templates {
			if k.domainKey == dom && t.options == options {
				delete(d.templates, k)
			}
		}
	}
}
