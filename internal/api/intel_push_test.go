package api_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// A JSON push keeps what the STIX form cannot carry: the detail reaches
// the early warning (the exposed port becomes its target), the external
// ID the indicator's source and the evidence, the recipients of a RED
// record the indicator.
func TestPushJSONKeepsDetailExternalIDAndRecipients(t *testing.T) {
	w := newIntelWorld(t)
	body := fmt.Sprintf(`[
		{"kind": "ipv4", "value": "198.51.100.20", "category": "exposed", "tlp": "green", "detail": {"Port": "161", "tag": "snmp", "community": "public"}, "external_id": "scan-7"},
		{"kind": "ipv4", "value": "198.51.100.21", "category": "c2", "tlp": "amber", "external_id": "partner-42", "detail": {"infection": "emotet"}},
		{"kind": "domain", "value": "red.example.org", "tlp": "red", "recipients": {"orgs": [%d]}},
		{"kind": "domain", "value": "green.example.org", "tlp": "green", "recipients": {"orgs": [%d]}},
		{"kind": "domain", "value": "long.example.org", "external_id": "%s"}
	]`, w.b, w.b, strings.Repeat("x", 201))
	r := w.mustDo(w.analyst, "POST", "/api/v1/intel/indicators", []byte(body), 200)
	var res pushResult
	r.json(t, &res)
	if res.Accepted != 3 || res.RejectedCount != 2 || res.Run.Hits != 2 {
		t.Fatalf("result %s", r.body)
	}
	if !strings.Contains(res.Rejected[0].Reason, "TLP:RED") || !strings.Contains(res.Rejected[1].Reason, "external_id") {
		t.Errorf("reasons %+v", res.Rejected)
	}
	in, err := w.indicator(intel.KindIPv4, "198.51.100.21")
	if err != nil || len(in.Sources) != 1 || in.Sources[0].ExternalID != "partner-42" {
		t.Fatalf("c2 indicator %+v %v", in, err)
	}
	red, err := w.indicator(intel.KindDomain, "red.example.org")
	if err != nil || red.TLP != intel.TLPRed || !slices.Equal(red.Recipients.Orgs, []int64{w.b}) {
		t.Fatalf("red indicator %+v %v", red, err)
	}
	var ew struct {
		Items []store.Finding `json:"items"`
	}
	w.mustDo(w.user("a-viewer", auth.RoleViewer, w.a), "GET", "/api/v1/intel/early-warnings", nil, 200).json(t, &ew)
	byTarget := map[string]store.Finding{}
	for _, f := range ew.Items {
		byTarget[f.Target] = f
	}
	exposed, ok := byTarget["198.51.100.20:161"]
	if !ok || exposed.Check != intel.FindingExposedService || exposed.Subject != "snmp" {
		t.Fatalf("no exposed-service warning on port 161: %+v", ew.Items)
	}
	c2 := byTarget["198.51.100.21"]
	var ev struct {
		ExternalID string            `json:"external_id"`
		Detail     map[string]string `json:"detail"`
	}
	if err := json.Unmarshal(c2.Evidence, &ev); err != nil || ev.ExternalID != "partner-42" || ev.Detail["infection"] != "emotet" {
		t.Errorf("c2 evidence %s (%v)", c2.Evidence, err)
	}
	if c2.Subject != "emotet" {
		t.Errorf("c2 subject %q, want the infection", c2.Subject)
	}
	// A recipient that does not exist refuses the submission.
	r = w.do(w.analyst, "POST", "/api/v1/intel/indicators", []byte(`[{"kind": "domain", "value": "nobody.example.org", "tlp": "red", "recipients": {"orgs": [999999]}}]`))
	if r.status < 400 || r.status >= 500 || !strings.Contains(string(r.body), "999999") {
		t.Errorf("unknown recipient: %d %s", r.status, r.body)
	}
}
