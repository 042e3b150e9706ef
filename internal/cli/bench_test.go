package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkImportCSV100k times `rampart import assets` of a 100,000-row CSV
// file into SQLite, end to end: reading and parsing the file, normalizing
// every value and storing them in one transaction.
//
//	go test ./internal/cli -run '^$' -bench ImportCSV100k -benchtime 3x
func BenchmarkImportCSV100k(b *testing.B) {
	dir := b.TempDir()
	var orgs strings.Builder
	orgs.WriteString("code,name,kind,parent_code\nVN,Quốc gia,national,\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&orgs, "ORG%d,Cơ quan %d,agency,VN\n", i, i)
	}
	var csv strings.Builder
	csv.WriteString("org_code,kind,value,criticality,tags\n")
	for i := 0; i < 100_000; i++ {
		org := fmt.Sprintf("ORG%d", i%100)
		switch i % 4 {
		case 0:
			fmt.Fprintf(&csv, "%s,domain,site%d.co-quan%d.gov.vn,important,web\n", org, i, i%100)
		case 1:
			fmt.Fprintf(&csv, "%s,ipv4,10.%d.%d.%d,,\n", org, i>>16&255, i>>8&255, i&255)
		case 2:
			j := i / 4
			fmt.Fprintf(&csv, "%s,cidr,172.%d.%d.%d/28,critical,\n", org, 16+j>>12, j>>4&255, (j&15)<<4)
		case 3:
			fmt.Fprintf(&csv, "%s,url,https://portal%d.gov.vn/app,,\n", org, i)
		}
	}
	orgFile := filepath.Join(dir, "orgs.csv")
	assetFile := filepath.Join(dir, "assets.csv")
	os.WriteFile(orgFile, []byte(orgs.String()), 0o600)
	os.WriteFile(assetFile, []byte(csv.String()), 0o600)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		data := filepath.Join(dir, fmt.Sprintf("data%d", i))
		var t testing.T
		if r := runCLI(&t, nil, "", "import", "orgs", orgFile, "--data", data); r.code != 0 {
			b.Fatal(r.stderr)
		}
		b.StartTimer()
		start := time.Now()
		r := runCLI(&t, nil, "", "import", "assets", assetFile, "--data", data)
		if r.code != 0 || !strings.Contains(r.stdout, "100000 created") {
			b.Fatalf("%+v", r)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/import")
	}
}
