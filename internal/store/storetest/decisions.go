package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// RunDecisions is the conformance suite of store.Decisions, for stores
// that implement it (open returns a new, empty, migrated store).
func RunDecisions(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store, d store.Decisions)
	}{
		{"ApplyAndExtend", testDecisionApply},
		{"ApproveRejectDelete", testDecisionApproval},
		{"ExpiryAndStream", testDecisionStream},
		{"Tenancy", testDecisionTenancy},
		{"Bouncers", testBouncers},
		{"ConcurrentApply", testDecisionConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			d, ok := s.(store.Decisions)
			if !ok {
				t.Skipf("%T does not keep decisions", s)
			}
			tc.fn(t, s, d)
		})
	}
}

func evidence(org, sensor, kind string, n uint64, at time.Time) store.DecisionEvidence {
	return store.DecisionEvidence{Org: org, Sensor: sensor, Kinds: []string{kind}, Count: n, First: at, Last: at, Target: "192.0.2.1"}
}

func newDecision(value string, state store.DecisionState, until time.Time, ev ...store.DecisionEvidence) store.Decision {
	return store.Decision{Value: value, Scope: store.ScopeIP, Type: store.TypeBan, Origin: store.OriginCorrelation,
		State: state, Until: until, Evidence: ev}
}

func testDecisionApply(t *testing.T, _ store.Store, ds store.Decisions) {
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Second)
	seq0, err := ds.DecisionsSeq(ctx)
	must(t, err, "seq")
	d, created, err := ds.ApplyDecision(ctx, sys, newDecision("203.0.113.7", store.DecisionActive, t0.Add(4*time.Hour),
		evidence("A", "gw1", "port-scan", 10, t0), evidence("B", "gw", "ssh-bruteforce", 5, t0), evidence("C", "gw", "port-scan", 1, t0)))
	must(t, err, "apply")
	if !created || d.ID == 0 || d.UUID == "" || d.State != store.DecisionActive || d.Orgs != 3 || d.Detections != 16 ||
		d.Seq <= seq0 || d.ActivatedAt == nil || d.Scenario != "rampart/port-scan+ssh-bruteforce" {
		t.Fatalf("created decision: %+v", d)
	}
	// Again, later and longer: the same decision, extended, evidence merged.
	t1 := t0.Add(time.Minute)
	d2, created, err := ds.ApplyDecision(ctx, sys, newDecision("203.0.113.7", store.DecisionActive, t1.Add(4*time.Hour),
		evidence("A", "gw1", "ssh-bruteforce", 4, t1), evidence("D", "gw", "port-scan", 2, t1)))
	must(t, err, "extend")
	if created || d2.ID != d.ID || d2.Orgs != 4 || d2.Detections != 22 || !d2.Until.Equal(t1.Add(4*time.Hour)) || d2.Seq <= d.Seq {
		t.Fatalf("extended decision: %+v", d2)
	}
	got, err := ds.GetDecision(ctx, sys, d.ID)
	must(t, err, "get")
	if len(got.Evidence) != 4 || got.Evidence[0].Org != "A" || got.Evidence[0].Count != 14 || len(got.Evidence[0].Kinds) != 2 ||
		!got.Evidence[0].First.Equal(t0) || !got.Evidence[0].Last.Equal(t1) || got.FirstSeen == nil || !got.FirstSeen.Equal(t0) {
		t.Fatalf("merged evidence: %+v", got.Evidence)
	}
	// A shorter end changes nothing a bouncer must hear of.
	d3, _, err := ds.ApplyDecision(ctx, sys, newDecision("203.0.113.7", store.DecisionActive, t0.Add(time.Hour)))
	must(t, err, "apply shorter")
	if d3.Seq != d2.Seq || !d3.Until.Equal(d2.Until) {
		t.Fatalf("a shorter apply moved the stamp or end: %+v", d3)
	}
	// Bad input.
	bad := newDecision("", store.DecisionActive, t0.Add(time.Hour))
	_, _, err = ds.ApplyDecision(ctx, sys, bad)
	wantErr(t, err, store.ErrInvalid, "empty value")
	bad = newDecision("203.0.113.8", store.DecisionExpired, t0.Add(time.Hour))
	_, _, err = ds.ApplyDecision(ctx, sys, bad)
	wantErr(t, err, store.ErrInvalid, "created expired")
	page, err := ds.ListDecisions(ctx, sys, store.DecisionFilter{State: store.DecisionActive})
	must(t, err, "list")
	if len(page.Items) != 1 || page.Items[0].ID != d.ID {
		t.Fatalf("list: %+v", page.Items)
	}
}

