package feedcsv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/intel"
)

// Format declares how the lines of a feed become records. It is data: the
// presets are JSON files, and an operator writes one for a new feed. Decode
// it with ParseFormat (JSON, unknown fields refused) or from YAML with
// known fields enforced; Parse checks it before reading.
type Format struct {
	Name        string `json:"name,omitempty" yaml:"name,omitempty"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Delimiter separates the columns: one character ("," ";" "|"), "\t"
	// or "tab", "whitespace" for runs of blanks, or empty when each line is
	// one value (a plain list; a URL with a comma stays whole).
	Delimiter string `json:"delimiter,omitempty" yaml:"delimiter,omitempty"`
	// Comments are the prefixes of comment lines ("#", ";"). Blank lines
	// are always skipped.
	Comments []string `json:"comments,omitempty" yaml:"comments,omitempty"`
	// Header says where the column names are: "" (none: columns by index
	// only), "line" (the first line that is not a comment) or "comment"
	// (the last comment line before the first row, as URLhaus writes it).
	// Column names match case-insensitively.
	Header string `json:"header,omitempty" yaml:"header,omitempty"`
	// Value is the column that holds the indicator (column 0 when unset).
	Value Column `json:"value,omitzero" yaml:"value,omitempty"`
	// Kind is the value's kind: an intel kind ("ipv4", "url", "sha256" ...),
	// "ip" (an address or a network, either family) or "auto" (told apart
	// from the value itself: address, network, URL, e-mail, hash, AS
	// number, else a domain).
	Kind string `json:"kind" yaml:"kind"`
	// Trailing cuts a comment after the value ("1.4.0.0/17 ; SBL256893")
	// into detail before the columns are split.
	Trailing *Trailing `json:"trailing,omitempty" yaml:"trailing,omitempty"`

	FirstSeen *Time `json:"first_seen,omitempty" yaml:"first_seen,omitempty"`
	LastSeen  *Time `json:"last_seen,omitempty" yaml:"last_seen,omitempty"`

	// Category is every row's category, or the default when the category
	// column is empty or says something the map does not know.
	Category string `json:"category,omitempty" yaml:"category,omitempty"`
	// CategoryColumn holds a category per row, translated by CategoryMap
	// (keys lower case) or taken as is when it names a category.
	CategoryColumn *Column           `json:"category_column,omitempty" yaml:"category_column,omitempty"`
	CategoryMap    map[string]string `json:"category_map,omitempty" yaml:"category_map,omitempty"`

	// Confidence is every row's confidence (0-100); unset means
	// intel.DefaultConfidence. ConfidenceColumn, when set and not empty on
	// a row, overrides it.
	Confidence       *int    `json:"confidence,omitempty" yaml:"confidence,omitempty"`
	ConfidenceColumn *Column `json:"confidence_column,omitempty" yaml:"confidence_column,omitempty"`

	// TLP marks every row ("clear", "tlp:amber" ...); unset means AMBER.
	// TLPColumn, when set and not empty on a row, overrides it.
	TLP       string  `json:"tlp,omitempty" yaml:"tlp,omitempty"`
	TLPColumn *Column `json:"tlp_column,omitempty" yaml:"tlp_column,omitempty"`

	// ExternalID is the column of the source's own ID for the row.
	ExternalID *Column `json:"external_id,omitempty" yaml:"external_id,omitempty"`

	Labels []Label  `json:"labels,omitempty" yaml:"labels,omitempty"`
	Detail []Detail `json:"detail,omitempty" yaml:"detail,omitempty"`

	// MaxLine bounds a line in bytes (default 65536, at most 1 MiB); a
	// longer line is rejected and skipped.
	MaxLine int `json:"max_line,omitempty" yaml:"max_line,omitempty"`
}

// Time is a column of times.
type Time struct {
	Column Column `json:"column" yaml:"column"`
	// Layout is a Go time layout ("2006-01-02 15:04:05") or "unix"
	// (seconds). Empty tries RFC 3339, "2006-01-02 15:04:05",
	// "2006-01-02T15:04:05" and "2006-01-02". Times without a zone are UTC.
	Layout string `json:"layout,omitempty" yaml:"layout,omitempty"`
}

// Label makes labels from a column or a constant: Prefix "malware" and the
// value "Dridex" give "malware:dridex".
type Label struct {
	Column Column `json:"column,omitzero" yaml:"column,omitempty"`
	// Value is a constant label value; when set, Column is not read.
	Value  string `json:"value,omitempty" yaml:"value,omitempty"`
	Prefix string `json:"prefix,omitempty" yaml:"prefix,omitempty"`
	// Split cuts the column into several labels ("," for "elf,mirai").
	Split string `json:"split,omitempty" yaml:"split,omitempty"`
}

// Detail copies a column into Record.Detail under Key (the column's name,
// lower case, when Key is empty and the column is named).
type Detail struct {
	Column Column `json:"column" yaml:"column"`
	Key    string `json:"key,omitempty" yaml:"key,omitempty"`
}

// Trailing is a comment after the value on the same line.
type Trailing struct {
	// Separator starts the comment (";" in "1.4.0.0/17 ; SBL256893").
	Separator string `json:"separator" yaml:"separator"`
	// Keys name the comment's parts in Record.Detail: the whole comment
	// when Split is empty, else its parts in order.
	Keys  []string `json:"keys" yaml:"keys"`
	Split string   `json:"split,omitempty" yaml:"split,omitempty"`
}

// Column names a column by its 0-based index or by its header name. In
// JSON and YAML it is a number (index), a string (name) or a list of
// strings (the first name the header has: one format for two layouts).
type Column struct {
	Index int
	Names []string
}

// Col is the column at index i.
func Col(i int) Column { return Column{Index: i} }

// Named is the column with one of names.
func Named(names ...string) Column { return Column{Names: names} }

// IsZero reports whether c is column 0 by index (how an unset column reads).
func (c Column) IsZero() bool { return c.Index == 0 && len(c.Names) == 0 }

func (c Column) String() string {
	if len(c.Names) > 0 {
		return strconv.Quote(strings.Join(c.Names, `" or "`))
	}
	return strconv.Itoa(c.Index)
}

// MarshalJSON writes the index or the names.
func (c Column) MarshalJSON() ([]byte, error) {
	switch len(c.Names) {
	case 0:
		return json.Marshal(c.Index)
	case 1:
		return json.Marshal(c.Names[0])
	}
	return json.Marshal(c.Names)
}

// UnmarshalJSON reads a number, a string or a list of strings.
func (c *Column) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	return c.set(v)
}

// UnmarshalYAML reads a number, a string or a list of strings (the
// decode-callback form, which YAML decoders accept without this package
// importing one).
func (c *Column) UnmarshalYAML(unmarshal func(any) error) error {
	var v any
	if err := unmarshal(&v); err != nil {
		return err
	}
	return c.set(v)
}

func (c *Column) set(v any) error {
	*c = Column{}
	switch x := v.(type) {
	case float64:
		if x < 0 || x != float64(int(x)) || x > 1<<16 {
			return fmt.Errorf("column index %v is not a whole number from 0 to 65536", x)
		}
		c.Index = int(x)
	case int:
		if x < 0 || x > 1<<16 {
			return fmt.Errorf("column index %d is not from 0 to 65536", x)
		}
		c.Index = x
	case string:
		c.Names = []string{x}
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("column names: %v is not a string", e)
			}
			c.Names = append(c.Names, s)
		}
	default:
		return fmt.Errorf("a column is an index, a name or a list of names, not %T", v)
	}
	for _, n := range c.Names {
		if strings.TrimSpace(n) == "" {
			return errors.New("a column name is empty")
		}
	}
	if c.Names != nil && len(c.Names) == 0 {
		return errors.New("a column's list of names is empty")
	}
	return nil
}

// ParseFormat decodes a JSON format strictly (an unknown field is an
// error, so a typo does not silently drop a mapping) and checks it.
func ParseFormat(data []byte) (Format, error) {
	var f Format
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Format{}, fmt.Errorf("feedcsv: format: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Format{}, errors.New("feedcsv: format: text after the JSON object")
	}
	if err := f.Validate(); err != nil {
		return Format{}, err
	}
	return f, nil
}

// Validate checks the format without reading a feed.
func (f Format) Validate() error {
	_, err := compile(f)
	return err
}

const (
	defaultMaxLine = 64 << 10
	maxMaxLine     = 1 << 20
	delimNone      = 0
	delimBlanks    = 1 // runs of spaces and tabs
)

// delimiter returns the delimiter byte, delimNone or delimBlanks.
func (f Format) delimiter() (byte, error) {
	switch f.Delimiter {
	case "":
		return delimNone, nil
	case "whitespace":
		return delimBlanks, nil
	case "tab", "\t", `\t`:
		return '\t', nil
	}
	if len(f.Delimiter) != 1 || f.Delimiter[0] < ' ' && f.Delimiter[0] != '\t' || f.Delimiter[0] >= 0x7f ||
		strings.ContainsAny(f.Delimiter, "\"\\") {
		return 0, fmt.Errorf("delimiter %q is not one printable ASCII character, \"tab\", \"whitespace\" or empty", f.Delimiter)
	}
	return f.Delimiter[0], nil
}

func validKind(k string) bool {
	return k == "auto" || k == "ip" || intel.Kind(k).Valid()
}

func validCategory(c string) bool { return slices.Contains(intel.Categories, intel.Category(c)) }
