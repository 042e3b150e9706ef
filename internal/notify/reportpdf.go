package notify

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/report"
)

// ReportPDFs is the ReportSource of package report: report.Build of the
// organization's subtree as the platform sees it (auth.SystemPrincipal,
// so peers are ranked against the whole constituency), with opts
// (report.WithCatalog for the problems' bilingual titles,
// report.WithFrameworks for campaign syntheses), rendered as PDF.
func ReportPDFs(st report.Source, opts ...report.Option) ReportSource {
	return reportPDFs{st: st, opts: opts}
}

type reportPDFs struct {
	st   report.Source
	opts []report.Option
}

func (r reportPDFs) OrgReportPDF(ctx context.Context, orgID int64, lang string, now time.Time) ([]byte, error) {
	if orgID <= 0 {
		// Build reads 0 as the whole constituency: never mail that.
		return nil, fmt.Errorf("notify: report of organization %d", orgID)
	}
	rep, err := report.Build(ctx, r.st, auth.SystemPrincipal, orgID, now, r.opts...)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := report.Render(&b, rep, "pdf", lang); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
