package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// openTwins opens two stores on one database, as two processes would.
func openTwins(t *testing.T, driver string) (*Store, *Store) {
	t.Helper()
	ctx := context.Background()
	var dsn string
	switch driver {
	case "sqlite":
		dsn = filepath.Join(t.TempDir(), "rampart.db")
	case "postgres":
		dsn = postgresDSN(t)
		dsn = withSearchPath(dsn, newSchema(t, dsn))
	}
	open := func() *Store {
		s, err := Open(ctx, driver, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	return open(), open()
}

// TestOverviewKeptIsExact: the dashboard's numbers equal a direct count of
// the findings, assets and organizations after every kind of change (new
// and fixed findings, people's transitions, an asset, an organization
// renamed and moved, a write by another process) and as a due date passes,
// and a kept overview is reused only while nothing changed.
func TestOverviewKeptIsExact(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			if driver == "postgres" {
				postgresDSN(t)
			}
			s, other := openTwins(t, driver)
			testOverviewKept(t, s, other)
		})
	}
}

func testOverviewKept(t *testing.T, s, other *Store) {
	ctx := context.Background()
	day := 24 * time.Hour
	mkOrg := func(code string, parent int64, kind org.Kind) org.Organization {
		o := org.Organization{Code: code, Name: "Tổ chức " + code, NameEN: "Org " + code, Kind: kind, ParentID: parent}
		if err := s.CreateOrg(ctx, sysP, &o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	nat := mkOrg("NAT", 0, org.KindNational)
	a := mkOrg("A", nat.ID, org.KindMinistry)
	b := mkOrg("B", nat.ID, org.KindMinistry)
	a1 := mkOrg("A1", a.ID, org.KindAgency)
	b1 := mkOrg("B1", b.ID, org.KindAgency)
	mkAsset := func(st *Store, o org.Organization, host string) asset.Asset {
		as := asset.Asset{OrgID: o.ID, Kind: asset.KindHostname, Value: host}
		if err := st.CreateAsset(ctx, sysP, &as); err != nil {
			t.Fatal(err)
		}
		return as
	}
	ha1 := mkAsset(s, a1, "a1.kept.example")
	hb1 := mkAsset(s, b1, "b1.kept.example")
	mkAsset(s, a, "a.kept.example")

	t0 := time.Now().UTC().Add(-20 * day).Truncate(time.Second)
	find := func(as asset.Asset, check string, sev finding.Severity, kev bool) store.Finding {
		target := as.Value + ":443"
		return store.Finding{Key: finding.Key(as.ID, check, target, ""), OrgID: as.OrgID, AssetID: as.ID, Check: check,
			Severity: sev, KEV: kev, Target: target, Title: check, Evidence: json.RawMessage(`{"x":1}`)}
	}
	record := func(st *Store, job string, at time.Time, as asset.Asset, found ...store.Finding) {
		var checks []string
		for _, f := range found {
			checks = append(checks, f.Check)
		}
		checks = append(checks, "tls.cert-expired", "http.missing-hsts", "vuln.cve", "svc.telnet", "tls.weak-cipher")
		_, err := st.RecordFindings(ctx, store.FindingBatch{JobID: job, At: at, Policy: finding.DefaultPolicy, Seen: found,
			Covered: []store.Coverage{{AssetID: as.ID, OrgID: as.OrgID, Target: as.Value + ":443", Checks: checks}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	// a1: critical (due t0+15d, overdue now), KEV critical (t0+14d),
	// high (t0+30d, due in ten days); b1: medium, low, high.
	record(s, "j1", t0, ha1, find(ha1, "tls.cert-expired", finding.Critical, false), find(ha1, "vuln.cve", finding.Critical, true),
		find(ha1, "http.missing-hsts", finding.High, false))
	record(s, "j2", t0, hb1, find(hb1, "http.missing-hsts", finding.Medium, false), find(hb1, "svc.telnet", finding.Low, false),
		find(hb1, "tls.weak-cipher", finding.High, false))

	kept := func(key string) *overviewBase {
		s.dash.mu.Lock()
		defer s.dash.mu.Unlock()
		if e := s.dash.m[key]; e != nil {
			select {
			case <-e.done:
				return e.base
			default:
			}
		}
		return nil
	}
	// check compares the overview of p at at with a direct count and
	// returns the kept overview that answered it.
	check := func(step string, p auth.Principal, at time.Time) (store.Overview, *overviewBase) {
		t.Helper()
		ov, err := s.Overview(ctx, p, 0, at)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		want := directOverview(t, s, p, at)
		compareOverview(t, step, ov, want)
		sc, err := s.scopeOf(ctx, s.r, p)
		if err != nil {
			t.Fatal(err)
		}
		return ov, kept(scopeKey(sc))
	}

	// trendNow checks the trend's live point, which follows the same
	// counts, against the overview's.
	var trendAt func(step string, p auth.Principal, at time.Time)
	trendNow := func(step string, p auth.Principal) {
		t.Helper()
		trendAt(step, p, time.Now().UTC())
	}
	trendAt = func(step string, p auth.Principal, at time.Time) {
		t.Helper()
		pts, err := s.Trend(ctx, p, 0, 3, at)
		if err != nil {
			t.Fatalf("%s: trend: %v", step, err)
		}
		if want := directOverview(t, s, p, at).Active; pts[len(pts)-1].Active != want {
			t.Fatalf("%s: trend today %d, direct %d", step, pts[len(pts)-1].Active, want)
		}
		sc, err := s.scopeOf(ctx, s.r, p)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := s.trendOf(ctx, sc, 3, dayOf(at))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(pts) != fmt.Sprint(fresh) {
			t.Fatalf("%s: trend %v, computed afresh %v", step, pts, fresh)
		}
	}

	now := time.Now().UTC()
	ov, first := check("first", sysP, now)
	if ov.Active != 6 || ov.Overdue != 2 || ov.KEV != 1 || first == nil {
		t.Fatalf("first overview: active %d overdue %d kev %d, kept %v", ov.Active, ov.Overdue, ov.KEV, first != nil)
	}
	if _, again := check("unchanged", sysP, now.Add(time.Second)); again != first {
		t.Fatal("an overview with nothing changed was computed again")
	}
	ministry := auth.Principal{Name: "ministry", Role: auth.RoleOrgAdmin, OrgID: a.ID}
	check("ministry", ministry, now)
	trendNow("first", sysP)
	trendNow("ministry", ministry)

	// New findings and a fixed one (b1's telnet is not seen again).
	record(s, "j3", now.Add(-time.Hour), hb1, find(hb1, "http.missing-hsts", finding.Medium, false), find(hb1, "tls.weak-cipher", finding.High, false),
		find(hb1, "vuln.cve", finding.Critical, true))
	if _, after := check("recorded", sysP, now); after == first {
		t.Fatal("the kept overview survived a recorded batch")
	}
	check("ministry after record", ministry, now)
	trendNow("recorded", sysP)

	// People's transitions: acknowledged (still active), risk accepted and
	// false positive (no longer active).
	ids := findingIDs(t, s)
	for i, tr := range []finding.Transition{
		{Action: finding.ActionAcknowledge},
		{Action: finding.ActionAcceptRisk, Reason: "isolated", Approve: "ciso", Until: now.Add(30 * day)},
		{Action: finding.ActionFalsePositive, Reason: "not ours", Approve: "ciso", Until: now.Add(30 * day)},
	} {
		tr.At = now.Add(-time.Minute)
		if _, err := s.TransitionFinding(ctx, sysP, ids[i], tr); err != nil {
			t.Fatalf("transition %s: %v", tr.Action, err)
		}
		check("after "+string(tr.Action), sysP, now)
	}

	// The passing of a due date: a1's high finding is due at t0+30d. Just
	// before and at that instant it is not overdue (overdue means due
	// before now); a microsecond later it is, and the kept overview
	// computed before no longer answers.
	due := t0.Add(30 * day)
	before, kb := check("before due", sysP, due.Add(-time.Microsecond))
	atDue, ka := check("at due", sysP, due)
	if ka != kb || atDue.Overdue != before.Overdue {
		t.Fatalf("at the due instant: overdue %d (before %d), same kept overview %v", atDue.Overdue, before.Overdue, ka == kb)
	}
	past, kp := check("past due", sysP, due.Add(time.Microsecond))
	if kp == ka || past.Overdue != before.Overdue+1 {
		t.Fatalf("past the due date: overdue %d (before %d), recomputed %v", past.Overdue, before.Overdue, kp != ka)
	}
	// An earlier time after the previous due date is still answered by
	// the same findings overdue.
	check("back before due", sysP, due.Add(-time.Hour))

	// An asset, an organization renamed and moved.
	mkAsset(s, b1, "b1-2.kept.example")
	check("asset created", sysP, now)
	a1.NameEN, a1.Name = "Renamed A1", "Đổi tên A1"
	a1.ParentID = b.ID
	if err := s.UpdateOrg(ctx, sysP, &a1); err != nil {
		t.Fatal(err)
	}
	ov, _ = check("organization moved", sysP, now)
	for _, o := range ov.Orgs {
		if o.OrgID == a1.ID && (o.NameEN != "Renamed A1" || o.ParentID != b.ID) {
			t.Fatalf("moved organization: %+v", o)
		}
	}
	check("ministry after move", ministry, now)
	trendNow("ministry after move", ministry)

	// Writes by another process: a finding, an asset, a transition.
	hb2 := mkAsset(other, b1, "b1-3.kept.example")
	check("asset by another process", sysP, now)
	record(other, "j4", now.Add(-time.Minute), hb2, find(hb2, "svc.telnet", finding.Critical, false))
	check("finding by another process", sysP, now)
	if _, err := other.TransitionFinding(ctx, sysP, ids[0], finding.Transition{Action: finding.ActionAcceptRisk, Reason: "x", Approve: "y",
		Until: now.Add(day), At: now.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	check("transition by another process", sysP, now)
	trendNow("transition by another process", sysP)

	// Days kept by the snapshot, and a second root organization with a
	// finding: the platform-wide trend follows both.
	if err := s.SnapshotTrend(ctx, 3, time.Now()); err != nil {
		t.Fatal(err)
	}
	trendNow("days kept", sysP)
	// Tomorrow, today has just ended and is answered live until the
	// snapshot keeps it; a finding first seen tomorrow is in the live
	// count and not in the kept day.
	tomorrow := time.Now().UTC().Add(day)
	ht := mkAsset(s, b1, "tomorrow.kept.example")
	record(s, "j-tomorrow", tomorrow, ht, find(ht, "svc.telnet", finding.Low, false))
	trendAt("tomorrow, today provisional", sysP, tomorrow)
	if err := s.SnapshotTrend(ctx, 3, tomorrow); err != nil {
		t.Fatal(err)
	}
	trendAt("tomorrow, today kept", sysP, tomorrow)
	root2 := mkOrg("R2", 0, org.KindNational)
	hr2 := mkAsset(s, root2, "r2.kept.example")
	trendNow("second root", sysP)
	record(s, "j5", now.Add(-time.Minute), hr2, find(hr2, "svc.telnet", finding.High, false))
	check("second root", sysP, now)
	trendNow("second root's finding", sysP)
	// An organization with kept days becomes a root: its kept days join
	// the platform's (as its parent's kept days still hold them).
	a1.ParentID = 0
	if err := s.UpdateOrg(ctx, sysP, &a1); err != nil {
		t.Fatal(err)
	}
	check("a root more", sysP, now)
	trendNow("a root more", sysP)

	// Concurrent readers while findings are recorded: once the writes
	// end, the overview is exact again.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Overview(ctx, sysP, 0, time.Now()); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := 0; i < 10; i++ {
		sev := []finding.Severity{finding.Critical, finding.High, finding.Medium, finding.Low}[i%4]
		record(s, fmt.Sprintf("c%d", i), now.Add(time.Duration(i)*time.Millisecond-time.Minute), hb2,
			find(hb2, "svc.telnet", sev, i%3 == 0), find(hb2, "tls.weak-cipher", finding.High, i%2 == 0))
	}
	close(stop)
	wg.Wait()
	check("after concurrent writes", sysP, time.Now().UTC())
	check("ministry at the end", ministry, time.Now().UTC())
	trendNow("at the end", sysP)
}

// findingIDs lists the active findings' IDs in ID order.
func findingIDs(t *testing.T, s *Store) []int64 {
	t.Helper()
	rows, err := s.DB().Query("SELECT f.id FROM findings f WHERE " + activeStates + " ORDER BY f.id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// directOverview counts what the overview of p at at must say from the
// organizations, assets and findings rows themselves.
func directOverview(t *testing.T, s *Store, p auth.Principal, at time.Time) store.Overview {
	t.Helper()
	var root string
	if !p.SeesAll() {
		if err := s.DB().QueryRow(s.q("SELECT path FROM orgs WHERE id = ?"), p.OrgID).Scan(&root); err != nil {
			t.Fatal(err)
		}
	}
	want := store.Overview{BySeverity: map[finding.Severity]int{}}
	for _, sev := range finding.Severities {
		want.BySeverity[sev] = 0
	}
	rows, err := s.DB().Query("SELECT id, parent_id, name_en, path FROM orgs ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	index := map[int64]int{}
	for rows.Next() {
		var (
			o      store.OrgRollup
			parent sql.NullInt64
		)
		if err := rows.Scan(&o.OrgID, &parent, &o.NameEN, &o.Path); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(o.Path, root) {
			continue
		}
		o.ParentID = parent.Int64
		o.BySeverity = map[finding.Severity]int{}
		for _, sev := range finding.Severities {
			o.BySeverity[sev] = 0
		}
		index[o.OrgID] = len(want.Orgs)
		want.Orgs = append(want.Orgs, o)
	}
	rows.Close()
	pathOf := map[int64]string{}
	for _, o := range want.Orgs {
		pathOf[o.OrgID] = o.Path
	}
	// each calls fn for every organization in view whose subtree holds id.
	each := func(id int64, fn func(o *store.OrgRollup)) {
		path, ok := pathOf[id]
		if !ok {
			return
		}
		for i := range want.Orgs {
			if strings.HasPrefix(path, want.Orgs[i].Path) {
				fn(&want.Orgs[i])
			}
		}
	}
	rows, err = s.DB().Query("SELECT org_id, COUNT(*) FROM assets GROUP BY org_id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		each(id, func(o *store.OrgRollup) { o.Assets += n; o.Units++ })
	}
	rows.Close()

	type group struct {
		org  int64
		sev  finding.Severity
		kev  bool
		n    int
		days float64
	}
	groups := map[[3]string]*group{}
	checks := map[string]*store.CheckCount{}
	rows, err = s.DB().Query("SELECT f.org_id, f.check_id, f.severity, f.kev, f.due_at FROM findings f WHERE " + activeStates)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var (
			id    int64
			check string
			sev   string
			kev   bool
			due   sql.NullTime
		)
		if err := rows.Scan(&id, &check, &sev, &kev, &due); err != nil {
			t.Fatal(err)
		}
		if _, ok := pathOf[id]; !ok {
			continue
		}
		overdue := due.Valid && due.Time.Before(at)
		each(id, func(o *store.OrgRollup) {
			o.Active++
			o.BySeverity[finding.Severity(sev)]++
			if kev {
				o.KEV++
			}
			if overdue {
				o.Overdue++
			}
		})
		want.Active++
		want.BySeverity[finding.Severity(sev)]++
		if kev {
			want.KEV++
		}
		c := checks[check]
		if c == nil {
			c = &store.CheckCount{Check: check}
			checks[check] = c
		}
		c.Active++
		if overdue {
			want.Overdue++
			c.Overdue++
			k := [3]string{fmt.Sprint(id), sev, fmt.Sprint(kev)}
			g := groups[k]
			if g == nil {
				g = &group{org: id, sev: finding.Severity(sev), kev: kev}
				groups[k] = g
			}
			g.n++
			g.days += at.Sub(due.Time).Hours() / 24
		}
	}
	rows.Close()
	for _, g := range groups {
		w := float64(g.n) * finding.DebtWeight(g.sev, g.kev, g.days/float64(g.n))
		want.Weighted += w
		each(g.org, func(o *store.OrgRollup) { o.Weighted += w })
	}
	for _, c := range checks {
		want.TopChecks = append(want.TopChecks, *c)
	}
	sort.Slice(want.TopChecks, func(i, j int) bool {
		a, b := want.TopChecks[i], want.TopChecks[j]
		if a.Active != b.Active {
			return a.Active > b.Active
		}
		return a.Check < b.Check
	})
	if len(want.TopChecks) > store.TopChecksLimit {
		want.TopChecks = want.TopChecks[:store.TopChecksLimit]
	}
	return want
}

func compareOverview(t *testing.T, step string, got, want store.Overview) {
	t.Helper()
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }
	if got.Active != want.Active || got.Overdue != want.Overdue || got.KEV != want.KEV || !near(got.Weighted, want.Weighted) {
		t.Fatalf("%s: overview active %d overdue %d kev %d weighted %f, direct %d %d %d %f", step,
			got.Active, got.Overdue, got.KEV, got.Weighted, want.Active, want.Overdue, want.KEV, want.Weighted)
	}
	for _, sev := range finding.Severities {
		if got.BySeverity[sev] != want.BySeverity[sev] {
			t.Fatalf("%s: %s %d, direct %d", step, sev, got.BySeverity[sev], want.BySeverity[sev])
		}
	}
	if fmt.Sprint(got.TopChecks) != fmt.Sprint(want.TopChecks) {
		t.Fatalf("%s: top checks %v, direct %v", step, got.TopChecks, want.TopChecks)
	}
	if len(got.Orgs) != len(want.Orgs) {
		t.Fatalf("%s: %d organizations, direct %d", step, len(got.Orgs), len(want.Orgs))
	}
	for i, w := range want.Orgs {
		g := got.Orgs[i]
		if g.OrgID != w.OrgID || g.ParentID != w.ParentID || g.NameEN != w.NameEN || g.Path != w.Path ||
			g.Active != w.Active || g.Overdue != w.Overdue || g.KEV != w.KEV || !near(g.Weighted, w.Weighted) ||
			g.Assets != w.Assets || g.Units != w.Units || fmt.Sprint(g.BySeverity) != fmt.Sprint(w.BySeverity) {
			t.Fatalf("%s: organization %d:\n overview %+v\n direct   %+v", step, w.OrgID, g, w)
		}
	}
}
