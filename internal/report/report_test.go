package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

var (
	update    = flag.Bool("update", false, "rewrite golden files")
	sampleOut = flag.String("sample", "", "write the sample national report PDF here (docs/report-sample.pdf)")
)

func TestBuildNational(t *testing.T) {
	s := newSample(t)
	r := s.build(t, s.admin, "VN")
	if r.Level != "national" || r.Root.Org.Code != "VN" || len(r.Orgs) != 13 || len(r.Children) != 4 {
		t.Fatalf("report: level %s root %s orgs %d children %d", r.Level, r.Root.Org.Code, len(r.Orgs), len(r.Children))
	}
	// 17 findings seeded, 4 fixed: 13 active.
	if r.Root.Active != 13 || r.Root.KEV != 2 || len(r.Findings) != 13 || r.Root.Fixed != 4 || r.Root.MTTRDays != 30 {
		t.Fatalf("root = %+v", r.Root)
	}
	by := map[string]Scorecard{}
	for _, c := range r.Orgs {
		by[c.Org.Code] = c
	}
	// Da Nang's department: one high, first seen 5 days ago (due in 30):
	// penalty 5, one unit → 100·e^(−5/40) = 88.2, B.
	if c := by["STTTT-DN"]; c.Score != 88.2 || c.Grade != "B" || c.Penalty != 5 || c.PeerCount != 1 || c.Percentile != 100 {
		t.Errorf("STTTT-DN = %+v", c)
	}
	// The province rolls it up: same exposure, same single unit.
	if c := by["DN"]; c.Score != 88.2 || c.Units != 1 {
		t.Errorf("DN = %+v", c)
	}
	// Cục An toàn thông tin: one low (penalty 1) → 97.5 A; the expiring
	// certificate was fixed 30 days after it was seen.
	if c := by["CUC-ATTT"]; c.Score != 97.5 || c.Grade != "A" || c.Fixed != 1 || c.MTTRDays != 30 {
		t.Errorf("CUC-ATTT = %+v", c)
	}
	// Ministry of IT: 3 agencies with assets; MTTR over both fixes (30, 20).
	if c := by["BTTTT"]; c.Units != 3 || c.Fixed != 2 || c.MTTRDays != 25 || c.PeerCount != 4 {
		t.Errorf("BTTTT = %+v", c)
	}
	for _, c := range r.Orgs {
		if want := Score(exposure(&c)); want != c.Result {
			t.Errorf("%s: result %+v, Score gives %+v", c.Org.Code, c.Result, want)
		}
	}
	// Peers rank: among the four children of VN, ranks are 1..4 and the
	// best has percentile 100.
	ranks := map[int]bool{}
	for _, c := range r.Children {
		ranks[c.Rank] = true
		if c.Rank == 1 && c.Percentile != 100 {
			t.Errorf("best child %s percentile %v", c.Org.Code, c.Percentile)
		}
	}
	if len(ranks) < 3 {
		t.Errorf("children ranks %v", ranks)
	}
	if len(r.Top) == 0 || r.Top[0].Check != "vuln.known-cve" || r.Top[0].Title.VI == "" || r.Top[0].Orgs != 2 {
		t.Errorf("top = %+v", r.Top)
	}
	if len(r.Assessments) != 1 || r.Assessments[0].Submitted != 3 || r.Assessments[0].Targets != 8 {
		t.Fatalf("assessments = %+v", r.Assessments)
	}
}

func TestBuildTenancy(t *testing.T) {
	s := newSample(t)
	hn := auth.Principal{Name: "hn", Role: auth.RoleViewer, OrgID: s.orgs["HN"].ID}
	_, err := Build(context.Background(), s.st, hn, s.orgs["BTTTT"].ID, sampleNow)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("foreign root: %v", err)
	}
	r, err := Build(context.Background(), s.st, hn, 0, sampleNow)
	if err != nil {
		t.Fatal(err)
	}
	if r.Root.Org.Code != "HN" || r.Level != "province" || len(r.Orgs) != 3 || r.Root.PeerCount != 0 {
		t.Fatalf("HN report: root %s level %s orgs %d peers %d", r.Root.Org.Code, r.Level, len(r.Orgs), r.Root.PeerCount)
	}
	for _, f := range r.Findings {
		if f.OrgCode != "STTTT-HN" && f.OrgCode != "SYT-HN" {
			t.Errorf("HN sees finding of %s", f.OrgCode)
		}
	}
	// A platform-wide analyst without an organization gets the whole.
	an := auth.Principal{Name: "analyst", Role: auth.RoleAnalyst}
	r, err = Build(context.Background(), s.st, an, 0, sampleNow)
	if err != nil || r.Root.Org.Code != "VN" {
		t.Fatalf("analyst: %v %+v", err, r.Root.Org)
	}
}

func TestRenderPDFText(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext is not installed (apt-get install poppler-utils)")
	}
	s := newSample(t)
	r := s.build(t, s.admin, "VN")
	for _, c := range []struct {
		lang string
		want []string
	}{
		{"vi", []string{"Báo cáo an toàn thông tin", "Việt Nam", "Điểm", "Xếp loại", "Bộ Thông tin và Truyền thông", "Thành phố Đà Nẵng",
			"Lỗ hổng theo mức độ", "Nghiêm trọng", "Vấn đề hàng đầu", "Phiên bản phần mềm có lỗ hổng đã biết", "Sở Y tế Hà Nội",
			"Tổng hợp tự đánh giá", "Tự đánh giá an toàn thông tin năm 2026", "Có kế hoạch ứng phó sự cố được phê duyệt", "Tiêu chí"}},
		{"en", []string{"Security report", "Score", "Ministry of Information and Communications", "Findings by severity", "Top problems",
			"Self-assessment synthesis"}},
	} {
		var buf bytes.Buffer
		if err := Render(&buf, r, "pdf", c.lang); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
			t.Fatal("not a PDF")
		}
		file := filepath.Join(t.TempDir(), "r.pdf")
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("pdftotext", "-enc", "UTF-8", file, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(strings.Fields(string(out)), " ")
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: PDF text lacks %q", c.lang, w)
			}
		}
	}
}