func testDecisionApproval(t *testing.T, s store.Store, ds store.Decisions) {
	ctx := context.Background()
	f := newFixture(t, s)
	analyst := auth.Principal{Name: "ana", Role: auth.RoleAnalyst, OrgID: f.nat.ID, OrgPath: f.nat.Path}
	t0 := time.Now().UTC()
	p, created, err := ds.ApplyDecision(ctx, sys, store.Decision{Value: "198.51.100.9", Scope: store.ScopeIP, Type: store.TypeBan,
		Origin: store.OriginCorrelation, State: store.DecisionPending, Rule: "registered-asset", Reason: "would block a registered asset",
		Until: t0.Add(time.Hour)})
	must(t, err, "pending")
	if !created || p.State != store.DecisionPending || p.ActivatedAt != nil {
		t.Fatalf("pending: %+v", p)
	}
	a, err := ds.DecideDecision(ctx, analyst, p.ID, true, t0.Add(4*time.Hour), "checked: it is a scanner")
	must(t, err, "approve")
	if a.State != store.DecisionActive || a.ActivatedAt == nil || a.DecidedBy != "ana" || a.Note == "" || !a.Until.After(t0.Add(3*time.Hour)) || a.Seq <= p.Seq {
		t.Fatalf("approved: %+v", a)
	}
	_, err = ds.DecideDecision(ctx, analyst, p.ID, false, time.Time{}, "")
	wantErr(t, err, store.ErrConflict, "reject an active decision")
	del, err := ds.DeleteDecision(ctx, analyst, p.ID, "lifted")
	must(t, err, "delete")
	if del.State != store.DecisionDeleted || del.Seq <= a.Seq {
		t.Fatalf("deleted: %+v", del)
	}
	_, err = ds.DeleteDecision(ctx, analyst, p.ID, "")
	wantErr(t, err, store.ErrConflict, "delete twice")
	// The lifted decision holds the correlator back until its end.
	again, created, err := ds.ApplyDecision(ctx, sys, newDecision("198.51.100.9", store.DecisionActive, t0.Add(2*time.Hour)))
	must(t, err, "apply after delete")
	if created || again.ID != p.ID || again.State != store.DecisionDeleted {
		t.Fatalf("re-created a lifted decision: %+v", again)
	}
	// Reject.
	r, _, err := ds.ApplyDecision(ctx, sys, newDecision("198.51.100.10", store.DecisionPending, t0.Add(time.Hour)))
	must(t, err, "pending 2")
	rj, err := ds.DecideDecision(ctx, analyst, r.ID, false, time.Time{}, "a partner's scanner")
	must(t, err, "reject")
	if rj.State != store.DecisionRejected || rj.ActivatedAt != nil || rj.Seq != r.Seq {
		t.Fatalf("rejected: %+v", rj)
	}
	_, err = ds.DecideDecision(ctx, analyst, 999999, true, t0, "")
	wantErr(t, err, store.ErrNotFound, "decide a missing decision")
	// Audited.
	entries, err := s.ListAudit(ctx, sys, store.AuditFilter{ObjectType: "decision", ObjectID: p.ID})
	must(t, err, "audit")
	actions := map[string]bool{}
	for _, e := range entries.Items {
		actions[e.Action] = true
	}
	if !actions["decision.create"] || !actions["decision.approve"] || !actions["decision.delete"] {
		t.Fatalf("audit: %+v", actions)
	}
}

