package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// This file keeps scan jobs; scans_observations.go keeps what they saw and
// scans_policy.go the scan policies and the schedule.
//
// A job belongs to the organization it was requested for and keeps the id
// of its asset without a foreign key, so deleting the asset leaves the job
// listable. Listings page newest first by seq, a column both engines fill
// in insertion order (job ids are queue message ids, not ordered).

var _ store.Scans = (*Store)(nil)

const maxJobIDLen = 200

// maxWaitingReason caps a job's waiting reason, a short sentence.
const maxWaitingReason = 300

const jobCols = "j.seq, j.id, j.org_id, j.asset_id, j.type, j.region, j.reason, j.target, j.params, j.state, j.requested_by, j.error, j.stats, j.worker, j.created_at, j.started_at, j.finished_at, j.waiting_reason"

// jobRow is a job with its seq, the keyset of listings.
type jobRow struct {
	seq int64
	job store.ScanJob
}

func scanJob(sc scanner, extra ...any) (jobRow, error) {
	var (
		r                 jobRow
		j                 = &r.job
		state             string
		params, stats     []byte
		started, finished sql.NullTime
	)
	dest := append([]any{&r.seq, &j.ID, &j.OrgID, &j.AssetID, &j.Type, &j.Region, &j.Reason, &j.Target, &params, &state,
		&j.RequestedBy, &j.Error, &stats, &j.Worker, &j.CreatedAt, &started, &finished, &j.WaitingReason}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return r, err
	}
	j.State = store.JobState(state)
	j.Params, j.Stats = rawJSON(params), rawJSON(stats)
	j.CreatedAt = j.CreatedAt.UTC()
	j.StartedAt, j.FinishedAt = timePtr(started), timePtr(finished)
	return r, nil
}

// rawJSON turns a nullable JSON column into a RawMessage (nil for NULL).
func rawJSON(b []byte) json.RawMessage {
	if b == nil {
		return nil
	}
	return json.RawMessage(append([]byte(nil), b...))
}

// jsonArg checks an optional JSON value and returns it as a column value:
// NULL when empty or JSON null.
func jsonArg(what string, v json.RawMessage) (any, error) {
	s := strings.TrimSpace(string(v))
	if s == "" || s == "null" {
		return nil, nil
	}
	if !json.Valid([]byte(s)) {
		return nil, invalid("%s is not valid JSON", what)
	}
	return s, nil
}

func jobFinished(st store.JobState) bool {
	return st == store.JobDone || st == store.JobFailed || st == store.JobUnreachable
}

// loadJob reads one job with its organization's path; jobs outside sc are
// not found.
func (s *Store) loadJob(ctx context.Context, q querier, sc scope, id string, lock bool) (store.ScanJob, string, error) {
	query := "SELECT " + jobCols + ", o.path FROM scan_jobs j JOIN orgs o ON o.id = j.org_id WHERE j.id = ?"
	if lock {
		query += s.d.forUpdate()
	}
	var path string
	r, err := scanJob(q.QueryRowContext(ctx, s.q(query), id), &path)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !sc.contains(path)) {
		return store.ScanJob{}, "", notFound("scan job", id)
	}
	if err != nil {
		return store.ScanJob{}, "", err
	}
	return r.job, path, nil
}