func TestRenderXLSXRoundTrip(t *testing.T) {
	s := newSample(t)
	r := s.build(t, s.admin, "VN")
	var buf bytes.Buffer
	if err := Render(&buf, r, "xlsx", "vi"); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); strings.Join(got, ",") != "Điểm số,Lỗ hổng,Tổ chức,Tự đánh giá" {
		t.Fatalf("sheets = %v", got)
	}
	rows, err := f.GetRows("Điểm số")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 14 || rows[0][0] != "Mã" || rows[0][4] != "Điểm" {
		t.Fatalf("scorecards: %d rows, header %v", len(rows), rows[0])
	}
	found := false
	for _, row := range rows {
		if row[0] == "BTTTT" && row[1] == "Bộ Thông tin và Truyền thông" {
			found = true
		}
		if row[0] == "STTTT-DN" && (row[4] != "88.2" || row[5] != "B") {
			t.Errorf("STTTT-DN row %v", row)
		}
	}
	if !found {
		t.Error("no row for Bộ Thông tin và Truyền thông")
	}
	frows, _ := f.GetRows("Lỗ hổng")
	if len(frows) != 14 || frows[1][3] != "Nghiêm trọng" {
		t.Fatalf("findings sheet: %d rows, first %v", len(frows), frows[1])
	}
	orows, _ := f.GetRows("Tổ chức")
	if len(orows) != 14 || orows[1][2] != "Việt Nam" {
		t.Fatalf("organizations sheet %v", orows[:2])
	}
	arows, _ := f.GetRows("Tự đánh giá")
	if len(arows) < 10 || !strings.Contains(strings.Join(arows[1], "|"), "Tự đánh giá an toàn thông tin năm 2026") {
		t.Fatalf("assessment sheet %v", arows[:2])
	}
}

func TestRenderCSV(t *testing.T) {
	s := newSample(t)
	r := s.build(t, s.admin, "VN")
	var buf bytes.Buffer
	if err := Render(&buf, r, "csv", "vi"); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(buf.Bytes(), []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 14 || recs[0][1] != "Tên" || recs[1][1] != "Việt Nam" {
		t.Fatalf("csv = %v", recs[:2])
	}
	if err := Render(&buf, r, "docx", "vi"); err == nil {
		t.Fatal("unknown format accepted")
	}
	if err := Render(&buf, r, "csv", "fr"); err == nil {
		t.Fatal("unknown language accepted")
	}
}

func TestRenderHTMLGolden(t *testing.T) {
	s := newSample(t)
	r := s.build(t, s.admin, "VN")
	for _, lang := range []string{"vi", "en"} {
		var buf bytes.Buffer
		if err := Render(&buf, r, "html", lang); err != nil {
			t.Fatal(err)
		}
		html := buf.String()
		for _, bad := range []string{"<link", "<script", " src=", "url("} {
			if strings.Contains(html, bad) {
				t.Errorf("%s: HTML is not self-contained: %q", lang, bad)
			}
		}
		golden := filepath.Join("testdata", "national_"+lang+".html")
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if !bytes.Equal(want, buf.Bytes()) {
			t.Errorf("%s differs from the golden file; run go test ./internal/report -run HTMLGolden -update and review the diff", golden)
		}
	}
}

// TestSample writes docs/report-sample.pdf when asked:
//
//	go test ./internal/report -run TestSample -sample ../../docs/report-sample.pdf
//	pdftoppm -png -r 60 -f 1 -l 1 -singlefile docs/report-sample.pdf docs/report-sample
func TestSample(t *testing.T) {
	if *sampleOut == "" {
		t.Skip("no -sample file")
	}
	s := newSample(t)
	r := s.build(t, s.admin, "VN")
	var buf bytes.Buffer
	if err := Render(&buf, r, "pdf", "vi"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(*sampleOut, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBuildLikelihoodOrder: with WithLikelihoodOrder the findings table
// starts with the KEV-listed findings and never puts a less likely finding
// (finding.Likelihood) before a more likely one.
func TestBuildLikelihoodOrder(t *testing.T) {
	s := newSample(t)
	r, err := Build(context.Background(), s.st, s.admin, s.orgs["VN"].ID, sampleNow, WithLikelihoodOrder())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 13 || !r.Findings[0].KEV || !r.Findings[1].KEV || r.Findings[2].KEV {
		t.Fatalf("KEV-listed findings are not first: %+v", r.Findings)
	}
	for i := 1; i < len(r.Findings); i++ {
		a, b := r.Findings[i-1], r.Findings[i]
		x := finding.Finding{KEV: a.KEV, EPSS: a.EPSS, Severity: a.Severity}
		y := finding.Finding{KEV: b.KEV, EPSS: b.EPSS, Severity: b.Severity}
		if finding.Likelihood(&x, &y) > 0 {
			t.Fatalf("row %d (%s %v) before row %d (%s %v)", i-1, a.Check, a.Severity, i, b.Check, b.Severity)
		}
	}
	bySeverity := s.build(t, s.admin, "VN")
	if bySeverity.Findings[0].Severity != finding.Critical {
		t.Fatalf("the default order starts with %s", bySeverity.Findings[0].Severity)
	}
}
