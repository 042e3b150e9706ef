package web

import (
	"encoding/xml"
	"github.com/rampart-cert/rampart/internal/report"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// wellFormed parses svg as XML and counts its <title> elements.
func wellFormed(t *testing.T, svg string) int {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	titles := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return titles
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "title" {
			titles++
		}
	}
}

func TestCharts(t *testing.T) {
	c, _ := loadCatalogs()
	en := c.get("en")
	svg := string(severityChart(en, "s", map[finding.Severity]int{finding.Critical: 3, finding.High: 1200}))
	if n := wellFormed(t, svg); n != 6 || !strings.Contains(svg, "<title>High: 1,200</title>") || !strings.Contains(svg, `role="img"`) {
		t.Fatalf("severity chart: %d titles\n%s", n, svg)
	}
	bars := []bar{{Label: `<b>"A&B"</b>`, Value: 5, Href: "/orgs/1"}, {Label: "Bộ Thông tin và Truyền thông Việt Nam rất dài", Value: 0}}
	svg = string(barList(c.get("vi"), "b", "t", bars))
	if wellFormed(t, svg) != 3 || strings.Contains(svg, "<b>") || !strings.Contains(svg, "…") {
		t.Fatalf("bar list not escaped or not shortened:\n%s", svg)
	}
	if svg := string(barList(en, "e", "t", nil)); !strings.Contains(svg, "No data") {
		t.Fatal("empty bar list says nothing")
	}
	var pts []store.TrendPoint
	day := time.Date(2030, 1, 1, 0, 0, 0, 0, zone())
	for i := range 90 {
		pts = append(pts, store.TrendPoint{Day: day.AddDate(0, 0, i), Active: i * 10})
	}
	svg = string(trendChart(c.get("vi"), "tr", pts))
	if n := wellFormed(t, svg); n != 91 || !strings.Contains(svg, "01/01/2030") || !strings.Contains(svg, "<title>31/03/2030: 890</title>") {
		t.Fatalf("trend: %d titles\n%s", n, svg)
	}
	wellFormed(t, string(trendChart(en, "x", nil)))
}

func TestScore(t *testing.T) {
	// The console scores with the platform's one formula (report.Score,
	// docs/scoring.md): the same rollup gives the same score everywhere.
	roll := func(units, crit, high, kev int, debt float64) store.OrgRollup {
		r := store.OrgRollup{Units: units}
		r.BySeverity = map[finding.Severity]int{finding.Critical: crit, finding.High: high}
		r.KEV, r.Weighted = kev, debt
		return r
	}
	for _, r := range []store.OrgRollup{roll(0, 0, 0, 0, 0), roll(1, 1, 0, 0, 0), roll(5, 2, 3, 1, 12.5), roll(50, 20, 40, 3, 300)} {
		got := Score(r)
		want := report.Score(report.Exposure{BySeverity: r.BySeverity, KEV: r.KEV, Debt: r.Weighted, Units: r.Units})
		if float64(got.Score) != math.Round(want.Score) || got.Grade != want.Grade {
			t.Errorf("Score(%+v) = %+v, report.Score = %+v", r, got, want)
		}
	}
	if c := Score(roll(0, 0, 0, 0, 0)); c.Score != 100 || c.Grade != "A" {
		t.Errorf("clean organization: %+v", c)
	}
}
