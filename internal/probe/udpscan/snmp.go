package udpscan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SNMP versions as they travel in a message.
const (
	SNMPv1  = 0
	SNMPv2c = 1
)

// SNMP PDU tags.
const (
	snmpGetRequest  = 0xa0
	snmpGetResponse = 0xa2
	snmpReport      = 0xa8
)

// OIDSysDescr is sysDescr.0 (RFC 1213), the system's description: a
// harmless object every agent serves.
const OIDSysDescr = "1.3.6.1.2.1.1.1.0"

// OIDSysContact is sysContact.0.
const OIDSysContact = "1.3.6.1.2.1.1.4.0"

// SNMPGet is an SNMP GetRequest for oids with community in version
// (SNMPv1 or SNMPv2c). It reads; nothing in this package writes to an
// agent.
func SNMPGet(version int, community string, requestID uint32, oids ...string) ([]byte, error) {
	m := SNMPReply{Version: version, Community: community, PDU: snmpGetRequest, RequestID: int64(requestID)}
	for _, o := range oids {
		m.Vars = append(m.Vars, SNMPVar{OID: o, Type: 0x05})
	}
	return SNMPEncode(m)
}

// SNMPEncode encodes an SNMP v1/v2c message whose values are NULL (0x05),
// OCTET STRING (0x04) or INTEGER (0x02): the scanner's requests, and the
// responses of the test agents in udptest.
func SNMPEncode(m SNMPReply) ([]byte, error) {
	var vbs []byte
	for _, v := range m.Vars {
		enc, err := encodeOID(v.OID)
		if err != nil {
			return nil, err
		}
		vb := tlv(0x06, enc)
		switch v.Type {
		case 0x05:
			vb = append(vb, 0x05, 0x00)
		case 0x04:
			vb = append(vb, tlv(0x04, []byte(v.Value))...)
		case 0x02:
			n, err := strconv.ParseInt(v.Value, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("udpscan: snmp integer %q: %w", v.Value, err)
			}
			vb = append(vb, tlv(0x02, encodeInt(n))...)
		default:
			return nil, fmt.Errorf("udpscan: snmp value type %#x not encoded", v.Type)
		}
		vbs = append(vbs, tlv(0x30, vb)...)
	}
	var pdu []byte
	pdu = append(pdu, tlv(0x02, encodeInt(m.RequestID))...)
	pdu = append(pdu, tlv(0x02, encodeInt(m.ErrorStatus))...)
	pdu = append(pdu, tlv(0x02, encodeInt(m.ErrorIndex))...)
	pdu = append(pdu, tlv(0x30, vbs)...)
	var msg []byte
	msg = append(msg, tlv(0x02, encodeInt(int64(m.Version)))...)
	msg = append(msg, tlv(0x04, []byte(m.Community))...)
	msg = append(msg, tlv(m.PDU, pdu)...)
	return tlv(0x30, msg), nil
}

// SNMPVar is one variable binding of a reply.
type SNMPVar struct {
	OID   string
	Type  byte   // the BER tag of the value: 0x04 string, 0x02 integer, 0x80 noSuchObject, ...
	Value string // strings as they are, numbers in decimal, OIDs dotted
}

// SNMPReply is an SNMP v1/v2c message (a response, for ParseSNMP).
type SNMPReply struct {
	Version     int
	Community   string
	PDU         byte // 0xa2 GetResponse, 0xa8 Report
	RequestID   int64
	ErrorStatus int64
	ErrorIndex  int64
	Vars        []SNMPVar
}

// Value returns the value of oid in r and whether it is there with a real
// value (not noSuchObject, noSuchInstance or endOfMibView).
func (r SNMPReply) Value(oid string) (string, bool) {
	for _, v := range r.Vars {
		if v.OID == oid && v.Type < 0x80 {
			return v.Value, true
		}
	}
	return "", false
}

// ErrSNMP is returned for bytes that are not an SNMP v1/v2c response.
var ErrSNMP = errors.New("udpscan: not an SNMP response")

