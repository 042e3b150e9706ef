package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// A batch of new findings larger than one multi-row statement: every
// change names the ID of its own finding, and every event in the outbox
// is the change as json.Marshal writes it. Then the same report again
// from a later run: the same findings, no new ones.
func TestRecordManyNewFindings(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *Store{"sqlite": openSQLite, "postgres": openPostgres} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			o := org.Organization{Code: "VN", Name: "VN", Kind: org.KindNational}
			if err := s.CreateOrg(ctx, sysP, &o); err != nil {
				t.Fatal(err)
			}
			var assets []asset.Asset
			for _, cidr := range []string{"10.64.0.0/24", "10.64.1.0/24", "10.64.2.0/24", "10.64.3.0/24", "10.64.4.0/24"} {
				a := asset.Asset{OrgID: o.ID, Kind: asset.KindCIDR, Value: cidr}
				if err := s.CreateAsset(ctx, sysP, &a); err != nil {
					t.Fatal(err)
				}
				assets = append(assets, a)
			}
			n := 2*batchRows + 203
			seen := make([]finding.Finding, n)
			for i := range seen {
				seen[i] = benchWarning(assets[i/256], i)
			}
			at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			ch, err := s.RecordFindings(ctx, store.FindingBatch{Source: finding.SourceIntel, Ref: "bench", JobID: "run-1", At: at,
				Policy: finding.DefaultPolicy, Seen: seen})
			if err != nil || len(ch) != n {
				t.Fatalf("%d changes, %v", len(ch), err)
			}
			ids := map[int64]bool{}
			for i, c := range ch {
				f, err := s.GetFinding(ctx, sysP, c.Finding.ID)
				if err != nil || f.Key != c.Finding.Key || f.Target != seen[i].Target || !bytes.Equal(f.Evidence, seen[i].Evidence) {
					t.Fatalf("change %d names finding %d: %+v, %v", i, c.Finding.ID, f, err)
				}
				ids[c.Finding.ID] = true
			}
			if len(ids) != n {
				t.Fatalf("%d IDs for %d findings", len(ids), n)
			}
			msgs, err := s.OutboxPending(ctx, 10000)
			if err != nil || len(msgs) != n {
				t.Fatalf("%d events, %v", len(msgs), err)
			}
			for i, m := range msgs {
				want, _ := json.Marshal(ch[i])
				if !bytes.Equal(m.Data, want) || m.MsgID != ch[i].EventID() || m.Subject != FindingEventSubject(finding.ChangeNew) {
					t.Fatalf("event %d: %s %s\n%s\nwant %s", i, m.Subject, m.MsgID, m.Data, want)
				}
			}
			again, err := s.RecordFindings(ctx, store.FindingBatch{Source: finding.SourceIntel, Ref: "bench", JobID: "run-2", At: at.Add(time.Hour),
				Policy: finding.DefaultPolicy, Seen: seen})
			if err != nil || len(again) != 0 {
				t.Fatalf("the same report again: %d changes, %v", len(again), err)
			}
		})
	}
}

// The CVE column holds the list as json.Marshal writes it, empty or not.
func TestCVEJSONAsMarshal(t *testing.T) {
	for _, cve := range [][]string{nil, {}, {"CVE-2021-41773"}, {"CVE-2024-0001", "CVE-2024-0002"}} {
		want := []string{}
		if cve != nil {
			want = cve
		}
		if b, _ := json.Marshal(want); cveJSON(cve) != string(b) {
			t.Errorf("cveJSON(%#v) = %s, want %s", cve, cveJSON(cve), b)
		}
	}
}

