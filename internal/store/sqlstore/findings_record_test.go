package sqlstore

import (
	"bytes"
	"context"
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