// maxSNMPVars bounds the variable bindings read from one reply.
const maxSNMPVars = 64

// SNMP PDU tags of requests, for agents.
const (
	SNMPGetRequestPDU  = snmpGetRequest
	SNMPGetResponsePDU = snmpGetResponse
	SNMPSetRequestPDU  = 0xa3
)

// ParseSNMP reads an SNMP v1 or v2c message carrying a response PDU.
func ParseSNMP(b []byte) (SNMPReply, error) {
	r, err := ParseSNMPMessage(b)
	if err == nil && r.PDU != snmpGetResponse && r.PDU != snmpReport {
		return r, fmt.Errorf("%w: pdu type %#x", ErrSNMP, r.PDU)
	}
	return r, err
}

// ParseSNMPMessage reads an SNMP v1 or v2c message with any PDU.
func ParseSNMPMessage(b []byte) (SNMPReply, error) {
	var r SNMPReply
	tag, msg, _, err := readTLV(b)
	if err != nil || tag != 0x30 {
		return r, fmt.Errorf("%w: message: %v", ErrSNMP, errOr(err, "not a sequence"))
	}
	tag, v, rest, err := readTLV(msg)
	if err != nil || tag != 0x02 {
		return r, fmt.Errorf("%w: version", ErrSNMP)
	}
	ver, err := decodeInt(v)
	if err != nil || (ver != SNMPv1 && ver != SNMPv2c) {
		return r, fmt.Errorf("%w: version %d", ErrSNMP, ver)
	}
	r.Version = int(ver)
	tag, v, rest, err = readTLV(rest)
	if err != nil || tag != 0x04 {
		return r, fmt.Errorf("%w: community", ErrSNMP)
	}
	r.Community = string(v)
	tag, pdu, _, err := readTLV(rest)
	if err != nil || tag < 0xa0 || tag > 0xa8 {
		return r, fmt.Errorf("%w: pdu type %#x", ErrSNMP, tag)
	}
	r.PDU = tag
	ints := [3]int64{}
	for i := range ints {
		tag, v, pdu, err = readTLV(pdu)
		if err != nil || tag != 0x02 {
			return r, fmt.Errorf("%w: pdu header", ErrSNMP)
		}
		if ints[i], err = decodeInt(v); err != nil {
			return r, fmt.Errorf("%w: pdu header: %v", ErrSNMP, err)
		}
	}
	r.RequestID, r.ErrorStatus, r.ErrorIndex = ints[0], ints[1], ints[2]
	tag, list, _, err := readTLV(pdu)
	if err != nil || tag != 0x30 {
		return r, fmt.Errorf("%w: variable bindings", ErrSNMP)
	}
	for len(list) > 0 && len(r.Vars) < maxSNMPVars {
		var vb []byte
		tag, vb, list, err = readTLV(list)
		if err != nil || tag != 0x30 {
			return r, fmt.Errorf("%w: variable binding", ErrSNMP)
		}
		tag, oid, vrest, err := readTLV(vb)
		if err != nil || tag != 0x06 {
			return r, fmt.Errorf("%w: variable name", ErrSNMP)
		}
		name, err := decodeOID(oid)
		if err != nil {
			return r, fmt.Errorf("%w: %v", ErrSNMP, err)
		}
		vtag, val, _, err := readTLV(vrest)
		if err != nil {
			return r, fmt.Errorf("%w: value of %s", ErrSNMP, name)
		}
		r.Vars = append(r.Vars, SNMPVar{OID: name, Type: vtag, Value: snmpValue(vtag, val)})
	}
	return r, nil
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

// snmpValue renders a value for evidence.
func snmpValue(tag byte, v []byte) string {
	switch tag {
	case 0x04: // OCTET STRING
		return clean(v, 1024)
	case 0x02, 0x41, 0x42, 0x43, 0x46: // INTEGER, Counter32, Gauge32, TimeTicks, Counter64
		if tag == 0x02 {
			if n, err := decodeInt(v); err == nil {
				return strconv.FormatInt(n, 10)
			}
		} else if len(v) <= 9 {
			var n uint64
			for _, c := range v {
				n = n<<8 | uint64(c)
			}
			return strconv.FormatUint(n, 10)
		}
	case 0x06:
		if s, err := decodeOID(v); err == nil {
			return s
		}
	case 0x40: // IpAddress
		if len(v) == 4 {
			return fmt.Sprintf("%d.%d.%d.%d", v[0], v[1], v[2], v[3])
		}
	case 0x05:
		return ""
	case 0x80:
		return "noSuchObject"
	case 0x81:
		return "noSuchInstance"
	case 0x82:
		return "endOfMibView"
	}
	return fmt.Sprintf("%x", v[:min(len(v), 64)])
}

// readTLV reads one BER element (definite lengths up to 4 length bytes).
func readTLV(b []byte) (tag byte, val, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errors.New("short element")
	}
	tag = b[0]
	if tag&0x1f == 0x1f {
		return 0, nil, nil, errors.New("multi-byte tag")
	}
	n := int(b[1])
	off := 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(b) < 2+k {
			return 0, nil, nil, errors.New("bad length")
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		if n < 0 {
			return 0, nil, nil, errors.New("bad length")
		}
		off += k
	}
	if n > len(b)-off {
		return 0, nil, nil, errors.New("element longer than the message")
	}
	return tag, b[off : off+n], b[off+n:], nil
}

