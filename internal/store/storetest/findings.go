package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// testFindings covers store.Findings: recording jobs' results (new, seen
// again, fixed, reopened, replays, coverage), people's transitions and
// their history, tenancy, filters, expiry, the worst severity of an asset
// and compliance debt. The parts share one fixture and run in order; each
// makes its own organizations or assets, so they do not depend on each
// other.
func testFindings(t *testing.T, s store.Store) {
	fs, ok := any(s).(findingStore)
	if !ok {
		t.Skipf("%T does not implement store.Findings", s)
	}
	f := &findingFixture{fixture: newFixture(t, s), s: fs}
	for _, part := range []struct {
		name string
		fn   func(t *testing.T, f *findingFixture)
	}{
		{"Record", testRecordFindings},
		{"RecordInvalid", testRecordFindingsInvalid},
		{"Transitions", testFindingTransitions},
		{"Tenancy", testFindingTenancy},
		{"Filters", testFindingFilters},
		{"Expire", testExpireAcceptances},
		{"Sources", testFindingSources},
		{"WorstForAsset", testWorstForAsset},
		{"Debt", testDebt},
		{"Likelihood", testFindingLikelihood},
	} {
		t.Run(part.name, func(t *testing.T) { part.fn(t, f) })
	}
}

// findingStore is a store with the Findings part.
type findingStore interface {
	store.Store
	store.Findings
}

type findingFixture struct {
	*fixture
	s findingStore
}

// seen builds a finding as a scan reports it.
func seen(a asset.Asset, check, target, subject string, sev finding.Severity) store.Finding {
	return store.Finding{
		Key: finding.Key(a.ID, check, target, subject), OrgID: a.OrgID, AssetID: a.ID,
		Check: check, Severity: sev, Target: target, Subject: subject,
		Title: check + " on " + target, Evidence: json.RawMessage(`{"saw":"` + check + `"}`),
	}
}

func withEvidence(f store.Finding, ev string) store.Finding {
	f.Evidence = json.RawMessage(ev)
	return f
}

func cover(a asset.Asset, target string, checks ...string) store.Coverage {
	return store.Coverage{AssetID: a.ID, OrgID: a.OrgID, Target: target, Checks: checks}
}

func (f *findingFixture) record(t *testing.T, job string, at time.Time, covered []store.Coverage, found ...store.Finding) map[string]store.ChangeKind {
	t.Helper()
	changes, err := f.s.RecordFindings(f.ctx, store.FindingBatch{JobID: job, At: at, Policy: finding.DefaultPolicy, Covered: covered, Seen: found})
	must(t, err, "record "+job)
	out := map[string]store.ChangeKind{}
	for _, c := range changes {
		if _, dup := out[c.Finding.Key]; dup {
			t.Fatalf("%s: two changes for %s", job, c.Finding.Key)
		}
		if c.Finding.ID == 0 {
			t.Fatalf("%s: change %s without an ID", job, c.Kind)
		}
		out[c.Finding.Key] = c.Kind
	}
	return out
}

func (f *findingFixture) byKey(t *testing.T, key string) store.Finding {
	t.Helper()
	items := all(t, func(after string) (store.Page[store.Finding], error) {
		return f.s.ListFindings(f.ctx, sys, store.FindingFilter{PageRequest: store.PageRequest{After: after, Limit: store.MaxLimit}})
	})
	for _, it := range items {
		if it.Key == key {
			return it
		}
	}
	t.Fatalf("no finding with key %s", key)
	return store.Finding{}
}

func (f *findingFixture) get(t *testing.T, id int64) store.Finding {
	t.Helper()
	got, err := f.s.GetFinding(f.ctx, sys, id)
	must(t, err, "get finding")
	return got
}

func (f *findingFixture) history(t *testing.T, id int64) []store.FindingEvent {
	t.Helper()
	h, err := f.s.FindingHistory(f.ctx, sys, id)
	must(t, err, "finding history")
	return h
}

// step is what one history entry must say.
type step struct {
	action   finding.Action
	from, to finding.State
	actor    string
	job      string
}

func wantHistory(t *testing.T, h []store.FindingEvent, want ...step) {
	t.Helper()
	if len(h) != len(want) {
		t.Fatalf("history has %d entries, want %d: %+v", len(h), len(want), h)
	}
	for i, w := range want {
		e := h[i]
		if e.Action != w.action || e.From != w.from || e.To != w.to || (w.actor != "" && e.Actor != w.actor) || e.JobID != w.job {
			t.Fatalf("history[%d] = %s %s→%s by %s job %q, want %s %s→%s by %s job %q",
				i, e.Action, e.From, e.To, e.Actor, e.JobID, w.action, w.from, w.to, w.actor, w.job)
		}
		if e.At.IsZero() || e.Actor == "" {
			t.Fatalf("history[%d] lacks time or actor: %+v", i, e)
		}
		if i > 0 && e.ID <= h[i-1].ID {
			t.Fatal("history is not oldest first")
		}
	}
}

