package xlsx

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// write builds a workbook with fn and returns its bytes.
func write(t *testing.T, fn func(w *Writer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := fn(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func open(t *testing.T, b []byte) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestExcelizeReadsWorkbook writes sheets as a report does and reads them
// back with excelize: names, order, active sheet, header style, values
// and their types, Vietnamese text, widths.
func TestExcelizeReadsWorkbook(t *testing.T) {
	b := write(t, func(w *Writer) error {
		if err := w.NewSheet("Điểm số", 14, 48, 0, 6); err != nil {
			return err
		}
		if err := w.Header("Mã", "Tên", "Loại", "Điểm"); err != nil {
			return err
		}
		if err := w.Row("BTTTT", "Bộ Thông tin và Truyền thông", "ministry", 88.2); err != nil {
			return err
		}
		if err := w.Row("STTTT-DN", "Sở Thông tin và Truyền thông Đà Nẵng", nil, int64(71)); err != nil {
			return err
		}
		if err := w.Row("=HYPERLINK(\"http://x\")", "a < b & \"c\" > d", "  lề  ", true, uint8(7), float32(0.5), []byte("bytes"), errors.New("lỗi")); err != nil {
			return err
		}
		if err := w.NewSheet("Lỗ hổng"); err != nil {
			return err
		}
		if err := w.Header("Mức độ"); err != nil {
			return err
		}
		return w.Row("Nghiêm trọng")
	})
	f := open(t, b)

	if got := strings.Join(f.GetSheetList(), ","); got != "Điểm số,Lỗ hổng" {
		t.Fatalf("sheets = %s", got)
	}
	if i := f.GetActiveSheetIndex(); i != 0 {
		t.Errorf("active sheet = %d, want 0", i)
	}
	rows, err := f.GetRows("Điểm số")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"Mã", "Tên", "Loại", "Điểm"},
		{"BTTTT", "Bộ Thông tin và Truyền thông", "ministry", "88.2"},
		{"STTTT-DN", "Sở Thông tin và Truyền thông Đà Nẵng", "", "71"},
		{"=HYPERLINK(\"http://x\")", "a < b & \"c\" > d", "  lề  ", "TRUE", "7", "0.5", "bytes", "lỗi"},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows = %q", rows)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i+1, rows[i], want[i])
		}
	}

	// The header is bold on the light fill; a body cell is not.
	for _, c := range []string{"A1", "D1"} {
		id, err := f.GetCellStyle("Điểm số", c)
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.GetStyle(id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Font == nil || !st.Font.Bold {
			t.Errorf("%s: font %+v, want bold", c, st.Font)
		}
		if st.Fill.Type != "pattern" || st.Fill.Pattern != 1 {
			t.Errorf("%s: fill %+v, want solid", c, st.Fill)
		}
		// excelize reports a fill's colour only in a workbook with a
		// theme; read it from styles.xml.
		if got := fillColor(t, b, id); got != "FFDDE6F0" {
			t.Errorf("%s: fill colour %q, want FFDDE6F0", c, got)
		}
	}
	if id, _ := f.GetCellStyle("Điểm số", "A2"); id != 0 {
		t.Errorf("A2 style = %d, want the default", id)
	}

	// Numbers are numbers, text is text: a formula-like string is not a
	// formula.
	// (A number cell carries no t attribute: "n" is the default.)
	for cell, want := range map[string]excelize.CellType{"D2": excelize.CellTypeUnset, "D3": excelize.CellTypeUnset,
		"A4": excelize.CellTypeInlineString, "D4": excelize.CellTypeBool} {
		if got, err := f.GetCellType("Điểm số", cell); err != nil || got != want {
			t.Errorf("%s type = %v (%v), want %v", cell, got, err, want)
		}
	}
	if fm, _ := f.GetCellFormula("Điểm số", "A4"); fm != "" {
		t.Errorf("A4 has formula %q", fm)
	}
	if v, _ := f.GetCellValue("Điểm số", "D3", excelize.Options{RawCellValue: true}); v != "71" {
		t.Errorf("D3 raw = %q", v)
	}

	if w, _ := f.GetColWidth("Điểm số", "B"); w != 48 {
		t.Errorf("width of B = %v, want 48", w)
	}
	frows, _ := f.GetRows("Lỗ hổng")
	if len(frows) != 2 || frows[1][0] != "Nghiêm trọng" {
		t.Errorf("second sheet = %q", frows)
	}
}

// fillColor returns the foreground colour of the fill of cell style xf.
func fillColor(t *testing.T, b []byte, xf int) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open("xl/styles.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var ss struct {
		Fills []struct {
			FG struct {
				RGB string `xml:"rgb,attr"`
			} `xml:"patternFill>fgColor"`
		} `xml:"fills>fill"`
		XFs []struct {
			FillID int `xml:"fillId,attr"`
		} `xml:"cellXfs>xf"`
	}
	if err := xml.NewDecoder(rc).Decode(&ss); err != nil {
		t.Fatal(err)
	}
	if xf >= len(ss.XFs) || ss.XFs[xf].FillID >= len(ss.Fills) {
		t.Fatalf("style %d not in styles.xml", xf)
	}
	return ss.Fills[ss.XFs[xf].FillID].FG.RGB
}

