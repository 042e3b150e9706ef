package report

import (
	"math"
	"testing"

	"github.com/rampart-cert/rampart/internal/finding"
)

func TestScore(t *testing.T) {
	sev := func(kv ...any) map[finding.Severity]int {
		m := map[finding.Severity]int{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(finding.Severity)] = kv[i+1].(int)
		}
		return m
	}
	cases := []struct {
		name    string
		e       Exposure
		score   float64
		grade   string
		penalty float64
	}{
		{"clean", Exposure{}, 100, "A", 0},
		{"info only", Exposure{BySeverity: sev(finding.Info, 50)}, 100, "A", 0},
		{"two mediums", Exposure{BySeverity: sev(finding.Medium, 2)}, 90.5, "A", 4},
		{"one high", Exposure{BySeverity: sev(finding.High, 1)}, 88.2, "B", 5},
		{"one critical", Exposure{BySeverity: sev(finding.Critical, 1)}, 77.9, "C", 10},
		{"high KEV in time", Exposure{BySeverity: sev(finding.High, 1), KEV: 1}, 68.7, "D", 15},
		// critical KEV 14 days overdue: 10 + 10 + DebtWeight = 20 × (1 + 14/30)
		{"critical KEV overdue", Exposure{BySeverity: sev(finding.Critical, 1), KEV: 1, Debt: finding.DebtWeight(finding.Critical, true, 14)}, 29.1, "F", 49.33},
		{"boundary A", Exposure{Debt: 40 * math.Log(100/90.0)}, 90, "A", 4.21},
		{"spread over 10 units", Exposure{BySeverity: sev(finding.Critical, 10), Units: 10}, 77.9, "C", 100},
		{"units 0 is 1", Exposure{BySeverity: sev(finding.Critical, 1), Units: 0}, 77.9, "C", 10},
		{"many", Exposure{BySeverity: sev(finding.Critical, 40, finding.High, 100), KEV: 12}, 0, "F", 1020},
	}
	for _, c := range cases {
		r := Score(c.e)
		if r.Score != c.score || r.Grade != c.grade || math.Abs(r.Penalty-c.penalty) > 0.01 {
			t.Errorf("%s: Score = %+v, want %v %s penalty %v", c.name, r, c.score, c.grade, c.penalty)
		}
	}
	// Grades follow the rounded score.
	for _, g := range []struct {
		s     float64
		grade string
	}{{100, "A"}, {90, "A"}, {89.9, "B"}, {80, "B"}, {79.9, "C"}, {70, "C"}, {60, "D"}, {59.9, "F"}} {
		p := -40 * math.Log(g.s/100)
		if r := Score(Exposure{Debt: p}); r.Grade != g.grade {
			t.Errorf("score %v: grade %s, want %s", r.Score, r.Grade, g.grade)
		}
	}
}

// The severity weights are the ones of compliance debt.
func TestSeverityWeightMatchesDebt(t *testing.T) {
	for _, s := range finding.Severities {
		if got, want := SeverityWeight(s), finding.DebtWeight(s, false, 30)/2; got != want {
			t.Errorf("%s: weight %v, debt weight %v", s, got, want)
		}
	}
}
