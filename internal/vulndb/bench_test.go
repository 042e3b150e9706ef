package vulndb

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// BenchmarkImport imports the sample KEV catalog and NVD records of
// testdata into a fresh snapshot directory, as `rampart vulndb import` does.
func BenchmarkImport(b *testing.B) {
	files := append(nvdFiles(b), kevFile(b))
	records := 0
	for b.Loop() {
		dir := b.TempDir()
		sum, err := Import(dir, files...)
		if err != nil {
			b.Fatal(err)
		}
		records = sum.Added
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkReimport imports the same files into an existing snapshot
// (nothing changes, nothing is written).
func BenchmarkReimport(b *testing.B) {
	files := append(nvdFiles(b), kevFile(b))
	dir := b.TempDir()
	if _, err := Import(dir, files...); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Import(dir, files...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad loads the snapshot of the samples in testdata.
func BenchmarkLoad(b *testing.B) {
	dir := b.TempDir()
	if _, err := Import(dir, append(nvdFiles(b), kevFile(b))...); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Load(dir); err != nil {
			b.Fatal(err)
		}
	}
}

var (
	synthOnce sync.Once
	synthDB   *DB
)

const (
	synthCVEs     = 250_000
	synthProducts = 25_000
	hotProduct    = "product_0" // the Linux kernel of the synthetic set
)

// synthetic builds 250k CVEs over 25k products with a skewed spread (a
// few products carry thousands of CVEs, most a handful), each with one to
// three configurations in the shapes NVD uses: version ranges, exact
// versions, and application-on-platform AND nodes.
func synthetic(b testing.TB) *DB {
	synthOnce.Do(func() {
		start := time.Now()
		r := rand.New(rand.NewPCG(1, 2))
		zipf := rand.NewZipf(r, 1.1, 4, synthProducts-1)
		db := NewDB()
		for i := range synthCVEs {
			p := zipf.Uint64()
			vendor, product := fmt.Sprintf("vendor_%d", p%5000), fmt.Sprintf("product_%d", p)
			base := fmt.Sprintf("cpe:2.3:a:%s:%s", vendor, product)
			c := &CVE{ID: fmt.Sprintf("CVE-%d-%05d", 2000+i%25, i), Modified: time.Unix(int64(i), 0),
				CVSS: &CVSS{Version: "3.1", Score: float64(r.IntN(100)) / 10}}
			major, minor := r.IntN(10), r.IntN(30)
			for k := range 1 + r.IntN(3) {
				var n Node
				switch k {
				case 0:
					n = Node{Children: []Node{{Operator: "OR", Match: []CPEMatch{
						{Vulnerable: true, Criteria: base + ":*:*:*:*:*:*:*:*", VersionStartIncluding: fmt.Sprintf("%d.%d.0", major, minor), VersionEndExcluding: fmt.Sprintf("%d.%d.%d", major, minor, 1+r.IntN(40))},
						{Vulnerable: true, Criteria: base + ":*:*:*:*:*:*:*:*", VersionEndIncluding: fmt.Sprintf("%d.%d", major, minor)},
					}}}}
				case 1:
					n = Node{Children: []Node{{Operator: "OR", Match: []CPEMatch{
						{Vulnerable: true, Criteria: fmt.Sprintf("%s:%d.%d.%d:*:*:*:*:*:*:*", base, major, minor, r.IntN(20))},
						{Vulnerable: true, Criteria: fmt.Sprintf("%s:%d.%d.%d:*:*:*:*:*:*:*", base, major, minor, r.IntN(20))},
					}}}}
				default:
					n = Node{Operator: "AND", Children: []Node{
						{Operator: "OR", Match: []CPEMatch{{Vulnerable: true, Criteria: base + ":*:*:*:*:*:*:*:*", VersionEndExcluding: fmt.Sprintf("%d.0", major+1)}}},
						{Operator: "OR", Match: []CPEMatch{{Vulnerable: false, Criteria: "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*"}}},
					}}
				}
				c.Configurations = append(c.Configurations, n)
			}
			if err := db.AddCVE(c); err != nil {
				panic(err)
			}
		}
		synthDB = db
		fmt.Fprintf(os.Stderr, "synthetic: %d CVEs, %d products indexed, hot product %d CVEs, built in %v\n",
			len(db.cves), len(db.index), len(db.index[vpKey{"vendor_0", hotProduct}]), time.Since(start).Round(time.Millisecond))
	})
	return synthDB
}

func BenchmarkMatch250k(b *testing.B) {
	db := synthetic(b)
	cases := []struct{ name, cpe string }{
		{"typical", "cpe:2.3:a:vendor_1234:product_6234:3.7.2:*:*:*:*:*:*:*"},
		{"busy", "cpe:2.3:a:vendor_40:product_40:3.7.2:*:*:*:*:*:*:*"},
		{"hot", "cpe:2.3:a:vendor_0:" + hotProduct + ":3.7.2:*:*:*:*:*:*:*"},
		{"unknown", "cpe:2.3:a:nobody:nothing:1.0:*:*:*:*:*:*:*"},
	}
	for _, tc := range cases {
		t, _ := ParseCPE(tc.cpe)
		n := len(db.index[vpKey{t.Vendor, t.Product}])
		b.Run(fmt.Sprintf("%s-%dcands", tc.name, n), func(b *testing.B) {
			hits := 0
			for b.Loop() {
				hits = len(db.Match(tc.cpe))
			}
			b.ReportMetric(float64(hits), "hits")
		})
	}
	b.Run("product-typical", func(b *testing.B) {
		for b.Loop() {
			db.MatchProduct("", "product_6234", "3.7.2")
		}
	})
}

func BenchmarkCompareVersion(b *testing.B) {
	for b.Loop() {
		CompareVersion("1.0.1f", "1.0.1g")
		CompareVersion("7.4p1", "7.7")
		CompareVersion("12.1-55.297", "12.1-55.300")
	}
}

// BenchmarkSnapshot250k writes and loads a snapshot of the synthetic set.
func BenchmarkSnapshot250k(b *testing.B) {
	db := synthetic(b)
	st := &state{cves: map[string]*CVE{}, kev: map[string]KEVEntry{}, epss: map[string]EPSSScore{}}
	for _, c := range db.cves {
		st.cves[c.ID] = c
	}
	dir := b.TempDir()
	b.Run("write", func(b *testing.B) {
		for b.Loop() {
			if err := st.write(dir); err != nil {
				b.Fatal(err)
			}
		}
	})
	if fi, err := os.Stat(filepath.Join(dir, st.m.Files[KindNVD])); err == nil {
		b.Logf("nvd snapshot file: %.1f MB", float64(fi.Size())/1e6)
	}
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			if _, err := Load(dir); err != nil {
				b.Fatal(err)
			}
		}
	})
}
