package decision

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// bouncer registers a bouncer and returns its key.
func (w *world) bouncer(name string) string {
	w.t.Helper()
	key, prefix, hash, _ := auth.NewToken()
	if err := w.st.CreateBouncer(context.Background(), sys, &store.Bouncer{Name: name, KeyHash: hash, KeyPrefix: prefix}); err != nil {
		w.t.Fatal(err)
	}
	return key
}

func get(t *testing.T, srv *httptest.Server, method, path, key string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	req.Header.Set("User-Agent", "crowdsec-firewall-bouncer/v0.0.25")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type stream struct {
	New     []lapiDecision `json:"new"`
	Deleted []lapiDecision `json:"deleted"`
}

func decodeStream(t *testing.T, body string) stream {
	t.Helper()
	var s stream
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return s
}

func TestLAPIStream(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	srv := httptest.NewServer(&LAPI{St: w.st, Now: w.clk.Now, Logger: quiet})
	defer srv.Close()
	svc := NewService(w.st, Options{}, w.clk.Now, quiet)
	a, err := svc.Create(ctx, w.analyst(), "203.0.113.7", 4*time.Hour, "scanner")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, w.analyst(), "198.51.100.0/24", time.Hour, "botnet"); err != nil {
		t.Fatal(err)
	}
	k1, k2 := w.bouncer("fw-a"), w.bouncer("fw-b")

	// Keys.
	if code, body := get(t, srv, "GET", "/v1/decisions/stream?startup=true", ""); code != 403 || body != `{"message":"access forbidden"}` {
		t.Fatalf("no key: %d %s", code, body)
	}
	if code, _ := get(t, srv, "GET", "/v1/decisions/stream", "rpt_wrong"); code != 403 {
		t.Fatalf("wrong key: %d", code)
	}
	if code, body := get(t, srv, "HEAD", "/v1/decisions/stream?startup=true", k1); code != 200 || body != "" {
		t.Fatalf("HEAD: %d %q", code, body)
	}
	if code, _ := get(t, srv, "GET", "/v1/decisions/stream?startup=maybe", k1); code != 400 {
		t.Fatalf("bad startup: %d", code)
	}
	if code, _ := get(t, srv, "POST", "/v1/decisions/stream", k1); code != 405 {
		t.Fatalf("POST: %d", code)
	}
	if code, _ := get(t, srv, "GET", "/v1/alerts", k1); code != 404 {
		t.Fatalf("other route: %d", code)
	}
	// Newer bouncers report usage metrics: accepted and dropped.
	for body, want := range map[string]int{`{"remediation_components":[{"version":"v0.0.31"}]}`: 201, `{nope`: 400} {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/usage-metrics", strings.NewReader(body))
		req.Header.Set("X-Api-Key", k1)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("usage metrics %s: %d, want %d", body, res.StatusCode, want)
		}
	}
	if code, _ := get(t, srv, "POST", "/v1/usage-metrics", ""); code != 403 {
		t.Fatalf("usage metrics without a key: %d", code)
	}

	// Startup: everything active, as CrowdSec spells it.
	code, body := get(t, srv, "GET", "/v1/decisions/stream?startup=true", k1)
	s := decodeStream(t, body)
	if code != 200 || len(s.New) != 2 || s.Deleted != nil || !strings.Contains(body, `"deleted":null`) {
		t.Fatalf("startup: %d %s", code, body)
	}
	ip := s.New[0]
	if ip.Value != "203.0.113.7" || ip.Scope != "Ip" || ip.Type != "ban" || ip.Origin != "analyst" || ip.Duration != "4h0m0s" ||
		ip.ID != a.ID || ip.UUID == "" || ip.Scenario != "rampart/manual" || s.New[1].Scope != "Range" || s.New[1].Value != "198.51.100.0/24" {
		t.Fatalf("decisions: %+v", s.New)
	}
	// Nothing changed: a few bytes.
	w.clk.Add(48 * time.Second)
	if _, body := get(t, srv, "GET", "/v1/decisions/stream", k1); body != `{"new":null,"deleted":null}` {
		t.Fatalf("quiet delta: %s", body)
	}
	// A new decision reaches this bouncer once.
	b, _ := svc.Create(ctx, w.analyst(), "2001:db8:1::/48", time.Hour, "v6 range")
	_ = b
	c, err := svc.Create(ctx, w.analyst(), "192.0.2.99", time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	_, body = get(t, srv, "GET", "/v1/decisions/stream", k1)
	s = decodeStream(t, body)
	if len(s.New) != 2 || s.New[1].Value != "192.0.2.99" || s.Deleted != nil {
		t.Fatalf("delta: %s", body)
	}
	if _, body = get(t, srv, "GET", "/v1/decisions/stream", k1); body != `{"new":null,"deleted":null}` {
		t.Fatalf("delta again: %s", body)
	}
	// Lifted, and one runs out: deleted.
	if _, err := svc.Lift(ctx, w.analyst(), c.ID, ""); err != nil {
		t.Fatal(err)
	}
	w.clk.Add(time.Hour)
	_, body = get(t, srv, "GET", "/v1/decisions/stream", k1)
	s = decodeStream(t, body)
	if len(s.New) != 0 || len(s.Deleted) != 3 {
		t.Fatalf("after lift and expiry: %s", body)
	}
	// The other bouncer has its own cursor: from its startup.
	_, body = get(t, srv, "GET", "/v1/decisions/stream?startup=true", k2)
	s = decodeStream(t, body)
	if len(s.New) != 1 || s.New[0].Value != "203.0.113.7" || s.New[0].Duration != "2h59m12s" {
		t.Fatalf("second bouncer's startup: %s", body)
	}
	// Filters.
	if _, body = get(t, srv, "GET", "/v1/decisions/stream?startup=true&scopes=range", k2); body != `{"new":null,"deleted":null}` {
		t.Fatalf("scopes=range: %s", body)
	}
	if _, body = get(t, srv, "GET", "/v1/decisions/stream?startup=true&scopes=Ip,range&scenarios_containing=manual&origins=analyst", k2); !strings.Contains(body, "203.0.113.7") {
		t.Fatalf("filters: %s", body)
	}
	if _, body = get(t, srv, "GET", "/v1/decisions/stream?startup=true&scenarios_not_containing=manual", k2); strings.Contains(body, "203.0.113.7") {
		t.Fatalf("scenarios_not_containing: %s", body)
	}

	// What each pulled.
	list, err := w.st.ListBouncers(ctx, sys)
	if err != nil || len(list) != 2 {
		t.Fatal(list, err)
	}
	if fa := list[0]; fa.Name != "fw-a" || fa.TotalNew != 4 || fa.TotalDeleted != 3 || fa.LastDeleted != 3 || fa.Agent != "crowdsec-firewall-bouncer/v0.0.25" || fa.LastAddr != "127.0.0.1" {
		t.Fatalf("fw-a pulled: %+v", fa)
	}
}

