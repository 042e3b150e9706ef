package feedcsv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

// Parse reads a feed in format f and emits one normalized record per row,
// in file order, as feed. A row that cannot be read (a bad value, a
// missing column, a line over the bound) is rejected as "line N" with the
// reason and the parse goes on. The error is for what stops the parse: a
// format that does not check, a header without the value column, a read
// error, the context, or emit's own error (returned as is).
func Parse(ctx context.Context, r io.Reader, f Format, feed string, emit intel.Emit) (*intel.Rejections, error) {
	rej := &intel.Rejections{}
	if strings.TrimSpace(feed) == "" {
		return rej, errors.New("feedcsv: no feed name")
	}
	p, err := compile(f)
	if err != nil {
		return rej, err
	}
	lr := NewLineReader(r, p.maxLine)
	now := time.Now().UTC()
	var (
		fields      []string
		lastComment string
		sawComment  bool
	)
	for {
		b, n, err := lr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, ErrLineTooLong) {
			rej.Add(where(n), fmt.Sprintf("the line is longer than %d bytes", p.maxLine))
			continue
		}
		if err != nil {
			return rej, fmt.Errorf("feedcsv: %s line %d: %w", feed, n, err)
		}
		if n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return rej, fmt.Errorf("feedcsv: %s line %d: %w", feed, n, err)
			}
		}
		if n == 1 {
			b = trimBOM(b)
		}
		text := trimBlanks(b)
		if len(text) == 0 {
			continue
		}
		if c, ok := p.comment(text); ok {
			if p.needsHeader && p.f.Header == "comment" {
				lastComment, sawComment = string(c), true
			}
			continue
		}
		if p.needsHeader {
			var h string
			switch {
			case p.f.Header == "line":
				h = string(text)
			case sawComment:
				h = lastComment
			default:
				return rej, fmt.Errorf("feedcsv: %s line %d: no header comment before the first row", feed, n)
			}
			header := p.split(nil, h)
			if err := p.resolve(header); err != nil {
				return rej, fmt.Errorf("feedcsv: %s line %d: %w", feed, n, err)
			}
			if p.f.Header == "line" {
				continue
			}
		}
		rec, reason := p.row(string(text), &fields, feed, now)
		if reason != "" {
			rej.Add(where(n), reason)
			continue
		}
		if err := emit(rec); err != nil {
			return rej, err
		}
	}
	return rej, nil
}

func where(n int) string { return "line " + strconv.Itoa(n) }

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
		return b[3:]
	}
	return b
}

