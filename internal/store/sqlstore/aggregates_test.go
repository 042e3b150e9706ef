package sqlstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/storetest"
)

// TestAggregatesFollowEveryWrite runs the conformance parts that write
// findings (recording from every source, people's transitions, waivers,
// expired acceptances, stale feed findings, deadlines, the dashboard) and
// checks after each that the tallies equal what a rebuild from the
// findings gives.
func TestAggregatesFollowEveryWrite(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func(testing.TB) *Store) {
		storetest.Run(t, func(t *testing.T) store.Store {
			name := t.Name()[strings.LastIndex(t.Name(), "/")+1:]
			if !slices.Contains([]string{"Findings", "Deadlines", "Dashboard", "Notify", "AlertQueue", "Scans"}, name) {
				t.Skip("writes no findings")
			}
			s := open(t)
			t.Cleanup(func() {
				if t.Failed() {
					return
				}
				got := tallies(t, s)
				if err := s.RebuildAggregates(context.Background()); err != nil {
					t.Fatalf("rebuild: %v", err)
				}
				want := tallies(t, s)
				if !maps.Equal(got, want) {
					for k, v := range want {
						if got[k] != v {
							t.Errorf("tally %s: kept %q, rebuilt %q", k, got[k], v)
						}
					}
					for k, v := range got {
						if _, ok := want[k]; !ok {
							t.Errorf("tally %s: kept %q, rebuilt none", k, v)
						}
					}
				}
			})
			return s
		})
	})
}

// tallies reads both tally tables, leaving out rows counting nothing.
func tallies(t *testing.T, s *Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, q := range []string{
		"SELECT org_id, severity_rank, kev, active, due_n, due_ms FROM finding_tally WHERE active <> 0 OR due_n <> 0 OR due_ms <> 0",
		"SELECT org_id, check_id, active, due_n FROM finding_check_tally WHERE active <> 0 OR due_n <> 0",
	} {
		rows, err := s.DB().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			strs := make([]string, len(vals))
			for i, v := range vals {
				strs[i] = fmt.Sprint(v)
			}
			n := len(cols) - 3 // the key columns
			if len(cols) == 4 {
				n = 2
			}
			out[q[7:20]+" "+strings.Join(strs[:n], "/")] = strings.Join(strs[n:], "/")
		}
		rows.Close()
	}
	return out
}
