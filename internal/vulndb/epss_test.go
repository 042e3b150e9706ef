package vulndb

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadEPSS(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "epss_sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []EPSSScore
	info, err := ReadEPSS(f, "epss.csv", func(s EPSSScore) error { got = append(got, s); return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.Model != "v2025.03.14" || info.Date.Format("2006-01-02") != "2025-08-25" {
		t.Errorf("info = %+v", info)
	}
	if len(got) != 5 || got[0].CVE != "CVE-2021-41773" || got[0].EPSS != 0.94432 || got[0].Percentile != 0.99979 || got[0].Model != info.Model {
		t.Errorf("got %+v", got)
	}
}

func TestReadEPSSShapes(t *testing.T) {
	tests := []struct {
		name, data string
		n          int
	}{
		{"no comment", "cve,epss,percentile\nCVE-2099-0001,0.1,0.5\n", 1},
		{"no percentile", "cve,epss\nCVE-2099-0001,0.1\n", 1},
		{"columns reordered", "percentile,cve,epss\n0.5,CVE-2099-0001,0.1\n", 1},
		{"crlf", "#model_version:v1,score_date:2022-01-01\r\ncve,epss,percentile\r\nCVE-2099-0001,0.1,0.5\r\n", 1},
		{"gzip", string(gz(t, []byte("#model_version:v1,score_date:2022-01-01T00:00:00+0000\ncve,epss,percentile\nCVE-2099-0001,0.1,0.5\nCVE-2099-0002,0.2,0.6\n"))), 2},
	}
	for _, tt := range tests {
		n := 0
		_, err := ReadEPSS(strings.NewReader(tt.data), "e.csv", func(EPSSScore) error { n++; return nil }, nil)
		if err != nil || n != tt.n {
			t.Errorf("%s: %d rows, err %v; want %d", tt.name, n, err, tt.n)
		}
	}
}

func TestReadEPSSRejects(t *testing.T) {
	data := "#model_version:v1,score_date:2025-01-01T00:00:00+0000\ncve,epss,percentile\n" +
		"CVE-2099-0001,0.1,0.5\n" +
		"CVE-2099,0.1,0.5\n" +
		"CVE-2099-0003,1.5,0.5\n" +
		"CVE-2099-0004,0.1\n" +
		"CVE-2099-0005,NaN,0.5\n" +
		"CVE-2099-0006,0.2,0.7\n"
	var bad []*RecordError
	n := 0
	_, err := ReadEPSS(strings.NewReader(data), "e.csv", func(EPSSScore) error { n++; return nil }, func(e *RecordError) { bad = append(bad, e) })
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || len(bad) != 4 {
		t.Fatalf("good %d, rejected %v", n, bad)
	}
	for i, want := range []string{"e.csv:4 CVE-2099:", "e.csv:5 CVE-2099-0003: rejected: epss", "e.csv:6 CVE-2099-0004: rejected: 2 fields", "e.csv:7 CVE-2099-0005"} {
		if !strings.Contains(bad[i].Error(), want) {
			t.Errorf("rejection %d = %q, want %q", i, bad[i], want)
		}
	}
	_, err = ReadEPSS(strings.NewReader(data), "e.csv", nil, nil)
	if !errors.Is(err, ErrBadRecord) {
		t.Errorf("strict: %v", err)
	}
}

func TestReadEPSSErrors(t *testing.T) {
	for _, data := range []string{
		"", "#model_version:v1\n", "foo,bar\n1,2\n", "#model_version:v1,score_date:someday\ncve,epss\n",
		"cve,epss\n\"CVE-2099-0001,0.1\n",
	} {
		_, err := ReadEPSS(strings.NewReader(data), "e.csv", nil, nil)
		if err == nil || !strings.Contains(err.Error(), "e.csv") {
			t.Errorf("ReadEPSS(%q) = %v, want an error naming the file", data, err)
		}
	}
}
