package vulndb

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestImportLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vulndb")
	files := append(nvdFiles(t), kevFile(t), filepath.Join("testdata", "epss_sample.csv"))
	sum, err := Import(dir, files...)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Changed || sum.Added != sampleCVEs+sampleKEV+5 || sum.Rejected != 0 || len(sum.Files) != len(files) {
		t.Errorf("summary: changed %v added %d rejected %d files %d", sum.Changed, sum.Added, sum.Rejected, len(sum.Files))
	}
	m := sum.Manifest
	if m.CVEs != sampleCVEs || m.KEV != sampleKEV || m.EPSS != 5 || m.KEVCatalog != sampleKEVVersion || m.Generation != 1 ||
		m.NewestModified.IsZero() || m.EPSSDate.IsZero() || len(m.Sources) != len(files) {
		t.Errorf("manifest = %+v", m)
	}
	manifest1, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))

	// Importing the same files again changes nothing.
	sum2, err := Import(dir, files...)
	if err != nil {
		t.Fatal(err)
	}
	if sum2.Changed || sum2.Added != 0 || sum2.Updated != 0 || sum2.Unchanged != sampleCVEs+sampleKEV+5 {
		t.Errorf("re-import: %+v", sum2)
	}
	manifest2, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if string(manifest1) != string(manifest2) {
		t.Error("re-import rewrote the manifest")
	}

	db, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s := db.Stats(); s.CVEs != sampleCVEs || s.KEV != sampleKEV || s.EPSS != 5 {
		t.Errorf("loaded %+v", s)
	}
	if db.Info().Generation != 1 {
		t.Errorf("info = %+v", db.Info())
	}
	hits := db.Match("cpe:2.3:a:apache:http_server:2.4.49")
	i := slices.Index(hitIDs(hits), "CVE-2021-41773")
	if i < 0 || hits[i].KEV == nil || hits[i].EPSS == 0 {
		t.Errorf("after load: %v", hitIDs(hits))
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"epss.1.jsonl.gz", "kev.1.jsonl.gz", "manifest.json", "nvd.1.jsonl.gz"}; !slices.Equal(names, want) {
		t.Errorf("snapshot files = %v, want %v", names, want)
	}
}

func TestImportNewerWins(t *testing.T) {
	dir := t.TempDir()
	src := t.TempDir()
	write := func(name, modified, end string) string {
		p := filepath.Join(src, name)
		rec := `{"id":"CVE-2099-0001","published":"2099-01-01T00:00:00.000","lastModified":"` + modified + `",` +
			`"configurations":[{"nodes":[{"operator":"OR","negate":false,"cpeMatch":[{"vulnerable":true,` +
			`"criteria":"cpe:2.3:a:acme:web:*:*:*:*:*:*:*:*","versionEndExcluding":"` + end + `"}]}]}]}`
		if err := os.WriteFile(p, []byte(rec), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	v1 := write("v1.json", "2099-01-02T00:00:00.000", "2.0")
	v2 := write("v2.json", "2099-02-01T00:00:00.000", "1.5")
	old := write("old.json", "2099-01-01T00:00:00.000", "9.0")
	for _, step := range []struct {
		file             string
		added, updated   int
		match16, changed bool
	}{
		{v1, 1, 0, true, true},
		{v2, 0, 1, false, true},
		{old, 0, 0, false, true}, // a new source, but the record stays
		{v2, 0, 0, false, false},
	} {
		sum, err := Import(dir, step.file)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Added != step.added || sum.Updated != step.updated || sum.Changed != step.changed {
			t.Errorf("%s: %+v", filepath.Base(step.file), sum)
		}
		db, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(db.Match("cpe:2.3:a:acme:web:1.6")) > 0; got != step.match16 {
			t.Errorf("after %s: 1.6 matches = %v", filepath.Base(step.file), got)
		}
	}
	// Older generations are removed.
	if old, _ := filepath.Glob(filepath.Join(dir, "nvd.1.*")); len(old) != 0 {
		t.Errorf("stale files: %v", old)
	}
}

func TestImportErrors(t *testing.T) {
	dir := t.TempDir()
	src := t.TempDir()
	bad := filepath.Join(src, "notes.txt")
	os.WriteFile(bad, []byte("hello"), 0o644)
	broken := filepath.Join(src, "broken.json")
	os.WriteFile(broken, []byte(`{"vulnerabilities":[{"cve":`), 0o644)
	mixed := filepath.Join(src, "mixed.json")
	os.WriteFile(mixed, []byte(`{"vulnerabilities":[{"cve":{"id":"nope"}},{"cve":{"id":"CVE-2099-0001","published":"2099-01-01T00:00:00"}}]}`), 0o644)

	if _, err := Import(dir, bad); !errors.Is(err, ErrFormat) {
		t.Errorf("text file: %v", err)
	}
	if _, err := Import(dir, filepath.Join(src, "missing.json")); err == nil {
		t.Error("missing file imported")
	}
	if _, err := Import(dir, mixed, broken); err == nil || !strings.Contains(err.Error(), "broken.json") {
		t.Errorf("broken file: %v", err)
	}
	// All or nothing: the good record of mixed.json was not stored.
	if _, err := Load(dir); !errors.Is(err, ErrNoSnapshot) {
		t.Errorf("Load after failed import: %v", err)
	}
	sum, err := Import(dir, mixed)
	if err != nil || sum.Added != 1 || sum.Rejected != 1 || !strings.Contains(sum.Files[0].Rejected[0].Error(), `id "nope"`) {
		t.Errorf("mixed: %+v, %v", sum, err)
	}
	// A second importer is refused while the lock is held.
	unlock, err := lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Import(dir, mixed); !errors.Is(err, ErrLocked) {
		t.Errorf("concurrent import: %v", err)
	}
	unlock()
}

func TestImportGzipAndKEVMerge(t *testing.T) {
	dir, src := t.TempDir(), t.TempDir()
	kev := func(name, version, action string) string {
		p := filepath.Join(src, name)
		data := `{"catalogVersion":"` + version + `","vulnerabilities":[{"cveID":"CVE-2099-0001","dateAdded":"2099-01-01","requiredAction":"` + action + `"}]}`
		if err := os.WriteFile(p, gz(t, []byte(data)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	epss := filepath.Join(src, "epss.csv.gz")
	os.WriteFile(epss, gz(t, []byte("#model_version:v1,score_date:2099-01-02T00:00:00+0000\ncve,epss,percentile\nCVE-2099-0001,0.5,0.9\n")), 0o644)
	if _, err := Import(dir, kev("k2.json.gz", "2099.02.01", "new"), epss); err != nil {
		t.Fatal(err)
	}
	// An older catalog does not overwrite the newer entry.
	sum, err := Import(dir, kev("k1.json.gz", "2099.01.01", "old"))
	if err != nil || sum.Updated != 0 {
		t.Fatalf("older catalog: %+v, %v", sum, err)
	}
	db, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := db.KEV("CVE-2099-0001"); !ok || k.RequiredAction != "new" {
		t.Errorf("KEV = %+v", k)
	}
	if s, ok := db.EPSS("CVE-2099-0001"); !ok || s.EPSS != 0.5 || s.Model != "v1" {
		t.Errorf("EPSS = %+v", s)
	}
	if m := db.Info(); m.KEVCatalog != "2099.02.01" || m.EPSSDate.Year() != 2099 {
		t.Errorf("manifest = %+v", m)
	}
}
