package imports

import (
	"bytes"
	"testing"
)

// Seeds are the testdata samples plus small edge cases; every run checks
// Parse's contract (checkContract), not only that it does not panic.

var fuzzLimits = Limits{MaxBytes: 1 << 20, MaxResults: 500}

func fuzzParse(t *testing.T, tool Tool, data []byte) {
	rs, err := Parse(tool, bytes.NewReader(data), fuzzLimits)
	checkContract(t, tool, rs, err, fuzzLimits)
}

func FuzzSARIF(f *testing.F) {
	f.Add(readTestdata(f, "dast.sarif"))
	f.Add(readTestdata(f, "code.sarif"))
	f.Add([]byte(`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x","rules":[{"id":"r","messageStrings":{"m":{"text":"{0}{1}"}}}]}},` +
		`"artifacts":[{"location":{"index":0}}],"originalUriBaseIds":{"A":{"uri":"b","uriBaseId":"A"}},` +
		`"results":[{"ruleIndex":0,"message":{"id":"m","arguments":["a"]},"locations":[{"physicalLocation":{"artifactLocation":{"index":0,"uriBaseId":"A"}}}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, SARIF, data) })
}

func FuzzNuclei(f *testing.F) {
	f.Add(readTestdata(f, "nuclei.jsonl"))
	f.Add([]byte(`{"template-id":"t","host":"[::1]:80","port":80,"info":{"classification":{"cve-id":"cve-2020-1"}}}`))
	f.Add([]byte("\ufeff{}\n[\n{\"template-id\":\"x\",\"matched-at\":\"http://u:p@a.example.com:0/\"}"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, Nuclei, data) })
}

func FuzzNmap(f *testing.F) {
	f.Add(readTestdata(f, "nmap.xml"))
	f.Add([]byte(`<!DOCTYPE nmaprun><nmaprun><host><address addr="::1" addrtype="ipv6"/><hostnames><hostname name="a" type="user"/></hostnames>` +
		`<hostscript><script id="vulners"><table key="c"><table><elem key="id">CVE-2020-0001</elem><elem key="type">cve</elem><elem key="cvss">NaN</elem></table></table></script></hostscript></host></nmaprun>`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, Nmap, data) })
}
