package stixexport

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
)

func findings() []finding.Finding {
	t0 := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	due := t0.Add(30 * 24 * time.Hour)
	return []finding.Finding{
		{ID: 11, Key: "k-tls", OrgID: 7, Source: finding.SourceScan, Check: "tls.cert-expired", Family: "tls",
			Severity: finding.High, Target: "203.0.113.5:443", Title: "The TLS certificate has expired", State: finding.StateOpen,
			FirstSeen: t0, LastSeen: t0.Add(48 * time.Hour), UpdatedAt: t0.Add(49 * time.Hour), DueAt: &due,
			Evidence: json.RawMessage(`{"not_after":"2026-09-30T00:00:00Z"}`)},
		{ID: 12, Key: "k-web", OrgID: 7, Source: finding.SourceImport, SourceRef: "nuclei", Check: "import.nuclei.cve-2021-41773",
			Severity: finding.Critical, Target: "https://portal.moh.gov.vn/cgi-bin/", Title: "Apache path traversal",
			CVE: []string{"CVE-2021-42013", "CVE-2021-41773"}, KEV: true, State: finding.StateAcknowledged,
			FirstSeen: t0, LastSeen: t0.Add(time.Hour), UpdatedAt: t0.Add(2 * time.Hour),
			Evidence: json.RawMessage(`"` + strings.Repeat("x", 5000) + `"`)},
		{ID: 13, Key: "k-dns", OrgID: 7, Source: finding.SourceScan, Check: "dns.open-resolver", Family: "dns",
			Severity: finding.Medium, Target: "portal.moh.gov.vn", Subject: "udp/53", Title: "Open DNS resolver", State: finding.StateReopened,
			FirstSeen: t0, LastSeen: t0, UpdatedAt: t0},
		{ID: 14, Key: "k-web2", OrgID: 7, Source: finding.SourceScan, Check: "http.apache-cve", Severity: finding.Critical,
			Target: "[2001:db8::5]:8443", Title: "Apache again", CVE: []string{"CVE-2021-41773"}, State: finding.StateOpen,
			FirstSeen: t0, LastSeen: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour)},
	}
}

type object map[string]any

func export(t *testing.T, fs []finding.Finding, o Options) ([]byte, map[string]object, []string) {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, fs, o); err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Type    string
		ID      string
		Objects []object
	}
	if err := json.Unmarshal(b.Bytes(), &bundle); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	if bundle.Type != "bundle" || !strings.HasPrefix(bundle.ID, "bundle--") {
		t.Fatalf("bundle %s %s", bundle.Type, bundle.ID)
	}
	byID := map[string]object{}
	var order []string
	for _, ob := range bundle.Objects {
		id := ob["id"].(string)
		if _, dup := byID[id]; dup {
			t.Errorf("object %s twice", id)
		}
		byID[id] = ob
		order = append(order, id)
	}
	return b.Bytes(), byID, order
}

