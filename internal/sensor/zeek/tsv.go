package zeek

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/rampart-cert/rampart/internal/sensor/internal/jsonscan"
)

// maxColumns bounds a TSV header (Zeek's widest logs have about 40).
const maxColumns = 256

// header reads a TSV header line: #separator, #unset_field,
// #empty_field, #path and #fields configure the parser; others
// (#set_separator, #types, #open, #close) are ignored.
func (p *Parser) header(line []byte) error {
	if bytes.HasPrefix(line, []byte("#separator ")) {
		sep, err := unescapeHex(bytes.TrimSpace(line[len("#separator "):]))
		if err != nil || len(sep) != 1 {
			return fmt.Errorf("%w: bad #separator", ErrInvalid)
		}
		p.sep = sep[0]
		return nil
	}
	key, rest, _ := bytes.Cut(line, []byte{p.sep})
	switch string(key) {
	case "#unset_field":
		p.unset = string(rest)
	case "#empty_field":
		p.empty = string(rest)
	case "#path":
		p.tsvPath = string(rest)
	case "#fields":
		n := bytes.Count(rest, []byte{p.sep}) + 1
		if n > maxColumns {
			return fmt.Errorf("%w: %d columns", ErrInvalid, n)
		}
		p.cols = p.cols[:0]
		for name := range bytes.SplitSeq(rest, []byte{p.sep}) {
			p.cols = append(p.cols, fieldOf(name))
		}
	}
	return nil
}

// tsv reads a TSV record into p.vals.
func (p *Parser) tsv(line []byte) error {
	if len(p.cols) == 0 {
		return errHeader
	}
	if n := bytes.Count(line, []byte{p.sep}) + 1; n != len(p.cols) {
		return fmt.Errorf("%w: %d columns, the header names %d", ErrInvalid, n, len(p.cols))
	}
	col := 0
	for val := range bytes.SplitSeq(line, []byte{p.sep}) {
		f := p.cols[col]
		col++
		if f == fNone || string(val) == p.unset {
			continue
		}
		v := jsonscan.Value{Kind: jsonscan.String, Raw: val}
		switch {
		case string(val) == p.empty:
			v.Raw = val[:0]
		case bytes.IndexByte(val, '\\') >= 0:
			u, err := unescapeHex(val)
			if err != nil {
				return fmt.Errorf("%w: column %d: %v", ErrInvalid, col, err)
			}
			v.Raw = u
		}
		switch f {
		case fAuthSuccess:
			switch string(v.Raw) {
			case "T":
				v.Kind = jsonscan.True
			case "F":
				v.Kind = jsonscan.False
			}
		case fTS:
			v.Kind = jsonscan.Number
		}
		p.vals[f] = v
	}
	return nil
}

// unescapeHex decodes Zeek's \xNN escapes (and "\\"); it allocates only
// when there is one.
func unescapeHex(b []byte) ([]byte, error) {
	if bytes.IndexByte(b, '\\') < 0 {
		return b, nil
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			out = append(out, b[i])
			continue
		}
		if i+1 < len(b) && b[i+1] == '\\' {
			out = append(out, '\\')
			i++
			continue
		}
		if i+3 >= len(b) || b[i+1] != 'x' {
			return nil, fmt.Errorf("bad escape")
		}
		n, err := strconv.ParseUint(string(b[i+2:i+4]), 16, 8)
		if err != nil {
			return nil, fmt.Errorf("bad escape")
		}
		out = append(out, byte(n))
		i += 3
	}
	return out, nil
}
