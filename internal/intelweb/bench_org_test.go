package intelweb_test

import (
	"context"
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intelweb"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/taxii"
)

// BenchmarkTAXIIOrgCollection reads the first page (1,000 objects) of an
// organization's collection when 20,000 of 100,000 indicators concern it
// (it reported seeing every fifth), as a member of it.
func BenchmarkTAXIIOrgCollection(b *testing.B) {
	st := benchStore(b, 100_000)
	ctx := context.Background()
	sys := auth.SystemPrincipal
	o := org.Organization{Code: "BENCH", Name: "Bench", Kind: org.KindAgency}
	if err := st.CreateOrg(ctx, sys, &o); err != nil {
		b.Fatal(err)
	}
	i := 0
	err := st.EachIndicator(ctx, sys, store.IndicatorFilter{}, func(si store.StoredIndicator) error {
		i++
		if i%5 != 0 {
			return nil
		}
		_, err := st.RecordSighting(ctx, sys, store.Sighting{IndicatorID: si.ID, OrgID: o.ID})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	be := intelweb.NewTAXII(st)
	p := auth.Principal{UserID: 1, Role: auth.RoleViewer, OrgID: o.ID, OrgPath: o.Path}
	coll := taxii.OrgCollectionID(o.ID)
	b.ResetTimer()
	for b.Loop() {
		pg, err := be.Objects(ctx, p, coll, taxii.Query{Limit: 1000})
		if err != nil || len(pg.Objects) != 1000 {
			b.Fatalf("%v, %d objects", err, len(pg.Objects))
		}
	}
	b.ReportMetric(1000, "objects/op")
}
