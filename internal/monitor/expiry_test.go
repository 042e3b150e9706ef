package monitor

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
)

func TestParseRDAP(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "rdap-domain.json"))
	must(t, err)
	d, err := ParseRDAP(b)
	must(t, err)
	if d.Name != "boyte.gov.vn" || !d.Expires.Equal(time.Date(2026, 12, 27, 16, 59, 59, 0, time.UTC)) || len(d.Status) != 2 {
		t.Fatalf("parsed %+v", d)
	}
	e, err := os.ReadFile(filepath.Join("testdata", "rdap-error.json"))
	must(t, err)
	for name, in := range map[string]string{
		"error object": string(e),
		"not json":     "<html>busy</html>",
		"entity":       `{"objectClassName":"entity","handle":"X"}`,
		"bad date":     `{"objectClassName":"domain","ldhName":"a.vn","events":[{"eventAction":"expiration","eventDate":"27/12/2026"}]}`,
		"too big":      `{"objectClassName":"domain","ldhName":"` + strings.Repeat("a", maxRDAPBody) + `"}`,
	} {
		if _, err := ParseRDAP([]byte(in)); !errors.Is(err, ErrRDAP) {
			t.Errorf("%s: %v, want ErrRDAP", name, err)
		}
	}
	// No expiration event: a zero date, not an error (many registries
	// publish none). Two: the earlier wins.
	d, err = ParseRDAP([]byte(`{"objectClassName":"domain","ldhName":"x.vn.","events":[{"eventAction":"registration","eventDate":"2020-01-01T00:00:00Z"}]}`))
	if err != nil || !d.Expires.IsZero() || d.Name != "x.vn" {
		t.Fatalf("no expiration: %+v %v", d, err)
	}
	d, _ = ParseRDAP([]byte(`{"objectClassName":"domain","events":[{"eventAction":"expiration","eventDate":"2030-01-01T00:00:00+07:00"},{"eventAction":"expiration","eventDate":"2029-01-01T00:00:00Z"}]}`))
	if !d.Expires.Equal(time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("two expirations: %v", d.Expires)
	}
}

func TestParseExpiryCSV(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "expiry.csv"))
	must(t, err)
	defer f.Close()
	rows, err := ParseExpiryCSV(f)
	must(t, err)
	if len(rows) != 2 || rows[0].Domain != "dichvucong.gov.vn" || rows[1].Domain != "boyte.gov.vn" {
		t.Fatalf("rows %+v", rows)
	}
	// A bare date ends at midnight in Vietnam: 16:59:59 UTC.
	if !rows[0].Expires.Equal(time.Date(2026, 12, 31, 16, 59, 59, 0, time.UTC)) || !rows[1].Expires.Equal(time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("dates %v %v", rows[0].Expires, rows[1].Expires)
	}
	for name, in := range map[string]string{
		"bad date on line 3": "domain,expiry\na.vn,2027-01-01\nb.vn,soon\n",
		"bad name":           "a..vn,2027-01-01\n",
		"one field":          "a.vn\n",
	} {
		if _, err := ParseExpiryCSV(strings.NewReader(in)); !errors.Is(err, ErrExpiryFile) {
			t.Errorf("%s: %v, want ErrExpiryFile", name, err)
		}
	}
	if _, err := ParseExpiryCSV(strings.NewReader("domain,expiry\na.vn,2027-01-01\nb.vn,soon\n")); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("the error does not name the line: %v", err)
	}
}

// rdapServer serves domain objects from testdata's sample with the
// expiration of each name replaced, on loopback.
type rdapServer struct {
	mu      sync.Mutex
	expires map[string]string // name → RFC 3339 expiration
	asked   map[string]int
	url     string
}

