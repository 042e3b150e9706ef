package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// testFindingSources: findings keep their source; an import covers only
// its own tool's findings; feed findings expire when not reported; every
// change is in the outbox, in order, with its idempotency key.
func testFindingSources(t *testing.T, f *findingFixture) {
	ob, ok := any(f.s).(store.Outbox)
	if !ok {
		t.Skipf("%T has no outbox", f.s)
	}
	drain := func() []store.OutboxMessage {
		t.Helper()
		var all []store.OutboxMessage
		for {
			msgs, err := ob.OutboxPending(f.ctx, 1000)
			must(t, err, "outbox pending")
			if len(msgs) == 0 {
				return all
			}
			ids := make([]int64, len(msgs))
			for i, m := range msgs {
				ids[i] = m.ID
			}
			must(t, ob.OutboxDone(f.ctx, ids), "outbox done")
			all = append(all, msgs...)
		}
	}
	drain() // whatever other parts left

	o := f.org(t, sys, f.nat.ID, "SRC", org.KindAgency)
	a := f.asset(t, sys, o, asset.KindIPv4, "127.62.0.1")
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	imp := func(tool, check string) store.Finding {
		return store.Finding{OrgID: o.ID, AssetID: a.ID, Check: check, Severity: finding.High, Target: "127.62.0.1", Title: check,
			Evidence: json.RawMessage(`{}`)}
	}
	rec := func(b store.FindingBatch) []store.FindingChange {
		t.Helper()
		b.Policy = finding.DefaultPolicy
		ch, err := f.s.RecordFindings(f.ctx, b)
		must(t, err, "record "+b.JobID)
		return ch
	}
	whole := []store.Coverage{{AssetID: a.ID, OrgID: o.ID, Target: "127.62.0.1", All: true}}
	rec(store.FindingBatch{Source: finding.SourceImport, Ref: "nuclei", JobID: "imp-1", At: t0, Covered: whole, Seen: []store.Finding{imp("nuclei", "import.nuclei.a")}})
	rec(store.FindingBatch{Source: finding.SourceImport, Ref: "nmap", JobID: "imp-2", At: t0, Covered: whole, Seen: []store.Finding{imp("nmap", "import.nmap.b")}})
	rec(store.FindingBatch{Source: finding.SourceIntel, Ref: "feed", JobID: "feed-1", At: t0, Seen: []store.Finding{imp("", "intel.blocklisted")}})

	nuclei := f.byKey(t, finding.KeyOf(finding.SourceImport, "nuclei", a.ID, "import.nuclei.a", "127.62.0.1", ""))
	if nuclei.Source != finding.SourceImport || nuclei.SourceRef != "nuclei" || nuclei.State != finding.StateOpen {
		t.Fatalf("stored import finding: %+v", nuclei)
	}
	// The next nuclei import over the host without the result fixes only
	// nuclei's finding.
	ch := rec(store.FindingBatch{Source: finding.SourceImport, Ref: "nuclei", JobID: "imp-3", At: t0.Add(time.Hour), Covered: whole})
	if len(ch) != 1 || ch[0].Kind != store.ChangeFixed || ch[0].Finding.ID != nuclei.ID {
		t.Fatalf("nuclei re-import changes: %+v", ch)
	}
	nmap := f.byKey(t, finding.KeyOf(finding.SourceImport, "nmap", a.ID, "import.nmap.b", "127.62.0.1", ""))
	intel := f.byKey(t, finding.KeyOf(finding.SourceIntel, "feed", a.ID, "intel.blocklisted", "127.62.0.1", ""))
	if nmap.State != finding.StateOpen || intel.State != finding.StateOpen {
		t.Fatalf("another source's findings moved: %s %s", nmap.State, intel.State)
	}

	// Feed findings expire when not reported for the source's time to
	// live; other sources never do.
	ttl := func(s finding.Source) time.Duration {
		if s == finding.SourceIntel {
			return 7 * 24 * time.Hour
		}
		return 0
	}
	n, err := f.s.ExpireStale(f.ctx, ttl, t0.Add(6*24*time.Hour))
	must(t, err, "expire stale")
	if n != 0 {
		t.Fatalf("expired %d before the time to live", n)
	}
	n, err = f.s.ExpireStale(f.ctx, ttl, t0.Add(8*24*time.Hour))
	must(t, err, "expire stale")
	if n != 1 || f.get(t, intel.ID).State != finding.StateFixed || f.get(t, nmap.ID).State != finding.StateOpen {
		t.Fatalf("expired %d; intel %s, nmap %s", n, f.get(t, intel.ID).State, f.get(t, nmap.ID).State)
	}
	h := f.history(t, intel.ID)
	if last := h[len(h)-1]; last.Actor != "system" || last.To != finding.StateFixed || last.Reason == "" {
		t.Fatalf("stale history: %+v", last)
	}

	// Every change went to the outbox, in order: 3 new, 1 fixed, 1 fixed.
	msgs := drain()
	var kinds []string
	seenIDs := map[string]bool{}
	for _, m := range msgs {
		var c finding.Change
		must(t, json.Unmarshal(m.Data, &c), "outbox data")
		if m.MsgID != c.EventID() || seenIDs[m.MsgID] || c.Finding.ID == 0 || m.Subject != "rampart.events.finding."+string(c.Kind) {
			t.Fatalf("outbox message %+v (change %+v)", m, c)
		}
		seenIDs[m.MsgID] = true
		kinds = append(kinds, string(c.Kind))
	}
	if want := "new new new fixed fixed"; join(kinds) != want {
		t.Fatalf("outbox kinds %q, want %q", join(kinds), want)
	}
	// A replayed batch adds nothing to the outbox.
	rec(store.FindingBatch{Source: finding.SourceImport, Ref: "nmap", JobID: "imp-2", At: t0, Covered: whole, Seen: []store.Finding{imp("nmap", "import.nmap.b")}})
	if msgs := drain(); len(msgs) != 0 {
		t.Fatalf("a replay published %d events", len(msgs))
	}
}

func join(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}
