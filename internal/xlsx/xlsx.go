// Package xlsx writes Office Open XML spreadsheets (.xlsx): a few sheets of
// rows of text and numbers, streamed, with one bold header style. It is
// the small part of a spreadsheet library that reports need, written so
// that the binary does not carry (and initialise) a full one.
//
// What it writes, and only that: [Content_Types].xml, _rels/.rels,
// xl/workbook.xml with its relationships, xl/styles.xml (the default style
// and a bold header on a light fill) and one xl/worksheets/sheetN.xml per
// sheet. Text is an inline string (t="inlineStr"), so a cell that starts
// with "=" is text, never a formula; numbers are numbers. Rows go straight
// into the ZIP stream: memory stays flat however many rows a sheet has.
//
// It imports the standard library only.
package xlsx

import (
	"archive/zip"
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Sentinel errors.
var (
	ErrClosed      = errors.New("xlsx: writer closed")
	ErrNoSheet     = errors.New("xlsx: no sheet started")
	ErrTooManyRows = errors.New("xlsx: more rows than a sheet holds")
	ErrTooManyCols = errors.New("xlsx: more columns than a sheet holds")
)

// Limits of the format (as Excel enforces them).
const (
	MaxRows      = 1 << 20 // rows in a sheet
	MaxCols      = 1 << 14 // columns in a sheet
	MaxCellChars = 32767   // UTF-16 code units in a cell's text
	MaxSheetName = 31      // characters in a sheet's name
)

// Style indexes into the cellXfs of styles.xml.
const (
	styleDefault = 0
	styleHeader  = 1 // bold on a light blue-grey fill
)

// Writer writes one workbook to an io.Writer. Start each sheet with
// NewSheet, add its rows with Header and Row, and finish with Close, which
// writes the workbook parts; the first sheet is the active one. A Writer
// is not safe for concurrent use; after the first error every call returns
// it.
type Writer struct {
	zw     *zip.Writer
	names  []string // sheet names, in order
	bw     *bufio.Writer
	rows   int // rows written to the open sheet
	err    error
	closed bool
}

// NewWriter returns a Writer that writes a workbook to w. Close does not
// close w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{zw: zip.NewWriter(w)}
}

// NewSheet ends the open sheet, if any, and starts one named name (made a
// valid, unique sheet name: see SheetName) with the given column widths in
// characters (0 keeps the default width).
func (w *Writer) NewSheet(name string, widths ...float64) error {
	if err := w.check(); err != nil {
		return err
	}
	if err := w.endSheet(); err != nil {
		return w.fail(err)
	}
	name = w.unique(SheetName(name, len(w.names)+1))
	w.names = append(w.names, name)
	f, err := w.zw.Create(fmt.Sprintf("xl/worksheets/sheet%d.xml", len(w.names)))
	if err != nil {
		return w.fail(err)
	}
	w.bw = bufio.NewWriterSize(f, 32<<10)
	w.rows = 0
	w.bw.WriteString(xmlHeader + `<worksheet xmlns="` + nsMain + `" xmlns:r="` + nsRel + `"><sheetViews><sheetView workbookViewId="0"`)
	if len(w.names) == 1 {
		w.bw.WriteString(` tabSelected="1"`)
	}
	w.bw.WriteString(`/></sheetViews><sheetFormatPr defaultRowHeight="15"/>`)
	if len(widths) > MaxCols {
		return w.fail(ErrTooManyCols)
	}
	open := false
	for i, wd := range widths {
		if wd <= 0 || math.IsNaN(wd) || math.IsInf(wd, 0) {
			continue
		}
		if !open {
			w.bw.WriteString(`<cols>`)
			open = true
		}
		n := strconv.Itoa(i + 1)
		w.bw.WriteString(`<col min="` + n + `" max="` + n + `" width="` + strconv.FormatFloat(min(wd, 255), 'f', -1, 64) + `" customWidth="1"/>`)
	}
	if open {
		w.bw.WriteString(`</cols>`)
	}
	w.bw.WriteString(`<sheetData>`)
	return nil
}

// Header adds a row of text in the header style (bold on a light fill).
func (w *Writer) Header(cells ...string) error {
	vs := make([]any, len(cells))
	for i, c := range cells {
		vs[i] = c
	}
	return w.row(styleHeader, vs)
}

// Row adds a row to the open sheet. A cell is a string or []byte (text), a
// bool, any integer or float type (a number; NaN and infinities are
// written as text), nil (no cell) or anything else (its fmt.Sprint text).
func (w *Writer) Row(cells ...any) error {
	return w.row(styleDefault, cells)
}