func startRDAP(t *testing.T, ip string) *rdapServer {
	t.Helper()
	sample, err := os.ReadFile(filepath.Join("testdata", "rdap-domain.json"))
	must(t, err)
	r := &rdapServer{expires: map[string]string{}, asked: map[string]int{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		name, ok := strings.CutPrefix(req.URL.Path, "/rdap/domain/")
		r.mu.Lock()
		r.asked[name]++
		exp, known := r.expires[name]
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/rdap+json")
		if !ok || !known {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"errorCode":404,"title":"Not Found"}`))
			return
		}
		body := strings.Replace(string(sample), "BOYTE.GOV.VN", strings.ToUpper(name), 1)
		body = strings.Replace(body, "2026-12-27T16:59:59Z", exp, 1)
		_, _ = w.Write([]byte(body))
	}))
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	must(t, err)
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/rdap/"
	return r
}

func TestExpiryOverRDAP(t *testing.T) {
	w := newWorld(t)
	rd := startRDAP(t, "127.0.0.54")
	rd.expires["boyte.gov.vn"] = "2026-12-27T16:59:59Z"      // 21 days after the world's now: medium
	rd.expires["dichvucong.gov.vn"] = "2026-12-10T00:00:00Z" // 3 days: high
	rd.expires["claimed.gov.vn"] = "2026-12-08T00:00:00Z"    // a claim: never asked
	m := w.monitor(t, Config{Expiry: ExpiryConfig{RDAP: rd.url}})
	ctx := context.Background()
	must(t, m.ExpiryRound(ctx))

	got := map[int64]finding.Finding{}
	for _, f := range w.findings(t, "monitor.domain-expiring") {
		got[f.OrgID] = f
	}
	if len(got) != 2 {
		t.Fatalf("findings: %+v", got)
	}
	byt, dvc := got[w.byt.ID], got[w.dvc.ID]
	if byt.Severity != finding.Medium || byt.AssetID != w.assets["boyte.gov.vn"].ID || byt.Target != "boyte.gov.vn" {
		t.Errorf("BYT: %+v", byt)
	}
	if dvc.Severity != finding.High || dvc.AssetID != w.assets["dichvucong.gov.vn"].ID {
		t.Errorf("DVC: %+v", dvc)
	}
	ev := decode[ExpiryEvidence](t, byt.Evidence)
	if ev.DaysLeft != 21 || ev.Source != "rdap" || !strings.HasPrefix(ev.URL, rd.url) || !ev.Expires.Equal(time.Date(2026, 12, 27, 16, 59, 59, 0, time.UTC)) {
		t.Errorf("evidence %+v", ev)
	}
	if rd.asked["claimed.gov.vn"] != 0 {
		t.Error("a claimed domain was looked up")
	}

	// Within Recheck nothing is asked again; the dates known are
	// reported again. A renewal is seen at the next lookup, and the
	// renewed domain is no longer reported.
	w.advance(6 * time.Hour)
	must(t, m.ExpiryRound(ctx))
	if rd.asked["boyte.gov.vn"] != 1 {
		t.Errorf("asked %d times within Recheck", rd.asked["boyte.gov.vn"])
	}
	rd.mu.Lock()
	rd.expires["boyte.gov.vn"] = "2029-12-27T16:59:59Z"
	rd.mu.Unlock()
	w.advance(25 * time.Hour)
	must(t, m.ExpiryRound(ctx))
	for _, f := range w.findings(t, "monitor.domain-expiring") {
		switch f.OrgID {
		case w.byt.ID:
			if f.LastSeen.Equal(w.now) {
				t.Error("a renewed domain is still reported")
			}
		case w.dvc.ID:
			if !f.LastSeen.Equal(w.now) || f.Severity != finding.High {
				t.Errorf("DVC after a day: %+v", f)
			}
		}
	}

	// The day after expiry it is critical.
	w.advance(3 * 24 * time.Hour)
	must(t, m.ExpiryRound(ctx))
	for _, f := range w.findings(t, "monitor.domain-expiring") {
		if f.OrgID == w.dvc.ID && f.Severity != finding.Critical {
			t.Errorf("expired domain: %+v", f)
		}
	}
}

func TestExpiryFromFile(t *testing.T) {
	w := newWorld(t)
	// No RDAP (air-gapped): the registry's export, read every round.
	m := w.monitor(t, Config{Expiry: ExpiryConfig{File: filepath.Join("testdata", "expiry.csv")}})
	must(t, m.ExpiryRound(context.Background()))
	fs := w.findings(t, "monitor.domain-expiring")
	if len(fs) != 1 || fs[0].OrgID != w.dvc.ID || fs[0].Severity != finding.Medium {
		t.Fatalf("findings %+v", fs)
	}
	if ev := decode[ExpiryEvidence](t, fs[0].Evidence); ev.DaysLeft != 25 || ev.Source != "file" {
		t.Fatalf("evidence %+v", ev)
	}
}
