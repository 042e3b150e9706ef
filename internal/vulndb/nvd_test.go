package vulndb

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func readAllNVD(t *testing.T, data []byte) ([]*CVE, []*RecordError, error) {
	t.Helper()
	var got []*CVE
	var bad []*RecordError
	err := ReadNVD(bytes.NewReader(data), "test.json", func(c *CVE) error {
		got = append(got, c)
		return nil
	}, func(e *RecordError) { bad = append(bad, e) })
	return got, bad, err
}

func TestReadNVDSamples(t *testing.T) {
	for _, f := range nvdFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, bad, err := readAllNVD(t, data)
		if err != nil || len(bad) > 0 || len(got) != 1 {
			t.Fatalf("%s: %d records, rejected %v, err %v", f, len(got), bad, err)
		}
		c := got[0]
		if want := strings.TrimSuffix(filepath.Base(f), ".json"); c.ID != want {
			t.Errorf("%s: id %s", f, c.ID)
		}
		if c.Published.IsZero() || c.Modified.Before(c.Published) || c.Description == "" || c.CVSS == nil {
			t.Errorf("%s: incomplete: %+v", f, c)
		}
	}
}

func TestReadNVDFields(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "nvd", "CVE-2021-41773.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := readAllNVD(t, data)
	if err != nil {
		t.Fatal(err)
	}
	c := got[0]
	if c.CVSS.Version != "3.1" || c.CVSS.Score != 7.5 || c.CVSS.Severity != "HIGH" || !strings.HasPrefix(c.CVSS.Vector, "CVSS:3.1/") {
		t.Errorf("cvss = %+v, want v3.1 7.5 HIGH", c.CVSS)
	}
	if !strings.HasPrefix(c.Description, "A flaw was found") {
		t.Errorf("description not English: %q", c.Description)
	}
	if !slices.Contains(c.CWEs, "CWE-22") {
		t.Errorf("cwes = %v", c.CWEs)
	}
	if c.Published.Format("2006-01-02T15:04:05.000") != "2021-10-05T09:15:07.593" {
		t.Errorf("published = %v", c.Published)
	}
	if c.CISA == nil || c.CISA.DateAdded.Format("2006-01-02") != "2021-11-03" {
		t.Errorf("cisa = %+v", c.CISA)
	}
	if len(c.References) == 0 || len(c.Configurations) == 0 {
		t.Errorf("references %d, configurations %d", len(c.References), len(c.Configurations))
	}
}

// TestReadNVDShapes reads the same records as a single object, a wrapped
// element, an API response, an array, and gzip'd.
func TestReadNVDShapes(t *testing.T) {
	a, err := os.ReadFile(filepath.Join("testdata", "nvd", "CVE-2021-41773.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "nvd", "CVE-2017-7269.json"))
	if err != nil {
		t.Fatal(err)
	}
	collection := []byte(`{"resultsPerPage":2,"startIndex":0,"totalResults":2,"format":"NVD_CVE","version":"2.0",` +
		`"timestamp":"2025-08-25T00:00:00.000","vulnerabilities":[{"cve":` + string(a) + `},{"cve":` + string(b) + `}]}`)
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"single", a, []string{"CVE-2021-41773"}},
		{"wrapped", []byte(`{"cve":` + string(b) + `}`), []string{"CVE-2017-7269"}},
		{"collection", collection, []string{"CVE-2021-41773", "CVE-2017-7269"}},
		{"array", []byte(`[` + string(a) + `,{"cve":` + string(b) + `}]`), []string{"CVE-2021-41773", "CVE-2017-7269"}},
		{"gzip", gz(t, collection), []string{"CVE-2021-41773", "CVE-2017-7269"}},
		{"empty collection", []byte(`{"resultsPerPage":0,"vulnerabilities":[]}`), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, bad, err := readAllNVD(t, tt.data)
			if err != nil || len(bad) > 0 {
				t.Fatalf("err %v, rejected %v", err, bad)
			}
			var ids []string
			for _, c := range got {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("ids = %v, want %v", ids, tt.want)
			}
		})
	}
}