func testDecisionStream(t *testing.T, _ store.Store, ds store.Decisions) {
	ctx := context.Background()
	t0 := time.Now().UTC()
	start, err := ds.DecisionsSeq(ctx)
	must(t, err, "seq")
	short, _, err := ds.ApplyDecision(ctx, sys, newDecision("192.0.2.200", store.DecisionActive, t0.Add(2*time.Second)))
	must(t, err, "short")
	long, _, err := ds.ApplyDecision(ctx, sys, store.Decision{Value: "198.51.100.0/24", Scope: store.ScopeRange, Type: store.TypeBan,
		Origin: store.OriginAnalyst, Scenario: "manual", State: store.DecisionActive, Until: t0.Add(time.Hour)})
	must(t, err, "long")
	pend, _, err := ds.ApplyDecision(ctx, sys, newDecision("192.0.2.201", store.DecisionPending, t0.Add(2*time.Second)))
	must(t, err, "pending")
	active, cur, err := ds.ActiveDecisions(ctx, t0)
	must(t, err, "active")
	if len(active) != 2 || cur < long.Seq {
		t.Fatalf("active at start: %d, stamp %d (long %d)", len(active), cur, long.Seq)
	}
	ch, err := ds.DecisionChanges(ctx, start)
	must(t, err, "changes")
	if len(ch) != 3 || ch[0].ID != short.ID || ch[1].ID != long.ID {
		t.Fatalf("changes since start: %+v", ch)
	}
	none, err := ds.DecisionChanges(ctx, cur)
	must(t, err, "no changes")
	if len(none) != 0 {
		t.Fatalf("changes after the cursor: %+v", none)
	}
	n, err := ds.ExpireDecisions(ctx, t0.Add(time.Minute))
	must(t, err, "expire")
	if n != 2 {
		t.Fatalf("expired %d, want 2 (the short active and the pending)", n)
	}
	ch, err = ds.DecisionChanges(ctx, cur)
	must(t, err, "changes after expiry")
	if len(ch) != 1 || ch[0].ID != short.ID || ch[0].State != store.DecisionExpired {
		t.Fatalf("after expiry a bouncer hears of the expired active one only: %+v", ch)
	}
	p, _ := ds.GetDecision(ctx, sys, pend.ID)
	if p.State != store.DecisionExpired {
		t.Fatalf("pending past its end: %+v", p)
	}
	if n, _ := ds.ExpireDecisions(ctx, t0.Add(time.Minute)); n != 0 {
		t.Fatalf("expired again: %d", n)
	}
	// A new decision on an expired value starts afresh.
	again, created, err := ds.ApplyDecision(ctx, sys, newDecision("192.0.2.200", store.DecisionActive, t0.Add(time.Hour)))
	must(t, err, "again")
	if !created || again.ID == short.ID {
		t.Fatalf("after expiry: %+v", again)
	}
}

func testDecisionTenancy(t *testing.T, s store.Store, ds store.Decisions) {
	ctx := context.Background()
	f := newFixture(t, s)
	d, _, err := ds.ApplyDecision(ctx, sys, newDecision("203.0.113.50", store.DecisionPending, time.Now().Add(time.Hour)))
	must(t, err, "apply")
	for _, p := range []auth.Principal{as(auth.RoleOrgAdmin, f.a), as(auth.RoleViewer, f.nat), as(auth.RoleFeedConsumer, f.b)} {
		_, _, err := ds.ApplyDecision(ctx, p, newDecision("203.0.113.51", store.DecisionActive, time.Now().Add(time.Hour)))
		wantErr(t, err, store.ErrForbidden, string(p.Role)+" applies")
		_, err = ds.DecideDecision(ctx, p, d.ID, true, time.Now(), "")
		wantErr(t, err, store.ErrForbidden, string(p.Role)+" approves")
		err = ds.CreateBouncer(ctx, p, &store.Bouncer{Name: "x", KeyHash: auth.HashToken("k")})
		wantErr(t, err, store.ErrForbidden, string(p.Role)+" adds a bouncer")
	}
	_, err = ds.GetDecision(ctx, as(auth.RoleOrgAdmin, f.a), d.ID)
	wantErr(t, err, store.ErrNotFound, "member reads a decision")
	pg, err := ds.ListDecisions(ctx, as(auth.RoleOrgMember, f.a1), store.DecisionFilter{})
	must(t, err, "member lists")
	if len(pg.Items) != 0 {
		t.Fatalf("a member sees national decisions: %+v", pg.Items)
	}
}

