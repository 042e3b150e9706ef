// Package nftest builds NetFlow v5, v9 and IPFIX datagrams for the
// collector's tests and for bench/netflow's generator. It writes what the
// RFCs say and checks nothing: tests build malformed datagrams with it too.
package nftest

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Flow is one flow record's content.
type Flow struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
	Packets, Bytes   uint64
	End              time.Time
}

// V5Max is the number of records a v5 datagram holds at most.
const V5Max = 30

// AppendV5 appends a NetFlow v5 datagram of flows (at most V5Max) to dst.
// The exporter's uptime is one day at export; sampling is the header's
// sampling interval (0: none).
func AppendV5(dst []byte, flows []Flow, export time.Time, seq uint32, sampling uint16) []byte {
	const uptime = 86_400_000
	b := binary.BigEndian
	dst = b.AppendUint16(dst, 5)
	dst = b.AppendUint16(dst, uint16(len(flows)))
	dst = b.AppendUint32(dst, uptime)
	dst = b.AppendUint32(dst, uint32(export.Unix()))
	dst = b.AppendUint32(dst, uint32(export.Nanosecond()))
	dst = b.AppendUint32(dst, seq)
	dst = append(dst, 0, 0)
	dst = b.AppendUint16(dst, sampling&0x3fff)
	for _, f := range flows {
		s, d := f.Src.As4(), f.Dst.As4()
		dst = append(dst, s[:]...)
		dst = append(dst, d[:]...)
		dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0) // nexthop, input, output
		dst = b.AppendUint32(dst, uint32(f.Packets))
		dst = b.AppendUint32(dst, uint32(f.Bytes))
		last := uint32(uptime - export.Sub(f.End).Milliseconds())
		dst = b.AppendUint32(dst, last-1000) // first
		dst = b.AppendUint32(dst, last)
		dst = b.AppendUint16(dst, f.SrcPort)
		dst = b.AppendUint16(dst, f.DstPort)
		dst = append(dst, 0, 0x18, f.Proto, 0)
		dst = append(dst, 0, 0, 0, 0, 24, 24, 0, 0)
	}
	return dst
}

// Field is a field specifier of a template. PEN non-zero makes it an
// enterprise-specific IPFIX field; Length 0xffff a variable-length one.
type Field struct {
	ID, Length uint16
	PEN        uint32
}

// Flow4Template is the IPFIX template that AppendFlow4 writes records of:
// sourceIPv4Address, destinationIPv4Address, sourceTransportPort,
// destinationTransportPort, protocolIdentifier, packetDeltaCount,
// octetDeltaCount, flowEndMilliseconds: 37 bytes a record.
var Flow4Template = []Field{F(8, 4), F(12, 4), F(7, 2), F(11, 2), F(4, 1), F(2, 8), F(1, 8), F(153, 8)}

// Flow4Size is the size of a Flow4Template record.
const Flow4Size = 37

// AppendFlow4 appends f as a Flow4Template record.
func AppendFlow4(dst []byte, f Flow) []byte {
	b := binary.BigEndian
	s, d := f.Src.As4(), f.Dst.As4()
	dst = append(dst, s[:]...)
	dst = append(dst, d[:]...)
	dst = b.AppendUint16(dst, f.SrcPort)
	dst = b.AppendUint16(dst, f.DstPort)
	dst = append(dst, f.Proto)
	dst = b.AppendUint64(dst, f.Packets)
	dst = b.AppendUint64(dst, f.Bytes)
	return b.AppendUint64(dst, uint64(f.End.UnixMilli()))
}

// Message builds one NetFlow v9 or IPFIX datagram set by set.
type Message struct {
	version uint16
	b       []byte
	sets    int
}

