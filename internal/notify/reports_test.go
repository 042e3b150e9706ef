package notify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/notify"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// attachment is a decoded attachment of a received mail.
type attachment struct {
	Type, Name string
	Data       []byte
}

// mimeTree returns a received mail's top-level media type and its
// attachments (parts with a Content-Disposition of attachment), decoded.
func mimeTree(t *testing.T, r received) (string, []attachment) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(r.Data))
	must(t, err)
	top, _, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	must(t, err)
	var out []attachment
	var walk func(ct string, body io.Reader)
	walk = func(ct string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(ct)
		must(t, err)
		if !strings.HasPrefix(mt, "multipart/") {
			return
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			must(t, err)
			disp, dp, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
			if disp != "attachment" {
				walk(part.Header.Get("Content-Type"), part)
				continue
			}
			var rd io.Reader = part
			if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
				rd = base64.NewDecoder(base64.StdEncoding, part)
			}
			data, err := io.ReadAll(rd)
			must(t, err)
			pt, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
			out = append(out, attachment{Type: pt, Name: dp["filename"], Data: data})
		}
	}
	walk(m.Header.Get("Content-Type"), m.Body)
	return top, out
}

// pdfText extracts a PDF's text with pdftotext, words joined by one space,
// or "" when pdftotext is not installed.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		return ""
	}
	file := filepath.Join(t.TempDir(), "r.pdf")
	must(t, os.WriteFile(file, pdf, 0o644))
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", file, "-").Output()
	must(t, err)
	return strings.Join(strings.Fields(string(out)), " ")
}

// TestDigestCarriesReportPDF: with Options.Reports from package report,
// Monday's daily digest and every weekly digest carry the organization's
// report as a PDF attachment in the contact's language; other daily
// digests do not; a weekly digest with nothing to list still goes, for
// the report.
func TestDigestCarriesReportPDF(t *testing.T) {
	w := newWorld(t)
	sink := startSMTP(t, &smtpSink{})
	clk := &clock{t: monday9}
	n := w.notifier(t, sink, clk, notify.Options{Reports: notify.ReportPDFs(w.st)})
	w.record(w.asset, monday9.Add(-20*time.Hour), f("http.rce", "Lỗ hổng thực thi mã từ xa trên cổng quản trị", finding.Critical, true))
	w.record(w.unitAsset, monday9.Add(-5*time.Hour), f("dns.axfr", "Cho phép chuyển vùng DNS", finding.High, false))
	must(t, n.SendDue(w.ctx, monday9))

	for _, c := range []struct {
		to, lang, code, file string
		text                 []string // in the PDF
		note                 string   // in the mail
	}{
		{"an@attt.gov.vn", "vi", "CUC-ATTT", "rampart-CUC-ATTT-2026-11-23-vi.pdf", []string{"Báo cáo an toàn thông tin Cục An toàn thông tin", "TT-GSAT", "Điểm / Xếp loại"},
			"Kèm theo thư này là báo cáo an toàn thông tin"},
		{"bob@attt.gov.vn", "en", "CUC-ATTT", "rampart-CUC-ATTT-2026-11-23-en.pdf", []string{"Security report Authority of Information Security", "Cyber Monitoring Centre", "Score / Grade"},
			"Attached is the security report of Authority of Information Security"},
		{"chi@mic.gov.vn", "vi", "BTTTT", "rampart-BTTTT-2026-11-23-vi.pdf", []string{"Báo cáo an toàn thông tin Bộ Thông tin và Truyền thông", "CUC-ATTT"},
			"Kèm theo thư này"},
	} {
		got := sink.to(c.to)
		if len(got) != 1 {
			t.Fatalf("%s got %d digests", c.to, len(got))
		}
		top, atts := mimeTree(t, got[0])
		if top != "multipart/mixed" || len(atts) != 1 {
			t.Fatalf("%s: %s with %d attachments", c.to, top, len(atts))
		}
		a := atts[0]
		if a.Type != "application/pdf" || a.Name != c.file || !bytes.HasPrefix(a.Data, []byte("%PDF-")) || !bytes.Contains(a.Data[max(len(a.Data)-32, 0):], []byte("%%EOF")) {
			t.Fatalf("%s: attachment %s %q, %d bytes starting %q", c.to, a.Type, a.Name, len(a.Data), a.Data[:min(len(a.Data), 8)])
		}
		if text := pdfText(t, a.Data); text != "" {
			for _, want := range c.text {
				if !strings.Contains(text, want) {
					t.Errorf("%s: the report lacks %q", c.to, want)
				}
			}
		}
		p := parse(t, got[0]) // text and HTML parts are intact beside it
		if !strings.Contains(p.Text, c.note) || !strings.Contains(p.HTML, c.note) || !strings.Contains(p.Text, c.file) {
			t.Errorf("%s: the digest does not mention its report:\n%s", c.to, p.Text)
		}
		if !strings.Contains(p.Text, "Lỗ hổng thực thi mã từ xa") && c.to != "chi@mic.gov.vn" {
			t.Errorf("%s: the digest lost its findings:\n%s", c.to, p.Text)
		}
	}

	// Tuesday's daily digest has no report.
	w.record(w.asset, monday9.Add(5*time.Hour), f("http.dirlist", "Liệt kê thư mục", finding.Low, false))
	tue := monday9.AddDate(0, 0, 1)
	must(t, n.SendDue(w.ctx, tue))
	an := sink.to("an@attt.gov.vn")
	if len(an) != 2 {
		t.Fatalf("Tuesday: %d digests for an", len(an))
	}
	if top, atts := mimeTree(t, an[1]); top != "multipart/alternative" || len(atts) != 0 {
		t.Fatalf("Tuesday's digest: %s with %d attachments", top, len(atts))
	}

	// The ministry goes weekly on Wednesday: one digest that week, with
	// its report.
	np, err := w.st.GetNotifyPrefs(w.ctx, sys, w.min.ID)
	must(t, err)
	np.DigestPeriod, np.DigestWeekday = store.DigestWeekly, time.Wednesday
	must(t, w.st.SetNotifyPrefs(w.ctx, sys, &np))
	// A province with a contact and nothing found goes weekly on Monday:
	// its digest lists nothing but still goes, for the report.
	hn := org.Organization{ParentID: w.nat.ID, Code: "HN", Name: "Thành phố Hà Nội", NameEN: "Hanoi", Kind: org.KindProvince}
	must(t, w.st.CreateOrg(w.ctx, sys, &hn))
	w.contact(hn, "Phạm Hà", "ha@hanoi.gov.vn", "vi")
	hp := store.DefaultNotifyPrefs(hn.ID)
	hp.DigestPeriod = store.DigestWeekly
	must(t, w.st.SetNotifyPrefs(w.ctx, sys, &hp))
	nextMon := monday9.AddDate(0, 0, 7)
	before := len(sink.to("chi@mic.gov.vn"))
	for d := range 5 { // Monday to Friday
		must(t, n.SendDue(w.ctx, nextMon.AddDate(0, 0, d)))
	}
	chi := sink.to("chi@mic.gov.vn")[before:]
	if len(chi) != 1 {
		t.Fatalf("weekly: %d digests to chi", len(chi))
	}
	_, atts := mimeTree(t, chi[0])
	if len(atts) != 1 || atts[0].Name != "rampart-BTTTT-2026-W49-vi.pdf" || !bytes.HasPrefix(atts[0].Data, []byte("%PDF")) {
		t.Fatalf("weekly report: %+v", atts)
	}
	if p := parse(t, chi[0]); !strings.Contains(p.Subject, "tuần 49/2026") || !strings.Contains(p.Text, "rampart-BTTTT-2026-W49-vi.pdf") {
		t.Errorf("weekly digest: %q\n%s", p.Subject, p.Text)
	}
	ha := sink.to("ha@hanoi.gov.vn")
	if len(ha) != 1 {
		t.Fatalf("the empty weekly digest went %d times", len(ha))
	}
	if _, atts := mimeTree(t, ha[0]); len(atts) != 1 || atts[0].Name != "rampart-HN-2026-W49-vi.pdf" {
		t.Fatalf("empty weekly digest's report: %+v", atts)
	}
	if p := parse(t, ha[0]); !strings.Contains(p.Text, "Trong kỳ này không có phát hiện nào cần chú ý.") || strings.Contains(p.Text, "==") {
		t.Errorf("empty weekly digest:\n%s", p.Text)
	}
	// The attachment is in the stored payload: a retry sends the same bytes.
	for _, d := range w.deliveries(store.DeliveryFilter{Kind: store.NotifyDigest}) {
		if d.State != store.DeliverySent {
			t.Errorf("digest %s: %s (%s)", d.Key, d.State, d.LastError)
		}
	}
}

