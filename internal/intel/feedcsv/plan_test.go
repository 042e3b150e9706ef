package feedcsv

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	ok := []struct{ in, layout, want string }{
		{"2026-12-01 06:07:08", "", "2026-12-01T06:07:08Z"},
		{"2026-12-01T06:07:08", "", "2026-12-01T06:07:08Z"},
		{"2026-12-01T06:07:08Z", "", "2026-12-01T06:07:08Z"},
		{"2026-12-01T06:07:08+07:00", "", "2026-11-30T23:07:08Z"},
		{"2026-12-01", "", "2026-12-01T00:00:00Z"},
		{"2024-02-29", "2006-01-02", "2024-02-29T00:00:00Z"},
		{"2026-12-01 06:07:08", "2006-01-02 15:04:05", "2026-12-01T06:07:08Z"},
		{"01/12/2026", "02/01/2006", "2026-12-01T00:00:00Z"},
		{"1700000000", "unix", "2023-11-14T22:13:20Z"},
	}
	for _, c := range ok {
		got, err := ParseTime(c.in, c.layout)
		if err != nil || got.Format(time.RFC3339) != c.want {
			t.Errorf("ParseTime(%q, %q) = %v, %v; want %s", c.in, c.layout, got, err, c.want)
		}
	}
	bad := []struct{ in, layout string }{
		{"2026-02-30", ""}, {"2025-02-29", "2006-01-02"}, {"2026-13-01 00:00:00", ""}, {"2026-12-01 24:00:00", ""},
		{"2026-12-01T06:07:08", "2006-01-02 15:04:05"}, {"2026-12-01 06:07:08", "2006-01-02"}, {"yesterday", ""},
		{"-5", "unix"}, {"2026-1x-01", ""},
	}
	for _, c := range bad {
		if got, err := ParseTime(c.in, c.layout); err == nil {
			t.Errorf("ParseTime(%q, %q) = %v, want an error", c.in, c.layout, got)
		}
	}
}
