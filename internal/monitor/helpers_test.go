package monitor

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

var sys = auth.SystemPrincipal

// world is a small constituency in a fresh SQLite store:
//
//	NAT (national)
//	├── BYT  Bộ Y tế (ministry): domain boyte.gov.vn, network 1.0.4.0/22,
//	│        AS38803, address 192.0.2.7
//	│   └── BV (unit, a hospital): network 1.0.6.0/24 (announced by its
//	│        ministry's AS38803)
//	└── DVC  the public-service portal (agency): mail domain
//	         dichvucong.gov.vn, network 1.0.0.0/24 (no ASN registered)
//
// and a claim nobody proved: domain claimed.gov.vn of DVC.
type world struct {
	st            *sqlstore.Store
	svc           *findings.Service
	nat, byt, bv  org.Organization
	dvc           org.Organization
	assets        map[string]asset.Asset
	mu            sync.Mutex
	now           time.Time
	log           *slog.Logger
	clockAdvances bool
}

func newWorld(t testing.TB) *world {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "r.db"), log)
	must(t, err)
	t.Cleanup(func() { st.Close() })
	must(t, st.Migrate(ctx))
	w := &world{st: st, log: log, assets: map[string]asset.Asset{}, now: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	mk := func(o *org.Organization, parent int64, code string, kind org.Kind) {
		*o = org.Organization{ParentID: parent, Code: code, Name: "Tổ chức " + code, Kind: kind}
		must(t, st.CreateOrg(ctx, sys, o))
	}
	mk(&w.nat, 0, "NAT", org.KindNational)
	mk(&w.byt, w.nat.ID, "BYT", org.KindMinistry)
	mk(&w.bv, w.byt.ID, "BV", org.KindUnit)
	mk(&w.dvc, w.nat.ID, "DVC", org.KindAgency)
	for _, a := range []asset.Asset{
		{OrgID: w.byt.ID, Kind: asset.KindDomain, Value: "boyte.gov.vn"},
		{OrgID: w.byt.ID, Kind: asset.KindCIDR, Value: "1.0.4.0/22"},
		{OrgID: w.byt.ID, Kind: asset.KindASN, Value: "AS38803"},
		{OrgID: w.byt.ID, Kind: asset.KindIPv4, Value: "192.0.2.7"},
		{OrgID: w.bv.ID, Kind: asset.KindCIDR, Value: "1.0.6.0/24"},
		{OrgID: w.dvc.ID, Kind: asset.KindMailDomain, Value: "dichvucong.gov.vn"},
		{OrgID: w.dvc.ID, Kind: asset.KindCIDR, Value: "1.0.0.0/24"},
	} {
		must(t, st.CreateAsset(ctx, sys, &a))
		w.assets[a.Value] = a
	}
	claim := asset.Asset{OrgID: w.dvc.ID, Kind: asset.KindDomain, Value: "claimed.gov.vn"}
	must(t, st.CreateAsset(ctx, auth.Principal{Name: "admin@DVC", Role: auth.RoleOrgAdmin, OrgID: w.dvc.ID, OrgPath: w.dvc.Path}, &claim))
	if claim.State != asset.StateClaimed {
		t.Fatalf("claim is %s", claim.State)
	}
	w.svc = findings.New(findings.Deps{Store: st, Logger: log, Now: w.clock})
	return w
}

func (w *world) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.clockAdvances {
		w.now = w.now.Add(time.Millisecond)
	}
	return w.now
}

func (w *world) advance(d time.Duration) {
	w.mu.Lock()
	w.now = w.now.Add(d)
	w.mu.Unlock()
}

// monitor returns a monitor over the world with cfg.
func (w *world) monitor(t testing.TB, cfg Config) *Service {
	t.Helper()
	s, err := New(Deps{Registry: w.st, State: w.st, Findings: w.svc, Observations: w.st, Logger: w.log, Now: w.clock}, cfg)
	must(t, err)
	return s
}

// findings lists the findings of kind check (all states).
func (w *world) findings(t testing.TB, check string) []finding.Finding {
	t.Helper()
	page, err := w.st.ListFindings(context.Background(), sys, store.FindingFilter{Check: check, PageRequest: store.PageRequest{Limit: 1000}})
	must(t, err)
	return page.Items
}

func decode[T any](t testing.TB, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("evidence %s: %v", raw, err)
	}
	return v
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