func testBouncers(t *testing.T, s store.Store, ds store.Decisions) {
	ctx := context.Background()
	f := newFixture(t, s)
	b := store.Bouncer{Name: "fw-a", OrgID: f.a.ID, KeyHash: auth.HashToken("key-a"), KeyPrefix: "rbk_aaaa"}
	must(t, ds.CreateBouncer(ctx, sys, &b), "create")
	if b.ID == 0 || b.CreatedBy != "system" {
		t.Fatalf("created: %+v", b)
	}
	dup := store.Bouncer{Name: "fw-a", KeyHash: auth.HashToken("key-b")}
	wantErr(t, ds.CreateBouncer(ctx, sys, &dup), store.ErrConflict, "same name")
	bad := store.Bouncer{Name: "fw b", KeyHash: auth.HashToken("key-c")}
	wantErr(t, ds.CreateBouncer(ctx, sys, &bad), store.ErrInvalid, "bad name")
	missing := store.Bouncer{Name: "fw-x", OrgID: 99999, KeyHash: auth.HashToken("key-d")}
	wantErr(t, ds.CreateBouncer(ctx, sys, &missing), store.ErrNotFound, "unknown organization")
	got, err := ds.BouncerForKey(ctx, auth.HashToken("key-a"))
	must(t, err, "for key")
	if got.ID != b.ID || got.OrgID != f.a.ID {
		t.Fatalf("for key: %+v", got)
	}
	_, err = ds.BouncerForKey(ctx, auth.HashToken("nope"))
	wantErr(t, err, store.ErrNotFound, "unknown key")
	at := time.Now().UTC().Truncate(time.Second)
	must(t, ds.RecordPull(ctx, b.ID, store.BouncerPull{At: at, Cursor: 7, New: 3, Deleted: 1, Addr: "192.0.2.9", Agent: "crowdsec-firewall-bouncer/v0.0.25"}), "pull")
	must(t, ds.RecordPull(ctx, b.ID, store.BouncerPull{At: at.Add(time.Second), Cursor: 7}), "empty pull")
	list, err := ds.ListBouncers(ctx, sys)
	must(t, err, "list")
	if len(list) != 1 || list[0].Cursor != 7 || list[0].Pulls != 2 || list[0].LastNew != 3 || list[0].LastDeleted != 1 ||
		list[0].TotalNew != 3 || list[0].LastPull == nil || !list[0].LastPull.Equal(at.Add(time.Second)) || list[0].Agent != "" {
		t.Fatalf("after pulls: %+v", list)
	}
	wantErr(t, ds.RecordPull(ctx, 99999, store.BouncerPull{}), store.ErrNotFound, "pull of a missing bouncer")
	must(t, ds.DeleteBouncer(ctx, sys, b.ID), "delete")
	_, err = ds.BouncerForKey(ctx, auth.HashToken("key-a"))
	wantErr(t, err, store.ErrNotFound, "deleted bouncer's key")
	entries, err := s.ListAudit(ctx, sys, store.AuditFilter{ObjectType: "bouncer", ObjectID: b.ID})
	must(t, err, "audit")
	if len(entries.Items) != 2 {
		t.Fatalf("bouncer audit: %+v", entries.Items)
	}
}

// testDecisionConcurrent applies the same new value from several writers
// at once: one decision, every increment counted.
func testDecisionConcurrent(t *testing.T, _ store.Store, ds store.Decisions) {
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Second)
	const writers = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		errs    []error
	)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, c, err := ds.ApplyDecision(ctx, sys, newDecision("203.0.113.99", store.DecisionActive, at.Add(time.Hour),
				evidence(fmt.Sprintf("O%d", i), "gw", "port-scan", 10, at)))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if c {
				created++
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 || created != 1 {
		t.Fatalf("created %d, errors %v", created, errs)
	}
	pg, err := ds.ListDecisions(ctx, sys, store.DecisionFilter{Query: "203.0.113.99"})
	must(t, err, "list")
	if len(pg.Items) != 1 || pg.Items[0].Orgs != writers || pg.Items[0].Detections != 10*writers {
		t.Fatalf("after concurrent applies: %+v", pg.Items)
	}
}
