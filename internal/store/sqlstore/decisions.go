package sqlstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

var _ store.Decisions = (*Store)(nil)

// Limits of decision fields.
const (
	maxDecisionValue    = 64
	maxDecisionText     = 2000
	maxDecisionEvidence = 500 // entries kept per decision (the newest)
	maxDecisionNames    = 50
	maxDecisionChanges  = 1_000_000
)

const decisionCols = `id, uuid, value, scope, dtype, origin, scenario, reason, rule, names, state, orgs, detections,
	first_seen, last_seen, evidence, created_at, updated_at, until_at, activated_at, decided_by, decided_at, note, seq`

func scanDecision(sc scanner) (store.Decision, error) {
	var (
		d                           store.Decision
		names, ev                   string
		first, last, act, decidedAt sql.NullTime
		detections                  int64
	)
	err := sc.Scan(&d.ID, &d.UUID, &d.Value, &d.Scope, &d.Type, &d.Origin, &d.Scenario, &d.Reason, &d.Rule, &names, &d.State,
		&d.Orgs, &detections, &first, &last, &ev, &d.CreatedAt, &d.UpdatedAt, &d.Until, &act, &d.DecidedBy, &decidedAt, &d.Note, &d.Seq)
	if err != nil {
		return d, err
	}
	d.Detections = uint64(max(detections, 0))
	d.FirstSeen, d.LastSeen, d.ActivatedAt, d.DecidedAt = timePtr(first), timePtr(last), timePtr(act), timePtr(decidedAt)
	d.CreatedAt, d.UpdatedAt, d.Until = d.CreatedAt.UTC(), d.UpdatedAt.UTC(), d.Until.UTC()
	_ = json.Unmarshal([]byte(names), &d.Names)
	_ = json.Unmarshal([]byte(ev), &d.Evidence)
	if d.Evidence == nil {
		d.Evidence = []store.DecisionEvidence{}
	}
	return d, nil
}

// mayDecide is the rule of every decision write by a principal.
func mayDecide(p auth.Principal) error {
	if !p.SeesAll() || !p.Can(auth.PermReviewIntel) {
		return forbidden("national decisions are made by the national level (intel:review)")
	}
	return nil
}

// nextDecisionSeq takes the next change stamp. Every decision write
// takes it first: the row lock serializes the writers, so a stamp is
// visible only after every smaller one.
func (s *Store) nextDecisionSeq(ctx context.Context, tx *sql.Tx) (int64, error) {
	var seq int64
	err := tx.QueryRowContext(ctx, "UPDATE decision_seq SET seq = seq + 1 WHERE id = 1 RETURNING seq").Scan(&seq)
	return seq, err
}

func checkDecision(d *store.Decision) error {
	switch {
	case d.Value == "" || len(d.Value) > maxDecisionValue:
		return invalid("decision value %q must be 1-%d bytes", d.Value, maxDecisionValue)
	case d.Scope != store.ScopeIP && d.Scope != store.ScopeRange:
		return invalid("decision scope %q is not ip or range", d.Scope)
	case d.Type != store.TypeBan:
		return invalid("decision type %q is not ban", d.Type)
	case d.State != store.DecisionPending && d.State != store.DecisionActive:
		return invalid("a new decision is pending or active, not %q", d.State)
	case d.Until.IsZero():
		return invalid("a decision needs an end time")
	case d.Origin == "" || len(d.Origin) > 100 || len(d.Scenario) > maxDecisionText || len(d.Reason) > maxDecisionText:
		return invalid("decision origin, scenario or reason missing or too long")
	case len(d.Names) > maxDecisionNames:
		return invalid("a decision names at most %d names", maxDecisionNames)
	}
	return nil
}

