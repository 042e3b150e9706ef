// Package zeek parses Zeek logs into sensor.Events: conn, dns, http, ssl,
// notice and ssh, in both of Zeek's formats: JSON (one object per line,
// LogAscii::use_json, with epoch or ISO 8601 timestamps) and the default
// tab-separated format with its "#fields" header. One Parser reads one
// log stream: a TSV stream's header lines configure it for the lines that
// follow.
//
// Mapping (Src is the originator, id.orig_h):
//
//   - conn: TypeFlow; Bytes and Packets of both directions (IP bytes when
//     Zeek counted them, else payload bytes).
//   - dns: TypeDNS, Name the query.
//   - http: TypeHTTP, Name the Host header; a POST to a login path
//     answered 401 or 403 is TypeAuthFail with Signature "http".
//   - ssl: TypeTLS, Name the server_name (SNI).
//   - notice: TypeAlert, Signature the note ("Scan::Port_Scan"); Zeek
//     rates no notice, so Severity is 1 for the notes in highNotes and 2
//     for the rest. Addresses from id.* or, without a connection, src and
//     dst.
//   - ssh: TypeSSH; TypeAuthFail with Signature "ssh" when auth_success
//     is false (Zeek's guess from the encrypted session).
//
// The log's kind comes from the record's _path, the TSV "#path" header,
// or the Parser's Path (the file name's, for logs written without one).
package zeek

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/sensor/internal/fields"
	"github.com/rampart-cert/rampart/internal/sensor/internal/jsonscan"
)

// MaxLine is the longest line Parse accepts.
const MaxLine = 1 << 20

// Errors Parse returns; each wraps ErrInvalid.
var (
	ErrInvalid = errors.New("zeek: invalid record")
	ErrTooLong = fmt.Errorf("%w: line longer than %d bytes", ErrInvalid, MaxLine)
	errNoTime  = fmt.Errorf("%w: no or bad ts", ErrInvalid)
	errAddr    = fmt.Errorf("%w: bad address", ErrInvalid)
	errHeader  = fmt.Errorf("%w: TSV data before a #fields header", ErrInvalid)
)

// field identifies a Zeek field the parser reads.
type field uint8

const (
	fNone field = iota
	fTS
	fPath
	fOrigH
	fOrigP
	fRespH
	fRespP
	fProto
	fOrigIPBytes
	fRespIPBytes
	fOrigBytes
	fRespBytes
	fOrigPkts
	fRespPkts
	fQuery
	fHost
	fMethod
	fURI
	fStatus
	fServerName
	fNote
	fSrc
	fDst
	fP
	fAuthSuccess
	nFields
)

func fieldOf(name []byte) field {
	switch string(name) {
	case "ts":
		return fTS
	case "_path":
		return fPath
	case "id.orig_h":
		return fOrigH
	case "id.orig_p":
		return fOrigP
	case "id.resp_h":
		return fRespH
	case "id.resp_p":
		return fRespP
	case "proto":
		return fProto
	case "orig_ip_bytes":
		return fOrigIPBytes
	case "resp_ip_bytes":
		return fRespIPBytes
	case "orig_bytes":
		return fOrigBytes
	case "resp_bytes":
		return fRespBytes
	case "orig_pkts":
		return fOrigPkts
	case "resp_pkts":
		return fRespPkts
	case "query":
		return fQuery
	case "host":
		return fHost
	case "method":
		return fMethod
	case "uri":
		return fURI
	case "status_code":
		return fStatus
	case "server_name":
		return fServerName
	case "note":
		return fNote
	case "src":
		return fSrc
	case "dst":
		return fDst
	case "p":
		return fP
	case "auth_success":
		return fAuthSuccess
	}
	return fNone
}

// highNotes are notices reported as high severity: attacks in progress.
var highNotes = map[string]bool{
	"SSH::Password_Guessing": true, "Scan::Port_Scan": true, "Scan::Address_Scan": true,
	"Intel::Notice": true, "SSH::Interesting_Hostname_Login": true, "HTTP::SQL_Injection_Attacker": true,
	"FTP::Bruteforcing": true, "Heartbleed::SSL_Heartbeat_Attack_Success": true,
}

// Parser parses the lines of one Zeek log stream; it is not safe for
// concurrent use.
type Parser struct {
	// Path is the log's kind ("conn", "dns", ...) when neither the
	// records (_path) nor a TSV header say it.
	Path string

	s    jsonscan.Scanner
	walk func(key []byte, v jsonscan.Value) error
	vals [nFields]jsonscan.Value
	name []byte

	// TSV state, from the headers.
	sep     byte
	tsvPath string
	cols    []field // the field of each column
	unset   string
	empty   string
}

// NewParser returns a parser for a log of kind path ("" if the records
// or headers say it).
func NewParser(path string) *Parser {
	p := &Parser{Path: path, sep: '\t', unset: "-", empty: "(empty)"}
	p.walk = p.member
	return p
}

func (p *Parser) member(key []byte, v jsonscan.Value) error {
	if f := fieldOf(key); f != fNone {
		p.vals[f] = v
	}
	return nil
}

