package decision

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// world is a small constituency on a real SQLite store:
//
//	VN (national)
//	├── A, B, C (agencies): A owns 198.51.100.0/24
//	└── D (agency): critical infrastructure (a critical asset)
type world struct {
	t    *testing.T
	st   *sqlstore.Store
	orgs map[string]org.Organization
	clk  *clock
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newWorld(t testing.TB) *world {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "decisions.db"), quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	w := &world{st: st, orgs: map[string]org.Organization{}, clk: &clock{t: time.Now().UTC().Truncate(time.Second)}}
	if tt, ok := t.(*testing.T); ok {
		w.t = tt
	}
	for _, o := range []org.Organization{
		{Code: "VN", Name: "Việt Nam", NameEN: "Vietnam", Kind: org.KindNational},
		{Code: "A", Name: "Cục A", NameEN: "Agency A", Kind: org.KindAgency},
		{Code: "B", Name: "Cục B", NameEN: "Agency B", Kind: org.KindAgency},
		{Code: "C", Name: "Cục C", NameEN: "Agency C", Kind: org.KindAgency},
		{Code: "D", Name: "Điện lực D", NameEN: "Power D", Kind: org.KindAgency},
	} {
		if o.Code != "VN" {
			o.ParentID = w.orgs["VN"].ID
		}
		if err := st.CreateOrg(ctx, sys, &o); err != nil {
			t.Fatal(err)
		}
		w.orgs[o.Code] = o
	}
	for _, a := range []asset.Asset{
		{OrgID: w.orgs["A"].ID, Kind: asset.KindCIDR, Value: "198.51.100.0/24"},
		{OrgID: w.orgs["B"].ID, Kind: asset.KindHostname, Value: "b.example.vn"},
		{OrgID: w.orgs["D"].ID, Kind: asset.KindIPv4, Value: "192.0.2.10", Criticality: asset.CriticalityCritical},
	} {
		if err := st.CreateAsset(ctx, sys, &a); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// detection is a port scan of org's gateway by src.
func (w *world) detection(org, src string) sensor.Detection {
	now := w.clk.Now()
	return sensor.Detection{Kind: sensor.DetectPortScan, Org: org, Sensor: "gw-" + org, Source: netip.MustParseAddr(src),
		Target: netip.MustParseAddr("192.0.2.1"), Count: 40, First: now.Add(-time.Minute), Last: now, Detail: "40 ports in 1 minute"}
}

func (w *world) analyst() auth.Principal {
	return auth.Principal{Name: "ana", Role: auth.RoleAnalyst, OrgID: w.orgs["VN"].ID, OrgPath: w.orgs["VN"].Path}
}

// live returns the live decision of value, if any.
func (w *world) live(value string) (store.Decision, bool) {
	w.t.Helper()
	pg, err := w.st.ListDecisions(context.Background(), sys, store.DecisionFilter{Query: value})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, d := range pg.Items {
		if d.Value == value && d.State.Live() {
			return d, true
		}
	}
	return store.Decision{}, false
}
