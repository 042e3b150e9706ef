package store

import (
	"context"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
)

// DueSoonWithin is how close a due date is before an active finding is
// "due soon" and its due-soon event goes out.
const DueSoonWithin = 7 * 24 * time.Hour

// Deadlines emits the deadline events of findings. The platform's own (no
// tenancy).
type Deadlines interface {
	// MarkDeadlines finds the active findings that crossed into due soon
	// (due within DueSoonWithin of now) or overdue (due before now) since
	// they were last marked, records the stage and the due date it was for
	// on each, and appends one due-soon or overdue event per finding to the
	// Outbox, all in one transaction. It returns how many events it wrote.
	// Each stage goes out once per finding per due date: calling it again
	// writes nothing new; a finding that gets a new due date (reopened)
	// starts over. A finding first marked when already overdue gets only
	// the overdue event.
	MarkDeadlines(ctx context.Context, now time.Time) (int, error)
}

// DeadlineChange decides the deadline event of f at now, given the stage
// ("", finding.ChangeDueSoon or finding.ChangeOverdue) last marked on it
// and the due date that mark was for. It reports false when there is none
// to emit: f is not active, has no due date, is not due soon yet, or was
// marked for this stage and due date already.
//
// The change's At is the moment the finding crossed into the stage: its
// due date for overdue, DueSoonWithin before it (or when the deadline
// started counting, if later) for due soon, so the event's ID is the same
// however late or often it is computed.
func DeadlineChange(f finding.Finding, markedStage finding.ChangeKind, markedDue *time.Time, now time.Time) (finding.Change, bool) {
	if !f.State.Active() || f.DueAt == nil {
		return finding.Change{}, false
	}
	due := f.DueAt.UTC()
	var c finding.Change
	switch {
	case now.After(due):
		c = finding.Change{Kind: finding.ChangeOverdue, Finding: f, At: due}
	case !due.After(now.Add(DueSoonWithin)):
		at := due.Add(-DueSoonWithin)
		if f.DueFrom.After(at) {
			at = f.DueFrom.UTC()
		}
		c = finding.Change{Kind: finding.ChangeDueSoon, Finding: f, At: at}
	default:
		return finding.Change{}, false
	}
	if markedDue != nil && markedDue.Equal(due) && (markedStage == c.Kind || markedStage == finding.ChangeOverdue) {
		return finding.Change{}, false
	}
	return c, true
}
