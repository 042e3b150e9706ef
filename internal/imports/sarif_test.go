package imports

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSARIFWebScanner(t *testing.T) {
	rs, err := Parse(SARIF, bytes.NewReader(readTestdata(t, "dast.sarif")), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	checkContract(t, SARIF, rs, err, Limits{})
	type want struct {
		line        int
		host, ip    string
		port        int
		url, rule   string
		severity    string
		cve         []string
		title, desc string
	}
	wants := []want{
		{53, "www.example.vn", "", 443, "https://www.example.vn/", "10038-1", "medium", nil,
			"Content Security Policy (CSP) Header Not Set", "The response to GET https://www.example.vn/ has no Content-Security-Policy header."},
		// security-severity 9.1 wins over level error.
		{68, "127.0.0.10", "127.0.0.10", 8080, "http://127.0.0.10:8080/cgi-bin/.%2e/.%2e/etc/passwd", "40042", "critical", []string{"CVE-2021-41773"},
			"Apache HTTP Server 2.4.49 path traversal", "The file /etc/passwd was read through an encoded path."},
		// Location through run.artifacts[0]; message from the rule's messageStrings.
		{78, "www.example.vn", "", 443, "https://www.example.vn/login", "10020-1", "low", nil,
			"Missing Anti-clickjacking Header", "The page https://www.example.vn/login can be framed by another site: no X-Frame-Options or frame-ancestors."},
		// Location relative to a uriBaseId; no level: the spec's default, warning.
		{85, "shop.example.com", "", 443, "https://shop.example.com/checkout", "10038-1", "medium", nil,
			"Content Security Policy (CSP) Header Not Set", "No Content-Security-Policy header on the checkout page."},
		{92, "127.0.0.12", "127.0.0.12", 8443, "https://127.0.0.12:8443/api/status", "10096", "info", nil,
			"Timestamp Disclosure - Unix", "A Unix timestamp appears in the response body."},
		// The kind "pass" result is not a finding.
	}
	if len(rs) != len(wants) {
		t.Fatalf("%d results, want %d", len(rs), len(wants))
	}
	for i, w := range wants {
		r := rs[i]
		got := want{r.Line, r.Host, r.IP, r.Port, r.URL, r.RuleID, string(r.Severity), r.CVE, r.Title, r.Description}
		if got.line != w.line || got.host != w.host || got.ip != w.ip || got.port != w.port || got.url != w.url ||
			got.rule != w.rule || got.severity != w.severity || !slices.Equal(got.cve, w.cve) || got.title != w.title || got.desc != w.desc {
			t.Errorf("result %d:\n got %+v\nwant %+v", i, got, w)
		}
		if r.ToolName != "ZAP" || r.Proto != "tcp" || r.Observation {
			t.Errorf("result %d: tool name %q proto %q observation %v", i, r.ToolName, r.Proto, r.Observation)
		}
	}
	// The invocation's endTimeUtc (after the results in the file), cut to the microsecond.
	for i, r := range rs {
		if want := time.Date(2026, 3, 3, 2, 58, 47, 903125000, time.UTC); !r.Time.Equal(want) || r.Time.Location() != time.UTC {
			t.Errorf("result %d: time %v, want %v", i, r.Time, want)
		}
	}
	if ev := rs[0].Evidence; ev["request"] != "GET https://www.example.vn/" || ev["status"] != "200" || ev["snippet"] != "HTTP/1.1 200 OK" {
		t.Errorf("evidence of result 0: %q", ev)
	}
	if ev := rs[1].Evidence; ev["property.attack"] != "/cgi-bin/.%2e/.%2e/etc/passwd" || ev["property.evidence"] != "root:x:0:0:" {
		t.Errorf("evidence of result 1: %q", ev)
	}
	if !slices.Equal(rs[1].References, []string{"https://httpd.apache.org/security/vulnerabilities_24.html"}) {
		t.Errorf("references of result 1: %q", rs[1].References)
	}
}

// A code scanner's results are about source files: every one is a bad
// record, with its line.
func TestSARIFCodeScanner(t *testing.T) {
	rs, err := Parse(SARIF, bytes.NewReader(readTestdata(t, "code.sarif")), Limits{})
	checkContract(t, SARIF, rs, err, Limits{})
	ps := problems(t, err)
	if len(rs) != 0 || len(ps) != 2 {
		t.Fatalf("%d results, problems %v", len(rs), err)
	}
	for i, line := range []int{24, 37} {
		if ps[i].Line != line || !errors.Is(ps[i], ErrRecord) || !strings.Contains(ps[i].Msg, "no host: SARIF results about source files are not internet-facing findings") {
			t.Errorf("problem %d: %v", i, ps[i])
		}
	}
}

func TestSARIFMalformed(t *testing.T) {
	const rule = `"tool":{"driver":{"name":"X","rules":[{"id":"r1"}]}}`
	const loc = `"locations":[{"physicalLocation":{"artifactLocation":{"uri":"https://www.example.vn/a"}}}]`
	for _, tc := range []struct {
		name, in string
		sentinel error
		line     int    // of the first problem
		msg      string // in the first problem
		results  int
	}{
		{"empty", "", ErrFormat, 0, "empty input", 0},
		{"not an object", `[1,2]`, ErrFormat, 1, "SARIF log is not an object", 0},
		{"no version", `{"runs":[]}`, ErrFormat, 1, `no "version": not a SARIF 2.1.0 log`, 0},
		{"version 1", "{\n\"version\": \"1.0.0\", \"runs\": []}", ErrFormat, 2, `SARIF version "1.0.0": only SARIF 2.1.0 is read`, 0},
		{"version late", `{"runs":[{` + rule + `,"results":[{"ruleId":"r1",` + loc + `}]}],"version":"2.0.0"}`, ErrFormat, 1, `SARIF version "2.0.0"`, 0},
		{"no runs", `{"version":"2.1.0"}`, ErrFormat, 1, `no "runs"`, 0},
		{"runs not a list", `{"version":"2.1.0","runs":{}}`, ErrFormat, 1, "runs is not a list", 0},
		{"run without tool", `{"version":"2.1.0","runs":[{"results":[]}]}`, ErrFormat, 1, `run has no "tool"`, 0},
		{"syntax error line 3", "{\"version\":\"2.1.0\",\n\"runs\":[\n{\"tool\": {,}}]}", ErrFormat, 3, "bad JSON", 0},
		{"truncated", "{\"version\":\"2.1.0\",\"runs\":[{" + rule + ",\n\"results\":[{\"ruleId\":", ErrFormat, 2, "truncated", 0},
		{"trailing data", `{"version":"2.1.0","runs":[]} {}`, ErrFormat, 1, "data after the end", 0},
		{"bad type in one result", "{\"version\":\"2.1.0\",\"runs\":[{" + rule + ",\"results\":[\n{\"ruleId\":\"r1\"," + loc + "},\n{\"ruleId\":\"r1\",\"level\":5," + loc + "}]}]}",
			ErrRecord, 3, "result: field", 1},
		{"no ruleId", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"X"}},"results":[{` + loc + `}]}]}`, ErrRecord, 1, "no ruleId", 0},
		{"ruleIndex out of range", `{"version":"2.1.0","runs":[{` + rule + `,"results":[{"ruleId":"r1","ruleIndex":7,` + loc + `}]}]}`, ErrRecord, 1, "ruleIndex 7", 0},
		{"bad level", `{"version":"2.1.0","runs":[{` + rule + `,"results":[{"ruleId":"r1","level":"fatal",` + loc + `}]}]}`, ErrRecord, 1, `level "fatal"`, 0},
		{"no location", `{"version":"2.1.0","runs":[{` + rule + `,"results":[{"ruleId":"r1"}]}]}`, ErrRecord, 1, "no host", 0},
		{"bad url host", `{"version":"2.1.0","runs":[{` + rule + `,"results":[{"ruleId":"r1","locations":[{"physicalLocation":{"artifactLocation":{"uri":"https://exa mple.com/"}}}]}]}]}`, ErrRecord, 1, "url", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := parseString(SARIF, tc.in)
			checkContract(t, SARIF, rs, err, Limits{})
			ps := problems(t, err)
			if len(ps) == 0 {
				t.Fatalf("no error; %d results", len(rs))
			}
			if !errors.Is(ps[0], tc.sentinel) || ps[0].Line != tc.line || !strings.Contains(ps[0].Msg, tc.msg) {
				t.Errorf("first problem %v (line %d), want line %d %q wrapping %v", ps[0], ps[0].Line, tc.line, tc.msg, tc.sentinel)
			}
			if len(rs) != tc.results {
				t.Errorf("%d results, want %d", len(rs), tc.results)
			}
		})
	}
}

func TestSARIFMapping(t *testing.T) {
	doc := func(rules, result string) string {
		return `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Scanner","rules":[` + rules + `]}},` +
			`"originalUriBaseIds":{"SITE":{"uri":"https://www.example.vn/app/"},"SRC":{"uri":"file:///src/"}},"results":[` + result + `]}]}`
	}
	const loc = `"locations":[{"physicalLocation":{"artifactLocation":{"uri":"https://www.example.vn/a"}}}]`
	for _, tc := range []struct {
		name, rules, result string
		check               func(r Result) bool
	}{
		{"result security-severity beats rule's", `{"id":"r","properties":{"security-severity":"9.8"}}`, `{"ruleId":"r","properties":{"security-severity":5.0},` + loc + `}`,
			func(r Result) bool { return r.Severity == "medium" }},
		{"rule security-severity as a number", `{"id":"r","properties":{"security-severity":7.1}}`, `{"ruleId":"r","level":"note",` + loc + `}`,
			func(r Result) bool { return r.Severity == "high" }},
		{"rule default level", `{"id":"r","defaultConfiguration":{"level":"error"}}`, `{"ruleId":"r",` + loc + `}`,
			func(r Result) bool { return r.Severity == "high" }},
		{"kind informational defaults to none", `{"id":"r"}`, `{"ruleId":"r","kind":"informational",` + loc + `}`,
			func(r Result) bool { return r.Severity == "info" && r.Evidence["kind"] == "informational" }},
		{"suppressed result is skipped", `{"id":"r"}`, `{"ruleId":"r","suppressions":[{"kind":"external"}],` + loc + `}`, nil},
		{"rule found by id; title from name", `{"id":"a"},{"id":"r","name":"CVE-2023-1234 check"}`, `{"ruleId":"r",` + loc + `}`,
			func(r Result) bool {
				return r.Title == "CVE-2023-1234 check" && slices.Equal(r.CVE, []string{"CVE-2023-1234"})
			}},
		{"unknown rule: title from message", ``, `{"ruleId":"x","message":{"text":"\n  Found it\nmore"},` + loc + `}`,
			func(r Result) bool { return r.Title == "Found it" }},
		{"CVE in result tags", `{"id":"r"}`, `{"ruleId":"r","properties":{"tags":["cve-2022-0001","x"]},` + loc + `}`,
			func(r Result) bool { return slices.Equal(r.CVE, []string{"CVE-2022-0001"}) }},
		{"uriBaseId resolves", `{"id":"r"}`, `{"ruleId":"r","locations":[{"physicalLocation":{"artifactLocation":{"uri":"login?next=/","uriBaseId":"SITE"}}}]}`,
			func(r Result) bool { return r.URL == "https://www.example.vn/app/login?next=/" && r.Port == 443 }},
		{"file location then web location", `{"id":"r"}`, `{"ruleId":"r","locations":[{"physicalLocation":{"artifactLocation":{"uri":"main.go","uriBaseId":"SRC"}}},{"physicalLocation":{"artifactLocation":{"uri":"http://127.0.0.3:8000/x"}}}]}`,
			func(r Result) bool {
				return r.Host == "127.0.0.3" && r.Port == 8000 && r.Evidence["location"] == "file:///src/main.go"
			}},
		{"web request target only", `{"id":"r"}`, `{"ruleId":"r","webRequest":{"method":"POST","target":"https://admin:secret@api.example.com:9443/v1"}}`,
			func(r Result) bool {
				return r.Host == "api.example.com" && r.Port == 9443 && r.URL == "https://api.example.com:9443/v1" && r.Evidence["request"] == "POST https://api.example.com:9443/v1"
			}},
		{"placeholders", `{"id":"r"}`, `{"ruleId":"r","message":{"text":"{0} at {1} {2} {x}","arguments":["A","B"]},` + loc + `}`,
			func(r Result) bool { return r.Description == "A at B {2} {x}" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := parseString(SARIF, doc(tc.rules, tc.result))
			checkContract(t, SARIF, rs, err, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.check == nil {
				if len(rs) != 0 {
					t.Fatalf("%d results, want none", len(rs))
				}
				return
			}
			if len(rs) != 1 || !tc.check(rs[0]) {
				t.Fatalf("got %+v", rs)
			}
		})
	}
}