// failingReports is a ReportSource that fails, or returns what is not a PDF.
type failingReports struct{ out []byte }

func (r failingReports) OrgReportPDF(context.Context, int64, string, time.Time) ([]byte, error) {
	if r.out != nil {
		return r.out, nil
	}
	return nil, errors.New("report store unavailable")
}

// TestDigestWithoutTheReportWhenItFails: a report that cannot be built is
// logged and the digest goes without it.
func TestDigestWithoutTheReportWhenItFails(t *testing.T) {
	for _, src := range []failingReports{{}, {out: []byte("<html>")}} {
		w := newWorld(t)
		sink := startSMTP(t, &smtpSink{})
		clk := &clock{t: monday9}
		var logs logBuffer
		n := w.notifier(t, sink, clk, notify.Options{Reports: src, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		w.record(w.asset, monday9.Add(-time.Hour), f("http.rce", "Lỗ hổng RCE", finding.Critical, false))
		must(t, n.SendDue(w.ctx, monday9))
		an := sink.to("an@attt.gov.vn")
		if len(an) != 1 {
			t.Fatalf("%d digests", len(an))
		}
		if top, atts := mimeTree(t, an[0]); top != "multipart/alternative" || len(atts) != 0 {
			t.Fatalf("digest without its report: %s with %d attachments", top, len(atts))
		}
		if p := parse(t, an[0]); strings.Contains(p.Text, "Kèm theo") || !strings.Contains(p.Text, "Lỗ hổng RCE") {
			t.Errorf("digest:\n%s", p.Text)
		}
		if !strings.Contains(logs.String(), "digest report") || !strings.Contains(logs.String(), "CUC-ATTT") {
			t.Errorf("the failed report is not logged:\n%s", logs.String())
		}
	}
}