func trimBlanks(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// comment returns a comment line's text after its prefix.
func (p *plan) comment(text []byte) ([]byte, bool) {
	for _, c := range p.f.Comments {
		if len(text) >= len(c) && string(text[:len(c)]) == c {
			return trimBlanks(text[len(c):]), true
		}
	}
	return nil, false
}

// split cuts a line into columns.
func (p *plan) split(dst []string, s string) []string {
	switch p.delim {
	case delimNone:
		return append(dst[:0], s)
	case delimBlanks:
		return splitBlanks(dst[:0], s)
	}
	// A quote left open (in a header) keeps the fields before it.
	out, _ := SplitFields(dst[:0], s, p.delim)
	return out
}

// row turns one data line into a normalized record, or says why not.
func (p *plan) row(line string, fields *[]string, feed string, now time.Time) (intel.Record, string) {
	rec := intel.Record{Feed: feed, TLP: p.tlp, Confidence: p.conf, Category: intel.Category(p.f.Category), Raw: line}
	body := line
	var comment string
	if t := p.f.Trailing; t != nil {
		if i := strings.Index(line, t.Separator); i >= 0 {
			body, comment = line[:i], line[i+len(t.Separator):]
		}
	}
	if p.delim != delimNone && p.delim != delimBlanks {
		var err error
		*fields, err = SplitFields((*fields)[:0], body, p.delim)
		if err != nil {
			return rec, "a quoted field is not closed"
		}
	} else {
		*fields = p.split(*fields, strings.TrimSpace(body))
	}
	cols := *fields
	get := func(i int) string {
		if i < 0 || i >= len(cols) {
			return ""
		}
		return strings.TrimSpace(cols[i])
	}
	if p.value >= len(cols) {
		return rec, fmt.Sprintf("the row has %d columns; the value is in column %d (counted from 0)", len(cols), p.value)
	}
	rec.Value = get(p.value)
	if rec.Value == "" {
		return rec, "the value column is empty"
	}
	rec.Kind = kindOf(p.kind, rec.Value)
	if s := get(p.first); !isNull(s) {
		t, err := ParseTime(s, p.f.FirstSeen.Layout)
		if err != nil {
			return rec, "first seen: " + err.Error()
		}
		rec.FirstSeen = t
	}
	if s := get(p.last); !isNull(s) {
		t, err := ParseTime(s, p.f.LastSeen.Layout)
		if err != nil {
			return rec, "last seen: " + err.Error()
		}
		rec.LastSeen = t
	}
	if s := get(p.category); s != "" {
		if c, ok := p.catMap[strings.ToLower(s)]; ok {
			rec.Category = c
		} else if validCategory(strings.ToLower(s)) {
			rec.Category = intel.Category(strings.ToLower(s))
		}
	}
	if s := get(p.confCol); s != "" {
		c, err := strconv.Atoi(s)
		if err != nil || c < 0 || c > 100 {
			return rec, fmt.Sprintf("confidence %q is not a number from 0 to 100", s)
		}
		rec.Confidence = c
	}
	if s := get(p.tlpCol); s != "" {
		t, err := intel.ParseTLP(s)
		if err != nil {
			return rec, "tlp: " + err.Error()
		}
		rec.TLP = t
	}
	rec.ExternalID = get(p.externalID)
	if len(p.f.Labels) > 0 {
		rec.Labels = make([]string, 0, len(p.f.Labels)+4)
	}
	for i, l := range p.f.Labels {
		if l.Value != "" {
			rec.Labels = append(rec.Labels, label(l.Prefix, l.Value))
			continue
		}
		s := get(p.labels[i])
		if s == "" {
			continue
		}
		if l.Split == "" {
			rec.Labels = append(rec.Labels, p.label(i, s))
			continue
		}
		for part := range strings.SplitSeq(s, l.Split) {
			if part = strings.TrimSpace(part); part != "" {
				rec.Labels = append(rec.Labels, p.label(i, part))
			}
		}
	}
	for i, c := range p.detail {
		if s := get(c); s != "" {
			if rec.Detail == nil {
				// At most 8: a map of up to 8 is one small group; a
				// larger hint builds a table, three times the cost,
				// for columns that are mostly empty.
				rec.Detail = make(map[string]string, min(len(p.detail), 8))
			}
			rec.Detail[p.detailKeys[i]] = s
		}
	}
	if comment != "" {
		p.trailing(&rec, comment)
	}
	if err := rec.Normalize(now); err != nil {
		return rec, strings.TrimPrefix(err.Error(), intel.ErrInvalid.Error()+": ")
	}
	return rec, ""
}

// trailing puts a comment's parts into Detail.
func (p *plan) trailing(rec *intel.Record, comment string) {
	t := p.f.Trailing
	parts := []string{comment}
	if t.Split != "" {
		parts = strings.SplitN(comment, t.Split, len(t.Keys))
	}
	for i, k := range t.Keys {
		if i >= len(parts) {
			break
		}
		if v := strings.TrimSpace(parts[i]); v != "" {
			if rec.Detail == nil {
				rec.Detail = make(map[string]string, len(t.Keys))
			}
			rec.Detail[strings.ToLower(strings.TrimSpace(k))] = v
		}
	}
}

// isNull reports whether a time column says nothing: empty or a null word.
func isNull(s string) bool {
	switch strings.ToLower(s) {
	case "", "-", "none", "null", "n/a":
		return true
	}
	return false
}

func label(prefix, v string) string {
	if prefix == "" {
		return v
	}
	return prefix + ":" + v
}

// maxLabelCache bounds the labels remembered per label column.
const maxLabelCache = 4096

// label returns the label for value v of label column i. Feeds repeat a
// few values (a malware family, a threat type) over many rows, so the
// strings are remembered and shared rather than built again for each row.
func (p *plan) label(i int, v string) string {
	if p.labelCache == nil {
		p.labelCache = make([]map[string]string, len(p.f.Labels))
	}
	c := p.labelCache[i]
	if l, ok := c[v]; ok {
		return l
	}
	l := label(p.f.Labels[i].Prefix, v)
	if c == nil {
		c = make(map[string]string)
		p.labelCache[i] = c
	}
	if len(c) < maxLabelCache {
		c[strings.Clone(v)] = l
	}
	return l
}

// kindOf returns the declared kind, or tells it from the value for "auto"
// and "ip". A value that fits no kind gets the likeliest one, so that
// normalization rejects it with a reason.
func kindOf(declared, v string) intel.Kind {
	switch declared {
	case "auto":
		return detect(v)
	case "ip":
		if strings.IndexByte(v, '/') >= 0 {
			return intel.KindCIDR
		}
		if strings.IndexByte(v, ':') >= 0 {
			return intel.KindIPv6
		}
		return intel.KindIPv4
	}
	return intel.Kind(declared)
}

// detect tells a value's kind from its form.
func detect(v string) intel.Kind {
	if strings.Contains(v, "://") {
		return intel.KindURL
	}
	if strings.IndexByte(v, '/') >= 0 {
		if _, err := netip.ParsePrefix(v); err == nil {
			return intel.KindCIDR
		}
		return intel.KindURL
	}
	if a, err := netip.ParseAddr(v); err == nil {
		if a.Unmap().Is4() {
			return intel.KindIPv4
		}
		return intel.KindIPv6
	}
	if strings.IndexByte(v, '@') >= 0 {
		return intel.KindEmail
	}
	if isHex(v) {
		switch len(v) {
		case 32:
			return intel.KindMD5
		case 40:
			return intel.KindSHA1
		case 64:
			return intel.KindSHA256
		}
	}
	if len(v) > 2 && (v[0] == 'A' || v[0] == 'a') && (v[1] == 'S' || v[1] == 's') && isDigits(v[2:]) {
		return intel.KindASN
	}
	if strings.IndexByte(v, ':') >= 0 && strings.Count(v, ":") > 1 {
		return intel.KindIPv6
	}
	return intel.KindDomain
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
