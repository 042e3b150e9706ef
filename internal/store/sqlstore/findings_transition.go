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
// principal's subtree; it needs auth.PermTriage. finding.Apply decides what
// the action does; t.At defaults to now, t.By to the principal's name and
// t.ByRole to its role. Every accepted action appends a history entry, an
// audit entry ("finding.<action>", before and after) and its event to the
// outbox.
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
		upd, h, c, err := finding.Apply(cur.Finding, t)
		if err != nil {
			return transitionError(err)
		}
		upd.UpdatedAt = now()
		c.Finding.UpdatedAt = upd.UpdatedAt
		if err := s.updateFindings(ctx, tx, []finding.Finding{upd}); err != nil {
			return err
		}
		if err := s.tallyChange(ctx, tx, cur.Finding, upd); err != nil { // aggregates.go
			return err
		}
		if err := s.addFindingEvents(ctx, tx, []finding.HistoryEntry{h}); err != nil {
			return err
		}
		if err := s.enqueueChanges(ctx, tx, []finding.Change{c}); err != nil {
			return err
		}
		out = upd
		return s.audit(ctx, tx, p, change{orgID: cur.OrgID, orgPath: cur.path, action: "finding." + string(t.Action),
			objType: "finding", objID: id, before: cur.Finding, after: upd})
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
			r, err := s.scanFinding(rows, &path)
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
		events := make([]finding.HistoryEntry, 0, len(due))
		changes := make([]finding.Change, 0, len(due))
		audits := make([]change, 0, len(due))
		for _, cur := range due {
			upd, h, c, ok := finding.ExpireAcceptance(cur.Finding, at)
			if !ok {
				continue
			}
			upd.UpdatedAt, c.Finding.UpdatedAt = t, t
			ids = append(ids, cur.ID)
			events = append(events, h)
			changes = append(changes, c)
			audits = append(audits, change{orgID: cur.OrgID, orgPath: cur.path, action: "finding." + string(finding.ActionExpire),
				objType: "finding", objID: cur.ID, before: cur.Finding, after: upd})
		}
		if err := s.tallyReopened(ctx, tx, due, ids); err != nil { // aggregates.go
			return err
		}
		if err := s.execIn(ctx, tx, "UPDATE findings SET state = ?, until_at = NULL, reason = '', approver = '', updated_at = ? WHERE id IN ",
			[]any{string(finding.StateOpen), t}, ids); err != nil {
			return err
		}
		if err := s.addFindingEvents(ctx, tx, events); err != nil {
			return err
		}
		if err := s.enqueueChanges(ctx, tx, changes); err != nil {
			return err
		}
		if err := s.auditBatch(ctx, tx, sys, t, audits); err != nil {
			return err
		}
		n = len(ids)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
