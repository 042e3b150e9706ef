package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/stix"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/taxii"
)

// machine mints a token of a machine role in an organization.
func (e *env) machine(name string, role auth.Role, orgID int64) string {
	e.t.Helper()
	tok, secret, err := auth.IssueToken(auth.SystemPrincipal, name, role, orgID, nil, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.CreateToken(context.Background(), auth.SystemPrincipal, &tok); err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// intelWorld is two agencies under the national level, A owning
// 198.51.100.0/24 and a.example.vn, B owning b.example.vn.
type intelWorld struct {
	*env
	vn, a, b int64
	analyst  string
}

func newIntelWorld(t *testing.T) *intelWorld {
	e := newEnv(t)
	w := &intelWorld{env: e}
	w.vn = e.createOrg(e.admin, "VN", "national", 0)
	w.a = e.createOrg(e.admin, "A", "agency", w.vn)
	w.b = e.createOrg(e.admin, "B", "agency", w.vn)
	e.createAsset(e.admin, w.a, "cidr", "198.51.100.0/24")
	e.createAsset(e.admin, w.a, "hostname", "a.example.vn")
	e.createAsset(e.admin, w.b, "hostname", "b.example.vn")
	e.refresh()
	w.analyst = e.user("analyst", auth.RoleAnalyst, 0)
	return w
}

type pushResult struct {
	Feed     string `json:"feed"`
	Accepted int    `json:"accepted"`
	Rejected []struct {
		Index  int    `json:"index"`
		Where  string `json:"where"`
		Value  string `json:"value"`
		Reason string `json:"reason"`
	} `json:"rejected"`
	RejectedCount int `json:"rejected_count"`
	Run           struct {
		Hits       int `json:"hits"`
		Indicators struct {
			New int `json:"new"`
		} `json:"indicators"`
	} `json:"run"`
}

func (w *intelWorld) indicator(kind intel.Kind, value string) (store.StoredIndicator, error) {
	return w.st.FindIndicator(context.Background(), auth.SystemPrincipal, store.IndicatorKey{Kind: kind, Value: value})
}

func TestPushIndicatorsJSON(t *testing.T) {
	w := newIntelWorld(t)
	producer := w.machine("a-siem", auth.RoleFeedProducer, w.a)
	body := []byte(`[
		{"kind": "ipv4", "value": "203.0.113.10", "category": "c2", "confidence": 80, "tlp": "green", "labels": ["malware:Emotet"]},
		{"kind": "domain", "value": "A.Example.VN.", "category": "phishing", "tlp": "CLEAR"},
		{"kind": "ipv5", "value": "203.0.113.11"},
		{"kind": "ipv4", "value": "999.0.113.12"},
		{"kind": "ipv4", "value": "203.0.113.13", "colour": "red"},
		{"kind": "ipv4", "value": "203.0.113.14", "confidence": 150},
		{"kind": "url", "value": "http://evil.example.net/x?id=1", "tlp": "amber+strict"}
	]`)
	r := w.mustDo(producer, "POST", "/api/v1/intel/indicators", body, 200)
	var res pushResult
	r.json(t, &res)
	if res.Feed != "push:a" || res.Accepted != 3 || res.RejectedCount != 4 || len(res.Rejected) != 4 {
		t.Fatalf("result %s", r.body)
	}
	reasons := map[int]string{}
	for _, rj := range res.Rejected {
		reasons[rj.Index] = rj.Reason
	}
	for i, want := range map[int]string{2: "kind", 3: "not an IP address", 4: "unknown field", 5: "confidence 150"} {
		if !strings.Contains(reasons[i], want) {
			t.Errorf("record %d: reason %q, want one with %q", i, reasons[i], want)
		}
	}
	// Nothing of a refused record, everything of an accepted one.
	for _, v := range []string{"203.0.113.11", "203.0.113.13", "203.0.113.14"} {
		if _, err := w.indicator(intel.KindIPv4, v); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refused %s was stored (%v)", v, err)
		}
	}
	in, err := w.indicator(intel.KindIPv4, "203.0.113.10")
	if err != nil || in.TLP != intel.TLPGreen || in.Confidence != 80 || in.Category != intel.CategoryC2 || !slices.Equal(in.Labels, []string{"malware:emotet"}) ||
		len(in.Sources) != 1 || in.Sources[0].Feed != "push:a" {
		t.Errorf("stored %+v %v", in, err)
	}
	if in, err := w.indicator(intel.KindURL, "http://evil.example.net/x?id=1"); err != nil || in.TLP != intel.TLPAmberStrict {
		t.Errorf("url: %+v %v", in, err)
	}
	// The name of A's asset is an early warning for A (and only A).
	if res.Run.Hits != 1 {
		t.Errorf("hits %d, want 1 (a.example.vn)", res.Run.Hits)
	}
	var ew struct {
		Items []store.Finding `json:"items"`
	}
	w.mustDo(w.user("a-viewer", auth.RoleViewer, w.a), "GET", "/api/v1/intel/early-warnings", nil, 200).json(t, &ew)
	if len(ew.Items) != 1 || ew.Items[0].Check != intel.FindingMaliciousContent || ew.Items[0].OrgID != w.a {
		t.Errorf("A's early warnings: %+v", ew.Items)
	}
	w.mustDo(w.user("b-viewer", auth.RoleViewer, w.b), "GET", "/api/v1/intel/early-warnings", nil, 200).json(t, &ew)
	if len(ew.Items) != 0 {
		t.Errorf("B's early warnings: %+v", ew.Items)
	}
	// The feed shows the run.
	var feeds struct {
		Items []store.Feed `json:"items"`
	}
	w.mustDo(w.analyst, "GET", "/api/v1/intel/feeds", nil, 200).json(t, &feeds)
	if len(feeds.Items) != 1 || feeds.Items[0].Name != "push:a" || feeds.Items[0].Records != 3 {
		t.Errorf("feeds %+v", feeds.Items)
	}

	// Another organization's member sees the indicator, not who submitted
	// it, and cannot probe A's submissions by the feed filter.
	bMember := w.user("b-member", auth.RoleOrgMember, w.b)
	var list struct {
		Items []store.StoredIndicator `json:"items"`
	}
	w.mustDo(bMember, "GET", "/api/v1/intel/indicators?q=203.0.113.10", nil, 200).json(t, &list)
	if len(list.Items) != 1 || len(list.Items[0].Sources) != 1 || list.Items[0].Sources[0].Feed != "push" {
		t.Errorf("B's view of A's submission: %+v", list.Items)
	}
	w.mustDo(bMember, "GET", "/api/v1/intel/indicators?feed=push:a", nil, 200).json(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("B filters by A's push feed: %+v", list.Items)
	}
	w.mustDo(w.user("a-member", auth.RoleOrgMember, w.a), "GET", "/api/v1/intel/indicators?feed=push:a", nil, 200).json(t, &list)
	if len(list.Items) != 2 || list.Items[0].Sources[0].Feed != "push:a" { // CLEAR and GREEN; not its AMBER+STRICT URL
		t.Errorf("A's view of its own submissions: %+v", list.Items)
	}

	// All refused: 422 and nothing stored; not an array: 400.
	r = w.mustDo(producer, "POST", "/api/v1/intel/indicators", []byte(`[{"kind":"ipv4","value":"nope"}]`), 422)
	if r.code() != "import_failed" || !strings.Contains(string(r.body), "item 0 (nope)") {
		t.Errorf("all refused: %s", r.body)
	}
	r = w.mustDo(producer, "POST", "/api/v1/intel/indicators", []byte(`[{"kind":"ipv4","value":"203.0.113.30"}, {"kind":`), 400)
	if _, err := w.indicator(intel.KindIPv4, "203.0.113.30"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a record before a syntax error was stored: %v (%s)", err, r.body)
	}
	w.mustDo(producer, "POST", "/api/v1/intel/indicators", []byte(`{"kind":"ipv4","value":"203.0.113.31"}`), 400)
	// Who may submit, and under which feed.
	w.mustDo(w.user("a-admin", auth.RoleOrgAdmin, w.a), "POST", "/api/v1/intel/indicators", []byte(`[]`), 403)
	w.mustDo(producer, "POST", "/api/v1/intel/indicators?feed=urlhaus", []byte(`[]`), 403)
	r = w.mustDo(w.analyst, "POST", "/api/v1/intel/indicators?feed=partner-cert", []byte(`[{"kind":"ipv4","value":"203.0.113.32"}]`), 200)
	if r.json(t, &res); res.Feed != "partner-cert" || res.Accepted != 1 {
		t.Errorf("national push: %s", r.body)
	}
	if in, err := w.indicator(intel.KindIPv4, "203.0.113.32"); err != nil || in.TLP != intel.TLPAmber {
		t.Errorf("unmarked record: %+v %v (want AMBER)", in, err)
	}
}

func TestPushIndicatorsSTIX(t *testing.T) {
	w := newIntelWorld(t)
	producer := w.machine("a-misp", auth.RoleFeedProducer, w.a)
	bundle := `{"type":"bundle","id":"bundle--5f1d2c3b-0000-4000-8000-000000000001","objects":[
	{"type":"indicator","spec_version":"2.1","id":"indicator--5f1d2c3b-0000-4000-8000-000000000002","created":"2030-01-01T00:00:00.000Z","modified":"2030-01-02T00:00:00.000Z",
	 "name":"C2 server","pattern":"[ipv4-addr:value = '198.51.100.77']","pattern_type":"stix","valid_from":"2030-01-01T00:00:00Z","indicator_types":["malicious-activity"]},
	{"type":"indicator","spec_version":"2.1","id":"indicator--5f1d2c3b-0000-4000-8000-000000000003","created":"2030-01-01T00:00:00.000Z","modified":"2030-01-01T00:00:00.000Z",
	 "pattern":"[process:name = 'evil.exe']","pattern_type":"stix","valid_from":"2030-01-01T00:00:00Z"}]}`
	req, _ := http.NewRequest("POST", w.http.URL+"/api/v1/intel/indicators?tlp=green", strings.NewReader(bundle))
	req.Header.Set("Authorization", "Bearer "+producer)
	req.Header.Set("Content-Type", "application/stix+json;version=2.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var res pushResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 1 || res.RejectedCount != 1 || len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Where, "000000000003") || res.Rejected[0].Reason == "" {
		t.Errorf("result %s", b)
	}
	if in, err := w.indicator(intel.KindIPv4, "198.51.100.77"); err != nil || in.TLP != intel.TLPGreen {
		t.Errorf("stored %+v %v", in, err)
	}
	if res.Run.Hits != 1 {
		t.Errorf("hits %d: 198.51.100.77 is in A's range", res.Run.Hits)
	}
	// A bundle that is not JSON: refused with the parser's words.
	req, _ = http.NewRequest("POST", w.http.URL+"/api/v1/intel/indicators", strings.NewReader(`{"type":"bundle","objects":[{`))
	req.Header.Set("Authorization", "Bearer "+producer)
	req.Header.Set("Content-Type", "application/stix+json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 422 || !strings.Contains(string(b), "stix") {
		t.Errorf("malformed bundle: %d %s", resp.StatusCode, b)
	}
}

func TestPushSightings(t *testing.T) {
	w := newIntelWorld(t)
	w.mustDo(w.analyst, "POST", "/api/v1/intel/indicators", []byte(`[{"kind":"ipv4","value":"203.0.113.40","tlp":"green"},{"kind":"domain","value":"bad.example.org","tlp":"amber"}]`), 200)
	producer := w.machine("a-sensor", auth.RoleFeedProducer, w.a)
	r := w.mustDo(producer, "POST", "/api/v1/intel/sightings", []map[string]any{
		{"kind": "ipv4", "value": "203.0.113.40", "count": 3},
		{"kind": "domain", "value": "BAD.example.org"},
		{"kind": "ipv4", "value": "203.0.113.99"},
		{"kind": "ipv4", "value": "203.0.113.40", "org_id": w.b},
		{"kind": "ipv4", "value": "not-an-ip"},
	}, 200)
	var res struct {
		Recorded []store.Sighting `json:"recorded"`
		Rejected []struct {
			Index  int    `json:"index"`
			Reason string `json:"reason"`
		} `json:"rejected"`
	}
	r.json(t, &res)
	if len(res.Recorded) != 2 || res.Recorded[0].Count != 3 || res.Recorded[0].OrgID != w.a || len(res.Rejected) != 3 {
		t.Fatalf("%s", r.body)
	}
	for i, rj := range res.Rejected {
		if want := []int{2, 3, 4}[i]; rj.Index != want || rj.Reason == "" {
			t.Errorf("rejection %d: %+v, want index %d", i, rj, want)
		}
	}
	// A member of B sees the indicator, not A's sightings of it.
	in, _ := w.indicator(intel.KindIPv4, "203.0.113.40")
	var d struct {
		Sightings    int              `json:"sightings"`
		SightingList []store.Sighting `json:"sighting_list"`
	}
	w.mustDo(w.user("b-member", auth.RoleOrgMember, w.b), "GET", fmt.Sprintf("/api/v1/intel/indicators/%d", in.ID), nil, 200).json(t, &d)
	if len(d.SightingList) != 0 {
		t.Errorf("B sees A's sightings: %+v", d.SightingList)
	}
	w.mustDo(w.user("a-member", auth.RoleOrgMember, w.a), "GET", fmt.Sprintf("/api/v1/intel/indicators/%d", in.ID), nil, 200).json(t, &d)
	if len(d.SightingList) != 1 || d.SightingList[0].Count != 3 {
		t.Errorf("A's sightings: %+v", d.SightingList)
	}
	// Nothing recorded: 422. A viewer (no sensor or triage rights): 403.
	w.mustDo(producer, "POST", "/api/v1/intel/sightings", []map[string]any{{"kind": "ipv4", "value": "203.0.113.98"}}, 422)
	w.mustDo(w.user("a-viewer", auth.RoleViewer, w.a), "POST", "/api/v1/intel/sightings", []map[string]any{{"kind": "ipv4", "value": "203.0.113.40"}}, 403)
}

// TestTAXIIPerOrganization reads the mounted TAXII server with the
// platform's TAXII client: an organization's token sees its collection
// with what TLP allows, another organization's token cannot open it.
func TestTAXIIPerOrganization(t *testing.T) {
	w := newIntelWorld(t)
	w.mustDo(w.analyst, "POST", "/api/v1/intel/indicators", []map[string]any{
		{"kind": "ipv4", "value": "198.51.100.10", "tlp": "AMBER+STRICT", "category": "c2"}, // A's range: concerns A
		{"kind": "ipv4", "value": "198.51.100.11", "tlp": "RED", "category": "compromised"}, // concerns A, but RED
		{"kind": "ipv4", "value": "203.0.113.20", "tlp": "AMBER+STRICT"},                    // concerns no one
		{"kind": "ipv4", "value": "203.0.113.21", "tlp": "GREEN"},
		{"kind": "ipv4", "value": "203.0.113.22", "tlp": "AMBER"},
		{"kind": "ipv4", "value": "203.0.113.23", "tlp": "CLEAR"},
	}, 200)
	value := map[string]string{}
	for _, v := range []string{"198.51.100.10", "198.51.100.11", "203.0.113.20", "203.0.113.21", "203.0.113.22", "203.0.113.23"} {
		value[stix.IndicatorID(intel.KindIPv4, v)] = v
	}
	ctx := context.Background()
	read := func(token, alias string) ([]string, error) {
		c := &taxii.Client{BaseURL: w.http.URL + "/taxii2/", Token: token, PageSize: 2}
		d, err := c.Discovery(ctx)
		if err != nil {
			return nil, err
		}
		if len(d.APIRoots) != 1 {
			return nil, fmt.Errorf("api roots %v", d.APIRoots)
		}
		root := d.APIRoots[0]
		cs, err := c.Collections(ctx, root)
		if err != nil {
			return nil, err
		}
		id := alias
		for _, col := range cs {
			if col.Alias == alias {
				id = col.ID
			}
		}
		var got []string
		_, err = c.Poll(ctx, taxii.CollectionURL(root, id), time.Time{}, func(o json.RawMessage) error {
			var h struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(o, &h); err != nil {
				return err
			}
			got = append(got, value[h.ID])
			return nil
		})
		slices.Sort(got)
		return got, err
	}
	orgA := fmt.Sprintf("org-%d", w.a)
	aToken := w.machine("a-siem", auth.RoleFeedConsumer, w.a)
	got, err := read(aToken, orgA)
	if err != nil || !slices.Equal(got, []string{"198.51.100.10"}) {
		t.Errorf("A reads its collection: %v %v", got, err)
	}
	got, err = read(aToken, "national-amber-strict")
	if want := []string{"198.51.100.10", "203.0.113.21", "203.0.113.22", "203.0.113.23"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("A reads the national AMBER+STRICT collection: %v %v, want %v", got, err, want)
	}
	bToken := w.user("b-viewer", auth.RoleViewer, w.b)
	got, err = read(bToken, orgA)
	var te *taxii.Error
	if err == nil || !errors.As(err, &te) || !strings.Contains(err.Error(), "404") {
		t.Errorf("B reads A's collection: %v, error %v", got, err)
	}
	got, err = read(w.analyst, orgA)
	if err != nil || !slices.Equal(got, []string{"198.51.100.10"}) {
		t.Errorf("the analyst reads A's collection: %v %v (RED reaches named people only)", got, err)
	}
	// A token that may not read feeds, and no token.
	if _, err := read(w.machine("a-worker", auth.RoleWorker, w.a), orgA); err == nil {
		t.Error("a worker token read a collection")
	}
	if _, err := read("", orgA); err == nil {
		t.Error("no token read a collection")
	}
}

func TestBlocklistConsumersAndReviews(t *testing.T) {
	w := newIntelWorld(t)
	w.mustDo(w.analyst, "POST", "/api/v1/intel/indicators", []map[string]any{
		{"kind": "ipv4", "value": "203.0.113.50", "tlp": "CLEAR", "category": "c2"},
		{"kind": "domain", "value": "a.example.vn", "tlp": "CLEAR", "category": "phishing"}, // A's asset: held
		{"kind": "cidr", "value": "192.168.0.0/16", "tlp": "CLEAR"},                         // special: held
		{"kind": "ipv4", "value": "203.0.113.51", "tlp": "AMBER"},
	}, 200)
	// Only the national level manages consumers; the key is shown once.
	w.mustDo(w.user("a-admin", auth.RoleOrgAdmin, w.a), "POST", "/api/v1/intel/consumers", map[string]any{"name": "fw"}, 403)
	var created struct {
		Consumer store.Consumer `json:"consumer"`
		Key      string         `json:"key"`
	}
	w.mustDo(w.analyst, "POST", "/api/v1/intel/consumers", map[string]any{"name": "fw-a", "org_id": w.a, "max_tlp": "AMBER", "formats": []string{"plain", "nft"}}, 201).json(t, &created)
	if !strings.HasPrefix(created.Key, "rpb_") || created.Consumer.ID == 0 {
		t.Fatalf("created %+v", created)
	}
	r := w.mustDo(w.analyst, "GET", fmt.Sprintf("/api/v1/intel/consumers/%d", created.Consumer.ID), nil, 200)
	if strings.Contains(string(r.body), created.Key) || strings.Contains(string(r.body), "key_hash") {
		t.Errorf("the key is shown again: %s", r.body)
	}
	w.mustDo(w.analyst, "POST", "/api/v1/intel/consumers", map[string]any{"name": "bad", "formats": []string{"pdf"}}, 422)

	get := func(key, inm string) (int, string, string) {
		req, _ := http.NewRequest("GET", w.http.URL+"/blocklists/plain", nil)
		req.Header.Set("X-Api-Key", key)
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Get("ETag")
	}
	code, body, etag := get(created.Key, "")
	if code != 200 || etag == "" || !strings.Contains(body, "203.0.113.50\n") || !strings.Contains(body, "203.0.113.51\n") ||
		strings.Contains(body, "a.example.vn") || strings.Contains(body, "192.168.") {
		t.Fatalf("list %d %q:\n%s", code, etag, body)
	}
	if code, _, _ := get(created.Key, etag); code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", code)
	}
	if code, _, _ := get("rpb_unknown-key-000000000000000000000000", ""); code != http.StatusUnauthorized {
		t.Errorf("unknown key: %d", code)
	}
	// The held indicators wait for review with the reason.
	var reviews struct {
		Items []store.Review `json:"items"`
	}
	w.mustDo(w.analyst, "GET", "/api/v1/intel/reviews", nil, 200).json(t, &reviews)
	if len(reviews.Items) != 2 {
		t.Fatalf("reviews %+v", reviews.Items)
	}
	var name store.Review
	for _, rv := range reviews.Items {
		if rv.Value == "a.example.vn" {
			name = rv
		}
	}
	if !strings.Contains(name.Reason, "would block a.example.vn of A") {
		t.Errorf("reason %q", name.Reason)
	}
	w.mustDo(w.user("a-admin2", auth.RoleOrgAdmin, w.a), "POST", fmt.Sprintf("/api/v1/intel/reviews/%d/decide", name.ID), map[string]any{"approve": true}, 403)
	var decided store.Review
	w.mustDo(w.analyst, "POST", fmt.Sprintf("/api/v1/intel/reviews/%d/decide", name.ID), map[string]any{"approve": true, "note": "the site is compromised; block it"}, 200).json(t, &decided)
	if decided.State != store.ReviewApproved || decided.DecidedBy == "" || decided.Note == "" {
		t.Errorf("decided %+v", decided)
	}
	code, body, etag2 := get(created.Key, etag)
	if code != 200 || !strings.Contains(body, "a.example.vn") || etag2 == etag {
		t.Errorf("after approval: %d %q\n%s", code, etag2, body)
	}
	// A new key replaces the old one.
	var rotated struct {
		Key string `json:"key"`
	}
	w.mustDo(w.analyst, "POST", fmt.Sprintf("/api/v1/intel/consumers/%d/rotate", created.Consumer.ID), nil, 200).json(t, &rotated)
	if code, _, _ := get(created.Key, ""); code != http.StatusUnauthorized {
		t.Errorf("old key after rotation: %d", code)
	}
	if code, _, _ := get(rotated.Key, ""); code != 200 {
		t.Errorf("new key: %d", code)
	}
	w.mustDo(w.analyst, "PATCH", fmt.Sprintf("/api/v1/intel/consumers/%d", created.Consumer.ID), map[string]any{"enabled": false}, 200)
	if code, _, _ := get(rotated.Key, ""); code != http.StatusUnauthorized {
		t.Errorf("disabled consumer: %d", code)
	}
	w.mustDo(w.analyst, "DELETE", fmt.Sprintf("/api/v1/intel/consumers/%d", created.Consumer.ID), nil, 204)
}

func TestExportFindingsSTIX(t *testing.T) {
	w := newIntelWorld(t)
	w.mustDo(w.analyst, "POST", "/api/v1/intel/indicators", []map[string]any{
		{"kind": "ipv4", "value": "198.51.100.12", "tlp": "GREEN", "category": "compromised"},
	}, 200)
	member := w.user("a-member", auth.RoleOrgMember, w.a)
	r := w.mustDo(member, "GET", "/api/v1/findings/export.stix", nil, 200)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/stix+json") {
		t.Errorf("content type %q", ct)
	}
	var b struct {
		Type    string `json:"type"`
		Objects []struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"objects"`
	}
	r.json(t, &b)
	var ips []string
	for _, o := range b.Objects {
		if o.Type == "ipv4-addr" {
			ips = append(ips, o.Value)
		}
	}
	if b.Type != "bundle" || !slices.Contains(ips, "198.51.100.12") {
		t.Errorf("bundle %s", r.body)
	}
	w.mustDo(member, "GET", fmt.Sprintf("/api/v1/findings/export.stix?org_id=%d", w.b), nil, 404)
	w.mustDo(w.analyst, "GET", "/api/v1/findings/export.stix", nil, 400)
}
