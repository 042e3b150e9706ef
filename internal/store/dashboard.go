package store

import (
	"context"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
)

// Overview is the posture of a part of the hierarchy at one moment: what
// the console's dashboard and organization pages show. Counts are of
// active findings (open, acknowledged, reopened) unless named otherwise.
type Overview struct {
	At         time.Time                `json:"at"`
	Active     int                      `json:"active"`
	Overdue    int                      `json:"overdue"` // active and past due at At
	KEV        int                      `json:"kev"`     // active and KEV-listed
	Weighted   float64                  `json:"weighted"`
	BySeverity map[finding.Severity]int `json:"by_severity"` // every severity, zero included
	// TopChecks are the checks with the most active findings, most first
	// (ties by check ID), at most TopChecksLimit.
	TopChecks []CheckCount `json:"top_checks"`
	// Orgs is every organization of the requested subtree that the
	// principal sees, in ID order, each rolled up over its own subtree
	// exactly as Findings.Debt does, plus its asset count.
	Orgs []OrgRollup `json:"orgs"`
}

// TopChecksLimit bounds Overview.TopChecks.
const TopChecksLimit = 10

// CheckCount is how many active findings one check has.
type CheckCount struct {
	Check   string `json:"check"`
	Active  int    `json:"active"`
	Overdue int    `json:"overdue"`
}

// OrgRollup is one organization with the debt of its subtree.
type OrgRollup struct {
	OrgDebt
	ParentID int64    `json:"parent_id,omitempty"`
	Code     string   `json:"code"`
	Name     string   `json:"name"`
	NameEN   string   `json:"name_en"`
	Kind     org.Kind `json:"kind"`
	Path     string   `json:"path"`
	Assets   int      `json:"assets"` // assets of the subtree
	Units    int      `json:"units"`  // organizations of the subtree that own assets
}

// TrendPoint is the number of active findings at the end of one day
// (Asia/Ho_Chi_Minh) in the requested subtree.
type TrendPoint struct {
	Day    time.Time `json:"day"` // midnight, Asia/Ho_Chi_Minh
	Active int       `json:"active"`
}

// Dashboard answers the console's aggregate questions quickly, also over a
// million findings. Reads follow tenancy like every store read: root 0
// means everything the principal sees; a root outside it is ErrNotFound.
type Dashboard interface {
	// Overview aggregates the active findings of root's subtree at now.
	// An implementation may answer from an earlier computation while
	// nothing it was made of has changed (findings, assets,
	// organizations, which findings are past due); the numbers are those
	// a fresh computation would give, and the maps and slices are the
	// caller's.
	Overview(ctx context.Context, p auth.Principal, root int64, now time.Time) (Overview, error)
	// Trend returns one point per day for the days days ending with the
	// day of now, oldest first. Past days are answered from a daily
	// snapshot that the store computes once, from first-seen and fixed
	// times, and keeps; the last point is counted live. Findings now
	// risk-accepted or false-positive are left out of every day.
	//
	// A request never computes the snapshot of a day that just ended:
	// while the latest days are missing after a kept one, Trend answers
	// them with the live count and SnapshotTrend (which serve runs at
	// start, just after every midnight and every hour) keeps them.
	Trend(ctx context.Context, p auth.Principal, root int64, days int, now time.Time) ([]TrendPoint, error)
	// SnapshotTrend computes and keeps the snapshot of every day of the
	// days days before the day of now that is not kept yet.
	SnapshotTrend(ctx context.Context, days int, now time.Time) error
}

// OrgLookup is implemented by stores that read several organizations in
// one query: the console's lists name the organization of every row.
// Organizations outside the principal's subtree are left out.
type OrgLookup interface {
	OrgsByID(ctx context.Context, p auth.Principal, ids []int64) (map[int64]org.Organization, error)
}

// MaxTrendDays bounds Dashboard.Trend.
const MaxTrendDays = 400
