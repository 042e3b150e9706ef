package vulndb

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestReadKEVCatalog(t *testing.T) {
	f, err := os.Open(kevFile(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string]KEVEntry{}
	cat, err := ReadKEV(f, "kev.json", func(e KEVEntry) error { got[e.CVEID] = e; return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cat.Version != sampleKEVVersion || cat.Count != sampleKEV || len(got) != sampleKEV || cat.Released.IsZero() {
		t.Errorf("catalog %+v with %d entries, want %s with %d", cat, len(got), sampleKEVVersion, sampleKEV)
	}
	e, ok := got["CVE-2021-41773"]
	if !ok {
		t.Fatal("CVE-2021-41773 is not in the catalog")
	}
	if e.VendorProject != "Apache" || e.DateAdded.Format("2006-01-02") != "2021-11-03" ||
		e.DueDate.Format("2006-01-02") != "2021-11-17" || e.RequiredAction == "" || e.Catalog != sampleKEVVersion {
		t.Errorf("entry = %+v", e)
	}
	ransom := 0
	for _, e := range got {
		if e.Ransomware() {
			ransom++
		}
	}
	if ransom == 0 || ransom == len(got) {
		t.Errorf("%d of %d entries flagged ransomware", ransom, len(got))
	}
}

func TestReadKEVRejects(t *testing.T) {
	data := `{"catalogVersion":"2099.01.01","dateReleased":"2099-01-01T00:00:00.000Z","count":4,"vulnerabilities":[
	{"cveID":"CVE-2099-0001","vendorProject":"Acme","product":"Web","dateAdded":"2099-01-01","dueDate":"2099-01-22","knownRansomwareCampaignUse":"Known"},
	{"cveID":"CVE-BAD","dateAdded":"2099-01-01"},
	{"cveID":"CVE-2099-0003","dateAdded":"01/01/2099"},
	{"cveID":"CVE-2099-0004","dateAdded":"2099-01-01","cwes":"CWE-79"}
	]}`
	var got []KEVEntry
	var bad []*RecordError
	_, err := ReadKEV(strings.NewReader(data), "kev.json", func(e KEVEntry) error { got = append(got, e); return nil },
		func(e *RecordError) { bad = append(bad, e) })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].Ransomware() {
		t.Errorf("got %+v", got)
	}
	wants := []string{`record 2`, `record 3 (byte`, `record 4`}
	reasons := []string{`cveID "CVE-BAD"`, `dateAdded "01/01/2099"`, "cannot unmarshal"}
	if len(bad) != 3 {
		t.Fatalf("rejected %v", bad)
	}
	for i, e := range bad {
		if !strings.Contains(e.Error(), wants[i]) || !strings.Contains(e.Error(), reasons[i]) || !errors.Is(e, ErrBadRecord) {
			t.Errorf("rejection %d = %v", i, e)
		}
	}
}

func TestReadKEVErrors(t *testing.T) {
	for _, data := range []string{
		``, `[]`, `{"title":"x"}`, `{"vulnerabilities":[{"cveID":`, `{"vulnerabilities":{}}`,
		`{"vulnerabilities":[{"cve":{"id":"CVE-2099-0001"}}]}`, `{"catalogVersion":7,"vulnerabilities":[]}`,
	} {
		_, err := ReadKEV(bytes.NewReader([]byte(data)), "kev.json", nil, nil)
		if err == nil || !strings.Contains(err.Error(), "kev.json") {
			t.Errorf("ReadKEV(%q) = %v, want an error naming the file", data, err)
		}
	}
}
