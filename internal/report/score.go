package report

import (
	"math"

	"github.com/rampart-cert/rampart/internal/finding"
)

// Exposure is what a score is computed from: the active findings (open,
// acknowledged, reopened) of an organization's subtree. It is exactly what
// store.OrgDebt holds, plus the number of organizations that own assets.
type Exposure struct {
	BySeverity map[finding.Severity]int // active findings by severity
	KEV        int                      // active findings listed in the KEV catalog
	Debt       float64                  // Σ finding.DebtWeight of the overdue ones
	// Units is the number of organizations of the subtree that own at
	// least one asset; 0 counts as 1. It spreads a roll-up's penalty over
	// its members, so a ministry of fifty agencies is not graded as one
	// agency with fifty agencies' problems.
	Units int
}

// Scoring constants; docs/scoring.md explains them.
const (
	// ScaleK is the penalty per unit at which the score falls to 100/e ≈ 37.
	ScaleK = 40.0
	// KEVSurcharge is added for each active KEV-listed finding, on top of
	// its severity weight: exploited in the wild, it is as urgent as a
	// critical whatever its CVSS says.
	KEVSurcharge = 10.0
)

// SeverityWeight is the weight of one active finding: critical 10, high 5,
// medium 2, low 1, info 0 — the same weights as finding.DebtWeight.
func SeverityWeight(s finding.Severity) float64 {
	switch s {
	case finding.Critical:
		return 10
	case finding.High:
		return 5
	case finding.Medium:
		return 2
	case finding.Low:
		return 1
	}
	return 0
}

// Result is a score with its grade and the penalty it came from.
type Result struct {
	Score   float64 `json:"score"` // 0-100, one decimal
	Grade   string  `json:"grade"` // A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, F
	Penalty float64 `json:"penalty"`
}

// Score is the one scoring formula of Rampart (docs/scoring.md):
//
//	penalty = Σ active SeverityWeight + KEVSurcharge × active KEV + debt
//	score   = 100 × exp(−penalty / (ScaleK × max(1, units)))
//
// rounded to one decimal; the grade is read from the rounded score.
func Score(e Exposure) Result {
	var p float64
	for sev, n := range e.BySeverity {
		p += SeverityWeight(sev) * float64(n)
	}
	p += KEVSurcharge*float64(e.KEV) + e.Debt
	units := float64(max(1, e.Units))
	s := math.Round(1000*math.Exp(-p/(ScaleK*units))) / 10
	g := "F"
	switch {
	case s >= 90:
		g = "A"
	case s >= 80:
		g = "B"
	case s >= 70:
		g = "C"
	case s >= 60:
		g = "D"
	}
	return Result{Score: s, Grade: g, Penalty: math.Round(p*100) / 100}
}
