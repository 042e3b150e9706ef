package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedData finds ../shared/data beside the repository.
func sharedData(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "data")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared data missing in CI: %v", err)
		}
		t.Skipf("shared data not found at %s", dir)
	}
	return dir
}

func TestVulnDBImportCommand(t *testing.T) {
	shared := sharedData(t)
	data := filepath.Join(t.TempDir(), "data")
	nvd, _ := filepath.Glob(filepath.Join(shared, "nvd", "*.json"))
	args := append([]string{"vulndb", "import", "--data", data, filepath.Join(shared, "kev", "known_exploited_vulnerabilities.json")}, nvd...)
	r := must(t, runCLI(t, nil, "", args...))
	if !strings.Contains(r.stdout, "1404 records") || !strings.Contains(r.stdout, "vulnerability database in") {
		t.Fatalf("import: %s", r.stdout)
	}
	r = must(t, runCLI(t, nil, "", args...))
	if !strings.Contains(r.stdout, ": 0 added, 0 updated") {
		t.Fatalf("re-import is not idempotent: %s", r.stdout)
	}
	bad := write(t, t.TempDir(), "bad.json", `{"not": "nvd"}`)
	if r := runCLI(t, nil, "", "vulndb", "import", "--data", data, bad); r.code == 0 {
		t.Fatalf("garbage imported: %+v", r)
	}
}
