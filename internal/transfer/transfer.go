// Package transfer reads and writes the registry's bulk formats: assets and
// organizations as CSV or JSON. It only parses and renders; the store
// applies an import in one transaction.
//
// Input is hostile: sizes are capped, and every error names the line (CSV)
// or the line of the element (JSON) where it happened, so an operator can
// fix the file and try again.
package transfer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// Limits on one import. A command-line import may hold MaxRows rows; an
// import through the API or the console, which runs inside the serving
// process beside everybody's requests, MaxRowsOnline (security review
// F10: a million rows parsed in memory took 900 MB).
const (
	MaxRows       = 1_000_000
	MaxRowsOnline = 100_000
	MaxFileSize   = 256 << 20
	// MaxFileOnline caps an import's body through the API or the console.
	MaxFileOnline = 32 << 20
	maxField      = 4096
)

// ErrFormat is wrapped by every parse error.
var ErrFormat = errors.New("transfer: bad file")

// LineError is a parse error at a line of the input.
type LineError struct {
	Line   int
	Reason string
}

func (e *LineError) Error() string {
	return fmt.Sprintf("transfer: line %d: %s", e.Line, e.Reason)
}

// Unwrap lets errors.Is(err, ErrFormat) match.
func (e *LineError) Unwrap() error { return ErrFormat }

// Format is a file format.
type Format string

// The formats.
const (
	CSV  Format = "csv"
	JSON Format = "json"
)

// Sniff guesses a format from a content type or file name, then from the
// first non-blank byte.
func Sniff(contentTypeOrName string, head []byte) Format {
	s := strings.ToLower(contentTypeOrName)
	switch {
	case strings.Contains(s, "json"):
		return JSON
	case strings.Contains(s, "csv"):
		return CSV
	}
	t := bytes.TrimLeft(head, " \t\r\n\ufeff")
	if len(t) > 0 && (t[0] == '[' || t[0] == '{') {
		return JSON
	}
	return CSV
}

// assetColumns are the CSV columns for assets; kind and value are required,
// org_code too unless the caller imports into one organization.
var assetColumns = []string{"org_code", "kind", "value", "criticality", "security_level", "tags", "notes"}

// AssetRecord is one asset as it appears in JSON files.
type AssetRecord struct {
	OrgCode       string   `json:"org_code"`
	Kind          string   `json:"kind"`
	Value         string   `json:"value"`
	Criticality   string   `json:"criticality,omitempty"`
	SecurityLevel int      `json:"security_level,omitempty"`
	Tags          []string `json:"tags,omitempty"`
	Notes         string   `json:"notes,omitempty"`
}

func (r AssetRecord) row(line int) store.ImportRow {
	return store.ImportRow{Line: line, OrgCode: strings.TrimSpace(r.OrgCode), Asset: asset.Asset{
		Kind: asset.Kind(r.Kind), Value: r.Value, Criticality: asset.Criticality(r.Criticality),
		SecurityLevel: r.SecurityLevel, Tags: r.Tags, Notes: r.Notes,
	}}
}

// ReadAssets parses an asset file. Rows carry their line numbers; values
// are not normalized here (the store calls asset.Prepare and reports the
// line on error). defaultOrg, when not empty, fills a missing org_code.
func ReadAssets(r io.Reader, f Format, defaultOrg string) ([]store.ImportRow, error) {
	return ReadAssetsMax(r, f, defaultOrg, MaxRows)
}

// tooMany is the refusal of a row past an import's limit.
func tooMany(max int) error {
	return fmt.Errorf("more than %d rows: split the file, or import it with `rampart import` on the platform host", max)
}

