package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// This file keeps what the ingester needs so that no job gets stuck: the
// parts of a result sent in several messages, the jobs whose results could
// not be applied, and results for jobs this database does not know.

// maxIngestError caps the stored text of an ingestion error.
const maxIngestError = 1000

// RecordJobPart notes an applied part of a job's result and returns how
// many distinct parts of the same split are applied.
func (s *Store) RecordJobPart(ctx context.Context, jobID string, part, total int) (int, error) {
	const op = "record job part"
	if jobID == "" || total < 1 || part < 1 || part > total {
		return 0, s.fail(op, invalid("part %d of %d of job %q", part, total, jobID))
	}
	var n int
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO scan_job_parts (job_id, total, part, received_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (job_id, total, part) DO NOTHING`), jobID, total, part, now()); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM scan_job_parts WHERE job_id = ? AND total = ?"), jobID, total).Scan(&n)
	})
	return n, err
}

// SetJobIngestError records or clears a job's ingestion error.
func (s *Store) SetJobIngestError(ctx context.Context, jobID, errMsg string) error {
	const op = "set job ingest error"
	errMsg = strings.TrimSpace(errMsg)
	if len(errMsg) > maxIngestError {
		errMsg = errMsg[:maxIngestError]
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		var (
			res sql.Result
			err error
		)
		if errMsg == "" {
			res, err = tx.ExecContext(ctx, s.q("UPDATE scan_jobs SET ingest_error = '', ingest_failures = 0 WHERE id = ?"), jobID)
		} else {
			res, err = tx.ExecContext(ctx, s.q("UPDATE scan_jobs SET ingest_error = ?, ingest_failures = ingest_failures + 1 WHERE id = ?"), errMsg, jobID)
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("scan job", jobID)
		}
		return nil
	})
}

// ListIngestProblems lists jobs in the principal's subtree whose results
// could not be applied yet.
func (s *Store) ListIngestProblems(ctx context.Context, p auth.Principal, limit int) ([]store.IngestProblem, error) {
	const op = "list ingest problems"
	if err := needRead(p); err != nil {
		return nil, s.fail(op, err)
	}
	if limit <= 0 || limit > store.MaxLimit {
		limit = store.MaxLimit
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return nil, s.fail(op, err)
	}
	var w where
	w.add("j.ingest_failures > 0")
	if err := s.orgScopeWhere(ctx, &w, sc, "j.org_id", 0); err != nil {
		return nil, s.fail(op, err)
	}
	out, err := queryAll(ctx, s.r, func(sc scanner) (store.IngestProblem, error) {
		var ip store.IngestProblem
		var state string
		err := sc.Scan(&ip.JobID, &ip.OrgID, &ip.AssetID, &state, &ip.Error, &ip.Failures)
		ip.State = store.JobState(state)
		return ip, err
	}, s.q("SELECT j.id, j.org_id, j.asset_id, j.state, j.ingest_error, j.ingest_failures FROM scan_jobs j"+w.String()+
		" ORDER BY j.ingest_failures DESC, j.seq DESC LIMIT ?"), append(w.args, limit)...)
	return out, s.fail(op, err)
}

// KeepOrphanResult keeps a result for an unknown job aside.
func (s *Store) KeepOrphanResult(ctx context.Context, r store.OrphanResult) error {
	const op = "keep orphan result"
	if r.MsgID == "" {
		r.MsgID = "job:" + r.JobID + ":" + r.Type
	}
	if r.Data == nil {
		r.Data = []byte{}
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO orphan_results (msg_id, job_id, type, region, worker, data, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (msg_id) DO NOTHING`), r.MsgID, r.JobID, r.Type, r.Region, r.Worker, r.Data, now())
		return err
	})
}

// ListOrphanResults counts and lists kept orphan results (platform-wide
// roles only).
func (s *Store) ListOrphanResults(ctx context.Context, p auth.Principal, limit int) (int, []store.OrphanResult, error) {
	const op = "list orphan results"
	if !p.SeesAll() {
		return 0, nil, nil
	}
	if limit <= 0 || limit > store.MaxLimit {
		limit = store.DefaultLimit
	}
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM orphan_results").Scan(&n); err != nil {
		return 0, nil, s.fail(op, err)
	}
	out, err := queryAll(ctx, s.r, func(sc scanner) (store.OrphanResult, error) {
		var o store.OrphanResult
		err := sc.Scan(&o.ID, &o.MsgID, &o.JobID, &o.Type, &o.Region, &o.Worker, &o.ReceivedAt)
		o.ReceivedAt = o.ReceivedAt.UTC()
		return o, err
	}, s.q("SELECT id, msg_id, job_id, type, region, worker, received_at FROM orphan_results ORDER BY id DESC LIMIT ?"), limit)
	if err != nil {
		return 0, nil, s.fail(op, err)
	}
	return n, out, nil
}