// CreateScanJob stores j in state queued.
//
//   - j.ID is required (the queue message id, at most 200 bytes), and so
//     are AssetID and Type; Params must be JSON when set. OrgID zero means
//     the asset's organization; otherwise it must be the asset's
//     organization (ErrInvalid).
//   - A person needs the organization in the subtree (ErrNotFound), the
//     asset in the subtree (ErrNotFound) and auth.PermWriteAssets
//     (ErrForbidden); RequestedBy becomes their name and the request is
//     audited as "scan.request" on the asset (object type "asset": audit
//     object ids are numbers, job ids are not), with the job as after.
//     The system principal is not audited: scheduling is bookkeeping.
//   - Target defaults to the asset's value.
//   - State, Error, Stats, Worker, StartedAt and FinishedAt are ignored:
//     a new job is queued.
//   - A job with the same ID already stored is left alone and j is filled
//     from the stored row (nil error), so a republished request never
//     duplicates a job; when the stored job lies outside the principal's
//     subtree the answer is ErrConflict instead, so nothing of it leaks.
//   - A new job's j.Dispatch message goes to the outbox in the same
//     transaction; a job already stored writes none.
func (s *Store) CreateScanJob(ctx context.Context, p auth.Principal, j *store.ScanJob) error {
	const op = "create scan job"
	if err := prepareJob(j); err != nil {
		return s.fail(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		a, path, err := s.loadAsset(ctx, tx, sc, j.AssetID, false)
		if err != nil {
			return err
		}
		if j.OrgID == 0 {
			j.OrgID = a.OrgID
		} else if j.OrgID != a.OrgID {
			if _, err := s.loadOrg(ctx, tx, sc, j.OrgID, false); err != nil {
				return err
			}
			return invalid("asset %d belongs to organization %d, not %d", a.ID, a.OrgID, j.OrgID)
		}
		if !p.Can(auth.PermWriteAssets) {
			return forbidden("requesting a scan needs " + string(auth.PermWriteAssets))
		}
		if j.Target == "" {
			j.Target = a.Value
		}
		if !p.System {
			j.RequestedBy, _ = actorOf(p)
		} else if j.RequestedBy == "" {
			j.RequestedBy = "system"
		}
		if inserted, err := s.insertScanJob(ctx, tx, sc, j); err != nil || !inserted {
			return err
		}
		if p.System {
			return nil
		}
		return s.audit(ctx, tx, p, change{orgID: j.OrgID, orgPath: path, action: "scan.request", objType: "asset", objID: j.AssetID, after: j})
	})
}

// insertScanJob stores a checked job, with its publish message when it has
// a Dispatch, in tx. A job already stored under its ID that sc sees is put
// in *j and inserted is false (a republished request); one sc does not see
// is store.ErrConflict.
func (s *Store) insertScanJob(ctx context.Context, tx *sql.Tx, sc scope, j *store.ScanJob) (inserted bool, err error) {
	params, _ := jsonArg("params", j.Params) // checked by prepareJob
	j.CreatedAt = now()
	var seq int64
	err = tx.QueryRowContext(ctx, s.q(`INSERT INTO scan_jobs (id, org_id, asset_id, type, region, reason, target, params, state, requested_by, error, stats, worker, created_at, waiting_reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', NULL, '', ?, ?) ON CONFLICT (id) DO NOTHING RETURNING seq`),
		j.ID, j.OrgID, j.AssetID, j.Type, j.Region, j.Reason, j.Target, params, string(store.JobQueued), j.RequestedBy, j.CreatedAt, j.WaitingReason).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		// Already stored: a republished request.
		cur, _, err := s.loadJob(ctx, tx, sc, j.ID, false)
		if errors.Is(err, store.ErrNotFound) {
			return false, fmt.Errorf("%w: scan job id %q is taken", store.ErrConflict, j.ID)
		}
		if err != nil {
			return false, err
		}
		*j = cur
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if j.Dispatch != nil {
		// The job's publish message, in the job's own transaction: the
		// relay hands it to the workers even if this process dies right
		// after the commit (reliability review F3).
		m, err := j.Dispatch(*j)
		if err != nil {
			return false, fmt.Errorf("dispatch job %s: %w", j.ID, err)
		}
		m.CreatedAt = j.CreatedAt
		if err := s.enqueue(ctx, tx, []store.OutboxMessage{m}); err != nil {
			return false, err
		}
	}
	return true, nil
}

// prepareJob checks and resets the fields a new job takes from the caller.
func prepareJob(j *store.ScanJob) error {
	j.Type, j.Region, j.Reason = strings.TrimSpace(j.Type), strings.TrimSpace(j.Region), strings.TrimSpace(j.Reason)
	j.Target = strings.TrimSpace(j.Target)
	switch {
	case j.ID == "":
		return invalid("scan job id is required")
	case len(j.ID) > maxJobIDLen:
		return invalid("scan job id is longer than %d bytes", maxJobIDLen)
	case j.AssetID <= 0:
		return invalid("scan job asset is required")
	case j.Type == "":
		return invalid("scan job type is required")
	}
	if _, err := jsonArg("params", j.Params); err != nil {
		return err
	}
	j.State = store.JobQueued
	j.Error, j.Stats, j.Worker, j.StartedAt, j.FinishedAt = "", nil, "", nil, nil
	j.WaitingReason = strings.TrimSpace(j.WaitingReason)
	if len(j.WaitingReason) > maxWaitingReason {
		j.WaitingReason = j.WaitingReason[:maxWaitingReason]
	}
	return nil
}

