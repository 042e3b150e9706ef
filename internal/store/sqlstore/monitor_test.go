package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/store"
)

func TestMonitorState(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func(testing.TB) *Store) {
		s, ctx := open(t), context.Background()
		if err := s.PutMonitorStates(ctx,
			store.MonitorRecord{Kind: "dns", Key: "7/NS", Value: json.RawMessage(`{"v":["a.example."]}`)},
			store.MonitorRecord{Kind: "dns", Key: "7/MX", Value: json.RawMessage(`{"v":[]}`)},
			store.MonitorRecord{Kind: "expiry", Key: "moh.gov.vn", Value: json.RawMessage(`"2027-01-01"`)},
			// The same key twice in one call: the last wins.
			store.MonitorRecord{Kind: "dns", Key: "7/NS", Value: json.RawMessage(`{"v":["b.example."]}`)},
		); err != nil {
			t.Fatal(err)
		}
		got, err := s.MonitorStates(ctx, "dns")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Key != "7/MX" || got[1].Key != "7/NS" || string(got[1].Value) != `{"v":["b.example."]}` || got[1].UpdatedAt.IsZero() {
			t.Fatalf("dns state: %+v", got)
		}
		at := time.Date(2026, 5, 1, 1, 2, 3, 0, time.UTC)
		if err := s.PutMonitorStates(ctx, store.MonitorRecord{Kind: "dns", Key: "7/NS", Value: json.RawMessage(`{"v":[]}`), UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
		got, _ = s.MonitorStates(ctx, "dns")
		if string(got[1].Value) != `{"v":[]}` || !got[1].UpdatedAt.Equal(at) {
			t.Fatalf("after update: %+v", got[1])
		}
		// Bad input stores nothing of the call.
		err = s.PutMonitorStates(ctx,
			store.MonitorRecord{Kind: "dns", Key: "8/NS", Value: json.RawMessage(`{}`)},
			store.MonitorRecord{Kind: "dns", Key: "9/NS", Value: json.RawMessage(`{not json`)})
		if !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("bad JSON: %v", err)
		}
		if err := s.PutMonitorStates(ctx, store.MonitorRecord{Kind: "", Key: "x", Value: json.RawMessage(`1`)}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("empty kind: %v", err)
		}
		if got, _ = s.MonitorStates(ctx, "dns"); len(got) != 2 {
			t.Fatalf("a refused call wrote: %+v", got)
		}
		if err := s.DeleteMonitorStates(ctx, "dns", "7/NS", "nope"); err != nil {
			t.Fatal(err)
		}
		got, _ = s.MonitorStates(ctx, "dns")
		exp, _ := s.MonitorStates(ctx, "expiry")
		if len(got) != 1 || got[0].Key != "7/MX" || len(exp) != 1 {
			t.Fatalf("after delete: dns %+v expiry %+v", got, exp)
		}
	})
}

func TestObservationsAfter(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func(testing.TB) *Store) {
		s, ctx := open(t), context.Background()
		o := newOrg("MON")
		if err := s.CreateOrg(ctx, sysP, &o); err != nil {
			t.Fatal(err)
		}
		a := asset.Asset{OrgID: o.ID, Kind: asset.KindIPv4, Value: "192.0.2.7"}
		if err := s.CreateAsset(ctx, sysP, &a); err != nil {
			t.Fatal(err)
		}
		// The first scan: its ports have no history to compare with.
		t0 := time.Now().Add(-time.Hour).UTC()
		j1 := store.ScanJob{ID: "mon-1", AssetID: a.ID, Type: "portscan"}
		if err := s.CreateScanJob(ctx, sysP, &j1); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordScan(ctx, store.ScanReport{JobID: "mon-1", AssetID: a.ID, At: t0, Hosts: []string{"192.0.2.7"}, Ports: []int{22, 3389},
			Open: []store.Observation{{IP: "192.0.2.7", Port: 22, Service: "ssh"}}}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetJobState(ctx, "mon-1", store.JobDone, "w", "", nil); err != nil {
			t.Fatal(err)
		}
		first, err := s.ObservationsAfter(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(first) != 1 || first[0].Port != 22 || first[0].PriorScan || first[0].OrgID != o.ID {
			t.Fatalf("first scan: %+v", first)
		}
		// The second scan finds RDP: new against a finished scan.
		j2 := store.ScanJob{ID: "mon-2", AssetID: a.ID, Type: "portscan"}
		if err := s.CreateScanJob(ctx, sysP, &j2); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordScan(ctx, store.ScanReport{JobID: "mon-2", AssetID: a.ID, At: time.Now().Add(time.Second), Hosts: []string{"192.0.2.7"}, Ports: []int{22, 3389},
			Open: []store.Observation{{IP: "192.0.2.7", Port: 22, Service: "ssh"}, {IP: "192.0.2.7", Port: 3389, Service: "rdp"}}}); err != nil {
			t.Fatal(err)
		}
		next, err := s.ObservationsAfter(ctx, first[0].ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(next) != 1 || next[0].Port != 3389 || !next[0].PriorScan || next[0].Service != "rdp" {
			t.Fatalf("second scan: %+v", next)
		}
	})
}