// ReadAssetsMax is ReadAssets refusing files of more than maxRows rows
// while it reads them, so memory stays bounded.
func ReadAssetsMax(r io.Reader, f Format, defaultOrg string, maxRows int) ([]store.ImportRow, error) {
	var rows []store.ImportRow
	var err error
	if f == JSON {
		err = readJSON(r, "assets", func(line int, raw json.RawMessage) error {
			if len(rows) >= maxRows {
				return tooMany(maxRows)
			}
			var rec AssetRecord
			if err := strictUnmarshal(raw, &rec); err != nil {
				return err
			}
			rows = append(rows, rec.row(line))
			return nil
		})
	} else {
		err = readCSV(r, assetColumns, []string{"kind", "value"}, func(line int, get func(string) string) error {
			if len(rows) >= maxRows {
				return tooMany(maxRows)
			}
			rec := AssetRecord{OrgCode: get("org_code"), Kind: get("kind"), Value: get("value"),
				Criticality: get("criticality"), Notes: UnsafeCell(get("notes"))}
			if s := strings.TrimSpace(get("security_level")); s != "" {
				n, err := strconv.Atoi(s)
				if err != nil {
					return fmt.Errorf("security_level %q is not a number", s)
				}
				rec.SecurityLevel = n
			}
			if t := get("tags"); t != "" {
				rec.Tags = strings.FieldsFunc(t, func(c rune) bool { return c == ';' || c == '|' })
				for i, tag := range rec.Tags {
					rec.Tags[i] = UnsafeCell(strings.TrimSpace(tag))
				}
			}
			rows = append(rows, rec.row(line))
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	for i := range rows {
		if rows[i].OrgCode == "" {
			rows[i].OrgCode = defaultOrg
		}
		if rows[i].OrgCode == "" {
			return nil, &LineError{Line: rows[i].Line, Reason: "org_code is required"}
		}
	}
	return rows, nil
}

// WriteAssets renders assets; orgCode maps an organization ID to its code.
func WriteAssets(w io.Writer, f Format, assets []asset.Asset, orgCode func(int64) string) error {
	bw := bufio.NewWriter(w)
	if f == JSON {
		recs := make([]AssetRecord, len(assets))
		for i, a := range assets {
			recs[i] = AssetRecord{OrgCode: orgCode(a.OrgID), Kind: string(a.Kind), Value: a.Value,
				Criticality: string(a.Criticality), SecurityLevel: a.SecurityLevel, Tags: a.Tags, Notes: a.Notes}
		}
		enc := json.NewEncoder(bw)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"assets": recs}); err != nil {
			return err
		}
		return bw.Flush()
	}
	cw := csv.NewWriter(bw)
	_ = cw.Write(assetColumns)
	for _, a := range assets {
		tags := make([]string, len(a.Tags))
		for i, t := range a.Tags {
			tags[i] = SafeCell(t)
		}
		_ = cw.Write([]string{orgCode(a.OrgID), string(a.Kind), a.Value, string(a.Criticality),
			strconv.Itoa(a.SecurityLevel), strings.Join(tags, ";"), SafeCell(a.Notes)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// formulaStart are the first characters that make a spreadsheet read a
// cell as a formula.
const formulaStart = "=+-@\t\r"

// SafeCell defuses spreadsheet formula injection in free text written to
// CSV: a cell starting with =, +, -, @, tab or CR gets a leading quote. A
// cell that already is quotes before such a character gets one more, so
// UnsafeCell gives back exactly what was written.
func SafeCell(s string) string {
	if t := strings.TrimLeft(s, "'"); t != "" && strings.ContainsRune(formulaStart, rune(t[0])) {
		return "'" + s
	}
	return s
}

// UnsafeCell undoes SafeCell on a cell read back from a CSV file, so an
// export imported again changes nothing.
func UnsafeCell(s string) string {
	if t := strings.TrimLeft(s, "'"); len(t) < len(s) && t != "" && strings.ContainsRune(formulaStart, rune(t[0])) {
		return s[1:]
	}
	return s
}

// orgColumns are the CSV columns for organizations.
var orgColumns = []string{"code", "name", "name_en", "kind", "parent_code"}

// OrgRecord is one organization as it appears in files, with its contacts
// (JSON only).
type OrgRecord struct {
	Code       string          `json:"code"`
	Name       string          `json:"name"`
	NameEN     string          `json:"name_en,omitempty"`
	Kind       string          `json:"kind"`
	ParentCode string          `json:"parent_code,omitempty"`
	Contacts   []ContactRecord `json:"contacts,omitempty"`
}

// ContactRecord is a contact inside an OrgRecord.
type ContactRecord struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Phone    string `json:"phone,omitempty"`
	Role     string `json:"role,omitempty"`
	Language string `json:"language,omitempty"`
}

func (r OrgRecord) row(line int) store.OrgImportRow {
	row := store.OrgImportRow{Line: line, ParentCode: strings.TrimSpace(r.ParentCode), Org: org.Organization{
		Code: r.Code, Name: r.Name, NameEN: r.NameEN, Kind: org.Kind(r.Kind)}}
	for _, c := range r.Contacts {
		row.Contacts = append(row.Contacts, org.Contact{Name: c.Name, Email: c.Email, Phone: c.Phone, Role: c.Role, Language: c.Language})
	}
	return row
}

// ReadOrgs parses an organization file. A parent must appear before its
// children or already exist.
func ReadOrgs(r io.Reader, f Format) ([]store.OrgImportRow, error) {
	return ReadOrgsMax(r, f, MaxRows)
}

// ReadOrgsMax is ReadOrgs refusing files of more than maxRows rows while
// it reads them.
func ReadOrgsMax(r io.Reader, f Format, maxRows int) ([]store.OrgImportRow, error) {
	var rows []store.OrgImportRow
	var err error
	if f == JSON {
		err = readJSON(r, "orgs", func(line int, raw json.RawMessage) error {
			if len(rows) >= maxRows {
				return tooMany(maxRows)
			}
			var rec OrgRecord
			if err := strictUnmarshal(raw, &rec); err != nil {
				return err
			}
			rows = append(rows, rec.row(line))
			return nil
		})
	} else {
		err = readCSV(r, orgColumns, []string{"code", "kind"}, func(line int, get func(string) string) error {
			if len(rows) >= maxRows {
				return tooMany(maxRows)
			}
			rows = append(rows, OrgRecord{Code: get("code"), Name: UnsafeCell(get("name")), NameEN: UnsafeCell(get("name_en")),
				Kind: get("kind"), ParentCode: get("parent_code")}.row(line))
			return nil
		})
	}
	return rows, err
}

// WriteOrgs renders organizations with their contacts (JSON) or without
// (CSV); code maps an ID to a code for parent_code.
func WriteOrgs(w io.Writer, f Format, orgs []org.Organization, contacts map[int64][]org.Contact, code func(int64) string) error {
	bw := bufio.NewWriter(w)
	if f == JSON {
		recs := make([]OrgRecord, len(orgs))
		for i, o := range orgs {
			recs[i] = OrgRecord{Code: o.Code, Name: o.Name, NameEN: o.NameEN, Kind: string(o.Kind)}
			if o.ParentID != 0 {
				recs[i].ParentCode = code(o.ParentID)
			}
			for _, c := range contacts[o.ID] {
				recs[i].Contacts = append(recs[i].Contacts, ContactRecord{Name: c.Name, Email: c.Email, Phone: c.Phone, Role: c.Role, Language: c.Language})
			}
		}
		enc := json.NewEncoder(bw)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"orgs": recs}); err != nil {
			return err
		}
		return bw.Flush()
	}
	cw := csv.NewWriter(bw)
	_ = cw.Write(orgColumns)
	for _, o := range orgs {
		parent := ""
		if o.ParentID != 0 {
			parent = code(o.ParentID)
		}
		_ = cw.Write([]string{o.Code, SafeCell(o.Name), SafeCell(o.NameEN), string(o.Kind), parent})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// readCSV reads a CSV file with a header row naming columns from allowed
// (any order, case-insensitive); required columns must be present and
// non-empty on every row. Blank lines and lines starting with '#' are
// skipped.
func readCSV(r io.Reader, allowed, required []string, row func(line int, get func(string) string) error) error {
	cr := csv.NewReader(bufio.NewReader(io.LimitReader(r, MaxFileSize+1)))
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return &LineError{Line: 1, Reason: "empty file: a header row is required"}
	}
	if err != nil {
		return csvErr(err)
	}
	idx := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !contains(allowed, h) {
			return &LineError{Line: 1, Reason: fmt.Sprintf("unknown column %q (allowed: %s)", h, strings.Join(allowed, ", "))}
		}
		if _, dup := idx[h]; dup {
			return &LineError{Line: 1, Reason: fmt.Sprintf("column %q appears twice", h)}
		}
		idx[h] = i
	}
	for _, c := range required {
		if _, ok := idx[c]; !ok {
			return &LineError{Line: 1, Reason: fmt.Sprintf("missing required column %q", c)}
		}
	}
	n := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return csvErr(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if n++; n > MaxRows {
			return &LineError{Line: line, Reason: fmt.Sprintf("more than %d rows", MaxRows)}
		}
		if len(rec) > len(header) {
			return &LineError{Line: line, Reason: fmt.Sprintf("%d fields, the header has %d", len(rec), len(header))}
		}
		get := func(col string) string {
			i, ok := idx[col]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		for _, c := range required {
			if get(c) == "" {
				return &LineError{Line: line, Reason: fmt.Sprintf("%s is empty", c)}
			}
		}
		for _, f := range rec {
			if len(f) > maxField {
				return &LineError{Line: line, Reason: fmt.Sprintf("a field is longer than %d bytes", maxField)}
			}
		}
		if err := row(line, get); err != nil {
			return &LineError{Line: line, Reason: err.Error()}
		}
	}
}

func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &LineError{Line: pe.Line, Reason: pe.Err.Error()}
	}
	return fmt.Errorf("%w: %v", ErrFormat, err)
}

// readJSON reads either a top-level array of objects or an object with one
// array under key, calling elem with the line where each element starts.
func readJSON(r io.Reader, key string, elem func(line int, raw json.RawMessage) error) error {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if len(data) > MaxFileSize {
		return fmt.Errorf("%w: larger than %d bytes", ErrFormat, MaxFileSize)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	lines := newLineIndex(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return jsonErr(lines, dec, err)
	}
	if tok == json.Delim('{') {
		found := false
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return jsonErr(lines, dec, err)
			}
			if k, _ := kt.(string); k == key && !found {
				found = true
				t, err := dec.Token()
				if err != nil {
					return jsonErr(lines, dec, err)
				}
				if t != json.Delim('[') {
					return &LineError{Line: lines.at(dec.InputOffset()), Reason: fmt.Sprintf("%q must be an array", key)}
				}
				if err := readElems(dec, lines, elem); err != nil {
					return err
				}
				continue
			}
			return &LineError{Line: lines.at(dec.InputOffset()), Reason: fmt.Sprintf("unknown key %v (expected %q)", kt, key)}
		}
		if !found {
			return &LineError{Line: 1, Reason: fmt.Sprintf("no %q array", key)}
		}
		if _, err := dec.Token(); err != nil {
			return jsonErr(lines, dec, err)
		}
	} else if tok == json.Delim('[') {
		if err := readElems(dec, lines, elem); err != nil {
			return err
		}
	} else {
		return &LineError{Line: 1, Reason: fmt.Sprintf("expected an array or {%q: [...]}", key)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &LineError{Line: lines.at(dec.InputOffset()), Reason: "unexpected data after the end"}
	}
	return nil
}

// readElems reads array elements up to and including the closing bracket.
func readElems(dec *json.Decoder, lines lineIndex, elem func(int, json.RawMessage) error) error {
	n := 0
	for dec.More() {
		start := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return jsonErr(lines, dec, err)
		}
		// InputOffset before Decode may sit on the separating comma or
		// white space; the element starts at its first non-blank byte.
		line := lines.firstNonBlank(start)
		if n++; n > MaxRows {
			return &LineError{Line: line, Reason: fmt.Sprintf("more than %d rows", MaxRows)}
		}
		if err := elem(line, raw); err != nil {
			return &LineError{Line: line, Reason: err.Error()}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return jsonErr(lines, dec, err)
	}
	return nil
}

func jsonErr(lines lineIndex, dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &LineError{Line: lines.at(se.Offset), Reason: "invalid JSON: " + se.Error()}
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return &LineError{Line: lines.at(int64(len(lines.data))), Reason: "unexpected end of JSON"}
	}
	return &LineError{Line: lines.at(dec.InputOffset()), Reason: err.Error()}
}

// strictUnmarshal rejects unknown fields, so a typo is not silently lost.
func strictUnmarshal(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

type lineIndex struct {
	data   []byte
	starts []int64 // offset where each line starts
}

func newLineIndex(data []byte) lineIndex {
	li := lineIndex{data: data, starts: []int64{0}}
	for i, c := range data {
		if c == '\n' {
			li.starts = append(li.starts, int64(i+1))
		}
	}
	return li
}

// at returns the 1-based line holding byte offset off.
func (li lineIndex) at(off int64) int {
	lo, hi := 0, len(li.starts)
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if li.starts[mid] <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1
}

func (li lineIndex) firstNonBlank(off int64) int {
	for off < int64(len(li.data)) {
		switch li.data[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
			continue
		}
		break
	}
	return li.at(off)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