// Parse reads one line: a JSON record, a TSV header (configures the
// parser; returns false, nil) or a TSV record. It returns false, nil for a
// record of a log it does not map, and an error wrapping ErrInvalid for a
// line it cannot read.
func (p *Parser) Parse(line []byte, ev *sensor.Event) (bool, error) {
	if len(line) > MaxLine {
		return false, ErrTooLong
	}
	line = bytes.TrimRight(line, "\r\n")
	p.vals = [nFields]jsonscan.Value{}
	path := p.Path
	switch {
	case len(line) == 0:
		return false, nil
	case line[0] == '#':
		return false, p.header(line)
	case line[0] == '{':
		if err := p.s.Object(line, p.walk); err != nil {
			return false, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	default:
		if err := p.tsv(line); err != nil {
			return false, err
		}
		if p.tsvPath != "" {
			path = p.tsvPath
		}
	}
	if v := p.vals[fPath]; v.Kind == jsonscan.String && len(v.Raw) > 0 {
		path = string(v.Raw) // no allocation: compared below
	}
	e := sensor.Event{Input: "zeek"}
	switch path {
	case "conn":
		e.Type = sensor.TypeFlow
	case "dns":
		e.Type = sensor.TypeDNS
	case "http":
		e.Type = sensor.TypeHTTP
	case "ssl":
		e.Type = sensor.TypeTLS
	case "notice":
		e.Type = sensor.TypeAlert
	case "ssh":
		e.Type = sensor.TypeSSH
	default:
		return false, nil
	}
	if err := p.event(&e); err != nil {
		return false, err
	}
	*ev = e
	return true, nil
}

// text returns field f's text (unescaped), or nil when unset.
func (p *Parser) text(f field) []byte {
	v := p.vals[f]
	if v.Kind == jsonscan.Invalid || v.Kind == jsonscan.Null {
		return nil
	}
	b, err := p.s.Text(v)
	if err != nil {
		return nil
	}
	return b
}

func (p *Parser) uint(f field) uint64 {
	n, _ := jsonscan.Uint(p.vals[f].Raw)
	return n
}

func (p *Parser) event(e *sensor.Event) error {
	ts := p.vals[fTS]
	var ok bool
	if ts.Kind == jsonscan.Number {
		e.Time, ok = fields.Epoch(ts.Raw)
	} else {
		if e.Time, ok = fields.Time(ts.Raw); !ok {
			e.Time, ok = fields.Epoch(ts.Raw)
		}
	}
	if !ok {
		return errNoTime
	}
	src, dst := fOrigH, fRespH
	if e.Type == sensor.TypeAlert && p.vals[fOrigH].Raw == nil {
		src, dst = fSrc, fDst
	}
	if raw := p.text(src); raw != nil {
		if e.Src, ok = fields.Addr(raw); !ok {
			return errAddr
		}
	}
	if raw := p.text(dst); raw != nil {
		if e.Dst, ok = fields.Addr(raw); !ok {
			return errAddr
		}
	}
	e.SrcPort = port(p.uint(fOrigP))
	e.DstPort = port(p.uint(fRespP))
	if e.Type == sensor.TypeAlert && e.DstPort == 0 {
		e.DstPort = port(p.uint(fP))
	}
	switch string(p.text(fProto)) {
	case "tcp":
		e.Proto = 6
	case "udp":
		e.Proto = 17
	case "icmp":
		e.Proto = 1
	}
	switch e.Type {
	case sensor.TypeFlow:
		if p.vals[fOrigIPBytes].Raw != nil || p.vals[fRespIPBytes].Raw != nil {
			e.Bytes = p.uint(fOrigIPBytes) + p.uint(fRespIPBytes)
		} else {
			e.Bytes = p.uint(fOrigBytes) + p.uint(fRespBytes)
		}
		e.Packets = p.uint(fOrigPkts) + p.uint(fRespPkts)
	case sensor.TypeDNS:
		e.Name = p.hostName(fQuery)
	case sensor.TypeHTTP:
		e.Name = p.hostName(fHost)
		status := p.uint(fStatus)
		if status == 401 || status == 403 {
			method := bytes.Clone(p.text(fMethod))
			if fields.LoginFailure(method, p.text(fURI), int(status)) {
				e.Type, e.Signature = sensor.TypeAuthFail, "http"
			}
		}
	case sensor.TypeTLS:
		e.Name = p.hostName(fServerName)
	case sensor.TypeAlert:
		note := p.text(fNote)
		if len(note) > 128 {
			note = note[:128]
		}
		e.Signature = string(note)
		e.Severity = 2
		if highNotes[e.Signature] {
			e.Severity = 1
		}
	case sensor.TypeSSH:
		if v := p.vals[fAuthSuccess]; v.Kind == jsonscan.False || (v.Kind == jsonscan.String && string(v.Raw) == "F") {
			e.Type, e.Signature = sensor.TypeAuthFail, "ssh"
		}
	}
	return nil
}

func (p *Parser) hostName(f field) string {
	raw := p.text(f)
	if raw == nil {
		return ""
	}
	var ok bool
	p.name, ok = fields.Name(p.name[:0], raw)
	if !ok {
		return ""
	}
	return string(p.name)
}

func port(n uint64) uint16 {
	if n > 65535 {
		return 0
	}
	return uint16(n)
}

// PathOf returns the log kind a Zeek file name implies ("conn" for
// "conn.log", "conn.2026-12-07-10-00-00.log" or "dns.json"), for logs
// whose records carry no _path; "" when the name says nothing.
func PathOf(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	kind, _, _ := strings.Cut(name, ".")
	switch kind {
	case "conn", "dns", "http", "ssl", "notice", "ssh":
		return kind
	}
	return ""
}
