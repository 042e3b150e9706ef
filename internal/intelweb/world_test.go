package intelweb_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// world is a small constituency with indicators of every marking:
//
//	VN (national)
//	├── A (agency): 198.51.100.0/24, a.example.vn; an early warning on 198.51.100.7
//	└── B (agency): b.example.vn; it reported seeing 203.0.113.9
type world struct {
	t    *testing.T
	st   *sqlstore.Store
	orgs map[string]org.Organization
	ind  map[string]store.StoredIndicator // by value
	// users are stored people (a RED indicator names one).
	users map[string]auth.User
}

var now = time.Date(2030, 5, 1, 8, 0, 0, 0, time.UTC)

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "intel.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, st: st, orgs: map[string]org.Organization{}, ind: map[string]store.StoredIndicator{}, users: map[string]auth.User{}}
	sys := auth.SystemPrincipal
	for _, o := range []org.Organization{
		{Code: "VN", Name: "Việt Nam", NameEN: "Vietnam", Kind: org.KindNational},
		{Code: "A", Name: "Cục A", NameEN: "Agency A", Kind: org.KindAgency},
		{Code: "B", Name: "Cục B", NameEN: "Agency B", Kind: org.KindAgency},
	} {
		if o.Code != "VN" {
			o.ParentID = w.orgs["VN"].ID
		}
		if err := st.CreateOrg(ctx, sys, &o); err != nil {
			t.Fatal(err)
		}
		w.orgs[o.Code] = o
	}
	// Alice of A is named on a TLP:RED indicator; Carol of A is not.
	for name, code := range map[string]string{"alice": "A", "carol": "A"} {
		u := auth.User{Name: name, Role: auth.RoleOrgMember, OrgID: w.orgs[code].ID, PasswordHash: "h"}
		if err := st.CreateUser(ctx, sys, &u); err != nil {
			t.Fatal(err)
		}
		w.users[name] = u
	}
	for _, a := range []asset.Asset{
		{OrgID: w.orgs["A"].ID, Kind: asset.KindCIDR, Value: "198.51.100.0/24"},
		{OrgID: w.orgs["A"].ID, Kind: asset.KindHostname, Value: "a.example.vn"},
		{OrgID: w.orgs["B"].ID, Kind: asset.KindHostname, Value: "b.example.vn"},
	} {
		a.Criticality, a.SecurityLevel = asset.CriticalityImportant, 3
		if err := st.CreateAsset(ctx, sys, &a); err != nil {
			t.Fatal(err)
		}
	}
	rec := func(kind intel.Kind, value string, tlp intel.TLP, cat intel.Category) intel.Record {
		r := intel.Record{Kind: kind, Value: value, Feed: "test-feed", TLP: tlp, Category: cat, Confidence: 80,
			FirstSeen: now.Add(-48 * time.Hour), LastSeen: now.Add(-time.Hour)}
		if err := r.Normalize(now); err != nil {
			t.Fatal(err)
		}
		return r
	}
	recs := []intel.Record{
		rec(intel.KindIPv4, "203.0.113.5", intel.TLPGreen, intel.CategoryC2),
		rec(intel.KindIPv4, "203.0.113.6", intel.TLPAmber, intel.CategoryScanner),
		rec(intel.KindIPv4, "198.51.100.7", intel.TLPAmberStrict, intel.CategoryCompromised),
		rec(intel.KindDomain, "evil.example.com", intel.TLPRed, intel.CategoryMalware),
		rec(intel.KindIPv4, "203.0.113.9", intel.TLPAmberStrict, intel.CategoryC2),
		rec(intel.KindCIDR, "10.0.0.0/8", intel.TLPClear, intel.CategoryScanner),
		rec(intel.KindDomain, "a.example.vn", intel.TLPClear, intel.CategoryPhishing),
		rec(intel.KindDomain, "phish.example.net", intel.TLPClear, intel.CategoryPhishing),
	}
	// TLP:RED for organization B and for Alice of A, by name.
	red := rec(intel.KindDomain, "red.example.org", intel.TLPRed, intel.CategoryC2)
	red.Recipients = intel.Recipients{Orgs: []int64{w.orgs["B"].ID}, Users: []int64{w.users["alice"].ID}}
	if err := red.Normalize(now); err != nil {
		t.Fatal(err)
	}
	recs = append(recs, red)
	if _, err := st.ApplyIndicators(ctx, sys, recs); err != nil {
		t.Fatal(err)
	}
	err = st.EachIndicator(ctx, sys, store.IndicatorFilter{}, func(si store.StoredIndicator) error {
		w.ind[si.Value] = si
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// B saw 203.0.113.9; A's range holds 198.51.100.7 (an early warning).
	if _, err := st.RecordSighting(ctx, sys, store.Sighting{IndicatorID: w.ind["203.0.113.9"].ID, OrgID: w.orgs["B"].ID, Count: 3}); err != nil {
		t.Fatal(err)
	}
	ev, _ := json.Marshal(map[string]any{"feed": "test-feed", "indicator": map[string]string{"kind": "ipv4", "value": "198.51.100.7"}})
	var assetA int64
	_ = st.EachAsset(ctx, sys, func(a asset.Asset) error {
		if a.Value == "198.51.100.0/24" {
			assetA = a.ID
		}
		return nil
	})
	_, err = st.RecordFindings(ctx, store.FindingBatch{Source: finding.SourceIntel, Ref: "test-feed", JobID: "run-1", At: now.Add(-time.Hour), Policy: finding.DefaultPolicy,
		Seen: []store.Finding{{OrgID: w.orgs["A"].ID, AssetID: assetA, Check: intel.FindingCompromisedHost, Family: "intel", Severity: finding.Critical,
			Target: "198.51.100.7", Title: "compromised host 198.51.100.7, reported by test-feed", Evidence: ev}}})
	if err != nil {
		t.Fatal(err)
	}
	// What the hub does after recording an early warning.
	if _, err := st.AddConcerns(ctx, sys, []store.Concern{{OrgID: w.orgs["A"].ID, Key: store.IndicatorKey{Kind: intel.KindIPv4, Value: "198.51.100.7"}}}); err != nil {
		t.Fatal(err)
	}
	return w
}

// user is the principal of a stored user.
func (w *world) user(name string) auth.Principal {
	u := w.users[name]
	o := w.orgs[map[string]string{"alice": "A", "carol": "A"}[name]]
	return auth.Principal{UserID: u.ID, Name: name, Role: u.Role, OrgID: o.ID, OrgPath: o.Path}
}

// principal is a member of organization code with role r.
func (w *world) principal(code string, r auth.Role) auth.Principal {
	o := w.orgs[code]
	return auth.Principal{UserID: 100 + o.ID, Name: code + "-" + string(r), Role: r, OrgID: o.ID, OrgPath: o.Path}
}