func tlv(tag byte, v []byte) []byte {
	out := []byte{tag}
	switch n := len(v); {
	case n < 0x80:
		out = append(out, byte(n))
	case n <= 0xff:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	return append(out, v...)
}

func encodeInt(n int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	i := 0
	for i < 7 && ((b[i] == 0 && b[i+1]&0x80 == 0) || (b[i] == 0xff && b[i+1]&0x80 != 0)) {
		i++
	}
	return b[i:]
}

func decodeInt(v []byte) (int64, error) {
	if len(v) == 0 || len(v) > 8 {
		return 0, fmt.Errorf("integer of %d bytes", len(v))
	}
	n := int64(int8(v[0]))
	for _, c := range v[1:] {
		n = n<<8 | int64(c)
	}
	return n, nil
}

func encodeOID(s string) ([]byte, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("udpscan: oid %q", s)
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("udpscan: oid %q: %w", s, err)
		}
		nums[i] = n
	}
	if nums[0] > 2 || (nums[0] < 2 && nums[1] > 39) {
		return nil, fmt.Errorf("udpscan: oid %q", s)
	}
	out := base128(nil, nums[0]*40+nums[1])
	for _, n := range nums[2:] {
		out = base128(out, n)
	}
	return out, nil
}

func base128(out []byte, n uint64) []byte {
	var tmp [10]byte
	i := len(tmp) - 1
	tmp[i] = byte(n & 0x7f)
	for n >>= 7; n > 0; n >>= 7 {
		i--
		tmp[i] = byte(n&0x7f) | 0x80
	}
	return append(out, tmp[i:]...)
}

// maxOIDArcs bounds a decoded OID.
const maxOIDArcs = 128

func decodeOID(v []byte) (string, error) {
	if len(v) == 0 {
		return "", errors.New("empty oid")
	}
	var arcs []uint64
	var n uint64
	for i, c := range v {
		if n > 1<<56 {
			return "", errors.New("oid arc too large")
		}
		n = n<<7 | uint64(c&0x7f)
		if c&0x80 != 0 {
			if i == len(v)-1 {
				return "", errors.New("truncated oid")
			}
			continue
		}
		if len(arcs) == 0 {
			first := min(n/40, 2)
			arcs = append(arcs, first, n-first*40)
		} else {
			arcs = append(arcs, n)
		}
		if len(arcs) > maxOIDArcs {
			return "", errors.New("oid too long")
		}
		n = 0
	}
	var sb strings.Builder
	for i, a := range arcs {
		if i > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(strconv.FormatUint(a, 10))
	}
	return sb.String(), nil
}
