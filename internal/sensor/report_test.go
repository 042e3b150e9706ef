package sensor

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func sampleReport() *Report {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	return &Report{ID: "b-1", Sent: t0.Add(time.Minute), Stats: Stats{Started: t0, Events: map[string]uint64{"eve": 1200}, Rates: map[string]float64{"eve": 20},
		DroppedReports: 2, DroppedDetections: 5, BufferedBytes: 100},
		Detections: []WireDetection{{Kind: DetectSSHBruteForce, Source: netip.MustParseAddr("203.0.113.7"), Target: netip.MustParseAddr("198.51.100.10"), Port: 22, Count: 40, First: t0, Last: t0.Add(30 * time.Second), Detail: "40 failed SSH logins\x07"}}}
}

func TestReportRoundTrip(t *testing.T) {
	b, err := EncodeReport(sampleReport())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"org"`) || strings.Contains(string(b), `"sensor"`) {
		t.Errorf("a report names its sender: %s", b)
	}
	r, err := DecodeReport(b)
	if err != nil {
		t.Fatal(err)
	}
	d := r.Detections[0].Detection("MOH", "gw1")
	if d.Org != "MOH" || d.Sensor != "gw1" || d.Count != 40 || d.Port != 22 || d.Source.String() != "203.0.113.7" || d.Detail != "40 failed SSH logins " {
		t.Errorf("decoded %+v", d)
	}
	if r.Stats.Events["eve"] != 1200 || r.Stats.DroppedDetections != 5 {
		t.Errorf("stats %+v", r.Stats)
	}
}

func TestDecodeReportRefuses(t *testing.T) {
	for name, body := range map[string]string{
		"not json":       `{`,
		"version":        `{"v":2,"id":"x","sent":"2026-12-07T10:00:00Z","stats":{"started":"2026-12-07T10:00:00Z"}}`,
		"no id":          `{"v":1,"sent":"2026-12-07T10:00:00Z","stats":{"started":"2026-12-07T10:00:00Z"}}`,
		"names its org":  `{"v":1,"id":"x","org":"MOE","sent":"2026-12-07T10:00:00Z","stats":{"started":"2026-12-07T10:00:00Z"}}`,
		"unknown kind":   `{"v":1,"id":"x","sent":"2026-12-07T10:00:00Z","stats":{"started":"2026-12-07T10:00:00Z"},"detections":[{"kind":"x","source":"203.0.113.7","count":1,"first":"2026-12-07T10:00:00Z","last":"2026-12-07T10:00:00Z"}]}`,
		"no source":      `{"v":1,"id":"x","sent":"2026-12-07T10:00:00Z","stats":{"started":"2026-12-07T10:00:00Z"},"detections":[{"kind":"port-scan","count":1,"first":"2026-12-07T10:00:00Z","last":"2026-12-07T10:00:00Z"}]}`,
		"zero count":     `{"v":1,"id":"x","sent":"2026-12-07T10:00:00Z","stats":{"started":"2026-12-07T10:00:00Z"},"detections":[{"kind":"port-scan","source":"203.0.113.7","count":0,"first":"2026-12-07T10:00:00Z","last":"2026-12-07T10:00:00Z"}]}`,
		"bad input name": `{"v":1,"id":"x","sent":"2026-12-07T10:00:00Z","stats":{"started":"2026-12-07T10:00:00Z","events":{"EVE LOG":1}}}`,
		"negative rate":  `{"v":1,"id":"x","sent":"2026-12-07T10:00:00Z","stats":{"started":"2026-12-07T10:00:00Z","rates":{"eve":-1}}}`,
		"trailing data":  `{"v":1,"id":"x","sent":"2026-12-07T10:00:00Z","stats":{"started":"2026-12-07T10:00:00Z"}} {}`,
		"too large":      `{"v":1,"id":"` + strings.Repeat("x", MaxReportBytes) + `"}`,
	} {
		if _, err := DecodeReport([]byte(body)); !errors.Is(err, ErrBadReport) {
			t.Errorf("%s: %v, want ErrBadReport", name, err)
		}
	}
}

func FuzzDecodeReport(f *testing.F) {
	b, _ := EncodeReport(sampleReport())
	f.Add(b)
	f.Add([]byte(`{"v":1,"id":"x","sent":"2026-12-07T10:00:00Z","stats":{"started":"2026-12-07T10:00:00Z","rates":{"eve":1e300}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeReport(b)
		if err != nil {
			return
		}
		again, err := EncodeReport(r)
		if err != nil {
			t.Fatalf("a decoded report does not encode: %v", err)
		}
		if _, err := DecodeReport(again); err != nil {
			t.Fatalf("re-encoded report does not decode: %v", err)
		}
	})
}
