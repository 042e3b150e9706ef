package hub_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/hub"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// unavailable is a findings service whose database is away.
type unavailable struct{}

func (unavailable) Record(context.Context, finding.Batch) ([]finding.Change, error) {
	return nil, store.ErrUnavailable
}

// An input streams into the object store while it is parsed: a run that
// succeeds leaves nothing there; one that fails for a reason that passes
// (the database away) leaves the whole input, which Resume then runs; one
// that would fail again (not a report) leaves nothing.
func TestImportStoresWhileParsing(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t, true)
	left := func() []string {
		t.Helper()
		list, err := w.q.ListObjects(ctx, hub.Bucket)
		must(t, err)
		var names []string
		for _, o := range list {
			names = append(names, o.Name)
		}
		return names
	}

	w.stream(t, hub.ImportRequest{Format: "shadowserver"}, "shadowserver/scan_snmp.csv")
	if l := left(); len(l) != 0 {
		t.Fatalf("a run that succeeded left %v", l)
	}

	input, err := os.ReadFile(filepath.Join("testdata", "shadowserver", "event4_sinkhole.csv"))
	must(t, err)
	down := hub.New(hub.Deps{Store: w.st, Findings: unavailable{}, Objects: w.q, TempDir: t.TempDir()})
	_, err = down.Import(ctx, hub.ImportRequest{Format: "shadowserver", Name: "event4_sinkhole.csv"}, struct{ io.Reader }{bytes.NewReader(input)})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("with the database away: %v", err)
	}
	l := left()
	if len(l) != 1 {
		t.Fatalf("a run that may pass left %v, want its input", l)
	}
	rc, _, err := w.q.GetObject(ctx, hub.Bucket, l[0])
	must(t, err)
	kept, err := io.ReadAll(rc)
	rc.Close()
	must(t, err)
	if !bytes.Equal(kept, input) {
		t.Fatalf("kept %d bytes of an input of %d", len(kept), len(input))
	}
	n, err := w.hub.Resume(ctx)
	if err != nil || n != 1 {
		t.Fatalf("resumed %d, %v", n, err)
	}
	if _, ok := w.warnings(t)[intel.FindingCompromisedHost+" 190.113.1.2 [victorygate.b]"]; !ok {
		t.Fatalf("the resumed input warned nobody: %v", keys(w.warnings(t)))
	}
	if l := left(); len(l) != 0 {
		t.Fatalf("after Resume: %v", l)
	}

	_, err = w.hub.Import(ctx, hub.ImportRequest{Format: "shadowserver", Name: "2026-12-01-no_such_report.csv"},
		struct{ io.Reader }{strings.NewReader("what,is,this\n1,2,3\n")})
	if err == nil {
		t.Fatal("an unknown report was taken")
	}
	if l := left(); len(l) != 0 {
		t.Fatalf("a run that would fail again left %v", l)
	}
}
