package notify

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/store"
)

// ReportSource renders an organization's report (its scorecard, the
// organizations below it, the top problems) as a PDF in language lang
// ("vi" or "en") as of now. ReportPDFs builds one from package report.
type ReportSource interface {
	OrgReportPDF(ctx context.Context, orgID int64, lang string, now time.Time) ([]byte, error)
}

// reportDue reports whether the digests of t due at now carry the
// organization's report: every weekly digest, and the daily digest of
// Monday (Vietnam time), so each organization gets its report once a week.
func (n *Notifier) reportDue(t store.NotifyTarget, now time.Time) bool {
	if n.opts.Reports == nil {
		return false
	}
	return t.Prefs.DigestPeriod == store.DigestWeekly || now.In(vietnam).Weekday() == time.Monday
}

// reportAttachment renders t's report in language l for the digest of
// period. A report that fails to render is logged and left out: the
// digest still goes.
func (n *Notifier) reportAttachment(ctx context.Context, t store.NotifyTarget, l, period string, now time.Time) *Attachment {
	pdf, err := n.opts.Reports.OrgReportPDF(ctx, t.Org.ID, l, now)
	if err == nil && !bytes.HasPrefix(pdf, []byte("%PDF")) {
		err = errNotPDF
	}
	if err != nil {
		n.opts.Logger.Error("notify: digest report", "org", t.Org.Code, "lang", l, "err", err)
		return nil
	}
	return &Attachment{Name: reportFileName(t.Org.Code, period, l), ContentType: "application/pdf", Data: pdf}
}

var errNotPDF = errors.New("notify: the report source returned something that is not a PDF")

// reportFileName is the attachment's name: rampart-CODE-PERIOD-LANG.pdf,
// the code reduced to letters, digits, '-' and '_'.
func reportFileName(code, period, l string) string {
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, code)
	if safe == "" {
		safe = "org"
	}
	return "rampart-" + safe + "-" + period + "-" + l + ".pdf"
}
