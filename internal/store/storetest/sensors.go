package storetest

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/store"
)

// RunSensors is the conformance suite of store.Sensors, for stores that
// implement it (open returns a new, empty, migrated store).
func RunSensors(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store, ss store.Sensors)
	}{
		{"MergeAndCount", testSensorMerge},
		{"Redelivery", testSensorRedelivery},
		{"Tenancy", testSensorTenancy},
		{"Prune", testSensorPrune},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			ss, ok := s.(store.Sensors)
			if !ok {
				t.Skipf("%T does not keep sensors", s)
			}
			tc.fn(t, s, ss)
		})
	}
}

func detection(kind sensor.DetectionKind, src, dst string, n uint64, first, last time.Time) sensor.Detection {
	d := sensor.Detection{Kind: kind, Source: netip.MustParseAddr(src), Count: n, First: first, Last: last, Detail: string(kind) + " from " + src}
	if dst != "" {
		d.Target = netip.MustParseAddr(dst)
	}
	return d
}

func testSensorMerge(t *testing.T, s store.Store, ss store.Sensors) {
	ctx := context.Background()
	f := newFixture(t, s)
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	stats := sensor.Stats{Started: t0, Events: map[string]uint64{"eve": 100}, Rates: map[string]float64{"eve": 1.5}, DroppedReports: 1, DroppedDetections: 3}
	got, dup, err := ss.RecordSensorReport(ctx, store.SensorReport{OrgID: f.a1.ID, Sensor: "gw1", ReportID: "r1", At: t0.Add(time.Minute), Stats: stats,
		Detections: []sensor.Detection{
			detection(sensor.DetectSSHBruteForce, "203.0.113.7", "198.51.100.10", 40, t0, t0.Add(10*time.Second)),
			detection(sensor.DetectPortScan, "203.0.113.8", "", 200, t0, t0.Add(5*time.Second)),
		}})
	must(t, err, "record")
	if dup || len(got) != 2 || got[0].Count != 40 || got[0].Reports != 1 || got[0].OrgCode != "A1" || got[0].Sensor != "gw1" || got[0].ID == 0 ||
		got[1].Target != "" || got[1].Count != 200 {
		t.Fatalf("first report: dup %v, %+v", dup, got)
	}
	// The same attack again, later and earlier: one row, its count grows.
	stats.Events["eve"] = 250
	got, _, err = ss.RecordSensorReport(ctx, store.SensorReport{OrgID: f.a1.ID, Sensor: "gw1", ReportID: "r2", At: t0.Add(2 * time.Minute), Stats: stats,
		Detections: []sensor.Detection{detection(sensor.DetectSSHBruteForce, "203.0.113.7", "198.51.100.10", 15, t0.Add(-time.Minute), t0.Add(90*time.Second))}})
	must(t, err, "record again")
	if len(got) != 1 || got[0].Count != 55 || got[0].Reports != 2 || !got[0].First.Equal(t0.Add(-time.Minute)) || !got[0].Last.Equal(t0.Add(90*time.Second)) {
		t.Fatalf("merged: %+v", got)
	}
	sensors, err := ss.ListSensors(ctx, sys)
	must(t, err, "list sensors")
	if len(sensors) != 1 || sensors[0].Name != "gw1" || sensors[0].OrgCode != "A1" || sensors[0].Reports != 2 || sensors[0].Detections != 3 ||
		sensors[0].Stats.Events["eve"] != 250 || sensors[0].Stats.DroppedDetections != 3 || !sensors[0].LastSeen.Equal(t0.Add(2*time.Minute)) ||
		!sensors[0].FirstSeen.Equal(t0.Add(time.Minute)) {
		t.Fatalf("sensors: %+v", sensors)
	}
	ds, err := ss.ListSensorDetections(ctx, sys, store.SensorDetectionFilter{})
	must(t, err, "list detections")
	if len(ds) != 2 || ds[0].Kind != sensor.DetectSSHBruteForce || ds[0].Count != 55 {
		t.Fatalf("detections, latest first: %+v", ds)
	}
	ds, err = ss.ListSensorDetections(ctx, sys, store.SensorDetectionFilter{Kind: sensor.DetectPortScan, SensorID: sensors[0].ID})
	must(t, err, "list port scans")
	if len(ds) != 1 || ds[0].Source != "203.0.113.8" {
		t.Fatalf("port scans: %+v", ds)
	}
	_, _, err = ss.RecordSensorReport(ctx, store.SensorReport{OrgID: 999999, Sensor: "gw1", ReportID: "r3"})
	wantErr(t, err, store.ErrNotFound, "report of an unknown organization")
	_, _, err = ss.RecordSensorReport(ctx, store.SensorReport{OrgID: f.a1.ID, Sensor: "GW.1", ReportID: "r3"})
	wantErr(t, err, store.ErrInvalid, "report of a bad sensor name")
}

