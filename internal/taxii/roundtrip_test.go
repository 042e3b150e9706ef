package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/stix"
)

const (
	orgA = 10 // the organization concerned
	orgB = 20
)

// tokens of the test platform and whom they stand for.
var testPrincipals = map[string]auth.Principal{
	"rpt_alice_orgA_viewer": {UserID: 101, OrgID: orgA, Role: auth.RoleViewer, Name: "alice"},
	"rpt_feed_orgA_machine": {TokenID: 5, OrgID: orgA, Role: auth.RoleFeedConsumer, Name: "token:siem"},
	"rpt_bob_orgB_orgadmin": {UserID: 202, OrgID: orgB, Role: auth.RoleOrgAdmin, Name: "bob"},
	"rpt_carol_orgB_named1": {UserID: 303, OrgID: orgB, Role: auth.RoleViewer, Name: "carol"},
	"rpt_dave_cert_analyst": {UserID: 404, OrgID: 1, Role: auth.RoleAnalyst, Name: "dave"},
	"rpt_worker_orgA_scans": {TokenID: 6, OrgID: orgA, Role: auth.RoleWorker, Name: "token:worker"},
}

func testAuth(_ context.Context, token string) (auth.Principal, error) {
	if p, ok := testPrincipals[token]; ok {
		return p, nil
	}
	return auth.Principal{}, fmt.Errorf("no such token: %w", ErrUnauthenticated)
}

// hub is a loopback TAXII server over a MemoryBackend, counting requests.
type hub struct {
	t       *testing.T
	backend *MemoryBackend
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []*http.Request
	clock   time.Time
}

func newHub(t *testing.T) *hub {
	t.Helper()
	h := &hub{t: t, clock: time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)}
	h.backend = NewMemoryBackend(func() time.Time {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.clock = h.clock.Add(time.Second)
		return h.clock
	})
	h.backend.AddOrg(orgA, "MOH")
	h.backend.AddOrg(orgB, "MOF")
	srv := &Server{Backend: h.backend, Authenticate: testAuth}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("loopback listener: %v", err)
	}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.reqs = append(h.reqs, r.Clone(context.Background()))
		h.mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	h.srv.Listener.Close()
	h.srv.Listener = ln
	h.srv.Start()
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hub) add(kind intel.Kind, value string, tlp intel.TLP, orgs, people []int64) Object {
	h.t.Helper()
	seen := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	o, err := h.backend.Add(intel.Indicator{Kind: kind, Value: value, Category: intel.CategoryC2, Confidence: 80,
		TLP: tlp, FirstSeen: seen, LastSeen: seen}, Audience{Orgs: orgs, People: people})
	if err != nil {
		h.t.Fatalf("add %s: %v", value, err)
	}
	return o
}

func (h *hub) client(token string) *Client {
	return &Client{BaseURL: h.srv.URL, Token: token, HTTP: h.srv.Client(), Timeout: 5 * time.Second}
}

func (h *hub) requests() []*http.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.reqs
	h.reqs = nil
	return out
}

// poll returns the indicator patterns' values polled from a collection.
func poll(t *testing.T, c *Client, collURL string, after time.Time) ([]string, time.Time, error) {
	t.Helper()
	var got []string
	next, err := c.Poll(context.Background(), collURL, after, func(raw json.RawMessage) error {
		var o struct{ Type, Name string }
		if err := json.Unmarshal(raw, &o); err != nil {
			return err
		}
		got = append(got, o.Name)
		return nil
	})
	return got, next, err
}

func rootURL(t *testing.T, c *Client) string {
	t.Helper()
	d, err := c.Discovery(context.Background())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	if d.Default == "" || len(d.APIRoots) != 1 || d.APIRoots[0] != d.Default {
		t.Fatalf("discovery %+v", d)
	}
	a, err := c.APIRoot(context.Background(), d.Default)
	if err != nil || !slices.Contains(a.Versions, MediaTAXII) {
		t.Fatalf("api root %+v, %v", a, err)
	}
	return d.Default
}