// TestHostileText: characters XML 1.0 cannot carry are dropped, a carriage
// return survives, overlong text is cut at Excel's limit, and every part is
// well-formed XML.
func TestHostileText(t *testing.T) {
	long := strings.Repeat("ệ", MaxCellChars+10)
	b := write(t, func(w *Writer) error {
		if err := w.NewSheet("x"); err != nil {
			return err
		}
		return w.Row("a\x00b\x1bc\uFFFEd\xffe", "dòng 1\r\ndòng 2\ttab", long, math.NaN(), math.Inf(-1), "]]></t><t>")
	})
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(rc)
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", zf.Name, err)
			}
		}
		rc.Close()
	}
	f := open(t, b)
	rows, err := f.GetRows("x")
	if err != nil {
		t.Fatal(err)
	}
	got := rows[0]
	if got[0] != "abcd\uFFFDe" {
		t.Errorf("A1 = %q", got[0])
	}
	if got[1] != "dòng 1\r\ndòng 2\ttab" {
		t.Errorf("B1 = %q", got[1])
	}
	if n := len([]rune(got[2])); n != MaxCellChars {
		t.Errorf("C1 has %d characters, want %d", n, MaxCellChars)
	}
	if got[3] != "NaN" || got[4] != "-Inf" || got[5] != "]]></t><t>" {
		t.Errorf("D1:F1 = %q", got[3:])
	}
}

func TestSheetNames(t *testing.T) {
	b := write(t, func(w *Writer) error {
		for _, n := range []string{"a/b:c", "'quoted'", "", "Tự đánh giá an toàn thông tin năm 2026 của các tổ chức", "dup", "DUP", "[*?\\]"} {
			if err := w.NewSheet(n); err != nil {
				return err
			}
		}
		return nil
	})
	f := open(t, b)
	want := []string{"a b c", "quoted", "Sheet3", "Tự đánh giá an toàn thông tin n", "dup", "DUP (2)", "Sheet7"}
	if got := f.GetSheetList(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("sheets = %q, want %q", got, want)
	}
}

func TestEmptyWorkbookAndErrors(t *testing.T) {
	f := open(t, write(t, func(*Writer) error { return nil }))
	if got := f.GetSheetList(); len(got) != 1 || got[0] != "Sheet1" {
		t.Errorf("empty workbook sheets = %q", got)
	}

	w := NewWriter(io.Discard)
	if err := w.Row("x"); !errors.Is(err, ErrNoSheet) {
		t.Errorf("row before a sheet: %v", err)
	}
	if err := w.Close(); !errors.Is(err, ErrNoSheet) {
		t.Errorf("close after an error: %v, want the first error", err)
	}

	w = NewWriter(io.Discard)
	if err := w.NewSheet("s"); err != nil {
		t.Fatal(err)
	}
	if err := w.Row(make([]any, MaxCols+1)...); !errors.Is(err, ErrTooManyCols) {
		t.Errorf("too many columns: %v", err)
	}

	w = NewWriter(io.Discard)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.NewSheet("late"); !errors.Is(err, ErrClosed) {
		t.Errorf("sheet after close: %v", err)
	}
}

func TestColumnName(t *testing.T) {
	for col, want := range map[int]string{1: "A", 26: "Z", 27: "AA", 52: "AZ", 53: "BA", 702: "ZZ", 703: "AAA", MaxCols: "XFD"} {
		if got := ColumnName(col); got != want {
			t.Errorf("ColumnName(%d) = %q, want %q", col, got, want)
		}
	}
}

// BenchmarkRows is the cost of one 11-cell findings row.
func BenchmarkRows(b *testing.B) {
	w := NewWriter(io.Discard)
	if err := w.NewSheet("Findings", 9, 14, 28, 12, 6, 13, 34, 48, 12, 12, 10); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop() && i < MaxRows-1; i++ {
		if err := w.Row(int64(i), "STTTT-DN", "tls.cert-expired", "Nghiêm trọng", "KEV", "open", "https://dn.gov.vn:443",
			"Chứng chỉ TLS đã hết hạn", "2026-12-01", "2026-12-15", 3); err != nil {
			b.Fatal(err)
		}
	}
}
