package feedcsv

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

// plan is a checked format with its columns resolved to indexes.
type plan struct {
	f       Format
	delim   byte
	kind    string
	maxLine int
	tlp     intel.TLP
	conf    int
	catMap  map[string]intel.Category

	// Resolved column indexes; -1 when a named column is absent.
	value              int
	first, last        int
	category, confCol  int
	tlpCol, externalID int
	labels             []int
	detail             []int
	detailKeys         []string
	needsHeader        bool
	labelCache         []map[string]string
}

// compile checks f; the columns are resolved by resolve (at once when no
// column is named, else when the header is read).
func compile(f Format) (*plan, error) {
	p := &plan{f: f, kind: f.Kind, conf: intel.DefaultConfidence, tlp: intel.TLPAmber}
	bad := func(format string, a ...any) (*plan, error) {
		name := f.Name
		if name == "" {
			name = "unnamed"
		}
		return nil, fmt.Errorf("feedcsv: format %s: %s", name, fmt.Sprintf(format, a...))
	}
	var err error
	if p.delim, err = f.delimiter(); err != nil {
		return bad("%v", err)
	}
	if !validKind(f.Kind) {
		return bad("kind %q is not one of auto, ip or an indicator kind", f.Kind)
	}
	for _, c := range f.Comments {
		if strings.TrimSpace(c) == "" {
			return bad("a comment prefix is empty")
		}
	}
	switch f.Header {
	case "", "line", "comment":
	default:
		return bad("header %q is not empty, \"line\" or \"comment\"", f.Header)
	}
	if f.Header == "comment" && len(f.Comments) == 0 {
		return bad("the header is in a comment but no comment prefix is declared")
	}
	p.maxLine = f.MaxLine
	switch {
	case p.maxLine == 0:
		p.maxLine = defaultMaxLine
	case p.maxLine < 256 || p.maxLine > maxMaxLine:
		return bad("max_line %d is not from 256 to %d", f.MaxLine, maxMaxLine)
	}
	if f.Category != "" && !validCategory(f.Category) {
		return bad("category %q is not one of %v", f.Category, intel.Categories)
	}
	if len(f.CategoryMap) > 0 && f.CategoryColumn == nil {
		return bad("category_map without category_column")
	}
	if len(f.CategoryMap) > 0 {
		p.catMap = make(map[string]intel.Category, len(f.CategoryMap))
		for k, v := range f.CategoryMap {
			if !validCategory(v) {
				return bad("category_map: %q → %q is not a category", k, v)
			}
			p.catMap[strings.ToLower(strings.TrimSpace(k))] = intel.Category(v)
		}
	}
	if f.Confidence != nil {
		if *f.Confidence < 0 || *f.Confidence > 100 {
			return bad("confidence %d is outside 0-100", *f.Confidence)
		}
		p.conf = *f.Confidence
	}
	if f.TLP != "" {
		if p.tlp, err = intel.ParseTLP(f.TLP); err != nil {
			return bad("%v", err)
		}
	}
	for _, t := range []*Time{f.FirstSeen, f.LastSeen} {
		if t != nil && t.Layout != "" && t.Layout != "unix" && !strings.ContainsAny(t.Layout, "0126") {
			return bad("time layout %q has no Go reference date parts (2006-01-02 15:04:05)", t.Layout)
		}
	}
	keys := map[string]bool{}
	for _, d := range f.Detail {
		k := d.Key
		if k == "" && len(d.Column.Names) > 0 {
			k = d.Column.Names[0]
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "" {
			return bad("detail column %s needs a key", d.Column)
		}
		if keys[k] {
			return bad("detail key %q twice", k)
		}
		keys[k] = true
		p.detailKeys = append(p.detailKeys, k)
	}
	if t := f.Trailing; t != nil {
		if t.Separator == "" {
			return bad("trailing comment without a separator")
		}
		if len(t.Keys) == 0 {
			return bad("trailing comment without keys")
		}
		for _, k := range t.Keys {
			k = strings.ToLower(strings.TrimSpace(k))
			if k == "" || keys[k] {
				return bad("trailing key %q is empty or already a detail key", k)
			}
			keys[k] = true
		}
	}
	named := false
	for _, c := range p.columns() {
		if c != nil && len(c.Names) > 0 {
			named = true
		}
	}
	if named && f.Header == "" {
		return bad("columns are named but the format declares no header")
	}
	if f.Delimiter == "" {
		for _, c := range p.columns() {
			if c != nil && (c.Index != 0 || len(c.Names) > 0) {
				return bad("a plain list (no delimiter) has only column 0, not %s", c)
			}
		}
	}
	p.needsHeader = f.Header != ""
	if !p.needsHeader {
		if err := p.resolve(nil); err != nil {
			return bad("%v", err)
		}
	}
	return p, nil
}

// columns lists every column the format reads, value first; nil for an
// optional column not set.
func (p *plan) columns() []*Column {
	f := &p.f
	cs := []*Column{&f.Value, nil, nil, f.CategoryColumn, f.ConfidenceColumn, f.TLPColumn, f.ExternalID}
	if f.FirstSeen != nil {
		cs[1] = &f.FirstSeen.Column
	}
	if f.LastSeen != nil {
		cs[2] = &f.LastSeen.Column
	}
	for i := range f.Labels {
		if f.Labels[i].Value == "" {
			cs = append(cs, &f.Labels[i].Column)
		}
	}
	for i := range f.Detail {
		cs = append(cs, &f.Detail[i].Column)
	}
	return cs
}

// resolve turns the columns into indexes using the header (nil when there
// is none). The value column must exist; an optional named column the
// header lacks is skipped (one format covers layouts with and without it).
func (p *plan) resolve(header []string) error {
	idx := func(c *Column) int {
		if c == nil {
			return -1
		}
		if len(c.Names) == 0 {
			return c.Index
		}
		for _, n := range c.Names {
			for i, h := range header {
				if strings.EqualFold(strings.TrimSpace(h), strings.TrimSpace(n)) {
					return i
				}
			}
		}
		return -1
	}
	cs := p.columns()
	p.value = idx(cs[0])
	if p.value < 0 {
		return fmt.Errorf("the value column %s is not in the header %q", cs[0], header)
	}
	p.first, p.last = idx(cs[1]), idx(cs[2])
	p.category, p.confCol, p.tlpCol, p.externalID = idx(cs[3]), idx(cs[4]), idx(cs[5]), idx(cs[6])
	p.labels = p.labels[:0]
	for i := range p.f.Labels {
		if p.f.Labels[i].Value != "" {
			p.labels = append(p.labels, -1)
		} else {
			p.labels = append(p.labels, idx(&p.f.Labels[i].Column))
		}
	}
	p.detail = p.detail[:0]
	for i := range p.f.Detail {
		p.detail = append(p.detail, idx(&p.f.Detail[i].Column))
	}
	p.needsHeader = false
	return nil
}

// defaultLayouts are tried in turn when a time column declares no layout.
var defaultLayouts = [...]string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00", "2006-01-02"}

// ParseTime reads a time in layout (see Time.Layout), UTC when the text
// has no zone. The common layouts ("2006-01-02 15:04:05", RFC 3339,
// "2006-01-02") take a fast path.
func ParseTime(s, layout string) (time.Time, error) {
	if layout == "unix" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, fmt.Errorf("%q is not a Unix time", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	if t, ok := parseFast(s, layout); ok {
		return t, nil
	}
	if layout != "" {
		t, err := time.Parse(layout, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q does not match the layout %q", s, layout)
		}
		return t.UTC(), nil
	}
	for _, l := range defaultLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time this format reads (RFC 3339 or 2006-01-02 15:04:05)", s)
}

// parseFast reads the layouts feeds use most, "2006-01-02 15:04:05" (or
// with a T, or a trailing Z) and "2006-01-02", without time.Parse's
// generality. Anything else, or any field out of range, is left to
// time.Parse (ok false), which gives the exact error.
func parseFast(s, layout string) (time.Time, bool) {
	switch layout {
	case "", "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02", time.RFC3339:
	default:
		return time.Time{}, false
	}
	if n := len(s); n == 20 && s[19] == 'Z' && (layout == "" || layout == time.RFC3339) {
		s = s[:19]
	} else if layout == time.RFC3339 {
		return time.Time{}, false
	}
	var sep byte = ' '
	switch {
	case len(s) == 10 && (layout == "" || layout == "2006-01-02"):
	case len(s) == 19 && layout != "2006-01-02":
		sep = s[10]
		if sep != ' ' && sep != 'T' || layout == "2006-01-02 15:04:05" && sep != ' ' || layout == "2006-01-02T15:04:05" && sep != 'T' {
			return time.Time{}, false
		}
	default:
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	if s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	y, mo, d := num(0, 4), num(5, 2), num(8, 2)
	h, mi, sec := 0, 0, 0
	if len(s) == 19 {
		if s[13] != ':' || s[16] != ':' {
			return time.Time{}, false
		}
		h, mi, sec = num(11, 2), num(14, 2), num(17, 2)
	}
	if y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	if t.Day() != d { // 31 April, 29 February of a common year
		return time.Time{}, false
	}
	return t, true
}
