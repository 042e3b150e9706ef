package discovery_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/discovery"
	"github.com/rampart-cert/rampart/internal/discovery/ct"
	"github.com/rampart-cert/rampart/internal/discovery/routing"
	"github.com/rampart-cert/rampart/internal/store"
)

// TestOfflineSources: a site without the internet drops exported CT
// entries in a directory and points the platform at routing files; a run
// proposes the CT-only name from the directory (no log is asked) and the
// prefixes an owned AS announces in the routing data, loaded for the run.
func TestOfflineSources(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := newPlatform(t, ctx, "127.77.116.0")

	// The lab's CT log, exported to a file as an air-gapped site gets it.
	c := &ct.Client{URL: p.lab.CTLogURL()}
	sth, err := c.GetSTH(ctx)
	must(t, err)
	var entries []ct.RawEntry
	for uint64(len(entries)) < sth.TreeSize {
		es, err := c.GetEntries(ctx, uint64(len(entries)), sth.TreeSize-1)
		must(t, err)
		entries = append(entries, es...)
	}
	dir := t.TempDir()
	b, _ := json.Marshal(ct.EntriesResponse{Entries: entries})
	must(t, os.WriteFile(filepath.Join(dir, "ct-export-1.json"), b, 0o600))
	must(t, os.WriteFile(filepath.Join(dir, ".partial"), []byte("{"), 0o600)) // a transfer in progress is skipped
	must(t, os.Mkdir(filepath.Join(dir, "old"), 0o700))
	files, err := discovery.CTDirFiles(dir)
	must(t, err)
	if len(files) != 1 || files[0].Name != "ct-export-1.json" {
		t.Fatalf("CT directory files %+v", files)
	}
	if _, err := discovery.CTDirFiles(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing CT directory was read")
	}

	// An AS number of HN-DEMO, and the routing data it announces in.
	as := asset.Asset{OrgID: p.orgs["HN-DEMO"], Kind: asset.KindASN, Value: "AS64511"}
	must(t, p.st.CreateAsset(ctx, auth.SystemPrincipal, &as))
	must(t, p.guard.Refresh(ctx))
	loads := 0
	svc := discovery.NewService(discovery.ServiceDeps{Store: p.st, Scope: p.guard, Config: discovery.Config{
		Options: discovery.Options{Sources: []discovery.Source{discovery.SourceCT, discovery.SourceRouting}, NoResolve: true},
		CTDir:   dir,
		LoadRouting: func(context.Context) (*routing.Table, error) {
			loads++
			tb := routing.NewTable()
			must(t, tb.Add(routing.Route{Prefix: netip.MustParsePrefix("198.18.64.0/22"), Origins: []uint32{64511}}))
			return tb, nil
		},
	}})
	must(t, p.st.CreateDiscoveryJob(ctx, auth.SystemPrincipal, &store.DiscoveryJob{}))
	j, ok, err := p.st.ClaimDiscoveryJob(ctx, time.Now(), time.Minute)
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	must(t, svc.RunJob(ctx, j))
	if loads != 1 {
		t.Fatalf("routing data loaded %d times", loads)
	}
	page, err := p.st.ListCandidates(ctx, auth.SystemPrincipal, store.CandidateFilter{PageRequest: store.PageRequest{Limit: 1000}})
	must(t, err)
	got := map[string]store.Candidate{}
	for _, c := range page.Items {
		got[c.Value] = c
	}
	ctOnly := ""
	for _, u := range p.lab.Unregistered() {
		if u.Source == "ct" {
			ctOnly = u.Name
		}
	}
	if c, ok := got[ctOnly]; ctOnly == "" || !ok || !slices.Equal(c.Sources, []string{"ct"}) || c.OrgID != p.orgs["HN-DEMO"] {
		t.Fatalf("the CT-only name %q from the directory: %+v (all %v)", ctOnly, c, page.Items)
	}
	if c, ok := got["198.18.64.0/22"]; !ok || c.Kind != asset.KindCIDR || c.AssetID != as.ID || c.OrgID != p.orgs["HN-DEMO"] {
		t.Fatalf("the announced prefix: %+v", got)
	}
	// No log was read: the platform kept no position for one.
	if next, _, _ := p.st.CTPosition(ctx, p.lab.CTLogURL()); next != 0 {
		t.Fatalf("a log was read: position %d", next)
	}
}
