package imports

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNmapSample(t *testing.T) {
	rs, err := Parse(Nmap, bytes.NewReader(readTestdata(t, "nmap.xml")), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	checkContract(t, Nmap, rs, err, Limits{})
	type want struct {
		line      int
		host, ip  string
		port      int
		rule, sev string
		obs       bool
		cve       []string
	}
	wants := []want{
		{24, "www.example.vn", "127.0.0.10", 22, "open-port", "info", true, nil},
		{25, "www.example.vn", "127.0.0.10", 80, "open-port", "info", true, nil},
		{25, "www.example.vn", "127.0.0.10", 80, "http-title", "info", false, nil},
		{27, "www.example.vn", "127.0.0.10", 443, "open-port", "info", true, nil},
		{27, "www.example.vn", "127.0.0.10", 443, "ssl-enum-ciphers", "info", false, nil},
		{27, "www.example.vn", "127.0.0.10", 443, "vulners", "critical", false, []string{"CVE-2021-42013", "CVE-2021-41773", "CVE-2021-44790"}},
		// port 8080 is closed: nothing.
		{105, "127.0.0.11", "127.0.0.11", 139, "open-port", "info", true, nil},
		{106, "127.0.0.11", "127.0.0.11", 445, "open-port", "info", true, nil},
		{109, "127.0.0.11", "127.0.0.11", 0, "smb-vuln-ms17-010", "high", false, []string{"CVE-2017-0143"}},
		{131, "127.0.0.11", "127.0.0.11", 0, "smb2-time", "info", false, nil},
	}
	if len(rs) != len(wants) {
		t.Fatalf("%d results, want %d", len(rs), len(wants))
	}
	for i, w := range wants {
		r := rs[i]
		got := want{r.Line, r.Host, r.IP, r.Port, r.RuleID, string(r.Severity), r.Observation, r.CVE}
		if got.line != w.line || got.host != w.host || got.ip != w.ip || got.port != w.port || got.rule != w.rule ||
			got.sev != w.sev || got.obs != w.obs || !slices.Equal(got.cve, w.cve) {
			t.Errorf("result %d:\n got %+v\nwant %+v", i, got, w)
		}
		if r.ToolName != "nmap" || (r.Port != 0) != (r.Proto == "tcp") {
			t.Errorf("result %d: tool name %q proto %q", i, r.ToolName, r.Proto)
		}
	}
	// Every result of a host has the host's endtime.
	for i, r := range rs {
		want := time.Unix(1772529230, 0).UTC()
		if r.Host == "127.0.0.11" {
			want = time.Unix(1772529241, 0).UTC()
		}
		if !r.Time.Equal(want) || r.Time.Location() != time.UTC {
			t.Errorf("result %d (%s): time %v, want %v", i, r.RuleID, r.Time, want)
		}
	}
	if r := rs[3]; r.Service != "http" || r.Product != "Apache httpd" || r.Version != "2.4.49" || r.CPE != "cpe:/a:apache:http_server:2.4.49" ||
		r.Evidence["tunnel"] != "ssl" || r.Evidence["ptr"] != "web01.example.vn" || r.Title != "Open port 443/tcp (http)" {
		t.Errorf("443 observation: %+v", r)
	}
	if r := rs[4]; r.Evidence["least-strength"] != "C" || !strings.Contains(r.Evidence["output"], "SWEET32") {
		t.Errorf("ssl-enum-ciphers: %q", r.Evidence)
	}
	if r := rs[5]; r.Evidence["max-cvss"] != "9.8" || !strings.Contains(r.Description, "not tested") {
		t.Errorf("vulners: %+v", r)
	}
	if r := rs[8]; r.Title != "Remote Code Execution vulnerability in Microsoft SMBv1 servers (ms17-010)" || len(r.References) != 2 ||
		r.Evidence["disclosure"] != "2017-03-14" || !strings.HasPrefix(r.Description, "A critical remote code execution") {
		t.Errorf("ms17-010: %+v", r)
	}
}

func TestNmapMalformed(t *testing.T) {
	sample := string(readTestdata(t, "nmap.xml"))
	for _, tc := range []struct {
		name, in string
		sentinel error
		line     int
		msg      string
		results  int
	}{
		{"empty", "", ErrFormat, 1, "no <nmaprun>", 0},
		{"truncated", sample[:strings.Index(sample, "<hostscript>")], ErrFormat, 109, "truncated", 0},
		{"no closing root", strings.TrimSuffix(strings.TrimSpace(sample), "</nmaprun>"), ErrFormat, 137, "truncated", 0},
		{"xxe", `<?xml version="1.0"?>
<!DOCTYPE nmaprun [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<nmaprun>&xxe;</nmaprun>`, ErrFormat, 2, "refusing <!DOCTYPE nmaprun [", 0},
		{"other doctype", "<!DOCTYPE html>\n<nmaprun/>", ErrFormat, 1, "refusing <!DOCTYPE html>", 0},
		{"two doctypes", "<!DOCTYPE nmaprun>\n<!DOCTYPE nmaprun>\n<nmaprun/>", ErrFormat, 2, "refusing", 0},
		{"doctype inside", "<!DOCTYPE nmaprun>\n<nmaprun>\n<!ENTITY x 'y'>\n</nmaprun>", ErrFormat, 3, "refusing XML directive", 0},
		{"undefined entity", "<nmaprun>\n<host>&boom;</host></nmaprun>", ErrFormat, 2, "bad XML", 0},
		{"wrong root", `<?xml version="1.0"?><html></html>`, ErrFormat, 1, "root element <html>", 0},
		{"not XML", "{\"template-id\":1}", ErrFormat, 1, "text before the root element", 0},
		{"latin-1", `<?xml version="1.0" encoding="ISO-8859-1"?><nmaprun/>`, ErrFormat, 1, "bad XML", 0},
		{"content after root", "<nmaprun></nmaprun>\n<nmaprun></nmaprun>", ErrFormat, 2, "content after </nmaprun>", 0},
		{"host without address", "<nmaprun>\n<host><status state=\"up\"/></host>\n</nmaprun>", ErrRecord, 2, "no ipv4 or ipv6 address", 0},
		{"bad address", `<nmaprun><host><address addr="999.1.1.1" addrtype="ipv4"/></host></nmaprun>`, ErrRecord, 1, "is not an IP address", 0},
		{"bad port", "<nmaprun><host><address addr=\"127.0.0.1\" addrtype=\"ipv4\"/><ports>\n<port protocol=\"tcp\" portid=\"0\"><state state=\"open\"/></port></ports></host></nmaprun>", ErrRecord, 2, "port \"0\"", 0},
		{"script without id", "<nmaprun><host><address addr=\"127.0.0.1\" addrtype=\"ipv4\"/><hostscript>\n<script output=\"x\"/></hostscript></host></nmaprun>", ErrRecord, 2, "no id", 0},
		{"nmap failed", "<nmaprun><host><address addr=\"127.0.0.1\" addrtype=\"ipv4\"/><ports><port protocol=\"tcp\" portid=\"22\"><state state=\"open\"/></port></ports></host>\n<runstats><finished exit=\"error\" errormsg=\"Interrupted\"/></runstats></nmaprun>", ErrRecord, 2, "nmap reports the scan failed (Interrupted)", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := parseString(Nmap, tc.in)
			checkContract(t, Nmap, rs, err, Limits{})
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

func TestNmapMapping(t *testing.T) {
	host := func(inner string) string {
		return `<nmaprun scanner="nmap"><host><status state="up"/><address addr="127.0.0.9" addrtype="ipv4"/><address addr="00:11:22:33:44:55" addrtype="mac"/>` + inner + `</host></nmaprun>`
	}
	vulnTable := func(state string) string {
		return `<table key="CVE-2014-0160"><elem key="title">The Heartbleed Bug</elem><elem key="state">` + state + `</elem>` +
			`<table key="ids"><elem>CVE:CVE-2014-0160</elem></table></table>`
	}
	for _, tc := range []struct {
		name, in string
		check    func(rs []Result) bool
	}{
		{"down host", `<nmaprun><host><status state="down"/><address addr="127.0.0.9" addrtype="ipv4"/></host></nmaprun>`,
			func(rs []Result) bool { return len(rs) == 0 }},
		{"ipv6 only", `<nmaprun><host><address addr="::ffff:127.0.0.8" addrtype="ipv6"/><ports><port protocol="udp" portid="161"><state state="open"/><service name="snmp"/></port></ports></host></nmaprun>`,
			func(rs []Result) bool {
				return len(rs) == 1 && rs[0].Host == "127.0.0.8" && rs[0].Proto == "udp" && rs[0].Port == 161 && rs[0].Title == "Open port 161/udp (snmp)"
			}},
		{"open|filtered is not open", host(`<ports><port protocol="udp" portid="53"><state state="open|filtered"/></port></ports>`),
			func(rs []Result) bool { return len(rs) == 0 }},
		{"ip protocol scan ignored", host(`<ports><port protocol="ip" portid="6"><state state="open"/></port></ports>`),
			func(rs []Result) bool { return len(rs) == 0 }},
		{"user hostname wins over PTR", host(`<hostnames><hostname name="evil.example.com" type="PTR"/><hostname name="App.Example.VN" type="user"/></hostnames><ports><port protocol="tcp" portid="80"><state state="open"/></port></ports>`),
			func(rs []Result) bool {
				return len(rs) == 1 && rs[0].Host == "app.example.vn" && rs[0].IP == "127.0.0.9"
			}},
		{"vulnerable", host(`<ports><port protocol="tcp" portid="443"><state state="open"/><script id="ssl-heartbleed" output="x">` + vulnTable("VULNERABLE") + `</script></port></ports>`),
			func(rs []Result) bool {
				return len(rs) == 2 && rs[1].Severity == "high" && rs[1].Title == "The Heartbleed Bug" && slices.Equal(rs[1].CVE, []string{"CVE-2014-0160"})
			}},
		{"likely vulnerable", host(`<hostscript><script id="ssl-heartbleed" output="x">` + vulnTable("LIKELY VULNERABLE") + `</script></hostscript>`),
			func(rs []Result) bool { return len(rs) == 1 && rs[0].Severity == "medium" && rs[0].Port == 0 }},
		{"not vulnerable", host(`<hostscript><script id="ssl-heartbleed" output="x">` + vulnTable("NOT VULNERABLE") + `</script></hostscript>`),
			func(rs []Result) bool {
				return len(rs) == 1 && rs[0].Severity == "info" && rs[0].CVE == nil && rs[0].Title == "Nmap script ssl-heartbleed"
			}},
		{"script output capped", host(`<hostscript><script id="banner" output="` + strings.Repeat("A", 10000) + `"/></hostscript>`),
			func(rs []Result) bool { return len(rs) == 1 && len(rs[0].Evidence["output"]) == MaxEvidenceBytes }},
		{"no times: zero time", host(`<ports><port protocol="tcp" portid="80"><state state="open"/><script id="http-title" output="x"/></port></ports><hostscript><script id="smb2-time" output="x"/></hostscript>`),
			func(rs []Result) bool {
				return len(rs) == 3 && rs[0].Time.IsZero() && rs[1].Time.IsZero() && rs[2].Time.IsZero()
			}},
		{"host times", `<nmaprun start="1772529160">` +
			`<host starttime="1772529161" endtime="1772529230"><address addr="127.0.0.1" addrtype="ipv4"/><hostscript><script id="a" output="x"/></hostscript></host>` +
			`<host starttime="1772529162"><address addr="127.0.0.2" addrtype="ipv4"/><hostscript><script id="a" output="x"/></hostscript></host>` +
			`<host starttime="1772529163" endtime="later"><address addr="127.0.0.3" addrtype="ipv4"/><hostscript><script id="a" output="x"/></hostscript></host>` +
			`<host><address addr="127.0.0.4" addrtype="ipv4"/><hostscript><script id="a" output="x"/></hostscript></host>` +
			`<host endtime="99999999999"><address addr="127.0.0.5" addrtype="ipv4"/><hostscript><script id="a" output="x"/></hostscript></host>` +
			`</nmaprun>`,
			func(rs []Result) bool {
				want := []int64{1772529230, 1772529162, 1772529163, 1772529160, 1772529160} // endtime, starttime, starttime (endtime unreadable), run start, run start (endtime absurd)
				if len(rs) != len(want) {
					return false
				}
				for i, w := range want {
					if !rs[i].Time.Equal(time.Unix(w, 0)) || rs[i].Time.Location() != time.UTC {
						return false
					}
				}
				return true
			}},
		{"absurd run start: zero time", `<nmaprun start="-5"><host><address addr="127.0.0.1" addrtype="ipv4"/><hostscript><script id="a" output="x"/></hostscript></host></nmaprun>`,
			func(rs []Result) bool { return len(rs) == 1 && rs[0].Time.IsZero() }},
		{"masscan", `<nmaprun scanner="masscan"><host><address addr="127.0.0.4" addrtype="ipv4"/><ports><port protocol="tcp" portid="80"><state state="open"/></port></ports></host></nmaprun>`,
			func(rs []Result) bool { return len(rs) == 1 && rs[0].ToolName == "masscan" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := parseString(Nmap, tc.in)
			checkContract(t, Nmap, rs, err, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(rs) {
				t.Fatalf("got %+v", rs)
			}
		})
	}
}
