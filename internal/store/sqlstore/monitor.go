package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/store"
)

// Limits of monitor state records.
const (
	maxMonitorKey   = 200
	maxMonitorValue = 1 << 20
)

var _ store.MonitorState = (*Store)(nil)

func checkMonitorName(what, s string) error {
	if strings.TrimSpace(s) == "" || len(s) > maxMonitorKey {
		return invalid("monitor state %s %q must be 1-%d bytes", what, s, maxMonitorKey)
	}
	return nil
}

// MonitorStates lists the records of kind, by key.
func (s *Store) MonitorStates(ctx context.Context, kind string) ([]store.MonitorRecord, error) {
	const op = "list monitor state"
	if err := checkMonitorName("kind", kind); err != nil {
		return nil, s.fail(op, err)
	}
	out, err := queryAll(ctx, s.r, func(sc scanner) (store.MonitorRecord, error) {
		var (
			r store.MonitorRecord
			v string
		)
		err := sc.Scan(&r.Kind, &r.Key, &v, &r.UpdatedAt)
		r.Value, r.UpdatedAt = json.RawMessage(v), r.UpdatedAt.UTC()
		return r, err
	}, s.q("SELECT kind, key, value, updated_at FROM monitor_state WHERE kind = ? ORDER BY key"), kind)
	return out, s.fail(op, err)
}

// PutMonitorStates upserts recs in one transaction.
func (s *Store) PutMonitorStates(ctx context.Context, recs ...store.MonitorRecord) error {
	const op = "put monitor state"
	stamp := now()
	args := make([][]any, 0, len(recs))
	for _, r := range recs {
		if err := checkMonitorName("kind", r.Kind); err != nil {
			return s.fail(op, err)
		}
		if err := checkMonitorName("key", r.Key); err != nil {
			return s.fail(op, err)
		}
		if len(r.Value) > maxMonitorValue || !json.Valid(r.Value) {
			return s.fail(op, invalid("monitor state %s/%s: the value is not JSON of at most %d bytes", r.Kind, r.Key, maxMonitorValue))
		}
		at := r.UpdatedAt.UTC().Truncate(time.Microsecond)
		if r.UpdatedAt.IsZero() {
			at = stamp
		}
		args = append(args, []any{r.Kind, r.Key, string(r.Value), at})
	}
	if len(args) == 0 {
		return nil
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		stmt := func(n int) string {
			return s.q(`INSERT INTO monitor_state (kind, key, value, updated_at) VALUES ` + placeholders(n, 4) + `
				ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`)
		}
		// The same key twice in one call: the last wins, as one statement
		// may not update a row twice on PostgreSQL.
		last := map[[2]string]int{}
		for i, a := range args {
			last[[2]string{a[0].(string), a[1].(string)}] = i
		}
		var keep [][]any
		for i, a := range args {
			if last[[2]string{a[0].(string), a[1].(string)}] == i {
				keep = append(keep, a)
			}
		}
		return batches(ctx, tx, keep, stmt, func(st *sql.Stmt, chunk [][]any) error {
			flat := make([]any, 0, 4*len(chunk))
			for _, a := range chunk {
				flat = append(flat, a...)
			}
			_, err := st.ExecContext(ctx, flat...)
			return err
		})
	})
}

// DeleteMonitorStates removes the records of kind under keys.
func (s *Store) DeleteMonitorStates(ctx context.Context, kind string, keys ...string) error {
	const op = "delete monitor state"
	if err := checkMonitorName("kind", kind); err != nil {
		return s.fail(op, err)
	}
	if len(keys) == 0 {
		return nil
	}
	ks := make([]any, len(keys))
	for i, k := range keys {
		ks[i] = k
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		stmt := func(n int) string {
			return s.q("DELETE FROM monitor_state WHERE kind = ? AND key IN (" + placeholders(n, 1) + ")")
		}
		return batches(ctx, tx, ks, stmt, func(st *sql.Stmt, chunk []any) error {
			_, err := st.ExecContext(ctx, append([]any{kind}, chunk...)...)
			return err
		})
	})
}

// ObservationsAfter lists open observations above afterID in ID order,
// each with whether a scan of its asset finished before it was first
// seen.
func (s *Store) ObservationsAfter(ctx context.Context, afterID int64, limit int) ([]store.MonitorObservation, error) {
	const op = "observations after"
	if limit <= 0 || limit > store.MaxLimit {
		limit = store.MaxLimit
	}
	q := s.q("SELECT " + obsCols + `, EXISTS (SELECT 1 FROM scan_jobs j WHERE j.asset_id = observations.asset_id
			AND j.state = 'done' AND j.finished_at IS NOT NULL AND j.finished_at < observations.first_seen)
		FROM observations WHERE id > ? AND state = ? ORDER BY id LIMIT ?`)
	out, err := queryAll(ctx, s.r, func(sc scanner) (store.MonitorObservation, error) {
		var (
			o      store.MonitorObservation
			cert   []byte
			closed sql.NullTime
		)
		err := sc.Scan(&o.ID, &o.OrgID, &o.AssetID, &o.IP, &o.Port, &o.Proto, &o.Host, &o.State, &o.Service, &o.Product,
			&o.Version, &o.CPE, &o.TLS, &o.Banner, &cert, &o.FirstSeen, &o.LastSeen, &closed, &o.JobID, &o.PriorScan)
		o.Cert = rawJSON(cert)
		o.FirstSeen, o.LastSeen = o.FirstSeen.UTC(), o.LastSeen.UTC()
		o.ClosedAt = timePtr(closed)
		return o, err
	}, q, afterID, obsOpen, limit)
	return out, s.fail(op, err)
}
