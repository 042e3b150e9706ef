package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	data := []string{"--data", filepath.Join(dir, "data")}
	orgs := write(t, dir, "orgs.csv", "code,name,name_en,kind,parent_code\nQG,Quốc gia,National,national,\nBTTTT,Bộ Thông tin và Truyền thông,Ministry of Information,ministry,QG\n")
	assets := write(t, dir, "assets.csv", "org_code,kind,value\nBTTTT,domain,mic.gov.vn\n")
	must(t, runCLI(t, nil, "", append([]string{"import", "orgs", orgs}, data...)...))
	must(t, runCLI(t, nil, "", append([]string{"import", "assets", assets}, data...)...))
	for _, format := range []string{"html", "pdf", "csv", "xlsx"} {
		out := filepath.Join(dir, "report."+format)
		must(t, runCLI(t, nil, "", append([]string{"report", "--format", format, "--out", out}, data...)...))
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		switch format {
		case "html":
			if !strings.Contains(string(b), "Bộ Thông tin và Truyền thông") {
				t.Errorf("html report lacks the ministry")
			}
		case "pdf":
			if !strings.HasPrefix(string(b), "%PDF") {
				t.Errorf("pdf report starts %q", b[:8])
			}
		case "csv":
			if !strings.Contains(string(b), "BTTTT") {
				t.Errorf("csv report: %s", b)
			}
		case "xlsx":
			if !strings.HasPrefix(string(b), "PK") {
				t.Errorf("xlsx report is not a zip")
			}
		}
	}
	r := must(t, runCLI(t, nil, "", append([]string{"report", "--org", "BTTTT", "--format", "csv", "--lang", "en"}, data...)...))
	if strings.Contains(r.stdout, "QG,") {
		t.Errorf("ministry report includes the national root: %s", r.stdout)
	}
	if r := runCLI(t, nil, "", append([]string{"report", "--org", "NOPE", "--format", "pdf"}, data...)...); r.code == 0 {
		t.Error("unknown organization accepted")
	}
	if r := runCLI(t, nil, "", append([]string{"report", "--format", "doc"}, data...)...); r.code != 2 {
		t.Errorf("bad format: %+v", r)
	}
}