func wantTime(t *testing.T, what string, got *time.Time, want time.Time) {
	t.Helper()
	switch {
	case want.IsZero() && got != nil:
		t.Fatalf("%s = %v, want none", what, *got)
	case !want.IsZero() && (got == nil || !got.Equal(want)):
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

const day = 24 * time.Hour

func testRecordFindings(t *testing.T, f *findingFixture) {
	ctx := f.ctx
	x1 := f.asset(t, sys, f.a1, asset.KindIPv4, "10.9.0.1")
	x2 := f.asset(t, sys, f.a1, asset.KindIPv4, "10.9.0.2")
	const tgt, other = "10.9.0.1:443", "10.9.0.1:8443"
	tlsChecks := []string{"tls.cert-expired", "tls.weak-cipher", "tls.legacy-protocol"}
	job := func(covered ...store.Coverage) []store.Coverage { return covered }

	expired := seen(x1, "tls.cert-expired", tgt, "", finding.High)
	rc4 := seen(x1, "tls.weak-cipher", tgt, "RC4", finding.Medium)
	des := seen(x1, "tls.weak-cipher", tgt, "3DES", finding.Medium)
	// Outside the TLS job's coverage: another check on the same target,
	// the same check on another target, the same check and target on
	// another asset.
	hsts := seen(x1, "http.missing-hsts", tgt, "", finding.Low)
	otherTarget := seen(x1, "tls.weak-cipher", other, "RC4", finding.Medium)
	otherAsset := seen(x2, "tls.weak-cipher", tgt, "RC4", finding.Medium)

	t1 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	j1 := job(cover(x1, tgt, tlsChecks...))
	all1 := []store.Finding{expired, rc4, des, hsts, otherTarget, otherAsset}
	ch := f.record(t, "job-1", t1, j1, all1...)
	if len(ch) != 6 {
		t.Fatalf("job-1 changes %v, want 6 new", ch)
	}
	for k, c := range ch {
		if c != store.ChangeNew {
			t.Fatalf("job-1: %s is %s, want new", k, c)
		}
	}
	e1 := f.byKey(t, expired.Key)
	if e1.State != finding.StateOpen || !e1.FirstSeen.Equal(t1) || !e1.LastSeen.Equal(t1) || e1.LastJobID != "job-1" ||
		e1.OrgID != f.a1.ID || e1.AssetID != x1.ID || e1.Family != "tls" || e1.Check != "tls.cert-expired" ||
		string(e1.Evidence) != `{"saw":"tls.cert-expired"}` || e1.CVE == nil || e1.FixedAt != nil || e1.UpdatedAt.IsZero() {
		t.Fatalf("new finding: %+v", e1)
	}
	wantTime(t, "due of a new high", e1.DueAt, t1.Add(30*day))
	if got := f.get(t, e1.ID); got.Key != e1.Key || !got.UpdatedAt.Equal(e1.UpdatedAt) {
		t.Fatalf("get = %+v, want %+v", got, e1)
	}
	wantHistory(t, f.history(t, e1.ID), step{finding.ActionSeen, "", finding.StateOpen, "scanner", "job-1"})
	if h := f.history(t, e1.ID); string(h[0].Evidence) != `{"saw":"tls.cert-expired"}` {
		t.Fatalf("history evidence %s", h[0].Evidence)
	}

	// Replaying job-1 changes nothing.
	if ch := f.record(t, "job-1", t1, j1, all1...); len(ch) != 0 {
		t.Fatalf("replay of job-1: %v", ch)
	}
	if got := f.get(t, e1.ID); !got.UpdatedAt.Equal(e1.UpdatedAt) || !got.LastSeen.Equal(t1) {
		t.Fatalf("replay rewrote the finding: %+v", got)
	}
	if len(f.history(t, e1.ID)) != 1 {
		t.Fatal("replay added history")
	}

	// job-2 sees the expired certificate (new evidence) and RC4, not 3DES:
	// 3DES is fixed; nothing outside the coverage is.
	t2 := t1.Add(day)
	j2 := job(cover(x1, "10.9.0.1:443", tlsChecks...))
	all2 := []store.Finding{withEvidence(expired, `{"not_after":"2025-02-01"}`), rc4}
	ch = f.record(t, "job-2", t2, j2, all2...)
	if len(ch) != 1 || ch[des.Key] != store.ChangeFixed {
		t.Fatalf("job-2 changes %v, want 3DES fixed", ch)
	}
	e2 := f.get(t, e1.ID)
	if !e2.FirstSeen.Equal(t1) || !e2.LastSeen.Equal(t2) || e2.State != finding.StateOpen || string(e2.Evidence) != `{"not_after":"2025-02-01"}` || e2.LastJobID != "job-2" {
		t.Fatalf("seen again: %+v", e2)
	}
	if !e2.UpdatedAt.After(e1.UpdatedAt) {
		t.Fatalf("seen again with new evidence: updated_at %v did not move from %v", e2.UpdatedAt, e1.UpdatedAt)
	}
	wantTime(t, "due after seen again", e2.DueAt, t1.Add(30*day))
	if len(f.history(t, e1.ID)) != 1 {
		t.Fatal("seen again without a state change added history")
	}
	d2 := f.byKey(t, des.Key)
	if d2.State != finding.StateFixed || d2.LastJobID != "job-2" || !d2.LastSeen.Equal(t1) {
		t.Fatalf("not seen: %+v", d2)
	}
	wantTime(t, "fixed at", d2.FixedAt, t2)
	wantHistory(t, f.history(t, d2.ID),
		step{finding.ActionSeen, "", finding.StateOpen, "scanner", "job-1"},
		step{finding.ActionNotSeen, finding.StateOpen, finding.StateFixed, "scanner", "job-2"})
	for _, k := range []string{hsts.Key, otherTarget.Key, otherAsset.Key} {
		if got := f.byKey(t, k); got.State != finding.StateOpen || !got.LastSeen.Equal(t1) {
			t.Fatalf("outside the coverage: %s %s", got.Check, got.State)
		}
	}

	// Replays: job-2 again, then the older job-1 again (late redelivery)
	// change nothing: 3DES stays fixed, last seen stays.
	if ch := f.record(t, "job-2", t2, j2, all2...); len(ch) != 0 {
		t.Fatalf("replay of job-2: %v", ch)
	}
	if ch := f.record(t, "job-1", t1, j1, all1...); len(ch) != 0 {
		t.Fatalf("late replay of job-1: %v", ch)
	}
	if got := f.get(t, d2.ID); got.State != finding.StateFixed || !got.UpdatedAt.Equal(d2.UpdatedAt) {
		t.Fatalf("late replay moved 3DES: %+v", got)
	}
	if got := f.get(t, e1.ID); !got.LastSeen.Equal(t2) || string(got.Evidence) != `{"not_after":"2025-02-01"}` {
		t.Fatalf("late replay moved the expired certificate back: %+v", got)
	}
	if len(f.history(t, d2.ID)) != 2 {
		t.Fatal("replays added history")
	}

	// job-3, nine days later: 3DES is back (reopened within 90 days of its
	// fix, so its original due date stands), the
	// expired certificate is now critical and KEV-listed (due recomputed
	// from first seen: KEV 14 days).
	t3 := t1.Add(10 * day)
	worse := expired
	worse.Severity, worse.KEV, worse.CVE = finding.Critical, true, []string{"CVE-2025-0001"}
	ch = f.record(t, "job-3", t3, j1, worse, rc4, des)
	if len(ch) != 1 || ch[des.Key] != store.ChangeReopened {
		t.Fatalf("job-3 changes %v, want 3DES reopened", ch)
	}
	d3 := f.get(t, d2.ID)
	if d3.State != finding.StateReopened || d3.FixedAt != nil || !d3.FirstSeen.Equal(t1) || !d3.LastSeen.Equal(t3) {
		t.Fatalf("reopened: %+v", d3)
	}
	wantTime(t, "due of a reopened medium", d3.DueAt, t1.Add(90*day))
	wantHistory(t, f.history(t, d2.ID),
		step{finding.ActionSeen, "", finding.StateOpen, "scanner", "job-1"},
		step{finding.ActionNotSeen, finding.StateOpen, finding.StateFixed, "scanner", "job-2"},
		step{finding.ActionSeen, finding.StateFixed, finding.StateReopened, "scanner", "job-3"})
	e3 := f.get(t, e1.ID)
	if e3.Severity != finding.Critical || !e3.KEV || !slices.Equal(e3.CVE, []string{"CVE-2025-0001"}) {
		t.Fatalf("severity change: %+v", e3)
	}
	wantTime(t, "due after severity and KEV change", e3.DueAt, t1.Add(14*day))
	if ch := f.record(t, "job-3", t3, j1, worse, rc4, des); len(ch) != 0 {
		t.Fatalf("replay of job-3: %v", ch)
	}

	// A finding back within 90 days of its fix counts from when it was
	// first seen, also when its severity changes.
	t4 := t3.Add(day)
	desHigh := des
	desHigh.Severity = finding.High
	f.record(t, "job-4", t4, j1, worse, rc4, desHigh)
	wantTime(t, "due of a reopened finding after a severity change", f.get(t, d2.ID).DueAt, t1.Add(30*day))

	// Accepted risks stay accepted whether seen or not.
	r := f.byKey(t, rc4.Key)
	acc, err := f.s.TransitionFinding(ctx, as(auth.RoleOrgMember, f.a), r.ID, finding.Transition{
		Action: finding.ActionAcceptRisk, Reason: "legacy clients", Approve: "ciso@a", At: t4.Add(time.Hour), Until: t4.Add(60 * day)})
	must(t, err, "accept RC4")
	if acc.State != finding.StateRiskAccepted {
		t.Fatalf("accepted: %+v", acc)
	}
	t5 := t4.Add(day)
	if ch := f.record(t, "job-5", t5, j1, worse, desHigh); len(ch) != 0 {
		t.Fatalf("job-5 (RC4 not seen) changes %v", ch)
	}
	if got := f.get(t, r.ID); got.State != finding.StateRiskAccepted || !got.LastSeen.Equal(t4) {
		t.Fatalf("accepted, not seen: %+v", got)
	}
	t6 := t5.Add(day)
	if ch := f.record(t, "job-6", t6, j1, worse, desHigh, rc4); len(ch) != 0 {
		t.Fatalf("job-6 (RC4 seen) changes %v", ch)
	}
	if got := f.get(t, r.ID); got.State != finding.StateRiskAccepted || !got.LastSeen.Equal(t6) || got.Reason != "legacy clients" {
		t.Fatalf("accepted, seen: %+v", got)
	}

	// The same key twice in one batch is one finding; a key is never fixed
	// by the batch that sees it.
	t7 := t6.Add(day)
	twice := seen(x2, "tls.legacy-protocol", "WWW.x2.example.vn:443", "TLS1.0", finding.Medium)
	ch = f.record(t, "job-7", t7, job(cover(x2, "WWW.x2.example.vn:443", "tls.legacy-protocol")), twice, withEvidence(twice, `{"second":true}`))
	if len(ch) != 1 || ch[twice.Key] != store.ChangeNew {
		t.Fatalf("job-7: %v", ch)
	}
	if got := f.byKey(t, twice.Key); string(got.Evidence) != `{"second":true}` || got.State != finding.StateOpen {
		t.Fatalf("duplicate in a batch: %+v", got)
	}
	// An asset's findings are fixed case-insensitively on the target.
	ch = f.record(t, "job-8", t7.Add(day), job(cover(x2, "www.X2.example.vn:443", "tls.legacy-protocol")))
	if len(ch) != 1 || ch[twice.Key] != store.ChangeFixed {
		t.Fatalf("job-8: %v", ch)
	}
	// An empty batch is fine.
	if ch := f.record(t, "job-9", t7.Add(2*day), nil); len(ch) != 0 {
		t.Fatalf("empty batch: %v", ch)
	}
}

func testRecordFindingsInvalid(t *testing.T, f *findingFixture) {
	x := f.asset(t, sys, f.a1, asset.KindIPv4, "10.9.1.1")
	good := seen(x, "tls.cert-expired", "10.9.1.1:443", "", finding.High)
	at := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	for name, mut := range map[string]func(*store.FindingBatch){
		"wrong key":         func(b *store.FindingBatch) { b.Seen[0].Key = "deadbeef" },
		"bad severity":      func(b *store.FindingBatch) { b.Seen[0].Severity = "urgent" },
		"no check":          func(b *store.FindingBatch) { b.Seen[0].Check = "" },
		"no asset":          func(b *store.FindingBatch) { b.Seen[0].AssetID = 0 },
		"bad evidence":      func(b *store.FindingBatch) { b.Seen[0].Evidence = json.RawMessage(`{`) },
		"bad policy":        func(b *store.FindingBatch) { b.Policy.High = -1 },
		"coverage no asset": func(b *store.FindingBatch) { b.Covered = []store.Coverage{{Target: "x", Checks: []string{"a.b"}}} },
	} {
		b := store.FindingBatch{JobID: "bad", At: at, Policy: finding.DefaultPolicy, Seen: []store.Finding{good}}
		mut(&b)
		_, err := f.s.RecordFindings(f.ctx, b)
		wantErr(t, err, store.ErrInvalid, name)
	}
	// An unknown organization is refused too, and nothing is stored.
	b := store.FindingBatch{JobID: "bad", At: at, Policy: finding.DefaultPolicy, Seen: []store.Finding{good, good}}
	b.Seen[1] = seen(x, "tls.weak-key", "10.9.1.1:443", "", finding.High)
	b.Seen[1].OrgID = 999999
	_, err := f.s.RecordFindings(f.ctx, b)
	if err == nil {
		t.Fatal("unknown organization accepted")
	}
	n := all(t, func(after string) (store.Page[store.Finding], error) {
		return f.s.ListFindings(f.ctx, sys, store.FindingFilter{AssetID: x.ID, PageRequest: store.PageRequest{After: after}})
	})
	if len(n) != 0 {
		t.Fatalf("a failed batch stored %d findings", len(n))
	}
}
