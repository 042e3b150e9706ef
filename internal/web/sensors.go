package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/store"
)

// The sensors at members' gateways: when each was last heard of, its
// event rates per input and what it had to drop, and the recent
// detections. The store scopes both lists to the viewer's subtree.

const sensorDetectionsShown = 100

// sensorStale is how long a sensor may stay silent before the page says
// so (heartbeats come every 15 seconds).
const sensorStale = 2 * time.Minute

type sensorRow struct {
	store.Sensor
	Stale  bool
	Inputs []sensorInput
	Drops  bool
}

type sensorInput struct {
	Name   string
	Events uint64
	Rate   float64
	Errors uint64
}

type sensorsData struct {
	Kind       sensor.DetectionKind
	Kinds      []sensor.DetectionKind
	Rows       []sensorRow
	Detections []store.SensorDetection
}

var detectionKinds = []sensor.DetectionKind{sensor.DetectIndicatorHit, sensor.DetectPortScan, sensor.DetectSSHBruteForce,
	sensor.DetectWebBruteForce, sensor.DetectVolumeSpike, sensor.DetectAlert}

func (s *Server) sensorRoutes(m *http.ServeMux) {
	m.Handle("GET /sensors", s.authed(s.sensorsPage))
}

func (s *Server) sensorsPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ss, ok := s.Store.(store.Sensors)
	if !ok {
		return errNotFound
	}
	d := sensorsData{Kind: sensor.DetectionKind(r.URL.Query().Get("kind")), Kinds: detectionKinds}
	if d.Kind != "" && !slices.Contains(d.Kinds, d.Kind) {
		return &uiError{status: http.StatusBadRequest, key: "error.invalid"}
	}
	sensors, err := ss.ListSensors(r.Context(), c.p())
	if err != nil {
		return err
	}
	now := s.Now()
	for _, x := range sensors {
		row := sensorRow{Sensor: x, Stale: now.Sub(x.LastSeen) > sensorStale,
			Drops: x.Stats.DroppedReports > 0 || x.Stats.DroppedDetections > 0}
		for name, n := range x.Stats.Events {
			row.Inputs = append(row.Inputs, sensorInput{Name: name, Events: n, Rate: x.Stats.Rates[name], Errors: x.Stats.Errors[name]})
		}
		slices.SortFunc(row.Inputs, func(a, b sensorInput) int { return strings.Compare(a.Name, b.Name) })
		d.Rows = append(d.Rows, row)
	}
	d.Detections, err = ss.ListSensorDetections(r.Context(), c.p(), store.SensorDetectionFilter{Kind: d.Kind, Limit: sensorDetectionsShown})
	if err != nil {
		return err
	}
	return s.page(w, r, c, "sensors", "sensors.title", "intel", d)
}

// DetectionKind is a detection kind's name for people.
func (l *Lang) DetectionKind(v any) string {
	var k string
	switch x := v.(type) {
	case sensor.DetectionKind:
		k = string(x)
	case string:
		k = x
	}
	return l.T("sensors.kind." + k)
}

// Rate is events per second, rounded for people: whole numbers from
// 100, one decimal from 1, two below.
func (l *Lang) Rate(v float64) string {
	digits := 2
	switch {
	case v >= 100:
		return l.Num(int(v + 0.5))
	case v >= 1:
		digits = 1
	case v <= 0:
		return "0"
	}
	out := strings.TrimRight(strings.TrimRight(strconv.FormatFloat(v, 'f', digits, 64), "0"), ".")
	if l.Code == "vi" {
		out = strings.ReplaceAll(out, ".", ",")
	}
	return out
}

// Count is any integer with the language's thousands separator.
func (l *Lang) Count(v any) string {
	switch n := v.(type) {
	case int:
		return l.Num(n)
	case int64:
		return l.Num(int(n))
	case uint64:
		return l.Num(int(min(n, 1<<62)))
	}
	return ""
}
