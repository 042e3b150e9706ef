package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strconv"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// Sharing: the recipients of TLP:RED indicators and the indicators that
// concern an organization (migration 0027).

// recipientTables are the two recipient tables and their reference column.
var recipientTables = [2]struct{ table, col, what string }{
	{"intel_recipient_orgs", "org_id", "organization"},
	{"intel_recipient_users", "user_id", "user"},
}

// recipientList returns the list of r that table t holds.
func recipientList(r *intel.Recipients, t int) *[]int64 {
	if t == 0 {
		return &r.Orgs
	}
	return &r.Users
}

// fillRecipients reads the recipients of the TLP:RED indicators among
// items (others have none); one query a table when there are any.
func (s *Store) fillRecipients(ctx context.Context, q querier, items []store.StoredIndicator) error {
	at := map[int64]int{}
	var ids []int64
	for i := range items {
		if items[i].TLP == intel.TLPRed {
			at[items[i].ID] = i
			ids = append(ids, items[i].ID)
		}
	}
	return s.readRecipients(ctx, q, ids, func(id int64) *intel.Recipients { return &items[at[id]].Recipients })
}

// readRecipients reads the recipients of the indicators ids into dst(id).
func (s *Store) readRecipients(ctx context.Context, q querier, ids []int64, dst func(int64) *intel.Recipients) error {
	for len(ids) > 0 {
		n := min(len(ids), applyIn)
		for t, rt := range recipientTables {
			cond, args := s.inInts("indicator_id", ids[:n])
			rows, err := q.QueryContext(ctx, s.q("SELECT indicator_id, "+rt.col+" FROM "+rt.table+" WHERE "+cond+" ORDER BY indicator_id, "+rt.col), args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id, ref int64
				if err := rows.Scan(&id, &ref); err != nil {
					rows.Close()
					return err
				}
				l := recipientList(dst(id), t)
				*l = append(*l, ref)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		ids = ids[n:]
	}
	return nil
}

// missingRecipients returns the organizations and users the records name
// that do not exist (by list: orgs, users). It reads only when a record
// names someone.
func (s *Store) missingRecipients(ctx context.Context, tx *sql.Tx, records []intel.Record) ([2]map[int64]bool, error) {
	var want [2][]int64
	var missing [2]map[int64]bool
	for i := range records {
		r := &records[i].Recipients
		want[0] = append(want[0], r.Orgs...)
		want[1] = append(want[1], r.Users...)
	}
	for t, table := range [2]string{"orgs", "users"} {
		ids := want[t]
		slices.Sort(ids)
		ids = slices.Compact(ids)
		for len(ids) > 0 {
			n := min(len(ids), applyIn)
			cond, args := s.inInts("id", ids[:n])
			found, err := queryAll(ctx, tx, func(sc scanner) (int64, error) {
				var id int64
				return id, sc.Scan(&id)
			}, s.q("SELECT id FROM "+table+" WHERE "+cond), args...)
			if err != nil {
				return missing, err
			}
			for _, id := range ids[:n] {
				if !slices.Contains(found, id) {
					if missing[t] == nil {
						missing[t] = map[int64]bool{}
					}
					missing[t][id] = true
				}
			}
			ids = ids[n:]
		}
	}
	return missing, nil
}

// withoutMissing returns r without the recipients missing names (a copy
// when it drops any).
func withoutMissing(r intel.Recipients, missing [2]map[int64]bool) intel.Recipients {
	out := intel.Recipients{}
	for t := range recipientTables {
		src := *recipientList(&r, t)
		dst := recipientList(&out, t)
		for _, id := range src {
			if !missing[t][id] {
				*dst = append(*dst, id)
			}
		}
	}
	return out
}

// loadRecipients reads the recipients of the stored TLP:RED indicators
// among plans, before records are merged into them.
func (s *Store) loadRecipients(ctx context.Context, tx *sql.Tx, plans map[ikey]*planned) error {
	byID := map[int64]*planned{}
	var ids []int64
	for _, pl := range plans {
		if pl.ind.TLP == intel.TLPRed {
			byID[pl.id] = pl
			ids = append(ids, pl.id)
		}
	}
	slices.Sort(ids)
	return s.readRecipients(ctx, tx, ids, func(id int64) *intel.Recipients { return &byID[id].ind.Recipients })
}

// writeRecipients adds the recipients of the indicators whose recipients
// grew (the lists only grow: Merge takes the union).
func (s *Store) writeRecipients(ctx context.Context, tx *sql.Tx, ups []*planned) error {
	type pair struct{ id, ref int64 }
	for t, rt := range recipientTables {
		var rows []pair
		for _, pl := range ups {
			if pl.recipients {
				for _, ref := range *recipientList(&pl.ind.Recipients, t) {
					rows = append(rows, pair{pl.id, ref})
				}
			}
		}
		err := s.bulk(ctx, tx, len(rows), "(?, ?)", "INSERT INTO "+rt.table+" (indicator_id, "+rt.col+") VALUES ",
			" ON CONFLICT DO NOTHING", func(dst []any, i int) []any { return append(dst, rows[i].id, rows[i].ref) })
		if err != nil {
			return err
		}
	}
	return nil
}

// IndicatorsConcerning pages through the indicators that concern one
// organization: its sightings, its early warnings' indicators and the RED
// ones naming it. The three sets are read through their organization
// indexes and the indicators by their IDs; the page is cut in Seq order.
func (s *Store) IndicatorsConcerning(ctx context.Context, p auth.Principal, f store.ConcernFilter) (store.Page[store.StoredIndicator], error) {
	const op = "indicators concerning"
	var page store.Page[store.StoredIndicator]
	if err := needReadFeeds(p); err != nil {
		return page, s.fail(op, err)
	}
	limit, after, sc, err := s.listStart(ctx, p, f.PageRequest)
	if err != nil {
		return page, s.fail(op, err)
	}
	if _, err := s.loadOrg(ctx, s.r, sc, f.OrgID, false); err != nil {
		return page, s.fail(op, err)
	}
	w, err := s.indicatorWhere(ctx, p, store.IndicatorFilter{MaxTLP: f.MaxTLP, AfterSeq: max(after, f.AfterSeq), ChangedSince: f.ChangedSince})
	if err != nil {
		return page, s.fail(op, err)
	}
	w.add(`i.id IN (SELECT indicator_id FROM intel_concerns WHERE org_id = ?
		UNION SELECT indicator_id FROM intel_sightings WHERE org_id = ?
		UNION SELECT indicator_id FROM intel_recipient_orgs WHERE org_id = ?)`, f.OrgID, f.OrgID, f.OrgID)
	if f.IndicatorID != 0 {
		w.add("i.id = ?", f.IndicatorID)
	}
	if f.TLP != "" {
		t, err := intel.ParseTLP(string(f.TLP))
		if err != nil {
			return page, s.fail(op, invalid("TLP: %v", err))
		}
		w.add("i.tlp = ?", t.Rank())
	}
	items, err := queryAll(ctx, s.r, scanIndicator, s.q("SELECT "+indicatorCols+" FROM intel_indicators i"+w.String()+" ORDER BY i.seq LIMIT "+strconv.Itoa(limit+1)), w.args...)
	if err != nil {
		return page, s.fail(op, err)
	}
	page = finishPage(items, limit, func(si store.StoredIndicator) int64 { return si.Seq })
	if err := s.fillRecipients(ctx, s.r, page.Items); err != nil {
		return page, s.fail(op, err)
	}
	return page, nil
}

// AddConcerns links organizations to the indicators their early warnings
// named.
func (s *Store) AddConcerns(ctx context.Context, p auth.Principal, cs []store.Concern) (int, error) {
	const op = "add concerns"
	if err := needIntelAdmin(p); err != nil {
		return 0, s.fail(op, err)
	}
	if len(cs) == 0 {
		return 0, nil
	}
	added := 0
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		ids := map[store.IndicatorKey]int64{}
		for _, c := range cs {
			if c.OrgID <= 0 {
				return invalid("concern without an organization")
			}
			id, ok := ids[c.Key]
			if !ok {
				err := tx.QueryRowContext(ctx, s.q("SELECT id FROM intel_indicators WHERE vhash = ? AND kind = ? AND value = ?"),
					valueHash(c.Key.Kind, c.Key.Value), string(c.Key.Kind), c.Key.Value).Scan(&id)
				if err == sql.ErrNoRows {
					err = nil
				}
				if err != nil {
					return err
				}
				ids[c.Key] = id
			}
			if id == 0 {
				continue
			}
			res, err := tx.ExecContext(ctx, s.q("INSERT INTO intel_concerns (org_id, indicator_id) VALUES (?, ?) ON CONFLICT DO NOTHING"), c.OrgID, id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				added++
			}
		}
		return nil
	})
	if err != nil {
		return 0, s.fail(op, err)
	}
	return added, nil
}
