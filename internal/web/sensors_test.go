package web

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/store"
)

// sensorWorld is the web world with a sensor of CUCA (two detections,
// drops) and one of SOB (silent for an hour).
func sensorWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t)
	ctx := context.Background()
	at := testNow.Add(-30 * time.Second)
	det := func(kind sensor.DetectionKind, src, dst string, n uint64, detail string) sensor.Detection {
		return sensor.Detection{Kind: kind, Source: netip.MustParseAddr(src), Target: netip.MustParseAddr(dst), Count: n,
			First: at.Add(-10 * time.Minute), Last: at, Detail: detail}
	}
	stats := sensor.Stats{Started: at.Add(-time.Hour), Version: "v1.2.0", Events: map[string]uint64{"eve": 1234567, "syslog": 42},
		Rates: map[string]float64{"eve": 343.2, "syslog": 0.05}, Errors: map[string]uint64{"eve": 3}, DroppedReports: 2, DroppedDetections: 7, BufferedBytes: 2048}
	for _, r := range []store.SensorReport{
		{OrgID: w.orgs["CUCA"].ID, Sensor: "gw-cuca", ReportID: "1", At: at, Stats: stats, Detections: []sensor.Detection{
			det(sensor.DetectSSHBruteForce, "203.0.113.7", "198.51.100.10", 412, "412 failed SSH logins for 37 users"),
			det(sensor.DetectPortScan, "203.0.113.9", "198.51.100.20", 1200, "<b>1200 ports</b>")}},
		{OrgID: w.orgs["SOB"].ID, Sensor: "gw-sob", ReportID: "1", At: testNow.Add(-time.Hour), Stats: sensor.Stats{Started: testNow.Add(-2 * time.Hour)},
			Detections: []sensor.Detection{det(sensor.DetectAlert, "192.0.2.99", "198.51.100.200", 3, "ET EXPLOIT")}},
	} {
		if _, _, err := w.st.RecordSensorReport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func TestSensorsPageGolden(t *testing.T) {
	w := sensorWorld(t)
	admin := w.client()
	admin.login("admin", "")
	for _, lang := range []string{"vi", "en"} {
		code, body := admin.get("/sensors?lang=" + lang)
		if code != 200 {
			t.Fatalf("%s: %d", lang, code)
		}
		golden(t, "sensors."+lang+".html", body)
	}
}

// TestSensorsPageTenancy: members see their subtree's sensors and
// detections only.
func TestSensorsPageTenancy(t *testing.T) {
	w := sensorWorld(t)
	for _, c := range []struct {
		user      string
		see, hide []string
	}{
		{"admin", []string{"gw-cuca", "gw-sob", "203.0.113.7", "192.0.2.99"}, nil},
		{"btt", []string{"gw-cuca", "203.0.113.7"}, []string{"gw-sob", "192.0.2.99"}},
		{"cuca", []string{"gw-cuca", "203.0.113.9"}, []string{"gw-sob", "192.0.2.99"}},
		{"sob", []string{"gw-sob", "192.0.2.99"}, []string{"gw-cuca", "203.0.113.7"}},
	} {
		cl := w.client()
		cl.login(c.user, "")
		code, body := cl.get("/sensors?lang=en")
		if code != 200 {
			t.Fatalf("%s: %d", c.user, code)
		}
		for _, s := range c.see {
			if !strings.Contains(body, s) {
				t.Errorf("%s does not see %s", c.user, s)
			}
		}
		for _, s := range c.hide {
			if strings.Contains(body, s) {
				t.Errorf("%s sees %s", c.user, s)
			}
		}
	}
	cl := w.client()
	cl.login("admin", "")
	code, body := cl.get("/sensors?lang=en&kind=port-scan")
	if code != 200 || !strings.Contains(body, "203.0.113.9") || strings.Contains(body, "203.0.113.7") {
		t.Errorf("kind filter: %d", code)
	}
	if strings.Contains(body, "<b>1200") {
		t.Error("a sensor's detail is not escaped")
	}
	if code, _ := cl.get("/sensors?kind=nonsense"); code != 400 {
		t.Errorf("unknown kind: %d", code)
	}
}