// GetScanJob returns one job in the principal's subtree.
func (s *Store) GetScanJob(ctx context.Context, p auth.Principal, id string) (store.ScanJob, error) {
	const op = "get scan job"
	if err := needRead(p); err != nil {
		return store.ScanJob{}, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return store.ScanJob{}, s.fail(op, err)
	}
	j, _, err := s.loadJob(ctx, s.r, sc, id, false)
	return j, s.fail(op, err)
}

// orgScopeWhere restricts col (an organization id) to the filter's
// organization and its subtree, or else to the principal's scope.
func (s *Store) orgScopeWhere(ctx context.Context, w *where, sc scope, col string, orgID int64) error {
	switch {
	case orgID != 0:
		o, err := s.loadOrg(ctx, s.r, sc, orgID, false)
		if err != nil {
			return err
		}
		cond, args := subtreeRange("path", o.Path)
		w.add(col+" IN (SELECT id FROM orgs WHERE "+cond+")", args...)
	case sc.none():
		w.add("1 = 0")
	case !sc.all:
		cond, args := sc.cond("path")
		w.add(col+" IN (SELECT id FROM orgs WHERE "+cond+")", args...)
	}
	return nil
}

// ListScanJobs lists jobs in the principal's subtree, newest first.
func (s *Store) ListScanJobs(ctx context.Context, p auth.Principal, f store.JobFilter) (store.Page[store.ScanJob], error) {
	const op = "list scan jobs"
	var page store.Page[store.ScanJob]
	if err := needRead(p); err != nil {
		return page, s.fail(op, err)
	}
	limit, after, err := pageStart(f.PageRequest)
	if err != nil {
		return page, s.fail(op, err)
	}
	if f.State != "" && !validJobState(f.State) {
		return page, s.fail(op, invalid("unknown job state %q", f.State))
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return page, s.fail(op, err)
	}
	var w where
	if err := s.orgScopeWhere(ctx, &w, sc, "j.org_id", f.OrgID); err != nil {
		return page, s.fail(op, err)
	}
	if f.AssetID != 0 {
		w.add("j.asset_id = ?", f.AssetID)
	}
	if f.State != "" {
		w.add("j.state = ?", string(f.State))
	}
	if f.Region != "" {
		w.add("j.region = ?", f.Region)
	}
	if after > 0 {
		w.add("j.seq < ?", after)
	}
	items, err := queryAll(ctx, s.r, func(sc scanner) (jobRow, error) { return scanJob(sc) }, s.q("SELECT "+jobCols+" FROM scan_jobs j"+w.String()+" ORDER BY j.seq DESC LIMIT ?"), append(w.args, limit+1)...)
	if err != nil {
		return page, s.fail(op, err)
	}
	rp := finishPage(items, limit, func(r jobRow) int64 { return r.seq })
	page.Next = rp.Next
	page.Items = make([]store.ScanJob, len(rp.Items))
	for i, r := range rp.Items {
		page.Items[i] = r.job
	}
	return page, nil
}

func validJobState(st store.JobState) bool {
	return st == store.JobQueued || st == store.JobRunning || jobFinished(st)
}

