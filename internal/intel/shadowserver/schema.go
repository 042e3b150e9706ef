package shadowserver

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/rampart-cert/rampart/internal/intel"
)

// Schema maps Shadowserver report types to their columns. It is data in
// the format Shadowserver publishes for IntelMQ (a JSON object of reports,
// each with feed_name, file_name, constant_fields, required_fields and
// optional_fields), optionally with our "rampart" block per report. A
// Schema is not changed after it is built; Merge returns a new one.
type Schema struct {
	// Created and Changes are the schema's "_meta" date_created and
	// change_log, when it has them.
	Created string
	Changes []string
	reports map[string]*Report // by file name
	alias   map[string]string  // report key and feed name → file name
}

// Report is one report type.
type Report struct {
	Key      string // the report's key in the schema ("event_sinkhole")
	FeedName string // Shadowserver's feed name ("Sinkhole-Events IPv4")
	FileName string // the type in file names ("event4_sinkhole")
	Constant map[string]string
	Required []Field
	Optional []Field
	Rampart  Extension
}

// Field maps a column to an IntelMQ key ("source.ip", "extra." for extra
// under the column's own name, "extra.name"); Key is empty for a column
// the schema says to ignore. Convert names a converter ("validate_ip",
// "convert_int" ...); WithRow says it reads the whole row.
type Field struct {
	Key     string
	Column  string
	Convert string
	WithRow bool
}

// Extension is our per-report block ("rampart") in the schema. Upstream
// files have none; Merge keeps ours when it loads theirs.
type Extension struct {
	// Category overrides the one derived from the classification
	// constants.
	Category intel.Category `json:"category,omitempty"`
	// Confidence (0-100) and TLP of the report's records; unset means
	// intel.DefaultConfidence and AMBER.
	Confidence *int   `json:"confidence,omitempty"`
	TLP        string `json:"tlp,omitempty"`
	// Detail lists the extra columns copied into Record.Detail (the
	// report's risky property: community, amplification, banner ...).
	// Empty copies every extra column.
	Detail []string `json:"detail,omitempty"`
}

// maxSchemaBytes bounds a schema file; Shadowserver's full schema is
// under 1 MB.
const maxSchemaBytes = 16 << 20

//go:embed schema.json
var defaultSchemaJSON []byte

// DefaultSchema returns the schema shipped in the binary (parsed once, on
// first use).
func DefaultSchema() (*Schema, error) { return defaultSchema() }

var defaultSchema = sync.OnceValues(func() (*Schema, error) {
	s, err := LoadSchema(bytes.NewReader(defaultSchemaJSON))
	if err != nil {
		return nil, fmt.Errorf("shadowserver: the shipped schema: %w", err)
	}
	return s, nil
})

// LoadSchema reads a schema file: ours, or Shadowserver's own intelmq.json
// as downloaded (keys it adds to a report, such as "url" or
// "date_created", are ignored). Every report must have a file name; every
// field a key (or false), a column and a converter this package knows. A
// schema that does not load leaves the caller with the one it had.
func LoadSchema(r io.Reader) (*Schema, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxSchemaBytes+1))
	if err != nil {
		return nil, fmt.Errorf("shadowserver: schema: %w", err)
	}
	if len(b) > maxSchemaBytes {
		return nil, fmt.Errorf("shadowserver: schema: larger than %d bytes", maxSchemaBytes)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("shadowserver: schema: %w", err)
	}
	s := &Schema{reports: map[string]*Report{}, alias: map[string]string{}}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.HasPrefix(k, "_") {
			if k == "_meta" {
				var m struct {
					Created string   `json:"date_created"`
					Changes []string `json:"change_log"`
				}
				if err := json.Unmarshal(top[k], &m); err != nil {
					return nil, fmt.Errorf("shadowserver: schema: _meta: %w", err)
				}
				s.Created, s.Changes = m.Created, m.Changes
			}
			continue
		}
		rep, err := decodeReport(k, top[k])
		if err != nil {
			return nil, fmt.Errorf("shadowserver: schema: report %q: %w", k, err)
		}
		if _, dup := s.reports[rep.FileName]; dup {
			return nil, fmt.Errorf("shadowserver: schema: report %q: file name %q is used twice", k, rep.FileName)
		}
		s.reports[rep.FileName] = rep
	}
	if len(s.reports) == 0 {
		return nil, errors.New("shadowserver: schema: no report")
	}
	s.index()
	return s, nil
}

