// Package eve parses Suricata's EVE JSON output (one JSON object per line)
// into sensor.Events: alert, dns, http, tls, ssh, flow and netflow records.
// Other event types (stats, fileinfo, anomaly, smtp, ...) are recognized
// by their event_type and skipped without walking the rest of the line.
//
// The parser is built for a gateway's full event rate: a purpose-built
// scanner (sensor/internal/jsonscan) walks each line once, keeps only the
// byte ranges of the fields it needs, skips everything else without
// decoding it, and parses addresses, ports and timestamps from bytes. It
// does not depend on field order (event_type may come last) and is correct
// on escaped strings, nested objects and unknown fields. A Parser reuses
// its buffers and allocates only the strings an Event keeps (the name, and
// a signature not seen recently).
//
// Mapping (Src is the client or attacker, as in EVE):
//
//   - alert: TypeAlert; Signature, Severity (1 high … 3 low); Name from
//     the alert's http.hostname or tls.sni when present.
//   - dns: TypeDNS; Name is the query name (rrname of v1/v2 records,
//     queries[0].rrname of Suricata 8's v3).
//   - http: TypeHTTP, Name the hostname; a POST to a login path answered
//     401 or 403 becomes TypeAuthFail with Signature "http" (the web login
//     failure the brute-force detector counts), Name still the hostname.
//   - tls, quic: TypeTLS, Name the SNI.
//   - ssh: TypeSSH (EVE records the banners, not the outcome).
//   - flow, netflow: TypeFlow with Bytes and Packets of both directions.
package eve

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/sensor/internal/fields"
	"github.com/rampart-cert/rampart/internal/sensor/internal/jsonscan"
)

// MaxLine is the longest line Parse accepts (Suricata's records with
// payloads and rule text stay well under it).
const MaxLine = 1 << 20

// Errors Parse returns; each wraps ErrInvalid.
var (
	ErrInvalid  = errors.New("eve: invalid record")
	ErrTooLong  = fmt.Errorf("%w: line longer than %d bytes", ErrInvalid, MaxLine)
	errNoType   = fmt.Errorf("%w: no event_type", ErrInvalid)
	errNoTime   = fmt.Errorf("%w: no or bad timestamp", ErrInvalid)
	errBadAddr  = fmt.Errorf("%w: bad src_ip or dest_ip", ErrInvalid)
	errBadField = fmt.Errorf("%w: field of the wrong type", ErrInvalid)
)

// Parser parses EVE lines. It is not safe for concurrent use; use one per
// goroutine.
type Parser struct {
	s     jsonscan.Scanner
	top   func(key []byte, v jsonscan.Value) error
	sub   func(key []byte, v jsonscan.Value) error
	name  []byte
	sigs  map[string]string // recently seen signatures, so each is allocated once
	r     record
	inner inner
}

// record is what the top-level walk keeps: byte ranges into the line.
type record struct {
	ts, typ, src, dst, proto   []byte
	srcPort, dstPort           []byte
	alert, dns, http, tls, flw []byte
	netflow, quic              []byte
	err                        error
}

// inner is what a walk of a nested object keeps.
type inner struct {
	which                        byte // the object being walked
	signature, severity          []byte
	sigEsc                       bool
	rrname, queries              []byte
	rrEsc                        bool
	hostname, method, url        []byte
	hostEsc, urlEsc              bool
	status                       []byte
	sni                          []byte
	sniEsc                       bool
	bytesTS, bytesTC, pkTS, pkTC []byte
	bytes, pkts                  []byte
}

// maxSigs bounds the signature cache; it is cleared when full.
const maxSigs = 4096

// NewParser returns a parser.
func NewParser() *Parser {
	p := &Parser{sigs: make(map[string]string)}
	p.top = p.topField
	p.sub = p.subField
	return p
}

