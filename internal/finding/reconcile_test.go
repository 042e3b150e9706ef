package finding

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// stored makes a stored scan finding of asset 1, check c on target tg.
func stored(id int64, c, tg string, st State, lastSeen time.Time) Finding {
	f := Finding{ID: id, OrgID: 10, AssetID: 1, Source: SourceScan, Check: c, Family: "tls", Severity: High, Target: tg,
		Title: c, CVE: []string{}, State: st, FirstSeen: t0, LastSeen: lastSeen, DueFrom: t0}
	f.Key = KeyOf(SourceScan, "", 1, c, tg, "")
	due := t0.Add(30 * 24 * time.Hour)
	f.DueAt = &due
	if st == StateFixed {
		fx := lastSeen.Add(time.Hour)
		f.FixedAt = &fx
	}
	return f
}

func seenOf(c, tg string, sev Severity) Finding {
	return Finding{OrgID: 10, AssetID: 1, Check: c, Severity: sev, Target: tg, Title: c}
}

func TestReconcile(t *testing.T) {
	at := t0.Add(48 * time.Hour)
	cover := []Coverage{{AssetID: 1, Target: "127.0.0.1:443", Checks: []string{"tls.a", "tls.b"}}}
	type want struct {
		insert, update, touch, refresh, fixed int
		kinds                                 []ChangeKind
	}
	cases := []struct {
		name     string
		batch    Batch
		existing []Finding
		want     want
		check    func(t *testing.T, p Plan)
	}{
		{
			name:  "new finding opens with a due date from the policy",
			batch: Batch{At: at, Policy: DefaultPolicy, Covered: cover, Seen: []Finding{seenOf("tls.a", "127.0.0.1:443", Critical)}},
			want:  want{insert: 1, kinds: []ChangeKind{ChangeNew}},
			check: func(t *testing.T, p Plan) {
				f := p.Insert[0]
				if f.State != StateOpen || f.DueAt == nil || !f.DueAt.Equal(at.Add(15*24*time.Hour)) || f.Source != SourceScan {
					t.Fatalf("inserted %+v", f)
				}
				if len(p.History) != 1 || p.History[0].FindingKey != f.Key || p.History[0].Actor != "scanner" {
					t.Fatalf("history %+v", p.History)
				}
			},
		},
		{
			name:     "seen again with nothing new only moves the last sighting",
			batch:    Batch{At: at, Policy: DefaultPolicy, Covered: cover, Seen: []Finding{seenOf("tls.a", "127.0.0.1:443", High)}},
			existing: []Finding{stored(1, "tls.a", "127.0.0.1:443", StateOpen, t0)},
			want:     want{touch: 1},
		},
		{
			name: "seen again with new evidence refreshes it and nothing else",
			batch: Batch{At: at, Policy: DefaultPolicy, Covered: cover, Seen: []Finding{func() Finding {
				f := seenOf("tls.a", "127.0.0.1:443", High)
				f.Evidence = []byte(`{"banner":"new"}`)
				return f
			}()}},
			existing: []Finding{stored(1, "tls.a", "127.0.0.1:443", StateOpen, t0)},
			want:     want{refresh: 1},
			check: func(t *testing.T, p Plan) {
				if string(p.Refresh[0].Evidence) != `{"banner":"new"}` || !p.Refresh[0].LastSeen.Equal(at) || len(p.History) != 0 {
					t.Fatalf("refresh %+v", p)
				}
			},
		},
		{
			name:     "covered and not seen is fixed; not covered stays",
			batch:    Batch{At: at, Policy: DefaultPolicy, Covered: cover},
			existing: []Finding{stored(1, "tls.a", "127.0.0.1:443", StateOpen, t0), stored(2, "tls.c", "127.0.0.1:443", StateOpen, t0), stored(3, "tls.a", "127.0.0.2:443", StateAcknowledged, t0)},
			want:     want{fixed: 1, kinds: []ChangeKind{ChangeFixed}},
			check: func(t *testing.T, p Plan) {
				if p.Fixed[0].ID != 1 || !p.Fixed[0].FixedAt.Equal(at) {
					t.Fatalf("fixed %+v", p.Fixed[0])
				}
			},
		},
		{
			name:     "fixed and seen again within 90 days reopens with its original due date",
			batch:    Batch{At: at, Policy: DefaultPolicy, Covered: cover, Seen: []Finding{seenOf("tls.a", "127.0.0.1:443", High)}},
			existing: []Finding{stored(1, "tls.a", "127.0.0.1:443", StateFixed, t0)},
			want:     want{update: 1, kinds: []ChangeKind{ChangeReopened}},
			check: func(t *testing.T, p Plan) {
				u := p.Update[0]
				if u.State != StateReopened || u.FixedAt != nil || !u.DueFrom.Equal(t0) || !u.DueAt.Equal(t0.Add(30*24*time.Hour)) {
					t.Fatalf("reopened %+v", u)
				}
			},
		},
		{
			name:     "fixed and seen again after 90 days reopens with a fresh due date",
			batch:    Batch{At: t0.Add(100 * 24 * time.Hour), Policy: DefaultPolicy, Covered: cover, Seen: []Finding{seenOf("tls.a", "127.0.0.1:443", High)}},
			existing: []Finding{stored(1, "tls.a", "127.0.0.1:443", StateFixed, t0)},
			want:     want{update: 1, kinds: []ChangeKind{ChangeReopened}},
			check: func(t *testing.T, p Plan) {
				u := p.Update[0]
				at := t0.Add(100 * 24 * time.Hour)
				if u.State != StateReopened || !u.DueFrom.Equal(at) || !u.DueAt.Equal(at.Add(30*24*time.Hour)) {
					t.Fatalf("reopened %+v", u)
				}
			},
		},
		{
			name:     "accepted risk stays accepted when seen, and is not fixed when covered",
			batch:    Batch{At: at, Policy: DefaultPolicy, Covered: cover},
			existing: []Finding{stored(1, "tls.a", "127.0.0.1:443", StateRiskAccepted, t0)},
		},
		{
			name:     "an older result than the stored one changes nothing",
			batch:    Batch{At: t0, Policy: DefaultPolicy, Covered: cover},
			existing: []Finding{stored(1, "tls.a", "127.0.0.1:443", StateOpen, t0.Add(time.Hour))},
		},
		{
			name:     "an old sighting does not reopen a later fix",
			batch:    Batch{At: t0.Add(30 * time.Minute), Policy: DefaultPolicy, Seen: []Finding{seenOf("tls.a", "127.0.0.1:443", High)}},
			existing: []Finding{stored(1, "tls.a", "127.0.0.1:443", StateFixed, t0)},
		},
		{
			name:     "severity change recomputes the due date from when it counts",
			batch:    Batch{At: at, Policy: DefaultPolicy, Seen: []Finding{seenOf("tls.a", "127.0.0.1:443", Critical)}},
			existing: []Finding{stored(1, "tls.a", "127.0.0.1:443", StateOpen, t0)},
			want:     want{update: 1},
			check: func(t *testing.T, p Plan) {
				if !p.Update[0].DueAt.Equal(t0.Add(15 * 24 * time.Hour)) {
					t.Fatalf("due %v", p.Update[0].DueAt)
				}
			},
		},
		{
			name:  "a rescan after a verification request that still sees it says so",
			batch: Batch{At: at, Policy: DefaultPolicy, Seen: []Finding{seenOf("tls.a", "127.0.0.1:443", High)}},
			existing: func() []Finding {
				f := stored(1, "tls.a", "127.0.0.1:443", StateOpen, t0)
				v := t0.Add(time.Hour)
				f.VerifyRequestedAt = &v
				return []Finding{f}
			}(),
			want: want{update: 1},
			check: func(t *testing.T, p Plan) {
				if p.Update[0].VerifyRequestedAt != nil || len(p.History) != 1 || p.History[0].From != p.History[0].To {
					t.Fatalf("plan %+v", p)
				}
			},
		},
		{
			name:  "a scan never fixes an import's finding",
			batch: Batch{At: at, Policy: DefaultPolicy, Covered: []Coverage{{AssetID: 1, Target: "127.0.0.1:443", All: true}}},
			existing: func() []Finding {
				f := stored(1, "tls.a", "127.0.0.1:443", StateOpen, t0)
				f.Source, f.SourceRef = SourceImport, "nuclei"
				return []Finding{f}
			}(),
		},
		{
			name:  "an import fixes its own tool's findings on the hosts it covered",
			batch: Batch{Source: SourceImport, Ref: "nuclei", At: at, Policy: DefaultPolicy, Covered: []Coverage{{AssetID: 1, Target: "127.0.0.1:443", All: true}}},
			existing: func() []Finding {
				mine := stored(1, "import.nuclei.x", "127.0.0.1:443", StateOpen, t0)
				mine.Source, mine.SourceRef = SourceImport, "nuclei"
				other := stored(2, "import.nmap.y", "127.0.0.1:443", StateOpen, t0)
				other.Source, other.SourceRef = SourceImport, "nmap"
				scan := stored(3, "tls.a", "127.0.0.1:443", StateOpen, t0)
				return []Finding{mine, other, scan}
			}(),
			want: want{fixed: 1, kinds: []ChangeKind{ChangeFixed}},
			check: func(t *testing.T, p Plan) {
				if p.Fixed[0].ID != 1 || p.History[0].Actor != "importer:nuclei" {
					t.Fatalf("plan %+v", p)
				}
			},
		},
		{
			name: "the same report applied again (a re-import) changes nothing, even later",
			batch: Batch{Source: SourceImport, Ref: "nmap", JobID: "import-1", At: at, Policy: DefaultPolicy, Covered: []Coverage{{AssetID: 1, Target: "127.0.0.1", All: true}},
				Seen: []Finding{seenOf("import.nmap.x", "127.0.0.1", High)}},
			existing: func() []Finding {
				seen := stored(1, "import.nmap.x", "127.0.0.1", StateOpen, t0)
				seen.Source, seen.SourceRef, seen.LastJobID = SourceImport, "nmap", "import-1"
				seen.Key = KeyOf(SourceImport, "nmap", 1, "import.nmap.x", "127.0.0.1", "")
				gone := stored(2, "import.nmap.y", "127.0.0.1", StateOpen, t0) // reported by another part of the same report
				gone.Source, gone.SourceRef, gone.LastJobID = SourceImport, "nmap", "import-1"
				return []Finding{seen, gone}
			}(),
		},
		{
			name:  "a feed fixes nothing by coverage",
			batch: Batch{Source: SourceIntel, Ref: "urlhaus", At: at, Policy: DefaultPolicy, Covered: []Coverage{{AssetID: 1, Target: "127.0.0.1:443", All: true}}},
			existing: func() []Finding {
				f := stored(1, "intel.blocklisted", "127.0.0.1:443", StateOpen, t0)
				f.Source, f.SourceRef = SourceIntel, "urlhaus"
				return []Finding{f}
			}(),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.batch
			seen, err := b.Normalize()
			if err != nil {
				t.Fatal(err)
			}
			ex := map[string]Finding{}
			for _, f := range tc.existing {
				ex[f.Key] = f
			}
			p, err := Reconcile(b, seen, ex, at)
			if err != nil {
				t.Fatal(err)
			}
			got := want{len(p.Insert), len(p.Update), len(p.Touch), len(p.Refresh), len(p.Fixed), nil}
			for _, c := range p.Changes {
				got.kinds = append(got.kinds, c.Kind)
			}
			if got.insert != tc.want.insert || got.update != tc.want.update || got.touch != tc.want.touch || got.refresh != tc.want.refresh || got.fixed != tc.want.fixed || len(got.kinds) != len(tc.want.kinds) {
				t.Fatalf("plan %+v, want %+v", got, tc.want)
			}
			for i := range got.kinds {
				if got.kinds[i] != tc.want.kinds[i] {
					t.Fatalf("changes %v, want %v", got.kinds, tc.want.kinds)
				}
			}
			if tc.check != nil {
				tc.check(t, p)
			}
			// Applying the plan and reconciling the same batch again plans
			// nothing: a replayed batch changes nothing.
			for _, f := range append(append(append(append(p.Insert, p.Update...), p.Touch...), p.Refresh...), p.Fixed...) {
				ex[f.Key] = f
			}
			again, err := Reconcile(b, seen, ex, at.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if !again.Empty() || len(again.Changes) > 0 {
				t.Fatalf("replay planned %+v", again)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	for name, b := range map[string]Batch{
		"unknown source":     {Source: "rumour"},
		"no asset":           {Seen: []Finding{{OrgID: 1, Check: "a.b", Target: "x", Severity: High}}},
		"bad severity":       {Seen: []Finding{{OrgID: 1, AssetID: 1, Check: "a.b", Target: "x", Severity: "dire"}}},
		"wrong key":          {Seen: []Finding{{OrgID: 1, AssetID: 1, Check: "a.b", Target: "x", Severity: High, Key: "00"}}},
		"evidence not JSON":  {Seen: []Finding{{OrgID: 1, AssetID: 1, Check: "a.b", Target: "x", Severity: High, Evidence: []byte("{")}}},
		"foreign source":     {Seen: []Finding{{OrgID: 1, AssetID: 1, Check: "a.b", Target: "x", Severity: High, Source: SourceIntel}}},
		"coverage no target": {Covered: []Coverage{{AssetID: 1}}},
	} {
		if _, err := b.Normalize(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	b := Batch{Seen: []Finding{seenOf("tls.a", "t", Low), seenOf("tls.a", "t", High)}}
	seen, err := b.Normalize()
	if err != nil || len(seen) != 1 || seen[0].Severity != High || seen[0].Family != "tls" || seen[0].CVE == nil {
		t.Fatalf("dedup: %+v %v", seen, err)
	}
	if KeyOf(SourceScan, "", 1, "a.b", "T", "s") != Key(1, "a.b", "t", "s") || KeyOf(SourceImport, "nuclei", 1, "a.b", "t", "s") == Key(1, "a.b", "t", "s") {
		t.Fatal("scan keys are Key; other sources' keys are their own")
	}
}

func TestStale(t *testing.T) {
	now := t0.Add(10 * 24 * time.Hour)
	intel := stored(1, "intel.blocklisted", "127.0.0.1", StateOpen, t0)
	intel.Source = SourceIntel
	fresh := stored(2, "intel.blocklisted", "127.0.0.2", StateOpen, now.Add(-time.Hour))
	fresh.Source = SourceIntel
	scan := stored(3, "tls.a", "127.0.0.1:443", StateOpen, t0)
	manual := stored(4, "manual.finding", "127.0.0.1", StateOpen, t0)
	manual.Source = SourceManual
	ttl := func(Source) time.Duration { return 7 * 24 * time.Hour }
	p := Stale([]Finding{intel, fresh, scan, manual}, ttl, now)
	if len(p.Fixed) != 1 || p.Fixed[0].ID != 1 || p.Changes[0].Kind != ChangeFixed || p.History[0].Actor != "system" {
		t.Fatalf("stale plan %+v", p)
	}
}

func TestApply(t *testing.T) {
	at := t0.Add(time.Hour)
	f := stored(1, "tls.a", "127.0.0.1:443", StateOpen, t0)
	if _, _, _, err := Apply(f, Transition{Action: ActionSeen, At: at, By: "an"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a person cannot report a sighting: %v", err)
	}
	if _, _, _, err := Apply(f, Transition{Action: ActionResolve, At: at, By: "an"}); !errors.Is(err, ErrTransition) {
		t.Fatalf("a scan finding is closed by scans: %v", err)
	}
	m := f
	m.Source = SourceManual
	upd, h, c, err := Apply(m, Transition{Action: ActionResolve, At: at, By: "an"})
	if err != nil || upd.State != StateFixed || h.Actor != "an" || c.Kind != ChangeTransition || c.To != StateFixed {
		t.Fatalf("resolve manual: %+v %+v %+v %v", upd, h, c, err)
	}
	upd, h, _, err = Apply(f, Transition{Action: ActionAcceptRisk, At: at, By: "an", Reason: "r", Approve: "boss", Until: at.Add(24 * time.Hour)})
	if err != nil || upd.State != StateRiskAccepted || upd.Approver != "boss" || h.Until == nil {
		t.Fatalf("accept: %+v %v", upd, err)
	}
	back, _, c, ok := ExpireAcceptance(upd, at.Add(48*time.Hour))
	if !ok || back.State != StateOpen || back.Until != nil || !back.DueAt.Equal(*f.DueAt) || c.Action != ActionExpire {
		t.Fatalf("expire: %+v", back)
	}
}
