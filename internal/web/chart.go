package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// Charts are SVG drawn here, with a <title> for the whole chart and for
// each bar or point, so screen readers and tooltips get the numbers; text
// is escaped; colours come from classes in style.css.

// bar is one bar of a chart.
type bar struct {
	Label string
	Value int
	Class string // CSS class: sev-critical, ...
	Href  string // optional link
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// severityChart draws active findings by severity as vertical bars.
func severityChart(l *Lang, id string, by map[finding.Severity]int) template.HTML {
	bars := make([]bar, 0, len(finding.Severities))
	for _, sev := range finding.Severities {
		bars = append(bars, bar{Label: l.Sev(sev), Value: by[sev], Class: "sev-" + string(sev),
			Href: "/findings?state=active&severity=" + string(sev)})
	}
	return columnChart(l, id, l.T("chart.severity"), bars)
}

// columnChart draws vertical bars with their values above.
func columnChart(l *Lang, id, title string, bars []bar) template.HTML {
	const w, h, top, bottom = 360, 200, 20, 30
	maxV := 1
	for _, b := range bars {
		maxV = max(maxV, b.Value)
	}
	var sb strings.Builder
	// A margin either side keeps long labels under the outer columns
	// ("Nghiêm trọng") inside the picture.
	const pad = 24
	fmt.Fprintf(&sb, `<svg class="chart" viewBox="%d 0 %d %d" role="img" aria-labelledby="%s-t"><title id="%s-t">%s</title>`, -pad, w+2*pad, h, id, id, esc(title))
	slot := float64(w) / float64(max(len(bars), 1))
	bw := slot * 0.6
	for i, b := range bars {
		bh := float64(h-top-bottom) * float64(b.Value) / float64(maxV)
		x := slot*float64(i) + (slot-bw)/2
		y := float64(h-bottom) - bh
		label := fmt.Sprintf("%s: %s", b.Label, l.Num(b.Value))
		if b.Href != "" {
			fmt.Fprintf(&sb, `<a href="%s">`, esc(b.Href))
		}
		fmt.Fprintf(&sb, `<g class="%s"><title>%s</title><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="2"/>`, esc(b.Class), esc(label), x, y, bw, math.Max(bh, 1))
		fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" text-anchor="middle" class="val">%s</text>`, x+bw/2, y-4, esc(l.Num(b.Value)))
		fmt.Fprintf(&sb, `<text x="%.1f" y="%d" text-anchor="middle" class="lbl">%s</text></g>`, x+bw/2, h-bottom+16, esc(b.Label))
		if b.Href != "" {
			sb.WriteString(`</a>`)
		}
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

// barList draws horizontal bars, one per row, for rankings (debt by
// ministry, province, sector).
func barList(l *Lang, id, title string, bars []bar) template.HTML {
	// Narrow enough to stay legible in a third of the page.
	const w, row, labelW = 340, 26, 150
	h := row*len(bars) + 8
	if len(bars) == 0 {
		h = row
	}
	maxV := 1
	for _, b := range bars {
		maxV = max(maxV, b.Value)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart bars" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t"><title id="%s-t">%s</title>`, w, h, id, id, esc(title))
	if len(bars) == 0 {
		fmt.Fprintf(&sb, `<text x="0" y="18" class="lbl">%s</text>`, esc(l.T("chart.empty")))
	}
	for i, b := range bars {
		y := i*row + 4
		bw := float64(w-labelW-70) * float64(b.Value) / float64(maxV)
		label := fmt.Sprintf("%s: %s", b.Label, l.Num(b.Value))
		if b.Href != "" {
			fmt.Fprintf(&sb, `<a href="%s">`, esc(b.Href))
		}
		name := b.Label
		if r := []rune(name); len(r) > 22 {
			name = string(r[:21]) + "…"
		}
		fmt.Fprintf(&sb, `<g class="%s"><title>%s</title><text x="0" y="%d" class="lbl">%s</text>`, esc(b.Class), esc(label), y+15, esc(name))
		fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="%.1f" height="%d" rx="2"/>`, labelW, y+2, math.Max(bw, 1), row-8)
		fmt.Fprintf(&sb, `<text x="%.1f" y="%d" class="val">%s</text></g>`, float64(labelW)+math.Max(bw, 1)+6, y+15, esc(l.Num(b.Value)))
		if b.Href != "" {
			sb.WriteString(`</a>`)
		}
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

// trendChart draws the active findings per day as a line with a point per
// day (each with its title) and the first, middle and last dates below.
func trendChart(l *Lang, id string, pts []store.TrendPoint) template.HTML {
	const w, h, left, right, top, bottom = 640, 200, 48, 12, 14, 28
	maxV := 1
	for _, p := range pts {
		maxV = max(maxV, p.Active)
	}
	var sb strings.Builder
	title := l.T("chart.trend", len(pts))
	fmt.Fprintf(&sb, `<svg class="chart trend" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t"><title id="%s-t">%s</title>`, w, h, id, id, esc(title))
	fmt.Fprintf(&sb, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, left, h-bottom, w-right, h-bottom)
	fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="end" class="lbl">%s</text>`, left-6, top+4, esc(l.Num(maxV)))
	fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="end" class="lbl">0</text>`, left-6, h-bottom)
	if len(pts) == 0 {
		sb.WriteString(`</svg>`)
		return template.HTML(sb.String())
	}
	step := float64(w-left-right) / math.Max(float64(len(pts)-1), 1)
	xy := func(i int) (float64, float64) {
		return float64(left) + step*float64(i), float64(h-bottom) - float64(h-top-bottom)*float64(pts[i].Active)/float64(maxV)
	}
	var path strings.Builder
	for i := range pts {
		x, y := xy(i)
		if i == 0 {
			fmt.Fprintf(&path, "M%.1f %.1f", x, y)
		} else {
			fmt.Fprintf(&path, " L%.1f %.1f", x, y)
		}
	}
	fmt.Fprintf(&sb, `<path class="line" d="%s"/>`, path.String())
	for i, p := range pts {
		x, y := xy(i)
		fmt.Fprintf(&sb, `<circle class="pt" cx="%.1f" cy="%.1f" r="2.5"><title>%s: %s</title></circle>`, x, y, esc(l.Date(p.Day)), esc(l.Num(p.Active)))
	}
	for _, i := range []int{0, len(pts) / 2, len(pts) - 1} {
		x, _ := xy(i)
		anchor := "middle"
		if i == 0 {
			anchor = "start"
		} else if i == len(pts)-1 {
			anchor = "end"
		}
		fmt.Fprintf(&sb, `<text x="%.1f" y="%d" text-anchor="%s" class="lbl">%s</text>`, x, h-8, anchor, esc(l.Date(pts[i].Day)))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}
