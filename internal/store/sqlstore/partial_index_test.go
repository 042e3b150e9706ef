package sqlstore

import (
	"context"
	"strings"
	"testing"
)

// SQLite can use a partial index only for a query whose WHERE repeats the
// index's own: each query on active, accepted and feed findings may still
// use its index (sqlite/0034_findings_partial_or.sql; INDEXED BY fails
// the query if it may not), and a finding's insert evaluates no IN list.
func TestFindingQueriesUsePartialIndexes(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	for _, c := range []struct{ query, index string }{
		{"SELECT f.id FROM findings f WHERE " + activeStates + " AND f.due_at IS NOT NULL AND f.due_at <= ? ORDER BY f.id", "findings_active_due"},
		{"SELECT f.org_id, f.severity_rank, f.kev, COUNT(*) FROM findings f WHERE " + activeStates + " GROUP BY f.org_id, f.severity_rank, f.kev", "findings_debt"},
		{"SELECT f.id FROM findings f WHERE " + acceptedStates + " AND f.until_at <= ? ORDER BY f.id", "findings_until"},
		{"SELECT f.id FROM findings f WHERE " + feedSources + " AND f.source = 'intel' AND " + activeStates + " AND f.last_seen < ? ORDER BY f.id LIMIT 5000", "findings_feed"},
		{"SELECT COUNT(*) FROM findings f" + s.notYetIndex() + " WHERE " + activeStates, "findings_active_due"},
	} {
		q := c.query
		if !strings.Contains(q, "INDEXED BY") {
			q = strings.Replace(q, "FROM findings f", "FROM findings f INDEXED BY "+c.index, 1)
		}
		rows, err := s.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, "2026-12-08", "2026-12-08")
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if p := strings.Join(plan, "; "); !strings.Contains(p, c.index) {
			t.Errorf("%s\nplan %q does not use %s", c.query, p, c.index)
		}
	}
	// No partial index of findings tests an IN list.
	rows, err := s.r.QueryContext(ctx, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'findings' AND sql IS NOT NULL")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, sql string
		if err := rows.Scan(&name, &sql); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ToUpper(sql), " IN (") {
			t.Errorf("%s: %s", name, sql)
		}
	}
}