// ApplyDecision creates or extends the live decision of d.Value.
func (s *Store) ApplyDecision(ctx context.Context, p auth.Principal, d store.Decision) (store.Decision, bool, error) {
	const op = "apply decision"
	if err := mayDecide(p); err != nil {
		return store.Decision{}, false, s.fail(op, err)
	}
	if err := checkDecision(&d); err != nil {
		return store.Decision{}, false, s.fail(op, err)
	}
	var (
		out     store.Decision
		created bool
	)
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		seq, err := s.nextDecisionSeq(ctx, tx)
		if err != nil {
			return err
		}
		t := now()
		cur, err := scanDecision(tx.QueryRowContext(ctx, s.q("SELECT "+decisionCols+" FROM decisions WHERE value = ? AND state IN ('pending', 'active')"+s.d.forUpdate()), d.Value))
		switch {
		case err == nil:
			out = mergeDecision(cur, d)
			out.UpdatedAt = t
			if out.State == store.DecisionActive && out.Until.After(cur.Until) {
				out.Seq = seq // bouncers hear of the longer time
			}
			_, err = tx.ExecContext(ctx, s.q(`UPDATE decisions SET scenario = ?, names = ?, orgs = ?, detections = ?, first_seen = ?,
				last_seen = ?, evidence = ?, updated_at = ?, until_at = ?, seq = ? WHERE id = ?`),
				out.Scenario, mustJSON(out.Names), out.Orgs, int64(out.Detections), nullTime(out.FirstSeen), nullTime(out.LastSeen),
				mustJSON(out.Evidence), t, out.Until.UTC().Truncate(time.Microsecond), out.Seq, out.ID)
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		ended, err := scanDecision(tx.QueryRowContext(ctx, s.q("SELECT "+decisionCols+` FROM decisions
			WHERE value = ? AND state IN ('rejected', 'deleted') AND until_at > ? ORDER BY id DESC LIMIT 1`), d.Value, t))
		if err == nil {
			out = ended // an analyst's refusal holds until its end
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		out = mergeDecision(store.Decision{Value: d.Value, Scope: d.Scope, Type: d.Type, Origin: d.Origin, State: d.State,
			Reason: d.Reason, Rule: d.Rule, Until: d.Until, Evidence: []store.DecisionEvidence{}}, d)
		out.UUID, out.CreatedAt, out.UpdatedAt, out.Seq = newUUID(), t, t, seq
		if out.State == store.DecisionActive {
			out.ActivatedAt = &t
		}
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO decisions (uuid, value, scope, dtype, origin, scenario, reason, rule, names, state,
			orgs, detections, first_seen, last_seen, evidence, created_at, updated_at, until_at, activated_at, seq)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			out.UUID, out.Value, out.Scope, out.Type, out.Origin, out.Scenario, out.Reason, out.Rule, mustJSON(out.Names), string(out.State),
			out.Orgs, int64(out.Detections), nullTime(out.FirstSeen), nullTime(out.LastSeen), mustJSON(out.Evidence), t, t,
			out.Until.UTC().Truncate(time.Microsecond), nullTime(out.ActivatedAt), seq).Scan(&out.ID)
		if err != nil {
			return err
		}
		created = true
		return s.audit(ctx, tx, p, change{action: "decision.create", objType: "decision", objID: out.ID, after: auditDecision(out)})
	})
	return out, created, err
}

// auditDecision is what the audit log keeps of a decision (not its
// evidence list).
func auditDecision(d store.Decision) map[string]any {
	return map[string]any{"value": d.Value, "scope": d.Scope, "state": d.State, "origin": d.Origin, "scenario": d.Scenario,
		"reason": d.Reason, "rule": d.Rule, "orgs": d.Orgs, "until": d.Until, "note": d.Note}
}

