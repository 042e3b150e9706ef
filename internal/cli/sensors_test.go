package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/queue/natsq"
)

func TestSensorsCommands(t *testing.T) {
	dir := t.TempDir()
	data := []string{"--data", filepath.Join(dir, "data")}
	cmd := func(args ...string) []string { return append(args, data...) }
	must(t, runCLI(t, nil, "", cmd("migrate")...))
	orgs := write(t, dir, "orgs.csv", "code,name,name_en,kind,parent_code\nVN,Quốc gia,National,national,\nMOH.HN,Sở Y tế,Health,agency,VN\n")
	must(t, runCLI(t, nil, "", cmd("import", "orgs", orgs)...))

	out := filepath.Join(dir, "gw1.nk")
	r := must(t, runCLI(t, nil, "", cmd("sensors", "add", "gw1", "--org", "moh.hn", "--out", out)...))
	if !strings.Contains(r.stderr, "organization MOH.HN") {
		t.Errorf("sensors add said:\n%s", r.stderr)
	}
	e, err := natsq.EdgeOfCreds(out)
	if err != nil || e.Name != "gw1" || e.Org != "MOH.HN" || e.Role != natsq.EdgeSensor {
		t.Fatalf("issued %+v, %v", e, err)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("seed file: %v", err)
	}
	r = must(t, runCLI(t, nil, "", cmd("sensors", "list")...))
	if !strings.Contains(r.stdout, "gw1") || !strings.Contains(r.stdout, "MOH.HN") || !strings.Contains(r.stdout, e.PublicKey) {
		t.Errorf("sensors list:\n%s", r.stdout)
	}
	if r := runCLI(t, nil, "", cmd("sensors", "add", "gw1", "--org", "VN")...); r.code != 1 || !strings.Contains(r.stderr, "already registered") {
		t.Errorf("a second gw1: %+v", r)
	}
	if r := runCLI(t, nil, "", cmd("sensors", "add", "gw2", "--org", "NOPE")...); r.code != 1 || !strings.Contains(r.stderr, "no organization") {
		t.Errorf("an unknown organization: %+v", r)
	}
	if r := runCLI(t, nil, "", cmd("sensors", "add", "gw2")...); r.code != 2 {
		t.Errorf("no --org: %+v", r)
	}
	if r := runCLI(t, nil, "", cmd("sensors", "add", "GW.2", "--org", "VN")...); r.code != 1 || !strings.Contains(r.stderr, "name") {
		t.Errorf("a bad name: %+v", r)
	}
	must(t, runCLI(t, nil, "", cmd("sensors", "revoke", "gw1")...))
	if r := runCLI(t, nil, "", cmd("sensors", "revoke", "gw1")...); r.code != 1 || !strings.Contains(r.stderr, "unknown edge") {
		t.Errorf("revoking twice: %+v", r)
	}
	if r := must(t, runCLI(t, nil, "", cmd("sensors", "list")...)); strings.Contains(r.stdout, "gw1") {
		t.Errorf("revoked sensor listed:\n%s", r.stdout)
	}
}
