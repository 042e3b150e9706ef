package web

import (
	"math"

	"github.com/rampart-cert/rampart/internal/report"
	"github.com/rampart-cert/rampart/internal/store"
)

// Scorecard is an organization's posture: a score from 0 to 100 and a
// grade from A to F.
type Scorecard struct {
	Score int
	Grade string
}

// Score scores an organization's subtree with the platform's one formula,
// report.Score (docs/scoring.md), so the console, the reports and the
// scorecards agree.
func Score(r store.OrgRollup) Scorecard {
	res := report.Score(report.Exposure{BySeverity: r.BySeverity, KEV: r.KEV, Debt: r.Weighted, Units: r.Units})
	return Scorecard{Score: int(math.Round(res.Score)), Grade: res.Grade}
}

func grade(score int) string {
	switch {
	case score >= 90:
		return "A"
	case score >= 80:
		return "B"
	case score >= 70:
		return "C"
	case score >= 60:
		return "D"
	}
	return "F"
}
