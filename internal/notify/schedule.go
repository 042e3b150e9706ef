package notify

import (
	"fmt"
	"time"

	"github.com/rampart-cert/rampart/internal/store"
)

// vietnam is Indochina Time. Vietnam has kept UTC+7 without daylight
// saving since 1975, so a fixed zone is exact and needs no tz database
// (air-gapped hosts often lack one).
var vietnam = time.FixedZone("ICT", 7*60*60)

// businessDay reports whether t (any zone) is Monday to Friday in Vietnam.
func businessDay(t time.Time) bool {
	d := t.In(vietnam).Weekday()
	return d != time.Saturday && d != time.Sunday
}

// duePeriod returns the key and label (in language l) of the digest period
// that is due at now under p, and false when no digest is due: before the
// hour, on a weekend with BusinessDaysOnly, or before the weekday of a
// weekly digest. A missed daily digest is not caught up the next day (that
// day's digest covers the gap); a missed weekly one goes out later the same
// week.
func duePeriod(p store.NotifyPrefs, now time.Time, l string) (key, label string, ok bool) {
	local := now.In(vietnam)
	if p.BusinessDaysOnly && !businessDay(now) {
		return "", "", false
	}
	switch p.DigestPeriod {
	case store.DigestWeekly:
		y, w := local.ISOWeek()
		offset := (int(local.Weekday()) + 6) % 7 // days since Monday
		monday := time.Date(local.Year(), local.Month(), local.Day()-offset, 0, 0, 0, 0, vietnam)
		at := monday.AddDate(0, 0, (int(p.DigestWeekday)+6)%7).Add(time.Duration(p.DigestHour) * time.Hour)
		if local.Before(at) {
			return "", "", false
		}
		return fmt.Sprintf("%04d-W%02d", y, w), tr(l, "period.week", w, y), true
	default:
		if local.Hour() < p.DigestHour {
			return "", "", false
		}
		return local.Format("2006-01-02"), local.Format("02/01/2006"), true
	}
}

// firstWindowStart is where the first digest of a recipient starts: one
// period back, and for a daily digest on business days only, back over the
// weekend to the previous business day.
func firstWindowStart(p store.NotifyPrefs, now time.Time) time.Time {
	if p.DigestPeriod == store.DigestWeekly {
		return now.AddDate(0, 0, -7)
	}
	since := now.AddDate(0, 0, -1)
	for p.BusinessDaysOnly && !businessDay(since) {
		since = since.AddDate(0, 0, -1)
	}
	return since
}
