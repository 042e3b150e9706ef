package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// change is one audit entry to append.
type change struct {
	orgID   int64
	orgPath string
	action  string // "org.create", ...
	objType string
	objID   int64
	before  any // nil for creates
	after   any // nil for deletes
}

func actorOf(p auth.Principal) (string, auth.Role) {
	name := p.Name
	if name == "" && p.System {
		name = "system"
	}
	return name, p.Role
}

func jsonOrNil(v any) any {
	if v == nil {
		return nil
	}
	return mustJSON(v)
}

const auditInsert = `INSERT INTO audit_log (happened_at, actor, actor_role, org_id, org_path, action, object_type, object_id, before_data, after_data) VALUES `
const auditValues = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// audit appends one entry in the caller's transaction. There is no UPDATE
// or DELETE of audit_log anywhere in this package.
func (s *Store) audit(ctx context.Context, tx *sql.Tx, p auth.Principal, c change) error {
	actor, role := actorOf(p)
	_, err := tx.ExecContext(ctx, s.q(auditInsert+auditValues),
		now(), actor, string(role), nullInt64(c.orgID), c.orgPath, c.action, c.objType, c.objID,
		jsonOrNil(c.before), jsonOrNil(c.after))
	return err
}

// auditArgs is the argument list of one row of auditValues, for batches.
func auditArgs(at time.Time, p auth.Principal, c change) []any {
	actor, role := actorOf(p)
	return []any{at, actor, string(role), nullInt64(c.orgID), c.orgPath, c.action, c.objType, c.objID,
		jsonOrNil(c.before), jsonOrNil(c.after)}
}

// ListAudit returns entries newest first (keyset on descending id). Only
// principals with auth.PermReadAudit read it, and only the entries of
// organizations in their subtree, by the path the organization had when the
// entry was written; platform-wide entries (users without an organization)
// are visible to platform-wide principals only.
func (s *Store) ListAudit(ctx context.Context, p auth.Principal, f store.AuditFilter) (store.Page[store.AuditEntry], error) {
	const op = "list audit"
	var page store.Page[store.AuditEntry]
	if !p.Can(auth.PermReadAudit) {
		return page, s.fail(op, forbidden("reading the audit log needs "+string(auth.PermReadAudit)))
	}
	limit, after, sc, err := s.listStart(ctx, p, f.PageRequest)
	if err != nil {
		return page, s.fail(op, err)
	}
	var w where
	cond, args := sc.cond("org_path")
	w.add(cond, args...)
	if after > 0 {
		w.add("id < ?", after)
	}
	if f.ObjectType != "" {
		w.add("object_type = ?", f.ObjectType)
	}
	if f.ObjectID != 0 {
		w.add("object_id = ?", f.ObjectID)
	}
	if f.Actor != "" {
		w.add("actor = ?", f.Actor)
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, happened_at, actor, actor_role, org_id, action, object_type, object_id, before_data, after_data FROM audit_log`+
		w.String()+` ORDER BY id DESC LIMIT ?`), append(w.args, limit+1)...)
	if err != nil {
		return page, s.fail(op, err)
	}
	defer rows.Close()
	var items []store.AuditEntry
	for rows.Next() {
		var (
			e             store.AuditEntry
			org           sql.NullInt64
			before, after []byte
			role          string
		)
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &role, &org, &e.Action, &e.ObjectType, &e.ObjectID, &before, &after); err != nil {
			return page, s.fail(op, err)
		}
		e.At = e.At.UTC()
		e.ActorRole = auth.Role(role)
		e.OrgID = org.Int64
		if before != nil {
			e.Before = json.RawMessage(before)
		}
		if after != nil {
			e.After = json.RawMessage(after)
		}
		items = append(items, e)
	}
	if err := rows.Err(); err != nil {
		return page, s.fail(op, err)
	}
	return finishPage(items, limit, func(e store.AuditEntry) int64 { return e.ID }), nil
}
