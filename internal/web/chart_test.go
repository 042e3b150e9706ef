package web

import (
	"encoding/xml"
	"io"
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
	day := time.Date(2030, 1, 1, 0, 0, 0, 0, zone)
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
	roll := func(assets int, crit, high, kev, overdue int) store.OrgRollup {
		r := store.OrgRollup{Assets: assets}
		r.BySeverity = map[finding.Severity]int{finding.Critical: crit, finding.High: high}
		r.KEV, r.Overdue = kev, overdue
		return r
	}
	for _, tc := range []struct {
		r     store.OrgRollup
		score int
		grade string
	}{
		{roll(0, 0, 0, 0, 0), 100, "A"},
		{roll(100, 0, 1, 0, 0), 100, "A"}, // 10×5/100 = 0.5: 99.5 rounds up
		{roll(10, 1, 0, 0, 0), 90, "A"},
		{roll(10, 1, 1, 0, 1), 83, "B"},
		{roll(1, 1, 0, 1, 1), 0, "F"},
		{roll(50, 2, 3, 0, 2), 92, "A"}, // 10×39/50 = 7.8
		{roll(20, 2, 4, 1, 3), 72, "C"}, // (20+20+10+6)×10/20 = 28

	} {
		got := Score(tc.r)
		if got.Score != tc.score || got.Grade != tc.grade {
			t.Errorf("Score(%+v) = %+v, want %d %s", tc.r, got, tc.score, tc.grade)
		}
	}
}
