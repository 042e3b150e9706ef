package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/store"
)

func TestMonitorCommands(t *testing.T) {
	dir := t.TempDir()
	data := []string{"--data", filepath.Join(dir, "data")}
	must(t, runCLI(t, nil, "", append([]string{"migrate"}, data...)...))
	orgs := write(t, dir, "orgs.csv", "code,name,name_en,kind,parent_code\nVN,Quốc gia,National,national,\nBYT,Bộ Y tế,Ministry of Health,ministry,VN\n")
	must(t, runCLI(t, nil, "", append([]string{"import", "orgs", orgs}, data...)...))
	assets := write(t, dir, "assets.csv", "org_code,kind,value\nBYT,domain,boyte.gov.vn\n")
	must(t, runCLI(t, nil, "", append([]string{"import", "assets", assets}, data...)...))

	r := must(t, runCLI(t, nil, "", "monitor", "lookalikes", "boyte.gov.vn"))
	var homoglyph bool
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var v map[string]string
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		homoglyph = homoglyph || v["name"] == "b0yte.gov.vn" && v["technique"] == "homoglyph" && v["of"] == "boyte.gov.vn"
	}
	if !homoglyph {
		t.Fatalf("lookalikes: %s", r.stdout)
	}

	roa := write(t, dir, "roas.json", `{"roas":[{"asn":38803,"prefix":"1.0.4.0/22","maxLength":22,"ta":"apnic"}]}`)
	r = must(t, runCLI(t, nil, "", "monitor", "rpki", "--roa", roa, "1.0.5.0/24", "AS64666"))
	if !strings.Contains(r.stdout, `"rpki":"invalid"`) {
		t.Fatalf("rpki: %s", r.stdout)
	}

	zone := write(t, dir, "new.txt", "b0yte.com\nexample.org\nboyte.gov.vn\n")
	r = must(t, runCLI(t, nil, "", append([]string{"monitor", "check-names", zone}, data...)...))
	if !strings.Contains(r.stdout, "3 names read, 1 look-alikes") {
		t.Fatalf("check-names: %s", r.stdout)
	}
	csv := write(t, dir, "expiry.csv", "domain,expiry\nboyte.gov.vn,2000-01-01\n")
	r = must(t, runCLI(t, nil, "", append([]string{"monitor", "expiry-import", csv}, data...)...))
	if !strings.Contains(r.stdout, "1 expiry dates stored") {
		t.Fatalf("expiry-import: %s", r.stdout)
	}
	must(t, runCLI(t, nil, "", append([]string{"monitor", "run", "expiry"}, data...)...))

	// The findings are in the store, for BYT.
	ctx := context.Background()
	c := config.Default()
	c.Data = filepath.Join(dir, "data")
	st, err := openStore(ctx, c, logger(&Env{Stderr: &syncBuffer{}}, c))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	page, err := st.ListFindings(ctx, auth.SystemPrincipal, store.FindingFilter{Check: "monitor."})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range page.Items {
		got[f.Check] = f.Target + " " + string(f.Severity)
	}
	if got["monitor.lookalike-domain"] != "b0yte.com medium" || got["monitor.domain-expiring"] != "boyte.gov.vn critical" {
		t.Fatalf("findings: %v", got)
	}

	if r := runCLI(t, nil, "", "monitor"); r.code == 0 || !strings.Contains(r.stderr, "check-names") {
		t.Fatalf("usage: %+v", r)
	}
	if r := runCLI(t, nil, "", append([]string{"monitor", "run", "nothing"}, data...)...); r.code == 0 {
		t.Fatal("an unknown detector ran")
	}
}