// mergeDecision adds d's evidence (counts as increments), names and
// scenario to cur and takes the later end.
func mergeDecision(cur, d store.Decision) store.Decision {
	out := cur
	if d.Until.After(out.Until) {
		out.Until = d.Until.UTC().Truncate(time.Microsecond)
	}
	ev := slices.Clone(cur.Evidence)
	for _, e := range d.Evidence {
		e.First, e.Last = e.First.UTC().Truncate(time.Microsecond), e.Last.UTC().Truncate(time.Microsecond)
		i := slices.IndexFunc(ev, func(x store.DecisionEvidence) bool { return x.Org == e.Org && x.Sensor == e.Sensor })
		if i < 0 {
			e.Kinds = slices.Clone(e.Kinds)
			slices.Sort(e.Kinds)
			ev = append(ev, e)
			continue
		}
		x := &ev[i]
		x.Count += e.Count
		if !e.First.IsZero() && (x.First.IsZero() || e.First.Before(x.First)) {
			x.First = e.First
		}
		if e.Last.After(x.Last) {
			x.Last = e.Last
			if e.Target != "" {
				x.Target = e.Target
			}
			if e.Detail != "" {
				x.Detail = e.Detail
			}
		}
		for _, k := range e.Kinds {
			if !slices.Contains(x.Kinds, k) {
				x.Kinds = append(x.Kinds, k)
			}
		}
		slices.Sort(x.Kinds)
	}
	slices.SortFunc(ev, func(a, b store.DecisionEvidence) int { return b.Last.Compare(a.Last) })
	if len(ev) > maxDecisionEvidence {
		ev = ev[:maxDecisionEvidence]
	}
	slices.SortFunc(ev, func(a, b store.DecisionEvidence) int {
		return cmp.Or(strings.Compare(a.Org, b.Org), strings.Compare(a.Sensor, b.Sensor))
	})
	out.Evidence = ev
	orgs := map[string]bool{}
	var kinds []string
	out.Detections = 0
	for _, e := range ev {
		orgs[e.Org] = true
		out.Detections += e.Count
		if !e.First.IsZero() && (out.FirstSeen == nil || e.First.Before(*out.FirstSeen)) {
			f := e.First
			out.FirstSeen = &f
		}
		if out.LastSeen == nil || e.Last.After(*out.LastSeen) {
			l := e.Last
			out.LastSeen = &l
		}
		for _, k := range e.Kinds {
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	out.Orgs = len(orgs)
	if len(kinds) > 0 {
		slices.Sort(kinds)
		out.Scenario = "rampart/" + strings.Join(kinds, "+")
	} else if d.Scenario != "" && out.Scenario == "" {
		out.Scenario = d.Scenario
	}
	for _, n := range d.Names {
		if !slices.Contains(out.Names, n) && len(out.Names) < maxDecisionNames {
			out.Names = append(out.Names, n)
		}
	}
	if out.Names == nil {
		out.Names = []string{}
	}
	return out
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// GetDecision returns one decision (national level only).
func (s *Store) GetDecision(ctx context.Context, p auth.Principal, id int64) (store.Decision, error) {
	const op = "get decision"
	if !p.SeesAll() {
		return store.Decision{}, s.fail(op, notFound("decision", id))
	}
	d, err := scanDecision(s.r.QueryRowContext(ctx, s.q("SELECT "+decisionCols+" FROM decisions WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		err = notFound("decision", id)
	}
	return d, s.fail(op, err)
}

// ListDecisions lists decisions newest first.
func (s *Store) ListDecisions(ctx context.Context, p auth.Principal, f store.DecisionFilter) (store.Page[store.Decision], error) {
	const op = "list decisions"
	limit, err := pageLimit(f.PageRequest)
	if err != nil {
		return store.Page[store.Decision]{}, s.fail(op, err)
	}
	after, err := decodeCursor(f.After)
	if err != nil {
		return store.Page[store.Decision]{}, s.fail(op, err)
	}
	if !p.SeesAll() {
		return store.Page[store.Decision]{Items: []store.Decision{}}, nil
	}
	var w where
	if after > 0 {
		w.add("id < ?", after)
	}
	if f.State != "" {
		w.add("state = ?", string(f.State))
	}
	if f.Query != "" {
		w.add(s.d.like("value"), likeArg(f.Query))
	}
	items, err := queryAll(ctx, s.r, scanDecision, s.q("SELECT "+decisionCols+" FROM decisions"+w.String()+" ORDER BY id DESC LIMIT ?"),
		append(w.args, limit+1)...)
	if err != nil {
		return store.Page[store.Decision]{}, s.fail(op, err)
	}
	return finishPage(items, limit, func(d store.Decision) int64 { return d.ID }), nil
}

// DecideDecision approves or rejects a pending decision.
func (s *Store) DecideDecision(ctx context.Context, p auth.Principal, id int64, approve bool, until time.Time, note string) (store.Decision, error) {
	op, action := "reject decision", "decision.reject"
	if approve {
		op, action = "approve decision", "decision.approve"
	}
	return s.endOrDecide(ctx, p, op, action, id, note, func(d *store.Decision, t time.Time, seq int64) error {
		if d.State != store.DecisionPending {
			return store.ErrConflict
		}
		d.State = store.DecisionRejected
		if approve {
			d.State, d.ActivatedAt, d.Seq = store.DecisionActive, &t, seq
			if until.After(d.Until) {
				d.Until = until.UTC().Truncate(time.Microsecond)
			}
		}
		return nil
	})
}

// DeleteDecision lifts a live decision.
func (s *Store) DeleteDecision(ctx context.Context, p auth.Principal, id int64, note string) (store.Decision, error) {
	return s.endOrDecide(ctx, p, "delete decision", "decision.delete", id, note, func(d *store.Decision, t time.Time, seq int64) error {
		if !d.State.Live() {
			return store.ErrConflict
		}
		if d.State == store.DecisionActive {
			d.Seq = seq // bouncers drop it
		}
		d.State = store.DecisionDeleted
		return nil
	})
}

// endOrDecide runs an analyst's change of one decision's state.
func (s *Store) endOrDecide(ctx context.Context, p auth.Principal, op, action string, id int64, note string,
	fn func(d *store.Decision, t time.Time, seq int64) error) (store.Decision, error) {
	if err := mayDecide(p); err != nil {
		return store.Decision{}, s.fail(op, err)
	}
	if len(note) > maxDecisionText {
		return store.Decision{}, s.fail(op, invalid("a note of at most %d bytes", maxDecisionText))
	}
	var out store.Decision
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		seq, err := s.nextDecisionSeq(ctx, tx)
		if err != nil {
			return err
		}
		cur, err := scanDecision(tx.QueryRowContext(ctx, s.q("SELECT "+decisionCols+" FROM decisions WHERE id = ?"+s.d.forUpdate()), id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("decision", id)
		}
		if err != nil {
			return err
		}
		t := now()
		out = cur
		if err := fn(&out, t, seq); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errors.Join(err, errors.New("decision "+cur.Value+" is "+string(cur.State)))
			}
			return err
		}
		actor, _ := actorOf(p)
		out.DecidedBy, out.DecidedAt, out.Note, out.UpdatedAt = actor, &t, note, t
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE decisions SET state = ?, until_at = ?, activated_at = ?, decided_by = ?, decided_at = ?,
			note = ?, updated_at = ?, seq = ? WHERE id = ?`), string(out.State), out.Until.UTC().Truncate(time.Microsecond),
			nullTime(out.ActivatedAt), out.DecidedBy, t, note, t, out.Seq, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{action: action, objType: "decision", objID: id, before: auditDecision(cur), after: auditDecision(out)})
	})
	return out, err
}

// ExpireDecisions ends the live decisions whose time ran out.
func (s *Store) ExpireDecisions(ctx context.Context, at time.Time) (int, error) {
	const op = "expire decisions"
	at = at.UTC().Truncate(time.Microsecond)
	var one int
	err := s.r.QueryRowContext(ctx, s.q("SELECT 1 FROM decisions WHERE state IN ('pending', 'active') AND until_at <= ? LIMIT 1"), at).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil // the common case costs no write
	}
	if err != nil {
		return 0, s.fail(op, err)
	}
	var n int64
	err = s.write(ctx, op, func(tx *sql.Tx) error {
		seq, err := s.nextDecisionSeq(ctx, tx)
		if err != nil {
			return err
		}
		// Active ones take the stamp (bouncers drop them); pending ones
		// were never sent and keep theirs.
		res, err := tx.ExecContext(ctx, s.q(`UPDATE decisions SET state = 'expired', updated_at = ?,
			seq = CASE WHEN state = 'active' THEN ? ELSE seq END
			WHERE state IN ('pending', 'active') AND until_at <= ?`), now(), seq, at)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// DecisionChanges returns the decisions changed after stamp after.
func (s *Store) DecisionChanges(ctx context.Context, after int64) ([]store.Decision, error) {
	out, err := queryAll(ctx, s.r, scanDecision, s.q("SELECT "+decisionCols+" FROM decisions WHERE seq > ? ORDER BY seq, id LIMIT ?"),
		after, maxDecisionChanges)
	return out, s.fail("decision changes", err)
}

// ActiveDecisions returns the active decisions and the stamp they are
// current to (read first, so a change racing the list is sent again
// rather than missed).
func (s *Store) ActiveDecisions(ctx context.Context, at time.Time) ([]store.Decision, int64, error) {
	const op = "active decisions"
	seq, err := s.DecisionsSeq(ctx)
	if err != nil {
		return nil, 0, err
	}
	out, err := queryAll(ctx, s.r, scanDecision, s.q("SELECT "+decisionCols+" FROM decisions WHERE state = 'active' AND until_at > ? ORDER BY id LIMIT ?"),
		at.UTC().Truncate(time.Microsecond), maxDecisionChanges)
	return out, seq, s.fail(op, err)
}

// DecisionsSeq returns the latest change stamp.
func (s *Store) DecisionsSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.r.QueryRowContext(ctx, "SELECT seq FROM decision_seq WHERE id = 1").Scan(&seq)
	return seq, s.fail("decisions seq", err)
}
