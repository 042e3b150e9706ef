package web

import (
	"math"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// Scorecard is an organization's posture: a score from 0 to 100 and a
// grade from A to F.
type Scorecard struct {
	Score int
	Grade string
}

// Penalty weights of Score (see README.md).
var severityPenalty = map[finding.Severity]float64{
	finding.Critical: 10, finding.High: 5, finding.Medium: 2, finding.Low: 0.5, finding.Info: 0,
}

const (
	kevPenalty     = 10 // per active KEV-listed finding, on top of its severity
	overduePenalty = 2  // per overdue finding, on top of the rest
	densityScale   = 10 // score points lost per penalty point per asset
)

// Score is the one place the console scores an organization's subtree:
//
//	penalty = Σ severity weight of active findings (critical 10, high 5,
//	          medium 2, low 0.5, info 0) + 10 × active KEV-listed
//	          + 2 × overdue
//	score   = round(100 − min(100, 10 × penalty / max(assets, 1)))
//	grade   = A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, F below
//
// The penalty is divided by the number of assets so that a ministry with a
// thousand systems is not failed for the same density of problems that a
// small agency passes with. An organization with no findings scores 100.
func Score(r store.OrgRollup) Scorecard {
	var pen float64
	for sev, n := range r.BySeverity {
		pen += severityPenalty[sev] * float64(n)
	}
	pen += kevPenalty*float64(r.KEV) + overduePenalty*float64(r.Overdue)
	score := 100 - math.Min(100, densityScale*pen/math.Max(float64(r.Assets), 1))
	sc := int(math.Round(score))
	return Scorecard{Score: sc, Grade: grade(sc)}
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