// Parse parses one line into ev. It returns false, nil for a record of a
// type it skips (stats, fileinfo, anomaly, ...: recognized by event_type,
// the rest unread), and an error wrapping ErrInvalid for a line that is
// not a usable EVE record. ev is overwritten
// only when Parse returns true.
func (p *Parser) Parse(line []byte, ev *sensor.Event) (bool, error) {
	if len(line) > MaxLine {
		return false, ErrTooLong
	}
	if skipped(line) {
		return false, nil
	}
	p.r = record{}
	if err := p.s.Object(line, p.top); err != nil {
		if p.r.err != nil {
			return false, p.r.err
		}
		return false, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	r := &p.r
	var t sensor.Type
	switch string(r.typ) {
	case "alert":
		t = sensor.TypeAlert
	case "dns":
		t = sensor.TypeDNS
	case "http":
		t = sensor.TypeHTTP
	case "tls", "quic":
		t = sensor.TypeTLS
	case "ssh":
		t = sensor.TypeSSH
	case "flow", "netflow":
		t = sensor.TypeFlow
	case "":
		return false, errNoType
	default:
		return false, nil
	}
	when, ok := fields.Time(r.ts)
	if !ok {
		return false, errNoTime
	}
	e := sensor.Event{Time: when, Type: t, Input: "eve"}
	if r.src != nil {
		if e.Src, ok = fields.Addr(r.src); !ok {
			return false, errBadAddr
		}
	}
	if r.dst != nil {
		if e.Dst, ok = fields.Addr(r.dst); !ok {
			return false, errBadAddr
		}
	}
	e.SrcPort = port(r.srcPort)
	e.DstPort = port(r.dstPort)
	e.Proto = proto(r.proto)
	if err := p.body(string(r.typ), &e); err != nil {
		return false, err
	}
	*ev = e
	return true, nil
}

// typeKey is how Suricata writes the event type.
var typeKey = []byte(`"event_type":"`)

// skipped reports, without walking the line, whether it is a record of a
// type Parse skips (stats records are large and frequent). Only Suricata
// writes keys: a string it logs from traffic has its quotes escaped, so
// `"event_type":"` can only be the key itself.
func skipped(line []byte) bool {
	i := bytes.Index(line, typeKey)
	if i < 0 {
		return false
	}
	rest := line[i+len(typeKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return false
	}
	switch string(rest[:j]) {
	case "alert", "dns", "http", "tls", "quic", "ssh", "flow", "netflow", "":
		return false
	}
	return bytes.IndexByte(rest[:j], '\\') < 0
}

// body fills the type-specific fields from the nested objects.
func (p *Parser) body(typ string, e *sensor.Event) error {
	in := &p.inner
	*in = inner{}
	switch e.Type {
	case sensor.TypeAlert:
		if err := p.walk('a', p.r.alert); err != nil {
			return err
		}
		sig, err := p.s.Text(jsonscan.Value{Kind: jsonscan.String, Raw: in.signature, Escaped: in.sigEsc})
		if err != nil {
			return fmt.Errorf("%w: alert.signature: %v", ErrInvalid, err)
		}
		e.Signature = p.intern(sig)
		if n, ok := jsonscan.Uint(in.severity); ok && n < 256 {
			e.Severity = uint8(n)
		}
		if p.r.http != nil {
			if err := p.walk('h', p.r.http); err != nil {
				return err
			}
			e.Name = p.hostName(in.hostname, in.hostEsc)
		}
		if e.Name == "" && p.r.tls != nil {
			if err := p.walk('t', p.r.tls); err != nil {
				return err
			}
			e.Name = p.hostName(in.sni, in.sniEsc)
		}
	case sensor.TypeDNS:
		if err := p.walk('d', p.r.dns); err != nil {
			return err
		}
		if in.rrname == nil && in.queries != nil {
			if err := p.firstQuery(in.queries); err != nil {
				return err
			}
		}
		e.Name = p.hostName(in.rrname, in.rrEsc)
	case sensor.TypeHTTP:
		if err := p.walk('h', p.r.http); err != nil {
			return err
		}
		e.Name = p.hostName(in.hostname, in.hostEsc)
		status, _ := jsonscan.Uint(in.status)
		if status == 401 || status == 403 {
			url, err := p.s.Text(jsonscan.Value{Kind: jsonscan.String, Raw: in.url, Escaped: in.urlEsc})
			if err == nil && fields.LoginFailure(in.method, url, int(status)) {
				e.Type = sensor.TypeAuthFail
				e.Signature = "http"
			}
		}
	case sensor.TypeTLS:
		obj := p.r.tls
		if typ == "quic" {
			obj = p.r.quic
		}
		if err := p.walk('t', obj); err != nil {
			return err
		}
		e.Name = p.hostName(in.sni, in.sniEsc)
	case sensor.TypeFlow:
		obj := p.r.flw
		if typ == "netflow" {
			obj = p.r.netflow
		}
		if err := p.walk('f', obj); err != nil {
			return err
		}
		bts, _ := jsonscan.Uint(in.bytesTS)
		btc, _ := jsonscan.Uint(in.bytesTC)
		pts, _ := jsonscan.Uint(in.pkTS)
		ptc, _ := jsonscan.Uint(in.pkTC)
		nb, _ := jsonscan.Uint(in.bytes)
		np, _ := jsonscan.Uint(in.pkts)
		e.Bytes = bts + btc + nb
		e.Packets = pts + ptc + np
	}
	return nil
}

// walk scans a nested object (nil: absent) with subField in mode which.
func (p *Parser) walk(which byte, obj []byte) error {
	if obj == nil {
		return nil
	}
	p.inner.which = which
	if err := p.s.Object(obj, p.sub); err != nil {
		if errors.Is(err, ErrInvalid) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// firstQuery takes rrname from the first element of a v3 "queries" array.
func (p *Parser) firstQuery(arr []byte) error {
	first := true
	return p.s.Array(arr, func(v jsonscan.Value) error {
		if !first || v.Kind != jsonscan.Object {
			return nil
		}
		first = false
		p.inner.which = 'q'
		return p.s.Object(v.Raw, p.sub)
	})
}

// hostName returns the normalized name in raw, or "" when it is not one.
func (p *Parser) hostName(raw []byte, esc bool) string {
	if raw == nil {
		return ""
	}
	b, err := p.s.Text(jsonscan.Value{Kind: jsonscan.String, Raw: raw, Escaped: esc})
	if err != nil {
		return ""
	}
	var ok bool
	p.name, ok = fields.Name(p.name[:0], b)
	if !ok {
		return ""
	}
	return string(p.name)
}

// intern returns sig as a string, allocating it once while it stays in
// the cache.
func (p *Parser) intern(sig []byte) string {
	if s, ok := p.sigs[string(sig)]; ok {
		return s
	}
	s := string(sig)
	if len(p.sigs) >= maxSigs {
		clear(p.sigs)
	}
	p.sigs[s] = s
	return s
}

// topField keeps the top-level fields Parse needs.
func (p *Parser) topField(key []byte, v jsonscan.Value) error {
	r := &p.r
	switch string(key) {
	case "timestamp":
		r.ts = v.Raw
	case "event_type":
		if v.Kind != jsonscan.String || v.Escaped {
			r.err = errBadField
			return r.err
		}
		r.typ = v.Raw
	case "src_ip":
		r.src = v.Raw
	case "dest_ip":
		r.dst = v.Raw
	case "src_port":
		r.srcPort = v.Raw
	case "dest_port":
		r.dstPort = v.Raw
	case "proto":
		r.proto = v.Raw
	case "alert":
		r.alert = object(v)
	case "dns":
		r.dns = object(v)
	case "http":
		r.http = object(v)
	case "tls":
		r.tls = object(v)
	case "quic":
		r.quic = object(v)
	case "flow":
		r.flw = object(v)
	case "netflow":
		r.netflow = object(v)
	}
	return nil
}

func object(v jsonscan.Value) []byte {
	if v.Kind != jsonscan.Object {
		return nil
	}
	return v.Raw
}

// subField keeps the nested fields of the object being walked.
func (p *Parser) subField(key []byte, v jsonscan.Value) error {
	in := &p.inner
	str := v.Kind == jsonscan.String
	switch in.which {
	case 'a':
		switch string(key) {
		case "signature":
			if str {
				in.signature, in.sigEsc = v.Raw, v.Escaped
			}
		case "severity":
			in.severity = v.Raw
		}
	case 'd', 'q':
		switch string(key) {
		case "rrname":
			if str {
				in.rrname, in.rrEsc = v.Raw, v.Escaped
			}
		case "queries":
			if v.Kind == jsonscan.Array && in.which == 'd' {
				in.queries = v.Raw
			}
		}
	case 'h':
		switch string(key) {
		case "hostname":
			if str {
				in.hostname, in.hostEsc = v.Raw, v.Escaped
			}
		case "http_method":
			if str {
				in.method = v.Raw
			}
		case "url":
			if str {
				in.url, in.urlEsc = v.Raw, v.Escaped
			}
		case "status":
			in.status = v.Raw
		}
	case 't':
		if string(key) == "sni" && str {
			in.sni, in.sniEsc = v.Raw, v.Escaped
		}
	case 'f':
		switch string(key) {
		case "bytes_toserver":
			in.bytesTS = v.Raw
		case "bytes_toclient":
			in.bytesTC = v.Raw
		case "pkts_toserver":
			in.pkTS = v.Raw
		case "pkts_toclient":
			in.pkTC = v.Raw
		case "bytes":
			in.bytes = v.Raw
		case "pkts":
			in.pkts = v.Raw
		}
	}
	return nil
}

func port(raw []byte) uint16 {
	n, ok := jsonscan.Uint(raw)
	if !ok || n > 65535 {
		return 0
	}
	return uint16(n)
}

// proto maps EVE's proto field ("TCP", "UDP", "ICMP", "IPv6-ICMP",
// "SCTP", or a number, quoted or not) to the IP protocol number.
func proto(raw []byte) uint8 {
	switch {
	case bytes.EqualFold(raw, []byte("TCP")):
		return 6
	case bytes.EqualFold(raw, []byte("UDP")):
		return 17
	case bytes.EqualFold(raw, []byte("ICMP")):
		return 1
	case bytes.EqualFold(raw, []byte("IPv6-ICMP")), bytes.EqualFold(raw, []byte("ICMPv6")):
		return 58
	case bytes.EqualFold(raw, []byte("SCTP")):
		return 132
	case bytes.EqualFold(raw, []byte("GRE")):
		return 47
	}
	if n, ok := jsonscan.Uint(raw); ok && n < 256 {
		return uint8(n)
	}
	return 0
}
