package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// personAction reports whether TransitionFinding accepts a: the scanner's
// own actions (seen, not-seen, expire) come only through RecordFindings and
// ExpireAcceptances.
func personAction(a finding.Action) bool {
	switch a {
	case finding.ActionAcknowledge, finding.ActionAcceptRisk, finding.ActionFalsePositive,
		finding.ActionReopen, finding.ActionRequestVerify:
		return true
	}
	return false
}

// transitionError maps finding's refusals onto the store sentinels, so the
// API answers 409 for a move the lifecycle forbids and 422 for a bad
// request, while errors.Is still finds finding.ErrTransition and
// finding.ErrInvalid.
func transitionError(err error) error {
	switch {
	case errors.Is(err, finding.ErrTransition):
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	case errors.Is(err, finding.ErrInvalid):
		return fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	return err
}

// TransitionFinding applies a person's action to a finding in the
// principal's subtree; it needs auth.PermTriage.
//
//   - t.At defaults to now, t.By to the principal's name and t.ByRole to its
//     role;
//   - accept-risk and false-positive store Until, Reason and the approver
//     (t.Approve; optional for a false positive); reopen clears them and
//     keeps the original due date, so the debt is back at once;
//   - request-verify sets VerifyRequestedAt and changes no state;
//   - acknowledge keeps its reason in the history only;
//   - scanner actions (seen, not-seen, expire) are finding.ErrInvalid here.
//
// Every accepted action appends a history entry and an audit entry
// ("finding.<action>", before and after).
func (s *Store) TransitionFinding(ctx context.Context, p auth.Principal, id int64, t finding.Transition) (store.Finding, error) {
	const op = "transition finding"
	if t.At.IsZero() {
		t.At = now()
	}
	t.At = t.At.UTC().Truncate(time.Microsecond)
	if !t.Until.IsZero() {
		t.Until = t.Until.UTC().Truncate(time.Microsecond)
	}
	actor, role := actorOf(p)
	if t.By == "" {
		t.By = actor
	}
	if t.ByRole == "" {
		t.ByRole = string(role)
	}
	var out store.Finding
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		cur, err := s.loadFinding(ctx, tx, sc, id, true)
		if err != nil {
			return err
		}
		if !p.Can(auth.PermTriage) {
			return forbidden("changing a finding needs " + string(auth.PermTriage))
		}
		if !personAction(t.Action) {
			return transitionError(fmt.Errorf("%w: %q is not an action a person takes", finding.ErrInvalid, t.Action))
		}
		next, err := finding.Next(cur.State, t)
		if err != nil {
			return transitionError(err)
		}
		upd := cur
		ev := findingEvent{findingID: id, at: t.At, actor: t.By, action: t.Action, from: cur.State, to: next, reason: t.Reason}
		switch t.Action {
		case finding.ActionAcceptRisk, finding.ActionFalsePositive:
			until := t.Until
			upd.Until, upd.Reason, upd.Approver = &until, t.Reason, t.Approve
			ev.until = &until
		case finding.ActionReopen:
			upd.Until, upd.Reason, upd.Approver = nil, "", ""
		case finding.ActionRequestVerify:
			at := t.At
			upd.VerifyRequestedAt = &at
		}
		upd.State, upd.UpdatedAt = next, now()
		if err := s.updateFindings(ctx, tx, []findingRow{upd}); err != nil {
			return err
		}
		if err := s.addFindingEvents(ctx, tx, []findingEvent{ev}); err != nil {
			return err
		}
		out = upd.Finding
		return s.audit(ctx, tx, p, change{orgID: cur.OrgID, orgPath: cur.path, action: "finding." + string(t.Action),
			objType: "finding", objID: id, before: cur.Finding, after: upd.Finding})
	})
	if err != nil {
		return store.Finding{}, err
	}
	return out, nil
}

// ExpireAcceptances reopens risk acceptances and false positives whose
// Until is at or before now. The finding keeps its original due date, so
// an acceptance that ran out is compliance debt again at once rather than
// getting a fresh deadline. Each gets a history entry (actor "system",
// action expire, with the Until that ran out and the reason it had) and an
// audit entry "finding.expire", as the acceptance was a person's decision.
func (s *Store) ExpireAcceptances(ctx context.Context, at time.Time) (int, error) {
	const op = "expire acceptances"
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC().Truncate(time.Microsecond)
	n := 0
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		n = 0
		query := "SELECT " + findingColsF + ", o.path FROM findings f JOIN orgs o ON o.id = f.org_id WHERE " + acceptedStates + " AND f.until_at <= ? ORDER BY f.id"
		if s.d.postgres() {
			query += " FOR UPDATE OF f"
		}
		rows, err := tx.QueryContext(ctx, s.q(query), at)
		if err != nil {
			return err
		}
		var due []findingRow
		for rows.Next() {
			var path string
			r, err := scanFinding(rows, &path)
			if err != nil {
				rows.Close()
				return err
			}
			r.path = path
			due = append(due, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(due) == 0 {
			return nil
		}
		t := now()
		sys := auth.SystemPrincipal
		ids := make([]any, 0, len(due))
		events := make([]findingEvent, 0, len(due))
		audits := make([]change, 0, len(due))
		for _, cur := range due {
			next, err := finding.Next(cur.State, finding.Transition{Action: finding.ActionExpire, At: at, By: "system"})
			if err != nil {
				return err
			}
			upd := cur
			upd.State, upd.Until, upd.Reason, upd.Approver, upd.UpdatedAt = next, nil, "", "", t
			ids = append(ids, cur.ID)
			events = append(events, findingEvent{findingID: cur.ID, at: at, actor: "system", action: finding.ActionExpire,
				from: cur.State, to: next, reason: cur.Reason, until: cur.Until})
			audits = append(audits, change{orgID: cur.OrgID, orgPath: cur.path, action: "finding." + string(finding.ActionExpire),
				objType: "finding", objID: cur.ID, before: cur.Finding, after: upd.Finding})
		}
		if err := s.execIn(ctx, tx, "UPDATE findings SET state = ?, until_at = NULL, reason = '', approver = '', updated_at = ? WHERE id IN ",
			[]any{string(finding.StateOpen), t}, ids); err != nil {
			return err
		}
		if err := s.addFindingEvents(ctx, tx, events); err != nil {
			return err
		}
		if err := s.auditBatch(ctx, tx, sys, t, audits); err != nil {
			return err
		}
		n = len(due)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
