package imports

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNucleiSample(t *testing.T) {
	rs, err := Parse(Nuclei, bytes.NewReader(readTestdata(t, "nuclei.jsonl")), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	checkContract(t, Nuclei, rs, err, Limits{})
	type want struct {
		line            int
		host, ip        string
		port            int
		proto, url      string
		rule, severity  string
		cve             []string
		refs            int
		matchedAt, extr string
	}
	wants := []want{
		{1, "www.example.vn", "127.0.0.10", 443, "tcp", "https://www.example.vn:443/cgi-bin/.%2e/.%2e/.%2e/.%2e/etc/passwd", "CVE-2021-41773", "high", []string{"CVE-2021-41773"}, 2,
			"https://www.example.vn:443/cgi-bin/.%2e/.%2e/.%2e/.%2e/etc/passwd", ""},
		{2, "www.example.vn", "127.0.0.10", 443, "tcp", "https://www.example.vn:443", "tech-detect", "info", nil, 0, "https://www.example.vn:443", ""},
		// line 3 is blank
		{4, "www.example.vn", "127.0.0.10", 443, "tcp", "", "weak-cipher-suites", "low", nil, 1, "www.example.vn:443", "[tls10 TLS_RSA_WITH_3DES_EDE_CBC_SHA]"},
		{5, "127.0.0.11", "127.0.0.11", 22, "tcp", "", "openssh-detect", "info", nil, 1, "127.0.0.11:22", "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10"},
		// nuclei v2 style: host is a URL, tags a string, cve-id null; the URL's password is dropped.
		{6, "shop.example.com", "127.0.0.12", 443, "tcp", "https://shop.example.com/.git/config", "git-config", "medium", nil, 0, "https://shop.example.com/.git/config", ""},
		// severity "unknown" is info; a DNS result has no port.
		{7, "example.com", "", 0, "", "", "caa-fingerprint", "info", nil, 0, "example.com", ""},
	}
	if len(rs) != len(wants) {
		t.Fatalf("%d results, want %d", len(rs), len(wants))
	}
	for i, w := range wants {
		r := rs[i]
		got := want{r.Line, r.Host, r.IP, r.Port, r.Proto, r.URL, r.RuleID, string(r.Severity), r.CVE, len(r.References), r.Evidence["matched-at"], r.Evidence["extracted-results"]}
		if !slices.Equal(got.cve, w.cve) || got.line != w.line || got.host != w.host || got.ip != w.ip || got.port != w.port || got.proto != w.proto ||
			got.url != w.url || got.rule != w.rule || got.severity != w.severity || got.refs != w.refs || got.matchedAt != w.matchedAt || got.extr != w.extr {
			t.Errorf("result %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
	if r := rs[0]; r.Title != "Apache 2.4.49 - Path Traversal and Remote Code Execution" || !strings.HasPrefix(r.Description, "A path traversal flaw") ||
		r.Evidence["cwe"] != "CWE-22" || r.Evidence["cvss-score"] != "7.5" || r.ToolName != "nuclei" {
		t.Errorf("result 0: %+v", r)
	}
	// The line's timestamp, in UTC; nuclei drops trailing zeros of the fraction.
	for i, ts := range []string{
		"2026-03-03T03:02:11.482113Z", "2026-03-03T03:02:12.001932Z", "2026-03-03T03:02:14.77312Z",
		"2026-03-03T03:02:15.30441Z", "2026-03-03T03:02:16.9Z", "2026-03-03T03:02:17.2Z",
	} {
		if want, _ := time.Parse(time.RFC3339Nano, ts); !rs[i].Time.Equal(want) || rs[i].Time.Location() != time.UTC {
			t.Errorf("result %d: time %v, want %v", i, rs[i].Time, want)
		}
	}
	if _, ok := rs[0].Evidence["response"]; ok {
		t.Error("the raw response is kept")
	}
}

func TestNucleiMalformed(t *testing.T) {
	good := `{"template-id":"t","info":{"name":"T","severity":"low"},"host":"www.example.vn","matched-at":"https://www.example.vn/"}`
	for _, tc := range []struct {
		name, in string
		sentinel error
		lines    []int // of every problem
		msg      string
		results  int
	}{
		{"bad JSON on line 3", good + "\n" + good + "\n{\"template-id\": \"t\",\n" + good, ErrRecord, []int{3}, "bad JSON", 3},
		{"CRLF and blank lines count", good + "\r\n\r\n[1]\r\n", ErrRecord, []int{3}, "not a JSON object", 1},
		{"json array export", "[" + good + "]", ErrFormat, []int{1}, "nuclei -json-export", 0},
		{"wrong type", `{"template-id":"t","info":{"severity":3},"host":"www.example.vn"}`, ErrRecord, []int{1}, "field info.severity", 0},
		{"trailing garbage", good + ` x`, ErrRecord, []int{1}, "bad JSON", 0},
		{"no template-id", `{"info":{"severity":"low"},"host":"www.example.vn"}`, ErrRecord, []int{1}, "no template-id", 0},
		{"no host", `{"template-id":"t","info":{"severity":"low"}}`, ErrRecord, []int{1}, "no host", 0},
		{"bad host", `{"template-id":"t","host":"www.exam ple.vn"}`, ErrRecord, []int{1}, "is not an IP address or an ASCII (punycode) DNS name", 0},
		{"bad ip", `{"template-id":"t","host":"www.example.vn","ip":"not-an-ip"}`, ErrRecord, []int{1}, `ip "not-an-ip"`, 0},
		{"bad port", `{"template-id":"t","host":"www.example.vn","port":"99999"}`, ErrRecord, []int{1}, "port", 0},
		{"bad severity", `{"template-id":"t","info":{"severity":"urgent"},"host":"www.example.vn"}`, ErrRecord, []int{1}, `info.severity "urgent"`, 0},
		{"two bad lines", "{\n" + good + "\n{}\n", ErrRecord, []int{1, 3}, "bad JSON", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := parseString(Nuclei, tc.in)
			checkContract(t, Nuclei, rs, err, Limits{})
			ps := problems(t, err)
			var lines []int
			for _, p := range ps {
				lines = append(lines, p.Line)
			}
			if !slices.Equal(lines, tc.lines) || !errors.Is(ps[0], tc.sentinel) || !strings.Contains(ps[0].Msg, tc.msg) {
				t.Errorf("problems %v (lines %v), want lines %v, %q, %v", err, lines, tc.lines, tc.msg, tc.sentinel)
			}
			if len(rs) != tc.results {
				t.Errorf("%d results, want %d", len(rs), tc.results)
			}
			if tc.name == "bad JSON on line 3" && !strings.Contains(err.Error(), "imports: line 3: ") {
				t.Errorf("error %q does not name line 3", err)
			}
		})
	}
}

func TestNucleiMapping(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		check    func(r Result) bool
	}{
		{"matcher-status false is skipped", `{"template-id":"t","host":"www.example.vn","matcher-status":false}`, nil},
		{"cve-id as a string", `{"template-id":"x","info":{"classification":{"cve-id":"CVE-2020-0001, cve-2020-0002"}},"host":"127.0.0.5"}`,
			func(r Result) bool {
				return slices.Equal(r.CVE, []string{"CVE-2020-0001", "CVE-2020-0002"}) && r.IP == "127.0.0.5"
			}},
		{"numeric port, IPv6 host", `{"template-id":"x","host":"[::ffff:127.0.0.6]","port":8443}`,
			func(r Result) bool { return r.Host == "127.0.0.6" && r.Port == 8443 && r.Proto == "tcp" }},
		{"dns over udp", `{"template-id":"x","type":"dns","host":"example.com","port":"53"}`,
			func(r Result) bool { return r.Port == 53 && r.Proto == "udp" }},
		{"host:port without port field", `{"template-id":"x","type":"tcp","host":"127.0.0.7:2222"}`,
			func(r Result) bool { return r.Host == "127.0.0.7" && r.Port == 2222 }},
		{"http default port", `{"template-id":"x","matched-at":"http://www.example.vn/admin"}`,
			func(r Result) bool {
				return r.Host == "www.example.vn" && r.Port == 80 && r.URL == "http://www.example.vn/admin"
			}},
		{"BOM on the first line", "\ufeff" + `{"template-id":"x","host":"www.example.vn"}`,
			func(r Result) bool { return r.Host == "www.example.vn" }},
		{"no timestamp: zero time", `{"template-id":"x","host":"www.example.vn"}`,
			func(r Result) bool { return r.Time.IsZero() }},
		{"timestamp to UTC, cut to the microsecond", `{"template-id":"x","host":"www.example.vn","timestamp":"2025-12-31T23:30:00.123456789-01:00"}`,
			func(r Result) bool {
				return r.Time.Equal(time.Date(2026, 1, 1, 0, 30, 0, 123456000, time.UTC)) && r.Time.Location() == time.UTC
			}},
		{"unreadable timestamp: zero time, no error", `{"template-id":"x","host":"www.example.vn","timestamp":"yesterday"}`,
			func(r Result) bool { return r.Time.IsZero() && r.Evidence["timestamp"] == "yesterday" }},
		{"timestamp before 2000: zero time", `{"template-id":"x","host":"www.example.vn","timestamp":"1970-01-01T00:00:00Z"}`,
			func(r Result) bool { return r.Time.IsZero() }},
		{"timestamp in the future: zero time", `{"template-id":"x","host":"www.example.vn","timestamp":"2999-01-01T00:00:00Z"}`,
			func(r Result) bool { return r.Time.IsZero() }},
		{"control characters dropped", `{"template-id":"x\u001b[2J","info":{"name":"a\nb"},"host":"www.example.vn"}`,
			func(r Result) bool { return r.RuleID == "x [2J" && r.Title == "a b" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := parseString(Nuclei, tc.in)
			checkContract(t, Nuclei, rs, err, Limits{})
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

// nuclei writes nothing when it finds nothing: an empty file is no error.
func TestNucleiEmpty(t *testing.T) {
	rs, err := parseString(Nuclei, "\n\n")
	if err != nil || len(rs) != 0 {
		t.Fatalf("%d results, %v", len(rs), err)
	}
}