func TestSARIFTime(t *testing.T) {
	run := func(invocations string) string {
		inv := ""
		if invocations != "" {
			inv = `"invocations":` + invocations + `,`
		}
		return `{"tool":{"driver":{"name":"X"}},` + inv + `"results":[{"ruleId":"r","properties":{"endTimeUtc":"2026-01-01T00:00:00Z"},` +
			`"locations":[{"physicalLocation":{"artifactLocation":{"uri":"https://www.example.vn/a"}}}]}]}`
	}
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}
	for _, tc := range []struct {
		name, runs string
		want       []time.Time
	}{
		{"no invocations: zero; result properties are not read", run(""), []time.Time{{}}},
		{"end time wins", run(`[{"startTimeUtc":"2026-02-01T10:00:00Z","endTimeUtc":"2026-02-01T11:00:00.5Z"}]`), []time.Time{utc("2026-02-01T11:00:00.5Z")}},
		{"start time when no end", run(`[{"startTimeUtc":"2026-02-01T10:00:00+07:00"}]`), []time.Time{utc("2026-02-01T03:00:00Z")}},
		{"start time when the end is unreadable", run(`[{"startTimeUtc":"2026-02-01T10:00:00Z","endTimeUtc":17}]`), []time.Time{utc("2026-02-01T10:00:00Z")}},
		{"start time when the end is absurd", run(`[{"startTimeUtc":"2026-02-01T10:00:00Z","endTimeUtc":"2999-01-01T00:00:00Z"}]`), []time.Time{utc("2026-02-01T10:00:00Z")}},
		{"only the first invocation", run(`[{"commandLine":"zap"},{"endTimeUtc":"2026-02-01T11:00:00Z"}]`), []time.Time{{}}},
		{"before 2000: zero", run(`[{"endTimeUtc":"1999-12-31T23:59:59Z"}]`), []time.Time{{}}},
		{"not a date: zero", run(`[{"endTimeUtc":"yesterday"}]`), []time.Time{{}}},
		{"invocations not a list: zero, no error", run(`{"endTimeUtc":"2026-02-01T11:00:00Z"}`), []time.Time{{}}},
		{"each run its own time", run(`[{"endTimeUtc":"2026-02-01T11:00:00Z"}]`) + "," + run(`[{"endTimeUtc":"2026-02-02T11:00:00Z"}]`),
			[]time.Time{utc("2026-02-01T11:00:00Z"), utc("2026-02-02T11:00:00Z")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := parseString(SARIF, `{"version":"2.1.0","runs":[`+tc.runs+`]}`)
			checkContract(t, SARIF, rs, err, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != len(tc.want) {
				t.Fatalf("%d results, want %d", len(rs), len(tc.want))
			}
			for i, w := range tc.want {
				if !rs[i].Time.Equal(w) || !rs[i].Time.IsZero() && rs[i].Time.Location() != time.UTC {
					t.Errorf("result %d: time %v, want %v", i, rs[i].Time, w)
				}
			}
		})
	}
}
