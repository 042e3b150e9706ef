package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/rampart-cert/rampart/internal/transfer"
	"github.com/rampart-cert/rampart/internal/xlsx"
)

// scorecardTable is the per-organization table of CSV and XLSX.
func scorecardTable(r *Report, l loc) (head []string, rows [][]any) {
	head = []string{l.T("code"), l.T("name"), l.T("kind"), l.T("depth"), l.T("score"), l.T("grade"), l.T("penalty"),
		l.T("active"), l.Sev("critical"), l.Sev("high"), l.Sev("medium"), l.Sev("low"), l.Sev("info"),
		l.T("kev"), l.T("overdue"), l.T("debt"), l.T("mttr"), l.T("fixed"), l.T("rank"), l.T("percentile"), l.T("assets"), l.T("units")}
	for _, c := range r.Orgs {
		mttr := any("")
		if c.Fixed > 0 {
			mttr = c.MTTRDays
		}
		rank := ""
		if c.PeerCount > 0 {
			rank = strconv.Itoa(c.Rank) + "/" + strconv.Itoa(c.PeerCount)
		}
		rows = append(rows, []any{c.Org.Code, l.Name(c.Org), string(c.Org.Kind), c.Depth, c.Score, c.Grade, c.Penalty,
			c.Active, c.BySeverity[0], c.BySeverity[1], c.BySeverity[2], c.BySeverity[3], c.BySeverity[4],
			c.KEV, c.Overdue, round2(c.Debt), mttr, c.Fixed, rank, c.Percentile, c.Assets, c.Units})
	}
	return head, rows
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// renderCSV writes the scorecard table, UTF-8 with a byte order mark so
// spreadsheet programs read the diacritics right.
func renderCSV(w io.Writer, r *Report, l loc) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	head, rows := scorecardTable(r, l)
	if err := cw.Write(head); err != nil {
		return err
	}
	rec := make([]string, len(head))
	for _, row := range rows {
		for i, v := range row {
			switch x := v.(type) {
			case float64:
				rec[i] = strconv.FormatFloat(x, 'f', -1, 64)
			case string:
				rec[i] = transfer.SafeCell(x) // names come from members
			default:
				rec[i] = fmt.Sprint(x)
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// renderXLSX writes the sheets with internal/xlsx, which streams rows and
// keeps memory flat for hundreds of thousands of findings. Text goes in as
// inline strings, never formulas, so it is written as it is (the CSV
// export needs transfer.SafeCell; a sheet's text cell does not).
func renderXLSX(w io.Writer, r *Report, l loc) error {
	x := xlsx.NewWriter(w)
	sheet := func(name string, widths []float64, head []string, rows func(add func([]any) error) error) error {
		if err := x.NewSheet(name, widths...); err != nil {
			return err
		}
		if err := x.Header(head...); err != nil {
			return err
		}
		return rows(func(v []any) error { return x.Row(v...) })
	}

	head, rows := scorecardTable(r, l)
	widths := []float64{14, 48, 11, 6, 8, 7, 9}
	if err := sheet(l.T("sheet.scorecards"), widths, head, func(add func([]any) error) error {
		for _, row := range rows {
			if err := add(row); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}

	fhead := []string{l.T("id"), l.T("code"), l.T("check"), l.T("severity"), l.T("kev"), l.T("state"), l.T("target"), l.T("problem"),
		l.T("first_seen"), l.T("due"), l.T("days_overdue")}
	if err := sheet(l.T("sheet.findings"), []float64{9, 14, 28, 12, 6, 13, 34, 48, 12, 12, 10}, fhead, func(add func([]any) error) error {
		for _, x := range r.Findings {
			due := ""
			if x.DueAt != nil {
				due = l.Date(*x.DueAt)
			}
			kev := ""
			if x.KEV {
				kev = "KEV"
			}
			if err := add([]any{x.ID, x.OrgCode, x.Check, l.Sev(x.Severity), kev, string(x.State), x.Target, x.Title,
				l.Date(x.FirstSeen), due, x.DaysOverdue}); err != nil {
				return err
			}
		}
		if r.MoreFindings > 0 {
			return add([]any{fmt.Sprintf(l.T("more_findings"), r.MoreFindings)})
		}
		return nil
	}); err != nil {
		return err
	}

	codes := make(map[int64]string, len(r.Orgs))
	for _, c := range r.Orgs {
		codes[c.Org.ID] = c.Org.Code
	}
	ohead := []string{l.T("id"), l.T("code"), l.T("name") + " (vi)", l.T("name") + " (en)", l.T("kind"), l.T("parent"), l.T("assets")}
	if err := sheet(l.T("sheet.orgs"), []float64{8, 14, 48, 48, 11, 14, 8}, ohead, func(add func([]any) error) error {
		for _, c := range r.Orgs {
			if c.Org.ID == 0 {
				continue
			}
			if err := add([]any{c.Org.ID, c.Org.Code, c.Org.Name, c.Org.NameEN, string(c.Org.Kind), codes[c.Org.ParentID], c.Assets}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}

	if len(r.Assessments) > 0 {
		ahead := []string{l.T("assessment"), l.T("control"), l.T("name"), l.T("implemented"), l.T("partial"), l.T("not_implemented"),
			l.T("not_applicable"), l.T("unanswered"), l.T("compliance")}
		if err := sheet(l.T("sheet.assessment"), []float64{30, 12, 60}, ahead, func(add func([]any) error) error {
			for _, s := range r.Assessments {
				for _, c := range s.Controls {
					rate := any("")
					if c.Rated {
						rate = round2(c.Compliance)
					}
					t := c.Tally
					if err := add([]any{s.Campaign.Title, c.Control.ID, c.Control.Title.In(l.lang), t.Implemented, t.Partial, t.NotImplemented, t.NotApplicable, t.Unanswered, rate}); err != nil {
						return err
					}
				}
				for _, o := range s.Orgs {
					rate := any("")
					if o.Rated {
						rate = round2(o.Compliance)
					}
					t := o.Tally
					if err := add([]any{s.Campaign.Title, o.Org.Code, l.Name(o.Org) + " — " + l.State(o.State), t.Implemented, t.Partial, t.NotImplemented, t.NotApplicable, t.Unanswered, rate}); err != nil {
						return err
					}
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return x.Close() // the first sheet is the active one
}