// index fills the aliases: a report can be named by its key, its file name
// or its feed name.
func (s *Schema) index() {
	s.alias = make(map[string]string, 2*len(s.reports))
	for fn, r := range s.reports {
		if r.Key != "" {
			s.alias[strings.ToLower(r.Key)] = fn
		}
		if r.FeedName != "" {
			s.alias[strings.ToLower(r.FeedName)] = fn
		}
	}
}

func decodeReport(key string, raw json.RawMessage) (*Report, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	r := &Report{Key: key, Constant: map[string]string{}}
	str := func(name string, dst *string) error {
		if v, ok := m[name]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	}
	if err := str("feed_name", &r.FeedName); err != nil {
		return nil, err
	}
	if err := str("file_name", &r.FileName); err != nil {
		return nil, err
	}
	if !validType(r.FileName) {
		return nil, fmt.Errorf("file_name %q is not a report type (letters, digits, underscores)", r.FileName)
	}
	if v, ok := m["constant_fields"]; ok {
		var c map[string]any
		if err := json.Unmarshal(v, &c); err != nil {
			return nil, fmt.Errorf("constant_fields: %w", err)
		}
		for k, x := range c {
			switch x := x.(type) {
			case string:
				r.Constant[k] = x
			case float64, bool:
				r.Constant[k] = fmt.Sprint(x)
			case nil:
			default:
				return nil, fmt.Errorf("constant_fields: %s is not a string, number or boolean", k)
			}
		}
	}
	for _, list := range []struct {
		name string
		dst  *[]Field
	}{{"required_fields", &r.Required}, {"optional_fields", &r.Optional}} {
		v, ok := m[list.name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(v, list.dst); err != nil {
			return nil, fmt.Errorf("%s: %w", list.name, err)
		}
	}
	if len(r.Required) == 0 {
		return nil, errors.New("no required_fields")
	}
	for _, f := range slices.Concat(r.Required, r.Optional) {
		if _, ok := converter(f.Convert); !ok {
			return nil, fmt.Errorf("column %q: unknown converter %q", f.Column, f.Convert)
		}
	}
	if v, ok := m["rampart"]; ok {
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r.Rampart); err != nil {
			return nil, fmt.Errorf("rampart: %w", err)
		}
		e := r.Rampart
		if e.Category != "" && !slices.Contains(intel.Categories, e.Category) {
			return nil, fmt.Errorf("rampart: category %q is not one of %v", e.Category, intel.Categories)
		}
		if e.Confidence != nil && (*e.Confidence < 0 || *e.Confidence > 100) {
			return nil, fmt.Errorf("rampart: confidence %d is outside 0-100", *e.Confidence)
		}
		if e.TLP != "" {
			t, err := intel.ParseTLP(e.TLP)
			if err != nil {
				return nil, fmt.Errorf("rampart: %w", err)
			}
			r.Rampart.TLP = string(t)
		}
	}
	return r, nil
}

