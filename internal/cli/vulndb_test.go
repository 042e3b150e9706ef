package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// vulndbSamples is where the vulnerability database's own tests keep their
// real records: 14 NVD records and the KEV catalog trimmed to 10 entries.
var vulndbSamples = filepath.Join("..", "vulndb", "testdata")

func TestVulnDBImportCommand(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	nvd, err := filepath.Glob(filepath.Join(vulndbSamples, "nvd", "CVE-*.json"))
	if err != nil || len(nvd) != 14 {
		t.Fatalf("NVD samples: %d files, %v", len(nvd), err)
	}
	args := append([]string{"vulndb", "import", "--data", data, filepath.Join(vulndbSamples, "kev_sample.json")}, nvd...)
	r := must(t, runCLI(t, nil, "", args...))
	if !strings.Contains(r.stdout, "kev_sample.json (kev): 10 records, 10 added") || !strings.Contains(r.stdout, "CVE-2021-41773.json (nvd): 1 records, 1 added") ||
		!strings.Contains(r.stdout, "vulnerability database in") {
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