// NewMessage starts a datagram of version 9 or 10 (IPFIX) for observation
// domain (v9: source ID) exported at export; v9 headers say the exporter
// has been up for uptimeMs.
func NewMessage(version uint16, domain uint32, export time.Time, uptimeMs, seq uint32) *Message {
	b := binary.BigEndian
	m := &Message{version: version}
	m.b = b.AppendUint16(m.b, version)
	m.b = b.AppendUint16(m.b, 0) // v9 count, IPFIX length: set by Bytes
	if version == 9 {
		m.b = b.AppendUint32(m.b, uptimeMs)
	}
	m.b = b.AppendUint32(m.b, uint32(export.Unix()))
	m.b = b.AppendUint32(m.b, seq)
	m.b = b.AppendUint32(m.b, domain)
	return m
}

func (m *Message) set(id uint16, body []byte) *Message {
	m.b = binary.BigEndian.AppendUint16(m.b, id)
	m.b = binary.BigEndian.AppendUint16(m.b, uint16(4+len(body)))
	m.b = append(m.b, body...)
	m.sets++
	return m
}

func appendFields(dst []byte, fs []Field) []byte {
	for _, f := range fs {
		id := f.ID
		if f.PEN != 0 {
			id |= 0x8000
		}
		dst = binary.BigEndian.AppendUint16(dst, id)
		dst = binary.BigEndian.AppendUint16(dst, f.Length)
		if f.PEN != 0 {
			dst = binary.BigEndian.AppendUint32(dst, f.PEN)
		}
	}
	return dst
}

// Template adds a template set with one template.
func (m *Message) Template(id uint16, fields []Field) *Message {
	body := binary.BigEndian.AppendUint16(nil, id)
	body = binary.BigEndian.AppendUint16(body, uint16(len(fields)))
	body = appendFields(body, fields)
	return m.set(m.templateSet(), body)
}

// Withdraw adds an IPFIX template withdrawal of id (2: all templates).
func (m *Message) Withdraw(id uint16) *Message {
	body := binary.BigEndian.AppendUint16(nil, id)
	body = binary.BigEndian.AppendUint16(body, 0)
	return m.set(2, body)
}

// OptionsTemplate adds an options template set with one template of
// scope fields then option fields.
func (m *Message) OptionsTemplate(id uint16, scopes, options []Field) *Message {
	b := binary.BigEndian
	body := b.AppendUint16(nil, id)
	if m.version == 9 {
		body = b.AppendUint16(body, uint16(4*len(scopes)))
		body = b.AppendUint16(body, uint16(4*len(options)))
	} else {
		body = b.AppendUint16(body, uint16(len(scopes)+len(options)))
		body = b.AppendUint16(body, uint16(len(scopes)))
	}
	body = appendFields(body, scopes)
	body = appendFields(body, options)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	set := uint16(1)
	if m.version == 10 {
		set = 3
	}
	return m.set(set, body)
}

func (m *Message) templateSet() uint16 {
	if m.version == 9 {
		return 0
	}
	return 2
}

// Data adds a data set of template id holding records (already encoded),
// padded with zeros to pad bytes more.
func (m *Message) Data(id uint16, records []byte, pad int) *Message {
	body := append(records[:len(records):len(records)], make([]byte, pad)...)
	return m.set(id, body)
}

// Raw appends bytes as they are (to build broken datagrams).
func (m *Message) Raw(b []byte) *Message { m.b = append(m.b, b...); return m }

// Bytes returns the datagram, its header count (v9) or length (IPFIX) set.
func (m *Message) Bytes() []byte {
	if m.version == 9 {
		binary.BigEndian.PutUint16(m.b[2:], uint16(m.sets))
	} else {
		binary.BigEndian.PutUint16(m.b[2:], uint16(len(m.b)))
	}
	return m.b
}

// F is an IANA field specifier: information element id of length bytes.
func F(id, length uint16) Field { return Field{ID: id, Length: length} }

// E is an enterprise-specific field specifier of enterprise pen.
func E(id, length uint16, pen uint32) Field { return Field{ID: id, Length: length, PEN: pen} }
