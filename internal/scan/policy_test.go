package scan

import (
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

func TestCadence(t *testing.T) {
	c := DefaultCadence
	cases := []struct {
		worst finding.Severity
		kev   bool
		want  time.Duration
	}{
		{finding.Critical, false, 12 * time.Hour},
		{finding.Low, true, 12 * time.Hour},
		{finding.High, false, 24 * time.Hour},
		{finding.Medium, false, 96 * time.Hour},
		{finding.Low, false, 144 * time.Hour},
		{finding.Info, false, 168 * time.Hour},
		{"", false, 168 * time.Hour},
	}
	for _, tc := range cases {
		if got := c.Interval(tc.worst, tc.kev); got != tc.want {
			t.Errorf("Interval(%q, %v) = %s, want %s", tc.worst, tc.kev, got, tc.want)
		}
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Cadence{CriticalOrKEV: time.Minute, High: time.Hour, Medium: time.Hour, Low: time.Hour, Clean: time.Hour}).Validate(); err == nil {
		t.Fatal("1-minute cadence accepted")
	}
}

func TestInBlackout(t *testing.T) {
	// Wednesday 2026-11-25 in Hanoi time.
	at := func(hhmm string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", "2026-11-25 "+hhmm, Zone)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}
	office := []store.Window{{Days: []int{1, 2, 3, 4, 5}, Start: "08:00", End: "17:30"}}
	night := []store.Window{{Days: []int{2}, Start: "22:00", End: "06:00"}} // Tuesday night into Wednesday
	cases := []struct {
		ws   []store.Window
		t    string
		want bool
	}{
		{office, "07:59", false}, {office, "08:00", true}, {office, "17:29", true}, {office, "17:30", false},
		{night, "05:59", true}, {night, "06:00", false}, {night, "23:00", false}, // Wednesday 23:00 is not Tuesday night
		{[]store.Window{{Days: []int{3}, Start: "bad", End: "10:00"}}, "09:00", false},
		{nil, "12:00", false},
	}
	for _, c := range cases {
		if got := InBlackout(c.ws, at(c.t)); got != c.want {
			t.Errorf("InBlackout(%v, %s) = %v, want %v", c.ws, c.t, got, c.want)
		}
	}
}