func testSensorRedelivery(t *testing.T, s store.Store, ss store.Sensors) {
	ctx := context.Background()
	f := newFixture(t, s)
	t0 := time.Now().UTC().Truncate(time.Second)
	r := store.SensorReport{OrgID: f.b.ID, Sensor: "gw1", ReportID: "same", At: t0,
		Detections: []sensor.Detection{detection(sensor.DetectAlert, "203.0.113.9", "198.51.100.1", 3, t0, t0)}}
	_, _, err := ss.RecordSensorReport(ctx, r)
	must(t, err, "record")
	got, dup, err := ss.RecordSensorReport(ctx, r)
	must(t, err, "record again")
	if !dup || len(got) != 1 || got[0].Count != 3 || got[0].Reports != 1 {
		t.Fatalf("redelivered: dup %v %+v", dup, got)
	}
	// Another sensor may use the same report ID.
	if _, dup, err := ss.RecordSensorReport(ctx, store.SensorReport{OrgID: f.b.ID, Sensor: "gw2", ReportID: "same", At: t0}); err != nil || dup {
		t.Fatalf("another sensor's report: dup %v, %v", dup, err)
	}
}

func testSensorTenancy(t *testing.T, s store.Store, ss store.Sensors) {
	ctx := context.Background()
	f := newFixture(t, s)
	t0 := time.Now().UTC()
	for _, o := range []struct {
		id   int64
		name string
	}{{f.a.ID, "gw-a"}, {f.a11.ID, "gw-a11"}, {f.b.ID, "gw-b"}} {
		_, _, err := ss.RecordSensorReport(ctx, store.SensorReport{OrgID: o.id, Sensor: o.name, ReportID: "1", At: t0,
			Detections: []sensor.Detection{detection(sensor.DetectPortScan, "203.0.113.1", "", 1, t0, t0)}})
		must(t, err, "record "+o.name)
	}
	for _, c := range []struct {
		p    auth.Principal
		want []string
	}{
		{as(auth.RoleOrgMember, f.a1), []string{"gw-a11"}},
		{as(auth.RoleOrgAdmin, f.a), []string{"gw-a", "gw-a11"}},
		{as(auth.RoleViewer, f.b1), nil},
		{as(auth.RolePlatformAdmin, f.nat), []string{"gw-a", "gw-a11", "gw-b"}},
		{auth.Principal{Name: "nobody", Role: auth.RoleOrgMember}, nil},
	} {
		sensors, err := ss.ListSensors(ctx, c.p)
		must(t, err, "list")
		var names []string
		for _, x := range sensors {
			names = append(names, x.Name)
		}
		ds, err := ss.ListSensorDetections(ctx, c.p, store.SensorDetectionFilter{})
		must(t, err, "list detections")
		if len(names) != len(c.want) || len(ds) != len(c.want) {
			t.Errorf("%s sees sensors %v and %d detections, want %v", c.p.Name, names, len(ds), c.want)
			continue
		}
		for i := range names {
			if names[i] != c.want[i] {
				t.Errorf("%s sees sensors %v, want %v", c.p.Name, names, c.want)
			}
		}
	}
}

func testSensorPrune(t *testing.T, s store.Store, ss store.Sensors) {
	ctx := context.Background()
	f := newFixture(t, s)
	t0 := time.Now().UTC().Truncate(time.Second)
	old := t0.Add(-40 * 24 * time.Hour)
	_, _, err := ss.RecordSensorReport(ctx, store.SensorReport{OrgID: f.a.ID, Sensor: "gw1", ReportID: "old", At: old,
		Detections: []sensor.Detection{detection(sensor.DetectPortScan, "203.0.113.1", "", 1, old, old)}})
	must(t, err, "record old")
	_, _, err = ss.RecordSensorReport(ctx, store.SensorReport{OrgID: f.a.ID, Sensor: "gw1", ReportID: "new", At: t0,
		Detections: []sensor.Detection{detection(sensor.DetectPortScan, "203.0.113.2", "", 1, t0, t0)}})
	must(t, err, "record new")
	n, err := ss.PruneSensorData(ctx, t0.Add(-30*24*time.Hour))
	must(t, err, "prune")
	if n != 2 { // one detection, one report ID
		t.Errorf("pruned %d rows, want 2", n)
	}
	ds, err := ss.ListSensorDetections(ctx, sys, store.SensorDetectionFilter{})
	must(t, err, "list")
	if len(ds) != 1 || ds[0].Source != "203.0.113.2" {
		t.Errorf("after pruning: %+v", ds)
	}
}
