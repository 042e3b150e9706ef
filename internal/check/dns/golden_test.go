package dns

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/check"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// TestGolden records what every check reports on the weak fixtures, so a
// change of title or evidence shows up in review.
func TestGolden(t *testing.T) {
	f := newFixture(t)
	hosts := []string{"hardened.test", "weak.test", "shop.weak.test", "nospf.test", "lookups.test", "dup.test", "spnone.test"}
	var out []check.Result
	for _, h := range hosts {
		for _, c := range Checks() {
			if !c.Applies(domain(h)) {
				continue
			}
			rs, err := c.Run(context.Background(), f.env, domain(h))
			if err != nil {
				t.Fatalf("%s %s: %v", c.Meta().ID, h, err)
			}
			out = append(out, rs...)
		}
	}
	got, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	// The fixture's port changes every run.
	got = []byte(strings.ReplaceAll(string(got), f.auth.Addr, authIP+":PORT") + "\n")
	path := filepath.Join("testdata", "weak-zones.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("results differ from %s (run go test -update and review the diff):\n%s", path, got)
	}
}