func (w *Writer) row(style int, cells []any) error {
	if err := w.check(); err != nil {
		return err
	}
	if w.bw == nil {
		return w.fail(ErrNoSheet)
	}
	if w.rows >= MaxRows {
		return w.fail(ErrTooManyRows)
	}
	if len(cells) > MaxCols {
		return w.fail(ErrTooManyCols)
	}
	w.rows++
	r := strconv.Itoa(w.rows)
	b := w.bw
	b.WriteString(`<row r="` + r + `">`)
	s := ""
	if style != styleDefault {
		s = ` s="` + strconv.Itoa(style) + `"`
	}
	for i, v := range cells {
		ref := ColumnName(i+1) + r
		text, num, ok := "", "", true
		switch x := v.(type) {
		case nil:
			continue
		case string:
			text = x
		case bool:
			if x {
				num = "1"
			} else {
				num = "0"
			}
			b.WriteString(`<c r="` + ref + `"` + s + ` t="b"><v>` + num + `</v></c>`)
			continue
		case int:
			num = strconv.FormatInt(int64(x), 10)
		case int8:
			num = strconv.FormatInt(int64(x), 10)
		case int16:
			num = strconv.FormatInt(int64(x), 10)
		case int32:
			num = strconv.FormatInt(int64(x), 10)
		case int64:
			num = strconv.FormatInt(x, 10)
		case uint:
			num = strconv.FormatUint(uint64(x), 10)
		case uint8:
			num = strconv.FormatUint(uint64(x), 10)
		case uint16:
			num = strconv.FormatUint(uint64(x), 10)
		case uint32:
			num = strconv.FormatUint(uint64(x), 10)
		case uint64:
			num = strconv.FormatUint(x, 10)
		case float32:
			num, ok = formatFloat(float64(x), 32)
		case float64:
			num, ok = formatFloat(x, 64)
		case []byte:
			text = string(x)
		default:
			text = fmt.Sprint(x)
		}
		if !ok { // NaN or an infinity: no number for it in a sheet
			text = num
			num = ""
		}
		if num != "" {
			b.WriteString(`<c r="` + ref + `"` + s + `><v>` + num + `</v></c>`)
			continue
		}
		b.WriteString(`<c r="` + ref + `"` + s + ` t="inlineStr"><is><t`)
		text = cellText(text)
		if text != "" && (isSpace(text[0]) || isSpace(text[len(text)-1])) {
			b.WriteString(` xml:space="preserve"`)
		}
		b.WriteString(`>`)
		escape(b, text)
		b.WriteString(`</t></is></c>`)
	}
	b.WriteString(`</row>`)
	return nil
}

// Close ends the open sheet and writes the workbook parts and the ZIP
// directory. A workbook needs at least one sheet: with none, Close adds an
// empty one.
func (w *Writer) Close() error {
	if err := w.check(); err != nil {
		return err
	}
	if len(w.names) == 0 {
		if err := w.NewSheet(""); err != nil {
			return err
		}
	}
	if err := w.endSheet(); err != nil {
		return w.fail(err)
	}
	w.closed = true
	parts := []struct{ name, body string }{
		{"xl/workbook.xml", w.workbook()},
		{"xl/_rels/workbook.xml.rels", w.workbookRels()},
		{"xl/styles.xml", stylesXML},
		{"_rels/.rels", rootRels},
		{"[Content_Types].xml", w.contentTypes()},
	}
	for _, p := range parts {
		f, err := w.zw.Create(p.name)
		if err == nil {
			_, err = io.WriteString(f, p.body)
		}
		if err != nil {
			w.err = err
			return err
		}
	}
	if err := w.zw.Close(); err != nil {
		w.err = err
		return err
	}
	return nil
}

func (w *Writer) check() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrClosed
	}
	return nil
}

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return w.err
}

func (w *Writer) endSheet() error {
	if w.bw == nil {
		return nil
	}
	w.bw.WriteString(`</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>`)
	err := w.bw.Flush()
	w.bw = nil
	return err
}

// unique makes name differ (ignoring case, as Excel compares) from the
// names already used, with a " (2)", " (3)" ... suffix.
func (w *Writer) unique(name string) string {
	taken := func(n string) bool {
		for _, o := range w.names {
			if strings.EqualFold(o, n) {
				return true
			}
		}
		return false
	}
	if !taken(name) {
		return name
	}
	for i := 2; ; i++ {
		suffix := " (" + strconv.Itoa(i) + ")"
		base := []rune(name)
		if len(base)+utf8.RuneCountInString(suffix) > MaxSheetName {
			base = base[:MaxSheetName-utf8.RuneCountInString(suffix)]
		}
		if n := string(base) + suffix; !taken(n) {
			return n
		}
	}
}

const (
	xmlHeader = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"
	nsMain    = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
	nsRel     = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	nsPkgRel  = "http://schemas.openxmlformats.org/package/2006/relationships"
	relSheet  = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
	relStyles = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
	relDoc    = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
	ctSheet   = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
)

const rootRels = xmlHeader + `<Relationships xmlns="` + nsPkgRel + `">` +
	`<Relationship Id="rId1" Type="` + relDoc + `" Target="xl/workbook.xml"/></Relationships>`

