package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// TestDNSThroughAPI: client networks are registered by the organization's
// admins inside their own address assets; blocked queries are read by
// each subtree only, so a member never sees another organization's
// client addresses.
func TestDNSThroughAPI(t *testing.T) {
	e := newEnv(t)
	vn := e.createOrg(e.admin, "VN", "national", 0)
	moh := e.createOrg(e.admin, "MOH", "ministry", vn)
	mof := e.createOrg(e.admin, "MOF", "ministry", vn)
	mohNet := e.createAsset(e.admin, moh, "cidr", "198.51.100.0/24")
	e.createAsset(e.admin, mof, "cidr", "203.0.113.0/24")
	mohAdmin := e.user("moh-admin", auth.RoleOrgAdmin, moh)
	mohMember := e.user("moh-member", auth.RoleOrgMember, moh)
	mofAdmin := e.user("mof-admin", auth.RoleOrgAdmin, mof)

	var n store.DNSClientNetwork
	e.mustDo(mohAdmin, "POST", "/api/v1/dns/client-networks", map[string]any{"org_id": moh, "prefix": "198.51.100.8/29", "note": "NAT"}, 201).json(t, &n)
	if n.AssetID != mohNet || n.Prefix != "198.51.100.8/29" {
		t.Fatalf("created %+v", n)
	}
	e.mustDo(mohAdmin, "POST", "/api/v1/dns/client-networks", map[string]any{"org_id": moh, "prefix": "203.0.113.0/28"}, 422)
	e.mustDo(mofAdmin, "POST", "/api/v1/dns/client-networks", map[string]any{"org_id": moh, "prefix": "198.51.100.64/26"}, 404)
	mohViewer := e.user("moh-viewer", auth.RoleViewer, moh)
	e.mustDo(mohViewer, "POST", "/api/v1/dns/client-networks", map[string]any{"org_id": moh, "prefix": "198.51.100.64/26"}, 403)
	var nets []store.DNSClientNetwork
	e.mustDo(mofAdmin, "GET", "/api/v1/dns/client-networks", nil, 200).json(t, &nets)
	if len(nets) != 0 {
		t.Fatalf("MOF sees %+v", nets)
	}

	ds := e.st.(store.DNS)
	t0 := time.Now().UTC()
	for i, it := range []store.DNSBlocked{
		{OrgID: moh, AssetID: mohNet, Client: "198.51.100.9", Name: "evil.example", List: "malware", Count: 1000, First: t0, Last: t0},
		{OrgID: mof, AssetID: 1, Client: "203.0.113.5", Name: "evil.example", List: "malware", Count: 2, First: t0, Last: t0},
	} {
		if _, _, err := ds.RecordDNSBlocked(context.Background(), store.DNSBlockedReport{Resolver: "hn1", ReportID: fmt.Sprint(i), Items: []store.DNSBlocked{it}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		token, client string
	}{{mohMember, "198.51.100.9"}, {mofAdmin, "203.0.113.5"}} {
		var got []store.DNSBlocked
		e.mustDo(c.token, "GET", "/api/v1/dns/blocked", nil, 200).json(t, &got)
		if len(got) != 1 || got[0].Client != c.client {
			t.Errorf("sees %+v, want only %s", got, c.client)
		}
	}
	var all []store.DNSBlocked
	e.mustDo(e.admin, "GET", "/api/v1/dns/blocked?client=198.51.100.9", nil, 200).json(t, &all)
	if len(all) != 1 || all[0].Count != 1000 {
		t.Fatalf("by client: %+v", all)
	}
	e.mustDo(mofAdmin, "DELETE", fmt.Sprintf("/api/v1/dns/client-networks/%d", n.ID), nil, 404)
	e.mustDo(mohAdmin, "DELETE", fmt.Sprintf("/api/v1/dns/client-networks/%d", n.ID), nil, 204)
}

// dnsTenancy gives BETA a client network and a blocked query, and the
// probes ALFA's credentials make at them (tenancy_test.go).
func dnsTenancy(t *testing.T, e *env, beta int64) (map[string][]probe, []string) {
	t.Helper()
	ctx := context.Background()
	ds := e.st.(store.DNS)
	n := store.DNSClientNetwork{OrgID: beta, Prefix: "198.51.100.128/25", Note: "beta-net-note"}
	if err := ds.CreateDNSClientNetwork(ctx, auth.SystemPrincipal, &n); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC()
	if _, _, err := ds.RecordDNSBlocked(ctx, store.DNSBlockedReport{Resolver: "hn1", ReportID: "beta", Items: []store.DNSBlocked{
		{OrgID: beta, AssetID: n.AssetID, Client: "198.51.100.200", Name: "beta-asked.example", List: "malware", Count: 3, First: t0, Last: t0}}}); err != nil {
		t.Fatal(err)
	}
	return map[string][]probe{
		"GET /api/v1/dns/client-networks":         {{"GET", "/api/v1/dns/client-networks", nil}},
		"POST /api/v1/dns/client-networks":        {{"POST", "/api/v1/dns/client-networks", map[string]any{"org_id": beta, "prefix": "198.51.100.0/26"}}},
		"DELETE /api/v1/dns/client-networks/{id}": {{"DELETE", fmt.Sprintf("/api/v1/dns/client-networks/%d", n.ID), nil}},
		"GET /api/v1/dns/blocked": {{"GET", "/api/v1/dns/blocked", nil}, {"GET", fmt.Sprintf("/api/v1/dns/blocked?org_id=%d", beta), nil},
			{"GET", "/api/v1/dns/blocked?client=198.51.100.200", nil}},
	}, []string{"198.51.100.200", "beta-asked.example", "beta-net-note", "198.51.100.128/25"}
}
