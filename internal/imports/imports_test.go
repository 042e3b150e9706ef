package imports

import (
	"bytes"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestParseTool(t *testing.T) {
	for _, s := range []string{"sarif", "Nuclei", " nmap "} {
		if _, err := ParseTool(s); err != nil {
			t.Errorf("ParseTool(%q): %v", s, err)
		}
	}
	if _, err := ParseTool("burp"); !errors.Is(err, ErrUnknownTool) {
		t.Errorf("ParseTool(burp) = %v, want ErrUnknownTool", err)
	}
	if _, err := Parse("burp", strings.NewReader("{}"), Limits{}); !errors.Is(err, ErrUnknownTool) {
		t.Errorf("Parse(burp) = %v, want ErrUnknownTool", err)
	}
}

func TestErrorText(t *testing.T) {
	e := &Error{Line: 12, Msg: "bad JSON", Err: ErrRecord}
	if got := e.Error(); got != "imports: line 12: bad JSON" {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(e, ErrRecord) {
		t.Error("errors.Is(e, ErrRecord) = false")
	}
	if got := (&Error{Msg: "input is over 5 bytes", Err: ErrTooLarge}).Error(); got != "imports: input is over 5 bytes" {
		t.Errorf("Error() = %q", got)
	}
}

// Every format refuses an input over MaxBytes as a whole, with a clear
// error, instead of parsing a prefix.
func TestMaxBytes(t *testing.T) {
	for _, tc := range []struct {
		tool Tool
		file string
	}{{SARIF, "dast.sarif"}, {Nuclei, "nuclei.jsonl"}, {Nmap, "nmap.xml"}} {
		data := readTestdata(t, tc.file)
		t.Run(string(tc.tool), func(t *testing.T) {
			limits := Limits{MaxBytes: int64(len(data))}
			rs, err := Parse(tc.tool, bytes.NewReader(data), limits)
			if err != nil || len(rs) == 0 {
				t.Fatalf("at exactly MaxBytes: %d results, %v", len(rs), err)
			}
			limits.MaxBytes--
			rs, err = Parse(tc.tool, bytes.NewReader(data), limits)
			if !errors.Is(err, ErrTooLarge) || rs != nil || !strings.Contains(err.Error(), "Limits.MaxBytes") {
				t.Fatalf("one byte over: %d results, %v", len(rs), err)
			}
		})
	}
}

// A stream that never ends is cut at the cap, not read to the end.
func TestMaxBytesEndless(t *testing.T) {
	for _, tool := range []Tool{SARIF, Nuclei, Nmap} {
		var src io.Reader = endless('{')
		if tool == Nmap {
			src = io.MultiReader(strings.NewReader("<nmaprun><host><status state='up'/><!-- "), endless('x'))
		}
		_, err := Parse(tool, src, Limits{MaxBytes: 1 << 20})
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %v, want ErrTooLarge", tool, err)
		}
	}
}

type endless byte

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

func TestMaxResults(t *testing.T) {
	for _, tc := range []struct {
		tool Tool
		file string
		n    int // results in the file
	}{{SARIF, "dast.sarif", 5}, {Nuclei, "nuclei.jsonl", 6}, {Nmap, "nmap.xml", 10}} {
		data := readTestdata(t, tc.file)
		rs, err := Parse(tc.tool, bytes.NewReader(data), Limits{MaxResults: tc.n})
		if err != nil || len(rs) != tc.n {
			t.Fatalf("%s at MaxResults: %d results, %v", tc.tool, len(rs), err)
		}
		rs, err = Parse(tc.tool, bytes.NewReader(data), Limits{MaxResults: tc.n - 1})
		if !errors.Is(err, ErrTooLarge) || rs != nil || !strings.Contains(err.Error(), "Limits.MaxResults") {
			t.Fatalf("%s over MaxResults: %d results, %v", tc.tool, len(rs), err)
		}
	}
}

// A file of nothing but bad records stops after maxErrors of them, so
// the error list cannot grow with the input.
func TestTooManyBadRecords(t *testing.T) {
	in := strings.Repeat("{not json}\n", 1000)
	rs, err := parseString(Nuclei, in)
	ps := problems(t, err)
	if rs != nil || len(ps) != maxErrors+1 || !errors.Is(ps[maxErrors], ErrTooLarge) {
		t.Fatalf("%d results, %d problems, last %v", len(rs), len(ps), ps[len(ps)-1])
	}
}

func TestCaps(t *testing.T) {
	long := strings.Repeat("é", 10000) // 2 bytes a rune: a cut must not split one
	r := Result{
		Title:       "a\x1b[31mred\x1b[0m\ttitle\n" + long,
		Description: "line one\n\x07line two\r\n" + long,
		Evidence:    map[string]string{"output": long, "blank": "  ", "url": "see https://admin:secret@www.example.vn/x and http://u:p@127.0.0.1"},
		References:  []string{"https://example.com/a", "https://example.com/a", ""},
	}
	for i := range 40 {
		r.CVE = append(r.CVE, "CVE-2024-"+strings.Repeat("1", 4)+string(rune('a'+i%26)))
	}
	finish(&r)
	checkString(t, "title", r.Title, MaxTitleBytes, true)
	checkString(t, "description", r.Description, MaxDescriptionBytes, false)
	checkString(t, "output", r.Evidence["output"], MaxEvidenceBytes, false)
	if !strings.HasPrefix(r.Title, "a [31mred [0m title é") || !strings.HasSuffix(r.Title, "…") {
		t.Errorf("title = %q", r.Title[:40])
	}
	if !strings.HasPrefix(r.Description, "line one\nline two\n") {
		t.Errorf("description = %q", r.Description[:30])
	}
	if _, ok := r.Evidence["blank"]; ok {
		t.Error("blank evidence kept")
	}
	if got := r.Evidence["url"]; got != "see https://www.example.vn/x and http://127.0.0.1" {
		t.Errorf("url evidence = %q", got)
	}
	if len(r.References) != 1 || len(r.CVE) != MaxListItems || !strings.Contains(r.Evidence["truncated"], "cve 32 of 40") {
		t.Errorf("references %q, %d CVEs, truncated %q", r.References, len(r.CVE), r.Evidence["truncated"])
	}
}

func TestNormHost(t *testing.T) {
	for _, tc := range []struct {
		in, host, ip string
		bad          bool
	}{
		{in: "127.0.0.1", host: "127.0.0.1", ip: "127.0.0.1"},
		{in: "[::ffff:127.0.0.2]", host: "127.0.0.2", ip: "127.0.0.2"},
		{in: "WWW.Example.VN.", host: "www.example.vn"},
		{in: "_dmarc.example.com", host: "_dmarc.example.com"},
		{in: "", bad: true},
		{in: "exa mple.com", bad: true},
		{in: "-x.example.com", bad: true},
		{in: "a..example.com", bad: true},
		{in: "ví-dụ.example.vn", bad: true},
		{in: "fe80::1%eth0", bad: true},
		{in: strings.Repeat("a", 64) + ".example.com", bad: true},
		{in: "evil\n.example.com", bad: true},
	} {
		host, ip, err := normHost(tc.in)
		if tc.bad != (err != nil) || host != tc.host && !tc.bad || ip != tc.ip && !tc.bad {
			t.Errorf("normHost(%q) = %q, %q, %v", tc.in, host, ip, err)
		}
	}
}

func TestCVEs(t *testing.T) {
	got := addCVEs(nil, "cve-2021-41773, CVE-2021-41773", "CVE:CVE-2017-0143", "XCVE-2020-1111 CVE-2020-123 CVE-2020-12345678", "(CVE-2024-3094)", "CVE-2019-0001a CVE-2019-00001_", "cve-cve-2018-1234")
	want := []string{"CVE-2021-41773", "CVE-2017-0143", "CVE-2024-3094", "CVE-2018-1234"}
	if !slices.Equal(got, want) {
		t.Errorf("addCVEs = %q, want %q", got, want)
	}
}

func TestSeverityFromScore(t *testing.T) {
	for in, want := range map[string]string{"10": "critical", "9.0": "critical", "8.9": "high", "7": "high", "6.9": "medium", "4.0": "medium", "3.9": "low", "0.1": "low", "0": "info"} {
		if got, ok := severityFromScore(in); !ok || string(got) != want {
			t.Errorf("severityFromScore(%s) = %q, %v; want %s", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "high", "NaN", "-1", "10.1", "1e400"} {
		if got, ok := severityFromScore(in); ok {
			t.Errorf("severityFromScore(%q) = %q, want not ok", in, got)
		}
	}
}

// The package stays pure: the standard library and internal/finding.
func TestImportsStandardLibraryOnly(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") && path != "github.com/rampart-cert/rampart/internal/finding" {
				t.Errorf("%s imports %s: imports may use the standard library and internal/finding only", name, path)
			}
		}
	}
}
