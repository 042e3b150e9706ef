package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

const bouncerCols = `id, name, org_id, key_hash, key_prefix, created_at, created_by, last_pull, last_addr, agent,
	pull_cursor, pulls, last_new, last_deleted, total_new, total_deleted`

func scanBouncer(sc scanner) (store.Bouncer, error) {
	var (
		b    store.Bouncer
		org  sql.NullInt64
		last sql.NullTime
	)
	err := sc.Scan(&b.ID, &b.Name, &org, &b.KeyHash, &b.KeyPrefix, &b.CreatedAt, &b.CreatedBy, &last, &b.LastAddr, &b.Agent,
		&b.Cursor, &b.Pulls, &b.LastNew, &b.LastDeleted, &b.TotalNew, &b.TotalDeleted)
	b.OrgID, b.LastPull, b.CreatedAt = org.Int64, timePtr(last), b.CreatedAt.UTC()
	return b, err
}

func validBouncerName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.@", c)) {
			return false
		}
	}
	return true
}

// CreateBouncer stores a new bouncer.
func (s *Store) CreateBouncer(ctx context.Context, p auth.Principal, b *store.Bouncer) error {
	const op = "create bouncer"
	if err := mayDecide(p); err != nil {
		return s.fail(op, err)
	}
	if !validBouncerName(b.Name) {
		return s.fail(op, invalid("bouncer name %q: use 1-64 letters, digits, '-', '_', '.' or '@'", b.Name))
	}
	if len(b.KeyHash) != 64 {
		return s.fail(op, invalid("bouncer key hash must be a hex SHA-256"))
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		t := now()
		actor, _ := actorOf(p)
		b.CreatedAt, b.CreatedBy = t, actor
		if b.OrgID != 0 {
			var one int
			if err := tx.QueryRowContext(ctx, s.q("SELECT 1 FROM orgs WHERE id = ?"), b.OrgID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return notFound("organization", b.OrgID)
			} else if err != nil {
				return err
			}
		}
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO bouncers (name, org_id, key_hash, key_prefix, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`), b.Name, nullInt64(b.OrgID), b.KeyHash, b.KeyPrefix, t, actor).Scan(&b.ID)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: b.OrgID, action: "bouncer.create", objType: "bouncer", objID: b.ID,
			after: map[string]any{"name": b.Name, "org_id": b.OrgID, "key_prefix": b.KeyPrefix}})
	})
}

// ListBouncers lists every bouncer by name (national level only).
func (s *Store) ListBouncers(ctx context.Context, p auth.Principal) ([]store.Bouncer, error) {
	if !p.SeesAll() {
		return []store.Bouncer{}, nil
	}
	out, err := queryAll(ctx, s.r, scanBouncer, "SELECT "+bouncerCols+" FROM bouncers ORDER BY name")
	if out == nil {
		out = []store.Bouncer{}
	}
	return out, s.fail("list bouncers", err)
}

// DeleteBouncer removes a bouncer.
func (s *Store) DeleteBouncer(ctx context.Context, p auth.Principal, id int64) error {
	const op = "delete bouncer"
	if err := mayDecide(p); err != nil {
		return s.fail(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		b, err := scanBouncer(tx.QueryRowContext(ctx, s.q("SELECT "+bouncerCols+" FROM bouncers WHERE id = ?"), id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("bouncer", id)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM bouncers WHERE id = ?"), id); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: b.OrgID, action: "bouncer.delete", objType: "bouncer", objID: id,
			before: map[string]any{"name": b.Name, "org_id": b.OrgID, "key_prefix": b.KeyPrefix}})
	})
}

// BouncerForKey finds a bouncer by its key's hash.
func (s *Store) BouncerForKey(ctx context.Context, hash string) (store.Bouncer, error) {
	b, err := scanBouncer(s.r.QueryRowContext(ctx, s.q("SELECT "+bouncerCols+" FROM bouncers WHERE key_hash = ?"), hash))
	if errors.Is(err, sql.ErrNoRows) {
		err = notFound("bouncer key", "")
	}
	return b, s.fail("bouncer for key", err)
}

// RecordPull stores what a bouncer pulled.
func (s *Store) RecordPull(ctx context.Context, id int64, pl store.BouncerPull) error {
	const op = "record pull"
	if len(pl.Addr) > 100 {
		pl.Addr = pl.Addr[:100]
	}
	if len(pl.Agent) > 200 {
		pl.Agent = pl.Agent[:200]
	}
	at := pl.At.UTC().Truncate(time.Microsecond)
	if pl.At.IsZero() {
		at = now()
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		q := `UPDATE bouncers SET last_pull = ?, last_addr = ?, agent = ?, pull_cursor = ?, pulls = pulls + 1,
			total_new = total_new + ?, total_deleted = total_deleted + ?`
		args := []any{at, pl.Addr, pl.Agent, pl.Cursor, pl.New, pl.Deleted}
		if pl.New > 0 || pl.Deleted > 0 {
			q += ", last_new = ?, last_deleted = ?"
			args = append(args, pl.New, pl.Deleted)
		}
		res, err := tx.ExecContext(ctx, s.q(q+" WHERE id = ?"), append(args, id)...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("bouncer", id)
		}
		return nil
	})
}