func TestRoundTripPaginationAndAddedAfter(t *testing.T) {
	h := newHub(t)
	var want []string
	for i := range 7 {
		tlp := intel.TLPGreen
		if i%3 == 0 {
			tlp = intel.TLPClear
		}
		v := fmt.Sprintf("198.51.100.%d", i+1)
		h.add(intel.KindIPv4, v, tlp, nil, nil)
		want = append(want, "ipv4 "+v)
	}
	h.add(intel.KindDomain, "amber.example", intel.TLPAmber, nil, nil) // above the GREEN ceiling

	c := h.client("rpt_bob_orgB_orgadmin")
	c.PageSize = 2
	root := rootURL(t, c)
	colls, err := c.Collections(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	var green string
	for _, col := range colls {
		if col.Alias == "national-green" {
			green = CollectionURL(root, col.ID)
			if !col.CanRead || col.CanWrite {
				t.Errorf("collection %+v: want read-only", col)
			}
		}
	}
	if green == "" {
		t.Fatalf("no national-green collection in %+v", colls)
	}
	h.requests()
	got, last, err := poll(t, c, green, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("polled %v, want %v", got, want)
	}
	reqs := h.requests()
	if len(reqs) != 4 { // 2+2+2+1
		t.Errorf("%d requests, want 4 pages of at most 2", len(reqs))
	}
	for i, r := range reqs {
		if r.Header.Get("Accept") != MediaTAXII || r.URL.Query().Get("limit") != "2" {
			t.Errorf("request %d: Accept %q, query %q", i, r.Header.Get("Accept"), r.URL.RawQuery)
		}
		if (i > 0) != (r.URL.Query().Get("next") != "") {
			t.Errorf("request %d: next %q", i, r.URL.Query().Get("next"))
		}
	}
	if last.IsZero() {
		t.Fatal("Poll returned no added_after")
	}

	// Nothing new: an empty poll that keeps the mark.
	got, again, err := poll(t, c, green, last)
	if err != nil || len(got) != 0 || !again.Equal(last) {
		t.Errorf("second poll: %v, %v, %v; want nothing, %v", got, again, err, last)
	}
	h.requests()
	h.add(intel.KindIPv4, "203.0.113.9", intel.TLPGreen, nil, nil)
	h.add(intel.KindURL, "http://evil.example/x", intel.TLPClear, nil, nil)
	got, next, err := poll(t, c, green, last)
	if err != nil || !slices.Equal(got, []string{"ipv4 203.0.113.9", "url http://evil.example/x"}) || !next.After(last) {
		t.Errorf("poll after additions: %v, %v, %v", got, next, err)
	}
	if r := h.requests(); len(r) == 0 || r[0].URL.Query().Get("added_after") != FormatTimestamp(last) {
		t.Errorf("added_after not sent as %s", FormatTimestamp(last))
	}
}

func collURL(t *testing.T, c *Client, alias string) (string, bool) {
	t.Helper()
	root := rootURL(t, c)
	colls, err := c.Collections(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range colls {
		if col.Alias == alias {
			return CollectionURL(root, col.ID), true
		}
	}
	return "", false
}

func TestRoundTripTLP(t *testing.T) {
	h := newHub(t)
	h.add(intel.KindDomain, "strict.example", intel.TLPAmberStrict, []int64{orgA}, nil)
	h.add(intel.KindIPv4, "192.0.2.66", intel.TLPRed, []int64{orgA}, []int64{303})
	h.add(intel.KindIPv4, "192.0.2.1", intel.TLPAmber, []int64{orgA}, nil)
	h.add(intel.KindIPv4, "192.0.2.2", intel.TLPGreen, []int64{orgB}, nil)

	alice := h.client("rpt_alice_orgA_viewer")
	orgAURL, ok := collURL(t, alice, "org-10")
	if !ok {
		t.Fatal("org A does not see its own collection")
	}
	if _, ok := collURL(t, alice, "org-20"); ok {
		t.Error("org A sees org B's collection")
	}
	got, _, err := poll(t, alice, orgAURL, time.Time{})
	if err != nil || !slices.Equal(got, []string{"domain strict.example", "ipv4 192.0.2.1"}) {
		t.Errorf("org A's collection as alice: %v, %v", got, err)
	}
	national, _ := collURL(t, alice, "national-red")
	if got, _, _ := poll(t, alice, national, time.Time{}); !slices.Equal(got, []string{"domain strict.example", "ipv4 192.0.2.1", "ipv4 192.0.2.2"}) {
		t.Errorf("national-red as alice: %v (RED not named to her)", got)
	}
	// Org A's machine token reads the AMBER+STRICT one, as its org.
	if got, _, _ := poll(t, h.client("rpt_feed_orgA_machine"), orgAURL, time.Time{}); !slices.Contains(got, "domain strict.example") {
		t.Errorf("org A's feed token: %v", got)
	}

	// Org B: neither sees the collection nor can open it by URL.
	bob := h.client("rpt_bob_orgB_orgadmin")
	if _, ok := collURL(t, bob, "org-10"); ok {
		t.Error("org B lists org A's collection")
	}
	_, _, err = poll(t, bob, orgAURL, time.Time{})
	var te *Error
	if !errors.As(err, &te) || te.Status != http.StatusNotFound || Retryable(err) {
		t.Errorf("org B polling org A's collection: %v; want a 404, not retryable", err)
	}
	for _, alias := range []string{"national-red", "national-amber-strict", "national-amber"} {
		u, _ := collURL(t, bob, alias)
		got, _, err := poll(t, bob, u, time.Time{})
		if err != nil || slices.Contains(got, "domain strict.example") || slices.Contains(got, "ipv4 192.0.2.66") {
			t.Errorf("%s as org B: %v, %v", alias, got, err)
		}
	}

	// RED: the named person only.
	carol := h.client("rpt_carol_orgB_named1")
	u, _ := collURL(t, carol, "national-red")
	if got, _, _ := poll(t, carol, u, time.Time{}); !slices.Contains(got, "ipv4 192.0.2.66") || slices.Contains(got, "domain strict.example") {
		t.Errorf("national-red as carol (named): %v", got)
	}
	dave := h.client("rpt_dave_cert_analyst")
	u, _ = collURL(t, dave, "org-10")
	if got, _, _ := poll(t, dave, u, time.Time{}); slices.Contains(got, "ipv4 192.0.2.66") || !slices.Contains(got, "domain strict.example") {
		t.Errorf("org A's collection as the analyst: %v (AMBER+STRICT yes, RED not named no)", got)
	}
}

// do sends a raw request to the hub.
func (h *hub) do(method, path, token, accept string, basic bool) (*http.Response, []byte) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(""))
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if token != "" {
		if basic {
			req.SetBasicAuth("any-user", token)
		} else {
			req.Header.Set("Authorization", "Bearer "+token)
		}
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestServerProtocol(t *testing.T) {
	h := newHub(t)
	o1 := h.add(intel.KindIPv4, "198.51.100.1", intel.TLPClear, nil, nil)
	h.add(intel.KindSHA256, strings.Repeat("ab", 32), intel.TLPClear, nil, nil)
	// A second version of the first indicator.
	later := time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC)
	o1b, err := h.backend.Add(intel.Indicator{Kind: intel.KindIPv4, Value: "198.51.100.1", Category: intel.CategoryC2,
		TLP: intel.TLPClear, FirstSeen: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), LastSeen: later}, Audience{})
	if err != nil || o1b.ID != o1.ID {
		t.Fatalf("second version: %v %v", o1b.ID, err)
	}
	coll := "/taxii2/api/collections/" + NationalCollectionID(intel.TLPClear) + "/"
	const tok = "rpt_alice_orgA_viewer"

	cases := []struct {
		name, method, path, token, accept string
		basic                             bool
		status                            int
	}{
		{"discovery", "GET", "/taxii2/", tok, MediaTAXII, false, 200},
		{"discovery without slash", "GET", "/taxii2", tok, MediaTAXII, false, 200},
		{"basic auth", "GET", "/taxii2/", tok, MediaTAXII, true, 200},
		{"no credentials", "GET", "/taxii2/", "", MediaTAXII, false, 401},
		{"unknown token", "GET", "/taxii2/", "rpt_nobody_at_all_here", MediaTAXII, false, 401},
		{"unknown token as basic", "GET", "/taxii2/", "rpt_nobody_at_all_here", MediaTAXII, true, 401},
		{"worker may not read feeds", "GET", "/taxii2/", "rpt_worker_orgA_scans", MediaTAXII, false, 403},
		{"html not acceptable", "GET", "/taxii2/", tok, "text/html", false, 406},
		{"taxii 2.0 not acceptable", "GET", "/taxii2/api/collections/", tok, "application/taxii+json;version=2.0", false, 406},
		{"stix accepted on objects", "GET", coll + "objects/", tok, MediaSTIX, false, 200},
		{"stix not for collections", "GET", "/taxii2/api/collections/", tok, MediaSTIX, false, 406},
		{"api root", "GET", "/taxii2/api/", tok, "", false, 200},
		{"unknown api root", "GET", "/taxii2/other/", tok, "", false, 404},
		{"collection", "GET", coll, tok, "", false, 200},
		{"collection by alias", "GET", "/taxii2/api/collections/national-clear/", tok, "", false, 200},
		{"unknown collection", "GET", "/taxii2/api/collections/nope/objects/", tok, "", false, 404},
		{"manifest", "GET", coll + "manifest/", tok, "", false, 200},
		{"object", "GET", coll + "objects/" + o1.ID + "/", tok, "", false, 200},
		{"unknown object", "GET", coll + "objects/indicator--00000000-0000-4000-8000-000000000000/", tok, "", false, 404},
		{"versions", "GET", coll + "objects/" + o1.ID + "/versions/", tok, "", false, 200},
		{"status", "GET", "/taxii2/api/status/1234/", tok, "", false, 404},
		{"bad limit", "GET", coll + "objects/?limit=0", tok, "", false, 400},
		{"bad added_after", "GET", coll + "objects/?added_after=yesterday", tok, "", false, 400},
		{"bad next", "GET", coll + "objects/?next=forged", tok, "", false, 400},
		{"bad version", "GET", coll + "objects/?match[version]=newest", tok, "", false, 400},
		{"write refused", "POST", coll + "objects/", tok, "", false, 403},
		{"delete refused", "DELETE", coll + "objects/" + o1.ID + "/", tok, "", false, 403},
		{"other methods", "PATCH", coll, tok, "", false, 405},
		{"head", "HEAD", "/taxii2/", tok, "", false, 200},
		{"outside the prefix", "GET", "/other/", tok, "", false, 404},
	}
	for _, c := range cases {
		resp, body := h.do(c.method, c.path, c.token, c.accept, c.basic)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, resp.StatusCode, c.status, body)
			continue
		}
		ct := resp.Header.Get("Content-Type")
		if c.method == "HEAD" {
			continue
		}
		if ct != MediaTAXII && !(c.accept == MediaSTIX && ct == MediaSTIX) {
			t.Errorf("%s: Content-Type %q", c.name, ct)
		}
		if c.status >= 400 {
			var m ErrorMessage
			if err := json.Unmarshal(body, &m); err != nil || m.Title == "" || m.HTTPStatus != fmt.Sprint(c.status) {
				t.Errorf("%s: error body %s is not a TAXII error", c.name, body)
			}
		}
		if c.status == 401 && !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s: WWW-Authenticate %q", c.name, resp.Header.Get("WWW-Authenticate"))
		}
	}

	// Manifest: last versions, with date_added headers.
	resp, body := h.do("GET", coll+"manifest/", tok, "", false)
	m, err := ParseManifest(body)
	if err != nil || len(m.Objects) != 2 || m.More {
		t.Fatalf("manifest %s: %v", body, err)
	}
	if m.Objects[1].ID != o1.ID || m.Objects[1].Version != "2026-10-05T00:00:00.000Z" || m.Objects[1].MediaType != MediaSTIX {
		t.Errorf("manifest records %+v", m.Objects)
	}
	if resp.Header.Get("X-TAXII-Date-Added-First") != m.Objects[0].DateAdded || resp.Header.Get("X-TAXII-Date-Added-Last") != m.Objects[1].DateAdded {
		t.Errorf("date headers %q %q vs %+v", resp.Header.Get("X-TAXII-Date-Added-First"), resp.Header.Get("X-TAXII-Date-Added-Last"), m.Objects)
	}
	// Versions of one object: both, oldest added first.
	_, body = h.do("GET", coll+"objects/"+o1.ID+"/versions/", tok, "", false)
	var vs versions
	if json.Unmarshal(body, &vs) != nil || !slices.Equal(vs.Versions, []string{"2026-10-01T00:00:00.000Z", "2026-10-05T00:00:00.000Z"}) {
		t.Errorf("versions %s", body)
	}
	// match[version]=all on the object gives both bodies; the STIX is sound.
	_, body = h.do("GET", coll+"objects/"+o1.ID+"/?match[version]=all", tok, "", false)
	env, err := ParseEnvelope(body)
	if err != nil || len(env.Objects) != 2 {
		t.Fatalf("object versions %s: %v", body, err)
	}
	var ind struct {
		Pattern, Modified string
		SpecVersion       string   `json:"spec_version"`
		Markings          []string `json:"object_marking_refs"`
	}
	if err := json.Unmarshal(env.Objects[1], &ind); err != nil || ind.Pattern != "[ipv4-addr:value = '198.51.100.1']" ||
		ind.SpecVersion != "2.1" || ind.Modified != "2026-10-05T00:00:00.000Z" || ind.Markings[0] != stix.MarkingID(intel.TLPClear) {
		t.Errorf("indicator %s", env.Objects[1])
	}
	// match[type] and match[id].
	_, body = h.do("GET", coll+"objects/?match[type]=malware", tok, "", false)
	if env, _ := ParseEnvelope(body); len(env.Objects) != 0 {
		t.Errorf("match[type]=malware: %s", body)
	}
	_, body = h.do("GET", coll+"objects/?match[id]="+o1.ID, tok, "", false)
	if env, _ := ParseEnvelope(body); len(env.Objects) != 1 {
		t.Errorf("match[id]: %s", body)
	}
}