func TestLAPIDecisions(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	srv := httptest.NewServer(&LAPI{St: w.st, Now: w.clk.Now, Logger: quiet})
	defer srv.Close()
	svc := NewService(w.st, Options{}, w.clk.Now, quiet)
	for _, v := range []string{"203.0.113.7", "198.51.100.0/24"} {
		if _, err := svc.Create(ctx, w.analyst(), v, time.Hour, ""); err != nil {
			t.Fatal(err)
		}
	}
	k := w.bouncer("fw")
	for q, want := range map[string]string{
		"ip=203.0.113.7":                       "203.0.113.7",
		"ip=198.51.100.77":                     "198.51.100.0/24",
		"ip=192.0.2.1":                         "null",
		"range=198.51.100.0/25":                "198.51.100.0/24",
		"range=198.51.100.0/23&contains=false": "198.51.100.0/24",
		"scope=ip&value=203.0.113.7":           "203.0.113.7",
		"scope=username&value=root":            "null",
	} {
		code, body := get(t, srv, "GET", "/v1/decisions?"+q, k)
		if code != 200 || !strings.Contains(body, want) || (want == "null" && body != "null") {
			t.Errorf("%s: %d %s, want %s", q, code, body, want)
		}
	}
	if code, _ := get(t, srv, "GET", "/v1/decisions?ip=nope", k); code != 400 {
		t.Errorf("bad ip: %d", code)
	}
	if code, body := get(t, srv, "GET", "/v1/decisions", k); code != 200 || strings.Count(body, `"value"`) != 2 {
		t.Errorf("all: %d %s", code, body)
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"startup=true", "startup=false&scopes=ip,range", "scopes=Ip&origins=crowdsec,cscli&scenarios_containing=ssh,http",
		"scenarios_not_containing=http-probing", "ip=1.2.3.4", "range=1.2.3.0/24&contains=false", "scope=ip&value=2001:db8::1",
		"type=ban&scope=username&value=root", "startup=1", "%zz", strings.Repeat("scopes=a&", 100),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseQuery(raw)
		if err != nil {
			return
		}
		d := store.Decision{Value: "203.0.113.7", Scope: store.ScopeIP, Type: store.TypeBan, Origin: store.OriginCorrelation, Scenario: "rampart/port-scan"}
		_ = q.wants(&d)
		_ = q.matches(&d)
		if len(q.scopes)+len(q.origins)+len(q.containing)+len(q.notContaining) > 4*maxListItems+1 {
			t.Fatalf("lists unbounded: %+v", q)
		}
	})
}