// stylesXML holds the default style (0) and the header style (1): bold
// on a solid DDE6F0 fill. The first two fills are the ones the format
// reserves (none and gray125).
const stylesXML = xmlHeader + `<styleSheet xmlns="` + nsMain + `">` +
	`<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>` +
	`<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>` +
	`<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>` +
	`<fill><patternFill patternType="solid"><fgColor rgb="FFDDE6F0"/></patternFill></fill></fills>` +
	`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
	`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
	`<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>` +
	`<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/></cellXfs>` +
	`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>` +
	`</styleSheet>`

func (w *Writer) workbook() string {
	var b strings.Builder
	b.WriteString(xmlHeader + `<workbook xmlns="` + nsMain + `" xmlns:r="` + nsRel + `">` +
		`<bookViews><workbookView activeTab="0"/></bookViews><sheets>`)
	for i, n := range w.names {
		id := strconv.Itoa(i + 1)
		b.WriteString(`<sheet name="`)
		escape(&b, n)
		b.WriteString(`" sheetId="` + id + `" r:id="rId` + id + `"/>`)
	}
	b.WriteString(`</sheets></workbook>`)
	return b.String()
}

func (w *Writer) workbookRels() string {
	var b strings.Builder
	b.WriteString(xmlHeader + `<Relationships xmlns="` + nsPkgRel + `">`)
	for i := range w.names {
		id := strconv.Itoa(i + 1)
		b.WriteString(`<Relationship Id="rId` + id + `" Type="` + relSheet + `" Target="worksheets/sheet` + id + `.xml"/>`)
	}
	b.WriteString(`<Relationship Id="rId` + strconv.Itoa(len(w.names)+1) + `" Type="` + relStyles + `" Target="styles.xml"/></Relationships>`)
	return b.String()
}

func (w *Writer) contentTypes() string {
	var b strings.Builder
	b.WriteString(xmlHeader + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
		`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>`)
	for i := range w.names {
		b.WriteString(`<Override PartName="/xl/worksheets/sheet` + strconv.Itoa(i+1) + `.xml" ContentType="` + ctSheet + `"/>`)
	}
	b.WriteString(`</Types>`)
	return b.String()
}

// SheetName makes name a valid sheet name: characters invalid in XML and
// the ones Excel forbids ([ ] : * ? / \) become spaces, surrounding spaces
// and apostrophes go, and it is cut to MaxSheetName characters. An empty
// result is "Sheet<n>".
func SheetName(name string, n int) string {
	name = strings.Map(func(r rune) rune {
		switch {
		case !validXMLRune(r):
			return -1
		case strings.ContainsRune(`[]:*?/\`, r):
			return ' '
		}
		return r
	}, strings.ToValidUTF8(name, "\uFFFD"))
	name = strings.Trim(name, " '")
	if utf8.RuneCountInString(name) > MaxSheetName {
		name = strings.TrimRight(string([]rune(name)[:MaxSheetName]), " '")
	}
	if name == "" {
		name = "Sheet" + strconv.Itoa(n)
	}
	return name
}

// ColumnName returns the letters of column col (1 is "A", 27 is "AA").
func ColumnName(col int) string {
	var buf [4]byte
	i := len(buf)
	for col > 0 {
		col--
		i--
		buf[i] = byte('A' + col%26)
		col /= 26
	}
	return string(buf[i:])
}

func formatFloat(v float64, bits int) (string, bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, bits), false
	}
	return strconv.FormatFloat(v, 'f', -1, bits), true
}

// cellText drops what XML 1.0 cannot carry (invalid UTF-8 becomes U+FFFD)
// and cuts the text to MaxCellChars UTF-16 code units.
func cellText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	clean := true
	for _, r := range s {
		if !validXMLRune(r) {
			clean = false
			break
		}
	}
	if !clean {
		s = strings.Map(func(r rune) rune {
			if validXMLRune(r) {
				return r
			}
			return -1
		}, s)
	}
	if len(s) <= MaxCellChars { // bytes ≥ UTF-16 units
		return s
	}
	units := 0
	for i, r := range s {
		units += utf16.RuneLen(r)
		if units > MaxCellChars {
			return s[:i]
		}
	}
	return s
}

// validXMLRune reports the characters XML 1.0 allows (its Char production).
func validXMLRune(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// escape writes s as XML character data, valid in text and in
// double-quoted attributes. A carriage return is written as a reference,
// since a parser would otherwise turn it into a line feed; s must hold
// only valid XML characters (see cellText).
func escape(w io.StringWriter, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&quot;"
		case '\r':
			esc = "&#xD;"
		default:
			continue
		}
		w.WriteString(s[last:i])
		w.WriteString(esc)
		last = i + 1
	}
	w.WriteString(s[last:])
}
