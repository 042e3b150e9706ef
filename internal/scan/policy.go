package scan

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// Cadence says how often an asset is scanned, by the worst of its open
// findings. The defaults follow CISA Cyber Hygiene: assets with critical or
// KEV-listed findings every 12 hours, high 24 hours, medium 4 days, low 6
// days, clean 7 days.
type Cadence struct {
	CriticalOrKEV time.Duration `yaml:"critical_or_kev"`
	High          time.Duration `yaml:"high"`
	Medium        time.Duration `yaml:"medium"`
	Low           time.Duration `yaml:"low"`
	Clean         time.Duration `yaml:"clean"`
}

// DefaultCadence is the CISA-style default.
var DefaultCadence = Cadence{
	CriticalOrKEV: 12 * time.Hour,
	High:          24 * time.Hour,
	Medium:        4 * 24 * time.Hour,
	Low:           6 * 24 * time.Hour,
	Clean:         7 * 24 * time.Hour,
}

// Validate checks every interval is between 10 minutes and 90 days.
func (c Cadence) Validate() error {
	for name, d := range map[string]time.Duration{"critical_or_kev": c.CriticalOrKEV, "high": c.High, "medium": c.Medium, "low": c.Low, "clean": c.Clean} {
		if d < 10*time.Minute || d > 90*24*time.Hour {
			return fmt.Errorf("scan: cadence %s = %s: must be between 10m and 90 days", name, d)
		}
	}
	return nil
}

// Interval returns the scan interval for an asset whose worst open finding
// has severity worst ("" when it has none) and kev when any is KEV-listed.
func (c Cadence) Interval(worst finding.Severity, kev bool) time.Duration {
	switch {
	case kev || worst == finding.Critical:
		return c.CriticalOrKEV
	case worst == finding.High:
		return c.High
	case worst == finding.Medium:
		return c.Medium
	case worst == finding.Low:
		return c.Low
	}
	return c.Clean
}

// Zone is where blackout windows are read: the constituency's local time.
var Zone = mustZone("Asia/Ho_Chi_Minh", 7*3600)

func mustZone(name string, offset int) *time.Location {
	if l, err := time.LoadLocation(name); err == nil {
		return l
	}
	// Without tzdata Vietnam is UTC+7 all year (no daylight saving).
	return time.FixedZone("ICT", offset)
}

// InBlackout reports whether t falls in one of the windows, read in Zone.
// A window whose end is before its start runs past midnight into the next
// day (its Days name the day it starts).
func InBlackout(ws []store.Window, t time.Time) bool {
	lt := t.In(Zone)
	mins := lt.Hour()*60 + lt.Minute()
	day := int(lt.Weekday())
	for _, w := range ws {
		start, err1 := parseHHMM(w.Start)
		end, err2 := parseHHMM(w.End)
		if err1 != nil || err2 != nil {
			continue
		}
		for _, d := range w.Days {
			if start <= end {
				if d == day && mins >= start && mins < end {
					return true
				}
				continue
			}
			// Overnight: from start on day d to end on day d+1.
			if (d == day && mins >= start) || ((d+1)%7 == day && mins < end) {
				return true
			}
		}
	}
	return false
}

// parseHHMM reads "HH:MM" as minutes after midnight.
func parseHHMM(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("scan: time %q is not HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("scan: time %q is not HH:MM", s)
	}
	return hh*60 + mm, nil
}