// The objects served are the hub's STIX export: the version is the
// modified time, the id the exporter's.
func TestIndicatorObject(t *testing.T) {
	in := intel.Indicator{Kind: intel.KindIPv4, Value: "198.51.100.1", Category: intel.CategoryC2, TLP: intel.TLPGreen,
		FirstSeen: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), LastSeen: time.Date(2026, 10, 5, 1, 2, 3, 456789000, time.UTC)}
	o, err := indicatorObject(in)
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ ID, Modified, Pattern string }
	if err := json.Unmarshal(o.Body, &body); err != nil || body.ID != o.ID || body.Modified != o.Version.Format(layoutMilli) ||
		body.Pattern != "[ipv4-addr:value = '198.51.100.1']" {
		t.Errorf("object %+v body %s", o, o.Body)
	}
	if _, err := indicatorObject(intel.Indicator{Kind: "weird", Value: "x"}); err == nil {
		t.Error("an unknown kind was serialized")
	}
}

// A client paging with a small limit while objects keep arriving sees
// every object exactly once over its polls: the cursor is a position.
func TestRoundTripConcurrentAdditions(t *testing.T) {
	h := newHub(t)
	const total = 120
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range total {
			h.add(intel.KindIPv4, fmt.Sprintf("198.51.%d.%d", 100+i/200, i%200+1), intel.TLPClear, nil, nil)
		}
	}()
	c := h.client("rpt_bob_orgB_orgadmin")
	c.PageSize = 3
	coll := CollectionURL(h.srv.URL+"/taxii2/api/", NationalCollectionID(intel.TLPClear))
	seen := map[string]int{}
	var mark time.Time
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		got, next, err := poll(t, c, coll, mark)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range got {
			seen[v]++
		}
		mark = next
		if finished && len(got) == 0 {
			break
		}
	}
	if len(seen) != total {
		t.Errorf("saw %d distinct objects, want %d", len(seen), total)
	}
	for v, n := range seen {
		if n != 1 {
			t.Errorf("%s seen %d times", v, n)
		}
	}
}
