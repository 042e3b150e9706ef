package finding

import (
	"fmt"
	"strings"
	"time"
)

// More actions of people.
const (
	// ActionResolve is a person closing a finding that only a person can
	// close (a manual one): it becomes fixed.
	ActionResolve Action = "resolve"
	// ActionApprove and ActionReject decide a pending Waiver.
	ActionApprove Action = "approve"
	ActionReject  Action = "reject"
	// The history's names for a waiver requested (not an action to ask
	// for: a requester asks for accept-risk or false-positive).
	ActionRequestAcceptRisk    Action = "request-accept-risk"
	ActionRequestFalsePositive Action = "request-false-positive"
)

// PersonAction reports whether a person may ask for a: the sources' own
// actions (seen, not-seen, expire) come only from the sources.
func PersonAction(a Action) bool {
	switch a {
	case ActionAcknowledge, ActionAcceptRisk, ActionFalsePositive, ActionReopen, ActionRequestVerify, ActionResolve, ActionApprove, ActionReject:
		return true
	}
	return false
}

// Apply applies a person's action t to f (t.At and t.By set) and returns
// the finding after it, its history entry and the change to publish.
//
//   - accept-risk and false-positive store Until, Reason and the approver
//     (t.Approve; optional for a false positive); reopen clears them and
//     keeps the original due date, so the debt is back at once;
//   - request-verify sets VerifyRequestedAt and changes no state;
//   - acknowledge keeps its reason in the history only;
//   - resolve fixes an active finding whose source closes by a person
//     (manual); other sources close their own findings;
//   - a source's own actions are ErrInvalid; a move Next forbids is
//     ErrTransition.
func Apply(f Finding, t Transition) (Finding, HistoryEntry, Change, error) {
	if !PersonAction(t.Action) {
		return f, HistoryEntry{}, Change{}, fmt.Errorf("%w: %q is not an action a person takes", ErrInvalid, t.Action)
	}
	switch {
	case t.Request && (t.Action == ActionAcceptRisk || t.Action == ActionFalsePositive):
		return requestWaiver(f, t)
	case t.Action == ActionApprove:
		if f.Waiver == nil {
			return f, HistoryEntry{}, Change{}, fmt.Errorf("%w: nothing awaits approval", ErrTransition)
		}
		w := *f.Waiver
		if !w.Until.After(t.At) {
			return f, HistoryEntry{}, Change{}, fmt.Errorf("%w: the request expired on %s", ErrTransition, w.Until.Format("2006-01-02"))
		}
		upd, h, c, err := Apply(f, Transition{Action: w.Action, Reason: w.Reason, Until: w.Until, By: t.By, ByRole: t.ByRole, At: t.At, Approve: t.By})
		if err != nil {
			return f, HistoryEntry{}, Change{}, err
		}
		upd.Waiver = nil
		h.Action, c.Action = ActionApprove, ActionApprove
		h.Reason = fmt.Sprintf("%s requested by %s: %s", w.Action, w.By, w.Reason)
		return upd, h, c, nil
	case t.Action == ActionReject:
		if f.Waiver == nil {
			return f, HistoryEntry{}, Change{}, fmt.Errorf("%w: nothing awaits approval", ErrTransition)
		}
		upd := f
		upd.Waiver = nil
		h := HistoryEntry{FindingID: f.ID, FindingKey: f.Key, At: t.At, Actor: t.By, Action: ActionReject, From: f.State, To: f.State,
			Reason: strings.TrimSpace(fmt.Sprintf("%s requested by %s: %s", f.Waiver.Action, f.Waiver.By, t.Reason))}
		c := Change{Kind: ChangeTransition, Finding: upd, At: t.At, Action: ActionReject, From: f.State, To: f.State, Actor: t.By}
		return upd, h, c, nil
	}
	var next State
	if t.Action == ActionResolve {
		if sourceOf(f).Closure() != ClosedByPerson {
			return f, HistoryEntry{}, Change{}, fmt.Errorf("%w: a %s finding is closed by its source, not by a person", ErrTransition, sourceOf(f))
		}
		if !f.State.Active() {
			return f, HistoryEntry{}, Change{}, fmt.Errorf("%w: %s from %s", ErrTransition, t.Action, f.State)
		}
		next = StateFixed
	} else {
		var err error
		if next, err = Next(f.State, t); err != nil {
			return f, HistoryEntry{}, Change{}, err
		}
	}
	upd := f
	h := HistoryEntry{FindingID: f.ID, FindingKey: f.Key, At: t.At, Actor: t.By, Action: t.Action, From: f.State, To: next, Reason: t.Reason}
	switch t.Action {
	case ActionAcceptRisk, ActionFalsePositive:
		until := t.Until
		upd.Until, upd.Reason, upd.Approver = &until, t.Reason, t.Approve
		upd.Waiver = nil // decided
		h.Until = &until
	case ActionReopen:
		upd.Until, upd.Reason, upd.Approver = nil, "", ""
	case ActionRequestVerify:
		at := t.At
		upd.VerifyRequestedAt = &at
	case ActionResolve:
		at := t.At
		upd.FixedAt, upd.VerifyRequestedAt = &at, nil
	}
	upd.State = next
	c := Change{Kind: ChangeTransition, Finding: upd, At: t.At, Action: t.Action, From: f.State, To: next, Actor: t.By}
	return upd, h, c, nil
}

// requestWaiver records an owner's request to accept a risk or mark a
// false positive: checked as the action itself would be, but the finding
// keeps its state until the level above approves.
func requestWaiver(f Finding, t Transition) (Finding, HistoryEntry, Change, error) {
	if _, err := Next(f.State, t); err != nil {
		return f, HistoryEntry{}, Change{}, err
	}
	upd := f
	upd.Waiver = &Waiver{Action: t.Action, Reason: t.Reason, Until: t.Until, By: t.By, At: t.At}
	name := ActionRequestAcceptRisk
	if t.Action == ActionFalsePositive {
		name = ActionRequestFalsePositive
	}
	until := t.Until
	h := HistoryEntry{FindingID: f.ID, FindingKey: f.Key, At: t.At, Actor: t.By, Action: name, From: f.State, To: f.State, Reason: t.Reason, Until: &until}
	c := Change{Kind: ChangeTransition, Finding: upd, At: t.At, Action: name, From: f.State, To: f.State, Actor: t.By}
	return upd, h, c, nil
}

// ExpireAcceptance reopens a risk acceptance or false positive whose Until
// passed at at. The finding keeps its original due date, so it is
// compliance debt again at once. The history keeps the Until and the
// reason that ran out.
func ExpireAcceptance(f Finding, at time.Time) (Finding, HistoryEntry, Change, bool) {
	next, err := Next(f.State, Transition{Action: ActionExpire, At: at, By: "system"})
	if err != nil || next == f.State {
		return f, HistoryEntry{}, Change{}, false
	}
	upd := f
	upd.State, upd.Until, upd.Reason, upd.Approver = next, nil, "", ""
	h := HistoryEntry{FindingID: f.ID, FindingKey: f.Key, At: at, Actor: "system", Action: ActionExpire, From: f.State, To: next, Reason: f.Reason, Until: f.Until}
	c := Change{Kind: ChangeTransition, Finding: upd, At: at, Action: ActionExpire, From: f.State, To: next, Actor: "system"}
	return upd, h, c, true
}