func TestExport(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	raw, objs, order := export(t, findings(), Options{Organization: "MOH", ConsoleURL: "https://rampart.example/", Now: now})
	count := map[string]int{}
	for _, ob := range objs {
		count[ob["type"].(string)]++
		if ob["spec_version"] != "2.1" {
			t.Errorf("%v: spec_version %v", ob["id"], ob["spec_version"])
		}
	}
	// 1 identity, 3 observables (203.0.113.5, the URL, portal.moh.gov.vn, 2001:db8::5 → 4),
	// 2 vulnerabilities (shared), 4 observed-data, 4 notes.
	want := map[string]int{"identity": 1, "ipv4-addr": 1, "ipv6-addr": 1, "url": 1, "domain-name": 1, "vulnerability": 2, "observed-data": 4, "note": 4}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%d %s objects, want %d (%v)", count[k], k, n, count)
		}
	}
	if objs[order[0]]["type"] != "identity" {
		t.Error("the producer's identity does not come first")
	}
	// Observable ids are the specification's: UUIDv5 in its namespace of
	// {"value":…} (values computed with Python's uuid module).
	for id, v := range map[string]string{
		"ipv4-addr--826fe3cb-56b0-5620-9d30-4c17ed7b24e3":   "203.0.113.5",
		"domain-name--881eeaa1-4b7c-586e-97af-f198acd51911": "portal.moh.gov.vn",
	} {
		if ob, ok := objs[id]; !ok || ob["value"] != v {
			t.Errorf("observable %s (%s) missing", id, v)
		}
	}
	// Every reference resolves inside the bundle; markings are TLP ids.
	for id, ob := range objs {
		refs, _ := ob["object_refs"].([]any)
		if by, ok := ob["created_by_ref"].(string); ok {
			refs = append(refs, by)
		}
		for _, r := range refs {
			if _, ok := objs[r.(string)]; !ok {
				t.Errorf("%s refers to %v, not in the bundle", id, r)
			}
		}
		if m, ok := ob["object_marking_refs"].([]any); ok && (len(m) != 1 || m[0] != TLPAmberStrict) {
			t.Errorf("%s markings %v", id, m)
		}
		c, _ := ob["created"].(string)
		m, _ := ob["modified"].(string)
		if c > m {
			t.Errorf("%s modified %s before created %s", id, m, c)
		}
	}
	// The TLS finding's note.
	var tls object
	for _, ob := range objs {
		if ob["type"] == "note" && ob["abstract"] == "The TLS certificate has expired" {
			tls = ob
		}
	}
	if tls == nil {
		t.Fatal("no note for the TLS finding")
	}
	labels := tls["labels"].([]any)
	for _, l := range []string{"severity:high", "state:open", "check:tls.cert-expired", "family:tls", "overdue"} {
		if !slices.Contains(labels, any(l)) {
			t.Errorf("TLS note lacks label %s: %v", l, labels)
		}
	}
	content := tls["content"].(string)
	for _, s := range []string{"Severity: high", "Organization: MOH", "Target: 203.0.113.5:443 (port 443)", "(overdue)", `"not_after"`} {
		if !strings.Contains(content, s) {
			t.Errorf("TLS note content lacks %q:\n%s", s, content)
		}
	}
	ext := tls["external_references"].([]any)[0].(map[string]any)
	if ext["external_id"] != "finding-11" || ext["url"] != "https://rampart.example/findings/11" {
		t.Errorf("external reference %v", ext)
	}
	od := objs[tls["object_refs"].([]any)[0].(string)]
	if od["type"] != "observed-data" || od["first_observed"] != "2026-10-01T08:00:00.000Z" || od["last_observed"] != "2026-10-03T08:00:00.000Z" ||
		od["number_observed"] != float64(1) || od["object_refs"].([]any)[0] != "ipv4-addr--826fe3cb-56b0-5620-9d30-4c17ed7b24e3" {
		t.Errorf("observed-data %v", od)
	}
	// The web finding: two vulnerabilities, KEV, evidence cut.
	for _, ob := range objs {
		if ob["type"] != "note" || ob["abstract"] != "Apache path traversal" {
			continue
		}
		refs := ob["object_refs"].([]any)
		if len(refs) != 4 || objs[refs[2].(string)]["name"] != "CVE-2021-41773" || objs[refs[3].(string)]["name"] != "CVE-2021-42013" {
			t.Errorf("web note refs %v", refs)
		}
		if !slices.Contains(ob["labels"].([]any), any("kev")) || slices.Contains(ob["labels"].([]any), any("overdue")) {
			t.Errorf("web note labels %v", ob["labels"])
		}
		if c := ob["content"].(string); len(c) > MaxEvidence+1000 || !strings.HasSuffix(c, "…") {
			t.Errorf("evidence not cut: %d bytes", len(c))
		}
	}
	// Deterministic: the same findings in another order, the same bytes.
	fs := findings()
	slices.Reverse(fs)
	again, _, _ := export(t, fs, Options{Organization: "MOH", ConsoleURL: "https://rampart.example/", Now: now})
	if !bytes.Equal(raw, again) {
		t.Error("export depends on the input order")
	}
	// A change gives a new bundle id and a new version of that note only.
	fs[0].UpdatedAt = fs[0].UpdatedAt.Add(time.Hour)
	changed, objs2, _ := export(t, fs, Options{Organization: "MOH", ConsoleURL: "https://rampart.example/", Now: now})
	if bytes.Equal(raw[:60], changed[:60]) {
		t.Error("bundle id unchanged after a change")
	}
	var newer int
	for id, ob := range objs2 {
		if ob["modified"] != objs[id]["modified"] {
			newer++
		}
	}
	if newer != 2 { // the observed-data and the note of that finding
		t.Errorf("%d objects changed version, want 2", newer)
	}
}

func TestExportEmpty(t *testing.T) {
	_, objs, _ := export(t, nil, Options{})
	if len(objs) != 1 {
		t.Errorf("empty export has %d objects, want the identity only", len(objs))
	}
}
