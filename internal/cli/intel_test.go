package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestIntelCommands(t *testing.T) {
	dir := t.TempDir()
	data := []string{"--data", filepath.Join(dir, "data")}
	cmd := func(args ...string) []string { return append(args, data...) }
	must(t, runCLI(t, nil, "", cmd("migrate")...))
	orgs := write(t, dir, "orgs.csv", "code,name,name_en,kind,parent_code\nVN,Quốc gia,National,national,\nHN,Hà Nội,Hanoi,province,VN\n")
	must(t, runCLI(t, nil, "", cmd("import", "orgs", orgs)...))
	assets := write(t, dir, "assets.csv", "org_code,kind,value\nHN,cidr,203.0.113.0/24\n")
	must(t, runCLI(t, nil, "", cmd("import", "assets", assets)...))

	list := write(t, dir, "blocklist.txt", "# a plain list\n203.0.113.9\n198.51.100.4\nnot-an-address\n")
	r := must(t, runCLI(t, nil, "", cmd("intel", "import", "--format", "csv", "--preset", "plain-ip", "--feed", "local-list", list)...))
	for _, want := range []string{"feed local-list", "2 records", "2 new indicators", "1 early warnings (1 new", "1 rejected", "rejected line 4:"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("import output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = must(t, runCLI(t, nil, "", cmd("intel", "import", list, "--format", "csv", "--preset", "plain-ip", "--feed", "local-list")...))
	// A plain list says nothing of when: its values are seen again now.
	if !strings.Contains(r.stdout, "0 new indicators, 2 updated") || !strings.Contains(r.stdout, "(0 new, 0 reopened)") {
		t.Fatalf("re-import:\n%s", r.stdout)
	}
	r = must(t, runCLI(t, nil, "198.51.100.5\n", cmd("intel", "import", "--format", "csv", "--preset", "plain-ip", "--feed", "stdin-list", "-")...))
	if !strings.Contains(r.stdout, "1 new indicators") {
		t.Fatalf("stdin import:\n%s", r.stdout)
	}
	if r := runCLI(t, nil, "", cmd("intel", "import", "--format", "csv", "--preset", "no-such", list)...); r.code != 2 || !strings.Contains(r.stderr, "plain-ip") {
		t.Fatalf("unknown preset: %+v", r)
	}
	if r := runCLI(t, nil, "", cmd("intel", "import", list)...); r.code != 2 || !strings.Contains(r.stderr, "--format") {
		t.Fatalf("no format: %+v", r)
	}

	must(t, runCLI(t, nil, "", cmd("intel", "feeds", "add", "nightly", "--format", "csv", "--preset", "plain-ip", "--location", list, "--interval", "24h")...))
	if r := runCLI(t, nil, "", cmd("intel", "feeds", "add", "nightly", "--format", "csv", "--preset", "plain-ip", "--location", list)...); r.code != 2 {
		t.Fatalf("duplicate feed: %+v", r)
	}
	r = must(t, runCLI(t, nil, "", cmd("intel", "feeds", "run", "nightly")...))
	if !strings.Contains(r.stdout, "nightly (feed nightly): 2 records") {
		t.Fatalf("feed run:\n%s", r.stdout)
	}
	gone := write(t, dir, "gone.txt", "")
	must(t, runCLI(t, nil, "", cmd("intel", "feeds", "add", "broken", "--format", "csv", "--preset", "plain-ip", "--location", gone+".missing")...))
	if r := runCLI(t, nil, "", cmd("intel", "feeds", "run", "broken")...); r.code != 1 {
		t.Fatalf("broken feed ran: %+v", r)
	}
	r = must(t, runCLI(t, nil, "", cmd("intel", "feeds")...))
	for _, want := range []string{"NAME", "local-list", "nightly", "24h0m0s", "broken", "failing (1 in a row)"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("feeds list lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := runCLI(t, nil, "", cmd("intel", "feeds", "run", "nope")...); r.code != 1 || !strings.Contains(r.stderr, `no feed named "nope"`) {
		t.Fatalf("unknown feed: %+v", r)
	}
	if r := runCLI(t, nil, "", cmd("intel")...); r.code != 2 {
		t.Fatalf("bare intel: %+v", r)
	}
}