// A feed's opening history entry does not repeat the finding's evidence:
// the history shows the finding's own while the feed has not reported it
// again, and nothing once a later report has replaced it. A scan's entry
// keeps its own copy.
func TestFeedOpeningEvidence(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	o := org.Organization{Code: "VN", Name: "VN", Kind: org.KindNational}
	if err := s.CreateOrg(ctx, sysP, &o); err != nil {
		t.Fatal(err)
	}
	a := asset.Asset{OrgID: o.ID, Kind: asset.KindIPv4, Value: "203.0.113.9"}
	if err := s.CreateAsset(ctx, sysP, &a); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	record := func(src finding.Source, at time.Time, ev string) store.Finding {
		t.Helper()
		ch, err := s.RecordFindings(ctx, store.FindingBatch{Source: src, Ref: "f", JobID: "run-" + at.Format(time.RFC3339), At: at, Policy: finding.DefaultPolicy,
			Seen: []finding.Finding{{OrgID: o.ID, AssetID: a.ID, Check: "intel.exposed-service", Severity: finding.Medium,
				Target: "203.0.113.9:161", Evidence: json.RawMessage(ev)}}})
		if err != nil {
			t.Fatal(err)
		}
		var id int64
		if len(ch) > 0 {
			id = ch[0].Finding.ID
		} else if err := s.r.QueryRowContext(ctx, "SELECT id FROM findings WHERE source = ?", string(src)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		f, err := s.GetFinding(ctx, sysP, id)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	history := func(id int64) (string, bool) {
		t.Helper()
		var stored sql.NullString
		if err := s.r.QueryRowContext(ctx, "SELECT evidence FROM finding_events WHERE finding_id = ? ORDER BY id LIMIT 1", id).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		h, err := s.FindingHistory(ctx, sysP, id)
		if err != nil || len(h) == 0 {
			t.Fatalf("history %v, %v", h, err)
		}
		return string(h[0].Evidence), stored.Valid
	}
	f := record(finding.SourceIntel, at, `{"raw":"first"}`)
	if ev, stored := history(f.ID); ev != `{"raw":"first"}` || stored {
		t.Errorf("opening entry shows %s (a copy stored: %v)", ev, stored)
	}
	f = record(finding.SourceIntel, at.Add(24*time.Hour), `{"raw":"second"}`)
	if string(f.Evidence) != `{"raw":"second"}` {
		t.Fatalf("the finding's evidence is %s", f.Evidence)
	}
	if ev, _ := history(f.ID); ev != "" {
		t.Errorf("after a second report the opening entry shows %s", ev)
	}
	g := record(finding.SourceScan, at, `{"banner":"x"}`)
	if ev, stored := history(g.ID); ev != `{"banner":"x"}` || !stored {
		t.Errorf("a scan's opening entry: %s (stored: %v)", ev, stored)
	}
}

// A batch over an asset with findings and one without: the stored finding
// is found (by asset and key), the other asset's is new.
func TestRecordAssetsWithAndWithoutFindings(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	o := org.Organization{Code: "VN", Name: "VN", Kind: org.KindNational}
	if err := s.CreateOrg(ctx, sysP, &o); err != nil {
		t.Fatal(err)
	}
	var assets []asset.Asset
	for _, v := range []string{"203.0.113.1", "203.0.113.2"} {
		a := asset.Asset{OrgID: o.ID, Kind: asset.KindIPv4, Value: v}
		if err := s.CreateAsset(ctx, sysP, &a); err != nil {
			t.Fatal(err)
		}
		assets = append(assets, a)
	}
	seen := func(as ...asset.Asset) []finding.Finding {
		var out []finding.Finding
		for _, a := range as {
			out = append(out, finding.Finding{OrgID: o.ID, AssetID: a.ID, Check: "intel.blocklisted", Severity: finding.Low, Target: a.Value})
		}
		return out
	}
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if ch, err := s.RecordFindings(ctx, store.FindingBatch{Source: finding.SourceIntel, Ref: "f", JobID: "run-1", At: at, Policy: finding.DefaultPolicy,
		Seen: seen(assets[0])}); err != nil || len(ch) != 1 {
		t.Fatalf("%d changes, %v", len(ch), err)
	}
	ch, err := s.RecordFindings(ctx, store.FindingBatch{Source: finding.SourceIntel, Ref: "f", JobID: "run-2", At: at.Add(time.Hour), Policy: finding.DefaultPolicy,
		Seen: seen(assets[1], assets[0])})
	if err != nil || len(ch) != 1 || ch[0].Kind != finding.ChangeNew || ch[0].Finding.AssetID != assets[1].ID {
		t.Fatalf("changes %+v, %v", ch, err)
	}
	if n := countRows(t, s, "findings"); n != 2 {
		t.Fatalf("%d findings, want 2", n)
	}
}
