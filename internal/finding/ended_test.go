package finding

import (
	"errors"
	"testing"
	"time"
)

// TestReconcileEnded: a source closed by expiry ends its own finding at
// once through Batch.Ended; it ends nothing of another source or
// reference, nothing it sees in the same batch, nothing last seen at or
// after the batch, and Covered still means nothing for it.
func TestReconcileEnded(t *testing.T) {
	at := t0.Add(time.Hour)
	disc := func(id int64, target string, src Source, ref string) Finding {
		f := stored(id, "discovery.unregistered-asset", target, StateOpen, t0)
		f.Source, f.SourceRef, f.Family = src, ref, "discovery"
		f.Key = KeyOf(src, ref, 1, f.Check, target, "")
		return f
	}
	mine := disc(1, "a.gov.vn", SourceDiscovery, "candidates")
	other := disc(2, "b.gov.vn", SourceDiscovery, "candidates")
	foreign := disc(3, "a.gov.vn", SourceMonitor, "candidates")
	otherRef := disc(4, "a.gov.vn", SourceDiscovery, "elsewhere")
	fresh := disc(5, "c.gov.vn", SourceDiscovery, "candidates")
	fresh.LastSeen = at
	existing := map[string]Finding{}
	for _, f := range []Finding{mine, other, foreign, otherRef, fresh} {
		existing[f.Key] = f
	}
	end := func(target string) Coverage {
		return Coverage{AssetID: 1, Target: target, Checks: []string{"discovery.unregistered-asset"}, Reason: "confirmed by an"}
	}
	b := Batch{Source: SourceDiscovery, Ref: "candidates", JobID: "decide-1", At: at, Policy: DefaultPolicy,
		Ended: []Coverage{end("A.gov.vn"), end("c.gov.vn")}}
	seen, err := b.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Reconcile(b, seen, existing, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Fixed) != 1 || p.Fixed[0].ID != mine.ID || p.Fixed[0].State != StateFixed || !p.Fixed[0].FixedAt.Equal(at) {
		t.Fatalf("fixed %+v", p.Fixed)
	}
	if len(p.History) != 1 || p.History[0].Reason != "confirmed by an" || p.History[0].Actor != "discovery:candidates" || p.History[0].Action != ActionNotSeen {
		t.Fatalf("history %+v", p.History)
	}
	if len(p.Changes) != 1 || p.Changes[0].Kind != ChangeFixed {
		t.Fatalf("changes %+v", p.Changes)
	}

	// Seen in the same batch: not ended.
	b2 := b
	b2.JobID = "decide-2"
	b2.Ended = []Coverage{{AssetID: 1, Target: "a.gov.vn", All: true}}
	b2.Seen = []Finding{{OrgID: 10, AssetID: 1, Check: "discovery.unregistered-asset", Severity: Low, Target: "a.gov.vn", Title: "x"}}
	seen, err = b2.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := Reconcile(b2, seen, existing, at); len(p.Fixed) != 0 {
		t.Fatalf("a seen finding was ended: %+v", p.Fixed)
	}
	// Without a reason the history names the source.
	b3 := b
	b3.Ended = []Coverage{{AssetID: 1, Target: "a.gov.vn", All: true}}
	if p, _ := Reconcile(b3, nil, existing, at); len(p.Fixed) != 1 || p.History[0].Reason != "ended by discovery:candidates" {
		t.Fatalf("ended with All: %+v", p.History)
	}
	// Covered alone closes nothing for a source closed by expiry.
	b4 := b
	b4.Ended, b4.Covered = nil, []Coverage{{AssetID: 1, Target: "a.gov.vn", All: true}}
	if p, _ := Reconcile(b4, nil, existing, at); len(p.Fixed) != 0 {
		t.Fatalf("coverage closed an expiry source's finding: %+v", p.Fixed)
	}
	// Ended entries need an asset, a target and checks.
	for _, bad := range []Coverage{{Target: "a.gov.vn", All: true}, {AssetID: 1, All: true}, {AssetID: 1, Target: "a.gov.vn"}} {
		bb := Batch{Source: SourceDiscovery, Ended: []Coverage{bad}}
		if _, err := bb.Normalize(); !errors.Is(err, ErrInvalid) {
			t.Errorf("ended %+v: %v", bad, err)
		}
	}
}

// TestReconcileEndedScan: a scan's Ended fixes like its coverage, with the
// reason in the history.
func TestReconcileEndedScan(t *testing.T) {
	at := t0.Add(time.Hour)
	f := stored(1, "tls.a", "127.0.0.1:443", StateOpen, t0)
	b := Batch{At: at, Policy: DefaultPolicy, Ended: []Coverage{{AssetID: 1, Target: "127.0.0.1:443", Checks: []string{"tls.a"}, Reason: "service gone"}}}
	seen, err := b.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Reconcile(b, seen, map[string]Finding{f.Key: f}, at)
	if err != nil || len(p.Fixed) != 1 || p.History[0].Reason != "service gone" {
		t.Fatalf("plan %+v %v", p, err)
	}
}