// SetJobState moves a job along queued → running → done, failed or
// unreachable. Running may repeat (a redelivered job started again by
// another worker: Worker and StartedAt follow the latest start); a queued
// job may finish without having been seen running (the running update was
// lost). A finished job is never changed again and the call returns nil,
// so a redelivered result is harmless. Moving back to queued, or an unknown
// state, is ErrInvalid; an unknown job ErrNotFound. Finishing sets
// FinishedAt, Error and Stats (JSON), and Worker when given. No audit
// entry: this is the platform's bookkeeping.
func (s *Store) SetJobState(ctx context.Context, id string, state store.JobState, worker, errMsg string, stats json.RawMessage) error {
	const op = "set scan job state"
	if state == store.JobQueued || !validJobState(state) {
		return s.fail(op, invalid("cannot move a job to state %q", state))
	}
	statsArg, err := jsonArg("stats", stats)
	if err != nil {
		return s.fail(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, s.q("SELECT state FROM scan_jobs WHERE id = ?"+s.d.forUpdate()), id).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("scan job", id)
		}
		if err != nil {
			return err
		}
		if jobFinished(store.JobState(cur)) {
			return nil
		}
		t := now()
		if state == store.JobRunning {
			_, err = tx.ExecContext(ctx, s.q("UPDATE scan_jobs SET state = ?, worker = ?, started_at = ?, waiting_reason = '' WHERE id = ?"),
				string(state), worker, t, id)
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE scan_jobs SET state = ?, worker = CASE WHEN ? <> '' THEN ? ELSE worker END,
			error = ?, stats = ?, finished_at = ?, waiting_reason = '' WHERE id = ?`),
			string(state), worker, worker, errMsg, statsArg, t, id)
		return err
	})
}

// timeArg stores the zero time as NULL.
func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Microsecond)
}

var _ store.StaleJobs = (*Store)(nil)

// maxJobError caps the error a reaped job keeps.
const maxJobError = 1000

// StaleQueuedJobs lists queued jobs created before `before` whose publish
// message is not in the outbox, oldest first. The outbox's job messages
// are read once (NOT IN a subquery, which both engines hash), not once
// per job.
func (s *Store) StaleQueuedJobs(ctx context.Context, before time.Time, limit int) ([]store.ScanJob, error) {
	const op = "stale queued jobs"
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	prefix := store.JobMsgID("")
	rows, err := queryAll(ctx, s.r, func(sc scanner) (jobRow, error) { return scanJob(sc) },
		s.q("SELECT "+jobCols+" FROM scan_jobs j WHERE j.state = ? AND j.created_at < ?"+
			" AND j.id NOT IN (SELECT substr(msg_id, "+strconv.Itoa(len(prefix)+1)+") FROM outbox WHERE msg_id LIKE ?) ORDER BY j.seq LIMIT ?"),
		string(store.JobQueued), before.UTC().Truncate(time.Microsecond), prefix+"%", limit)
	if err != nil {
		return nil, s.fail(op, err)
	}
	out := make([]store.ScanJob, len(rows))
	for i, r := range rows {
		out[i] = r.job
	}
	return out, nil
}

// queuedWithoutMessage loads job id, locked on PostgreSQL, and reports
// whether it is queued with no publish message in the outbox.
func (s *Store) queuedWithoutMessage(ctx context.Context, tx *sql.Tx, id string) (store.ScanJob, bool, error) {
	r, err := scanJob(tx.QueryRowContext(ctx, s.q("SELECT "+jobCols+" FROM scan_jobs j WHERE j.id = ?"+s.d.forUpdate()), id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.ScanJob{}, false, notFound("scan job", id)
	}
	if err != nil {
		return store.ScanJob{}, false, err
	}
	if r.job.State != store.JobQueued {
		return r.job, false, nil
	}
	var n int
	if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM outbox WHERE msg_id = ?"), store.JobMsgID(id)).Scan(&n); err != nil {
		return r.job, false, err
	}
	return r.job, n == 0, nil
}

// RequeueScanJob writes a queued job's publish message to the outbox
// again when it has none there.
func (s *Store) RequeueScanJob(ctx context.Context, id string, dispatch func(store.ScanJob) (store.OutboxMessage, error)) (bool, error) {
	const op = "requeue scan job"
	if dispatch == nil {
		return false, s.fail(op, invalid("requeue scan job %q: no dispatch", id))
	}
	done := false
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		j, ok, err := s.queuedWithoutMessage(ctx, tx, id)
		if err != nil || !ok {
			return err
		}
		m, err := dispatch(j)
		if err != nil {
			return fmt.Errorf("dispatch job %s: %w", id, err)
		}
		if m.MsgID != store.JobMsgID(id) {
			return invalid("job %s: publish message id %q, want %q", id, m.MsgID, store.JobMsgID(id))
		}
		m.CreatedAt = now()
		if err := s.enqueue(ctx, tx, []store.OutboxMessage{m}); err != nil {
			return err
		}
		done = true
		return nil
	})
	return done, err
}

// FailQueuedJob fails a queued job that has no publish message in the
// outbox, with reason as its error.
func (s *Store) FailQueuedJob(ctx context.Context, id, reason string) (bool, error) {
	const op = "fail queued job"
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return false, s.fail(op, invalid("fail queued job %q: no reason", id))
	}
	if len(reason) > maxJobError {
		reason = strings.ToValidUTF8(reason[:maxJobError], "")
	}
	done := false
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		_, ok, err := s.queuedWithoutMessage(ctx, tx, id)
		if err != nil || !ok {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q("UPDATE scan_jobs SET state = ?, error = ?, finished_at = ?, waiting_reason = '' WHERE id = ?"),
			string(store.JobFailed), reason, now(), id); err != nil {
			return err
		}
		done = true
		return nil
	})
	return done, err
}
