package vulndb

import (
	"os"
	"path/filepath"
	"testing"
)

// The real records in testdata (see testdata/README.md): the NVD records
// the tests quote, and the KEV catalog trimmed to its three newest entries
// and those of these CVEs.
const (
	sampleCVEs       = 14
	sampleKEV        = 10
	sampleKEVVersion = "2025.08.25"
)

// nvdFiles lists the NVD records in testdata/nvd.
func nvdFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "nvd", "CVE-*.json"))
	if err != nil || len(files) != sampleCVEs {
		tb.Fatalf("NVD samples: %d files, want %d: %v", len(files), sampleCVEs, err)
	}
	return files
}

// kevFile is the trimmed KEV catalog.
func kevFile(tb testing.TB) string { return filepath.Join("testdata", "kev_sample.json") }

// sampleDB builds a DB from every NVD record, the KEV catalog and the EPSS
// sample in testdata.
func sampleDB(tb testing.TB) *DB {
	tb.Helper()
	db := NewDB()
	for _, f := range nvdFiles(tb) {
		r, err := os.Open(f)
		if err != nil {
			tb.Fatal(err)
		}
		err = ReadNVD(r, f, db.AddCVE, nil)
		r.Close()
		if err != nil {
			tb.Fatal(err)
		}
	}
	r, err := os.Open(kevFile(tb))
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	if _, err := ReadKEV(r, "kev", func(e KEVEntry) error { db.AddKEV(e); return nil }, nil); err != nil {
		tb.Fatal(err)
	}
	e, err := os.Open(filepath.Join("testdata", "epss_sample.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer e.Close()
	if _, err := ReadEPSS(e, "epss_sample.csv", func(s EPSSScore) error { db.AddEPSS(s); return nil }, nil); err != nil {
		tb.Fatal(err)
	}
	return db
}

func hitIDs(hits []Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.CVE.ID)
	}
	return out
}
