package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

const djobCols = "j.id, j.org_id, j.sources, j.state, j.requested_by, j.created_at, j.started_at, j.finished_at, j.lease_until, j.progress, j.error"

func scanDiscoveryJob(sc scanner) (store.DiscoveryJob, error) {
	var (
		j                        store.DiscoveryJob
		org                      sql.NullInt64
		sources, state, progress string
		started, finished, lease sql.NullTime
	)
	err := sc.Scan(&j.ID, &org, &sources, &state, &j.RequestedBy, &j.CreatedAt, &started, &finished, &lease, &progress, &j.Error)
	j.OrgID, j.State = org.Int64, store.JobState(state)
	j.CreatedAt = j.CreatedAt.UTC()
	j.StartedAt, j.FinishedAt, j.LeaseUntil = timePtr(started), timePtr(finished), timePtr(lease)
	_ = json.Unmarshal([]byte(sources), &j.Sources)
	if progress != "" && progress != "{}" {
		j.Progress = json.RawMessage(progress)
	}
	return j, err
}

// CreateDiscoveryJob queues a discovery run.
func (s *Store) CreateDiscoveryJob(ctx context.Context, p auth.Principal, j *store.DiscoveryJob) error {
	const op = "create discovery job"
	if len(j.Sources) > maxCandSources {
		return s.fail(op, invalid("more than %d sources", maxCandSources))
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		var path string
		if j.OrgID == 0 {
			if !nationalAnalyst(p) {
				return forbidden("a run over the whole constituency is the national level's")
			}
		} else {
			o, err := s.loadOrg(ctx, tx, sc, j.OrgID, false)
			if err != nil {
				return err
			}
			path = o.Path
			if !p.Can(auth.PermWriteAssets) && !nationalAnalyst(p) {
				return forbidden("running discovery needs " + string(auth.PermWriteAssets))
			}
		}
		t := now()
		j.State, j.CreatedAt, j.RequestedBy = store.JobQueued, t, p.Name
		if j.RequestedBy == "" && p.System {
			j.RequestedBy = "system"
		}
		if j.Sources == nil {
			j.Sources = []string{}
		}
		if err := tx.QueryRowContext(ctx, s.q(`INSERT INTO discovery_jobs (org_id, sources, state, requested_by, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`),
			nullInt64(j.OrgID), mustJSON(j.Sources), string(j.State), j.RequestedBy, t).Scan(&j.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: j.OrgID, orgPath: path, action: "discovery.run", objType: "discovery_job", objID: j.ID, after: j})
	})
}

// ClaimDiscoveryJob takes the next job to run.
func (s *Store) ClaimDiscoveryJob(ctx context.Context, at time.Time, lease time.Duration) (store.DiscoveryJob, bool, error) {
	const op = "claim discovery job"
	var out store.DiscoveryJob
	found := false
	at = at.UTC().Truncate(time.Microsecond)
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		j, err := scanDiscoveryJob(tx.QueryRowContext(ctx, s.q("SELECT "+djobCols+" FROM discovery_jobs j WHERE j.state = 'queued' OR (j.state = 'running' AND j.lease_until < ?) ORDER BY j.id LIMIT 1"+s.d.forUpdate()), at))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		until := at.Add(lease)
		if j.StartedAt == nil {
			j.StartedAt = &at
		}
		j.State, j.LeaseUntil = store.JobRunning, &until
		if _, err := tx.ExecContext(ctx, s.q("UPDATE discovery_jobs SET state = 'running', started_at = ?, lease_until = ? WHERE id = ?"), *j.StartedAt, until, j.ID); err != nil {
			return err
		}
		out, found = j, true
		return nil
	})
	return out, found, err
}

// UpdateDiscoveryJob records progress or the end of a job.
func (s *Store) UpdateDiscoveryJob(ctx context.Context, id int64, state store.JobState, progress json.RawMessage, errMsg string, leaseUntil time.Time) error {
	const op = "update discovery job"
	switch state {
	case store.JobRunning, store.JobDone, store.JobFailed:
	default:
		return s.fail(op, invalid("discovery job state %q", state))
	}
	if len(progress) == 0 {
		progress = json.RawMessage("{}")
	}
	if !json.Valid(progress) || len(progress) > 256<<10 {
		return s.fail(op, invalid("progress must be JSON of at most 256 KiB"))
	}
	if len(errMsg) > 2000 {
		errMsg = errMsg[:2000]
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		var finished any
		if state != store.JobRunning {
			finished = now()
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE discovery_jobs SET state = ?, progress = ?, error = ?, lease_until = ?, finished_at = ?
			WHERE id = ? AND state IN ('queued', 'running')`), string(state), string(progress), errMsg, leaseUntil.UTC(), finished, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var st string
			if err := tx.QueryRowContext(ctx, s.q("SELECT state FROM discovery_jobs WHERE id = ?"), id).Scan(&st); errors.Is(err, sql.ErrNoRows) {
				return notFound("discovery job", id)
			}
		}
		return nil
	})
}

// ListDiscoveryJobs lists discovery runs, newest first.
func (s *Store) ListDiscoveryJobs(ctx context.Context, p auth.Principal, f store.DiscoveryJobFilter) (store.Page[store.DiscoveryJob], error) {
	const op = "list discovery jobs"
	var page store.Page[store.DiscoveryJob]
	if err := needRead(p); err != nil {
		return page, s.fail(op, err)
	}
	limit, after, sc, err := s.listStart(ctx, p, f.PageRequest)
	if err != nil {
		return page, s.fail(op, err)
	}
	var w where
	switch {
	case sc.none():
		w.add("1 = 0")
	case !sc.all:
		cond, args := sc.cond("o.path")
		w.add(cond, args...)
	}
	if f.State != "" {
		w.add("j.state = ?", string(f.State))
	}
	if after > 0 {
		w.add("j.id < ?", after)
	}
	items, err := queryAll(ctx, s.r, scanDiscoveryJob, s.q("SELECT "+djobCols+" FROM discovery_jobs j LEFT JOIN orgs o ON o.id = j.org_id"+w.String()+" ORDER BY j.id DESC LIMIT ?"), append(w.args, limit+1)...)
	if err != nil {
		return page, s.fail(op, err)
	}
	return finishPage(items, limit, func(j store.DiscoveryJob) int64 { return j.ID }), nil
}