// UnmarshalJSON reads a field as the schema writes it: [key, column],
// [key, column, converter] or [key, column, converter, true]; a key of
// false ignores the column.
func (f *Field) UnmarshalJSON(b []byte) error {
	var parts []any
	if err := json.Unmarshal(b, &parts); err != nil {
		return err
	}
	if len(parts) < 2 || len(parts) > 4 {
		return fmt.Errorf("field %s: want 2 to 4 elements", b)
	}
	*f = Field{}
	switch k := parts[0].(type) {
	case string:
		if k == "" {
			return fmt.Errorf("field %s: empty key", b)
		}
		f.Key = k
	case bool:
		if k {
			return fmt.Errorf("field %s: key true", b)
		}
	default:
		return fmt.Errorf("field %s: the key is not a string", b)
	}
	col, ok := parts[1].(string)
	if !ok || strings.TrimSpace(col) == "" {
		return fmt.Errorf("field %s: the column is not a name", b)
	}
	f.Column = strings.ToLower(strings.TrimSpace(col))
	if len(parts) > 2 {
		if f.Convert, ok = parts[2].(string); !ok {
			return fmt.Errorf("field %s: the converter is not a name", b)
		}
	}
	if len(parts) > 3 {
		if f.WithRow, ok = parts[3].(bool); !ok {
			return fmt.Errorf("field %s: the fourth element is not a boolean", b)
		}
	}
	return nil
}

// Merge returns s with newer's reports added or replacing s's of the same
// file name: load Shadowserver's updated schema and merge it over ours.
// A replaced report keeps our "rampart" block when newer has none.
func (s *Schema) Merge(newer *Schema) *Schema {
	out := &Schema{Created: s.Created, Changes: s.Changes, reports: make(map[string]*Report, len(s.reports)+len(newer.reports))}
	for fn, r := range s.reports {
		out.reports[fn] = r
	}
	for fn, r := range newer.reports {
		if old, ok := s.reports[fn]; ok && isZeroExt(r.Rampart) {
			c := *r
			c.Rampart = old.Rampart
			r = &c
		}
		out.reports[fn] = r
	}
	if newer.Created != "" {
		out.Created, out.Changes = newer.Created, newer.Changes
	}
	out.index()
	return out
}

func isZeroExt(e Extension) bool {
	return e.Category == "" && e.Confidence == nil && e.TLP == "" && len(e.Detail) == 0
}

// Types lists the report types (file names) the schema knows, sorted.
func (s *Schema) Types() []string {
	out := make([]string, 0, len(s.reports))
	for fn := range s.reports {
		out = append(out, fn)
	}
	slices.Sort(out)
	return out
}

// Report finds a report by its type, key or feed name, or by a report
// file's name ("2026-12-01-scan_snmp-vietnam-geo.csv").
func (s *Schema) Report(name string) (*Report, error) {
	n := strings.TrimSpace(name)
	if t, ok := ReportType(n); ok {
		n = t
	}
	if r, ok := s.reports[n]; ok {
		return r, nil
	}
	if fn, ok := s.alias[strings.ToLower(n)]; ok {
		return s.reports[fn], nil
	}
	if r, ok := s.reports[strings.ToLower(n)]; ok {
		return r, nil
	}
	return nil, fmt.Errorf("shadowserver: unknown report type %q (from %q); the schema knows %d types: update it (LoadSchema) or name the type", n, name, len(s.reports))
}

// ReportType returns the report type in a Shadowserver file name: the
// part after the date in "2026-12-01-scan_snmp-vietnam-geo.csv" (a path
// may come before it). A name without the date, "scan_snmp.csv", gives
// its first part. ok is false for a name that is not a report file's.
func ReportType(filename string) (string, bool) {
	base := path.Base(strings.ReplaceAll(filename, `\`, "/"))
	lower := strings.ToLower(base)
	if !strings.HasSuffix(lower, ".csv") {
		return "", false
	}
	base = base[:len(base)-len(".csv")]
	if len(base) >= 11 && isDate(base[:10]) && base[10] == '-' {
		base = base[11:]
	}
	t, _, _ := strings.Cut(base, "-")
	if !validType(t) {
		return "", false
	}
	return t, true
}

func isDate(s string) bool {
	for i := 0; i < len(s); i++ {
		switch {
		case i == 4 || i == 7:
			if s[i] != '-' {
				return false
			}
		case s[i] < '0' || s[i] > '9':
			return false
		}
	}
	return len(s) == 10
}

func validType(t string) bool {
	if t == "" || len(t) > 100 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
