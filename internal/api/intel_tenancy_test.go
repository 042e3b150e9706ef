package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// intelTenancy gives organization beta threat-intelligence state (an
// AMBER+STRICT indicator it saw and that hit its asset, a GREEN one it
// saw, an early warning, a review, a blocklist consumer) and returns the
// probes of the hub's routes for TestTenancyEveryRoute and the strings
// that must not leak.
func intelTenancy(t *testing.T, e *env, beta, bAsset int64) (map[string][]probe, []string) {
	t.Helper()
	ctx := context.Background()
	sys := auth.SystemPrincipal
	now := time.Now().UTC()
	var recs []intel.Record
	for _, r := range []intel.Record{
		{Kind: intel.KindIPv4, Value: "203.0.113.66", TLP: intel.TLPAmberStrict, Category: intel.CategoryC2},
		{Kind: intel.KindIPv4, Value: "203.0.113.67", TLP: intel.TLPGreen, Category: intel.CategoryScanner},
	} {
		r.Feed, r.Confidence = "beta-secret-feed", 70
		if err := r.Normalize(now); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if _, err := e.st.ApplyIndicators(ctx, sys, recs); err != nil {
		t.Fatal(err)
	}
	strict, err := e.st.FindIndicator(ctx, sys, store.IndicatorKey{Kind: intel.KindIPv4, Value: "203.0.113.66"})
	if err != nil {
		t.Fatal(err)
	}
	green, err := e.st.FindIndicator(ctx, sys, store.IndicatorKey{Kind: intel.KindIPv4, Value: "203.0.113.67"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{strict.ID, green.ID} {
		if _, err := e.st.RecordSighting(ctx, sys, store.Sighting{IndicatorID: id, OrgID: beta, Count: 2}); err != nil {
			t.Fatal(err)
		}
	}
	ev, _ := json.Marshal(map[string]any{"feed": "beta-secret-feed", "indicator": map[string]string{"kind": "ipv4", "value": "203.0.113.66"}})
	if _, err := e.st.RecordFindings(ctx, store.FindingBatch{Source: finding.SourceIntel, Ref: "beta-secret-feed", JobID: "beta-intel-run", At: now, Policy: finding.DefaultPolicy,
		Seen: []store.Finding{{AssetID: bAsset, OrgID: beta, Check: intel.FindingCompromisedHost, Family: "intel", Severity: finding.Critical,
			Target: "beta.gov.vn", Title: "beta-intel-warning", Evidence: ev}}}); err != nil {
		t.Fatal(err)
	}
	rv, _, err := e.st.QueueReview(ctx, sys, strict.ID, "would block beta-review-reason")
	if err != nil {
		t.Fatal(err)
	}
	c := store.Consumer{Name: "beta-firewall", KeyHash: "ab00000000000000000000000000000000000000000000000000000000000000", OrgID: beta, MaxTLP: intel.TLPGreen, Enabled: true}
	if err := e.st.CreateConsumer(ctx, sys, &c); err != nil {
		t.Fatal(err)
	}
	feed, err := e.st.GetFeedByName(ctx, sys, "beta-secret-feed")
	if err != nil {
		t.Fatal(err)
	}
	f := func(format string, a ...any) string { return fmt.Sprintf(format, a...) }
	probes := map[string][]probe{
		"POST /api/v1/intel/indicators": {{"POST", "/api/v1/intel/indicators", []map[string]any{{"kind": "domain", "value": "evil.beta.gov.vn"}}},
			{"POST", "/api/v1/intel/indicators?feed=beta-secret-feed", []map[string]any{{"kind": "ipv4", "value": "203.0.113.66", "tlp": "CLEAR"}}}},
		"POST /api/v1/intel/sightings": {{"POST", "/api/v1/intel/sightings", []map[string]any{{"kind": "ipv4", "value": "203.0.113.67", "org_id": beta, "count": 5}}},
			{"POST", "/api/v1/intel/sightings", []map[string]any{{"kind": "ipv4", "value": "203.0.113.66", "org_id": beta}}}},
		"GET /api/v1/intel/indicators": {{"GET", "/api/v1/intel/indicators", nil}, {"GET", "/api/v1/intel/indicators?q=203.0.113.66", nil},
			{"GET", "/api/v1/intel/indicators?tlp=RED&feed=beta-secret-feed", nil}},
		"GET /api/v1/intel/indicators/{id}":        {{"GET", f("/api/v1/intel/indicators/%d", strict.ID), nil}, {"GET", f("/api/v1/intel/indicators/%d", green.ID), nil}},
		"GET /api/v1/intel/early-warnings":         {{"GET", "/api/v1/intel/early-warnings", nil}, {"GET", f("/api/v1/intel/early-warnings?org_id=%d", beta), nil}},
		"GET /api/v1/intel/feeds":                  {{"GET", "/api/v1/intel/feeds", nil}},
		"GET /api/v1/intel/feeds/{id}":             {{"GET", f("/api/v1/intel/feeds/%d", feed.ID), nil}},
		"POST /api/v1/intel/feeds/{id}/run":        {{"POST", f("/api/v1/intel/feeds/%d/run", feed.ID), nil}},
		"GET /api/v1/intel/feeds/{id}/feedback":    {{"GET", f("/api/v1/intel/feeds/%d/feedback", feed.ID), nil}},
		"GET /api/v1/intel/reviews":                {{"GET", "/api/v1/intel/reviews?state=all", nil}},
		"POST /api/v1/intel/reviews/{id}/decide":   {{"POST", f("/api/v1/intel/reviews/%d/decide", rv.ID), map[string]any{"approve": true}}},
		"GET /api/v1/intel/consumers":              {{"GET", "/api/v1/intel/consumers", nil}},
		"POST /api/v1/intel/consumers":             {{"POST", "/api/v1/intel/consumers", map[string]any{"name": "evil", "org_id": beta}}},
		"GET /api/v1/intel/consumers/{id}":         {{"GET", f("/api/v1/intel/consumers/%d", c.ID), nil}},
		"PATCH /api/v1/intel/consumers/{id}":       {{"PATCH", f("/api/v1/intel/consumers/%d", c.ID), map[string]any{"max_tlp": "RED"}}},
		"POST /api/v1/intel/consumers/{id}/rotate": {{"POST", f("/api/v1/intel/consumers/%d/rotate", c.ID), nil}},
		"DELETE /api/v1/intel/consumers/{id}":      {{"DELETE", f("/api/v1/intel/consumers/%d", c.ID), nil}},
		"GET /api/v1/findings/export.stix":         {{"GET", "/api/v1/findings/export.stix", nil}, {"GET", f("/api/v1/findings/export.stix?org_id=%d", beta), nil}},
	}
	return probes, []string{"203.0.113.66", "beta-intel-warning", "beta-review-reason", "beta-firewall"}
}