func gz(t testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadNVDRejects(t *testing.T) {
	good := `{"cve":{"id":"CVE-2099-0001","published":"2099-01-01T00:00:00.000","lastModified":"2099-01-02T00:00:00.000"}}`
	recs := []struct{ rec, reason string }{
		{`{"cve":{"id":"CVE-99-1","published":"2099-01-01T00:00:00"}}`, `id "CVE-99-1" is not a CVE ID`},
		{`{"cve":{"id":"CVE-2099-0002","published":"yesterday"}}`, `published: bad time "yesterday"`},
		{`{"cve":{"id":"CVE-2099-0003","published":"2099-01-01T00:00:00","configurations":[{"nodes":[{"operator":"OR","cpeMatch":[{"vulnerable":true,"criteria":"cpe:2.3:z:x:y"}]}]}]}}`, `part "z"`},
		{`{"cve":{"id":"CVE-2099-0004","published":"2099-01-01T00:00:00","metrics":{"cvssMetricV31":[{"cvssData":{"baseScore":"high"}}]}}}`, "cannot unmarshal"},
		{`{"cve":{"id":"CVE-2099-0005","published":"2099-01-01T00:00:00","metrics":{"cvssMetricV31":[{"cvssData":{"version":"3.1","baseScore":11}}]}}}`, "not within 0..10"},
	}
	var parts []string
	for _, r := range recs {
		parts = append(parts, good, r.rec)
	}
	data := []byte(`{"vulnerabilities":[` + strings.Join(parts, ",") + `,` + good + `]}`)
	got, bad, err := readAllNVD(t, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs)+1 {
		t.Errorf("%d good records, want %d", len(got), len(recs)+1)
	}
	if len(bad) != len(recs) {
		t.Fatalf("rejected %d, want %d: %v", len(bad), len(recs), bad)
	}
	for i, e := range bad {
		msg := e.Error()
		if !errors.Is(e, ErrBadRecord) || !strings.Contains(msg, recs[i].reason) ||
			!strings.Contains(msg, "test.json: record ") || e.Record != 2*(i+1) {
			t.Errorf("rejection %d = %q (record %d), want reason %q", i, msg, e.Record, recs[i].reason)
		}
	}
	// Strict mode: the first bad record is the error.
	err = ReadNVD(bytes.NewReader(data), "test.json", nil, nil)
	if !errors.Is(err, ErrBadRecord) {
		t.Errorf("strict read: %v", err)
	}
}

func TestReadNVDErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"truncated", `{"vulnerabilities":[{"cve":{"id":"CVE-2099-0001"`, "byte"},
		{"syntax", `{"vulnerabilities":[{"cve":{"id":"CVE-2099-0001",}}]}`, "byte 47"},
		{"not json", `hello`, "byte"},
		{"number", `42`, "object or an array"},
		{"nvd 1.1", `{"CVE_data_type":"CVE","CVE_Items":[]}`, "NVD 1.1"},
		{"no id", `{"foo":1}`, "neither"},
		{"vulns not array", `{"vulnerabilities":{}}`, "not an array"},
		{"trailing", `{"vulnerabilities":[]} {}`, "after the end"},
		{"empty", ``, "byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAllNVD(t, []byte(tt.data))
			if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "test.json") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrFormat naming test.json and %q", err, tt.want)
			}
		})
	}
}

func TestReadNVDRecordCap(t *testing.T) {
	big := `{"vulnerabilities":[{"cve":{"id":"CVE-2099-0001","published":"2099-01-01T00:00:00","descriptions":[{"lang":"en","value":"` +
		strings.Repeat("x", MaxRecordBytes+(1<<20)) + `"}]}}]}`
	_, _, err := readAllNVD(t, []byte(big))
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("err = %v, want ErrTooLarge", err)
	}
}

func TestPickCVSS(t *testing.T) {
	metric := func(v string, score float64, typ string) string {
		return `{"source":"s","type":"` + typ + `","cvssData":{"version":"` + v + `","baseScore":` + strconv.FormatFloat(score, 'f', 1, 64) + `,"baseSeverity":"X"}}`
	}
	tests := []struct {
		metrics string
		want    string
		score   float64
	}{
		{`{"cvssMetricV2":[` + metric("2.0", 5, "Primary") + `],"cvssMetricV40":[` + metric("4.0", 9.3, "Secondary") + `]}`, "4.0", 9.3},
		{`{"cvssMetricV30":[` + metric("3.0", 8.1, "Primary") + `],"cvssMetricV40":[` + metric("4.0", 9.3, "Primary") + `]}`, "3.0", 8.1},
		{`{"cvssMetricV31":[` + metric("3.1", 9.8, "Secondary") + `,` + metric("3.1", 7.5, "Primary") + `],"cvssMetricV30":[` + metric("3.0", 5, "Primary") + `]}`, "3.1", 7.5},
		{`{"cvssMetricV2":[{"source":"nvd","type":"Primary","baseSeverity":"MEDIUM","cvssData":{"version":"2.0","baseScore":5.0}}]}`, "2.0", 5},
	}
	for _, tt := range tests {
		rec := `{"id":"CVE-2099-0001","published":"2099-01-01T00:00:00","metrics":` + tt.metrics + `}`
		got, _, err := readAllNVD(t, []byte(rec))
		if err != nil || len(got) != 1 || got[0].CVSS == nil {
			t.Fatalf("%s: %v", rec, err)
		}
		if c := got[0].CVSS; c.Version != tt.want || c.Score != tt.score || c.Severity == "" {
			t.Errorf("%s: picked %+v, want %s %v", tt.metrics, c, tt.want, tt.score)
		}
	}
	got, _, _ := readAllNVD(t, []byte(`{"id":"CVE-2099-0001","published":"2099-01-01T00:00:00"}`))
	if got[0].CVSS != nil {
		t.Errorf("unscored record got %+v", got[0].CVSS)
	}
}
