package cli

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestBouncersCommand(t *testing.T) {
	dir := t.TempDir()
	data := []string{"--data", filepath.Join(dir, "data")}
	must(t, runCLI(t, nil, "", append([]string{"migrate"}, data...)...))
	orgs := write(t, dir, "orgs.csv", "code,name,name_en,kind,parent_code\nVN,Quốc gia,National,national,\nMOH,Bộ Y tế,Ministry of Health,ministry,VN\n")
	must(t, runCLI(t, nil, "", append([]string{"import", "orgs", orgs}, data...)...))

	r := must(t, runCLI(t, nil, "", append([]string{"bouncers", "add", "fw-moh", "--org", "MOH"}, data...)...))
	key := regexp.MustCompile(`rbk_[0-9a-f]{40}`).FindString(r.stdout)
	if key == "" || !strings.Contains(r.stdout, "API key for 'fw-moh'") {
		t.Fatalf("add: %s", r.stdout)
	}
	r = runCLI(t, nil, "", append([]string{"bouncers", "add", "fw-moh"}, data...)...)
	if r.code == 0 || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("add twice: %+v", r)
	}
	r = runCLI(t, nil, "", append([]string{"bouncers", "add", "fw-x", "--org", "NOPE"}, data...)...)
	if r.code == 0 {
		t.Fatalf("unknown organization: %+v", r)
	}
	r = must(t, runCLI(t, nil, "", append([]string{"bouncers", "list"}, data...)...))
	if !strings.Contains(r.stdout, "fw-moh") || !strings.Contains(r.stdout, "MOH") || !strings.Contains(r.stdout, key[:10]) ||
		strings.Contains(r.stdout, key) || !strings.Contains(r.stdout, "never") {
		t.Fatalf("list: %s", r.stdout)
	}
	must(t, runCLI(t, nil, "", append([]string{"bouncers", "delete", "fw-moh"}, data...)...))
	r = must(t, runCLI(t, nil, "", append([]string{"bouncers", "list"}, data...)...))
	if strings.Contains(r.stdout, "fw-moh") {
		t.Fatalf("after delete: %s", r.stdout)
	}
	if r = runCLI(t, nil, "", append([]string{"bouncers", "delete", "fw-moh"}, data...)...); r.code == 0 {
		t.Fatalf("delete twice: %+v", r)
	}
	if r = runCLI(t, nil, "", "bouncers"); r.code != 2 && r.code != 1 {
		t.Fatalf("usage: %+v", r)
	}
}
