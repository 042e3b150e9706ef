// Package synth writes large synthetic feeds for the hub's benchmarks (its
// Go benchmarks and bench/intel-import): a STIX 2.1 bundle, a URLhaus-style
// CSV and a Shadowserver scan report of any number of rows, streamed so
// that a million rows never sit in memory. The same arguments give the
// same bytes.
package synth

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
)

// value is the i-th indicator of a mixed blocklist: a third each of IPv4
// addresses (in 10.0.0.0/8), domain names and URLs.
func value(i int) (kind, v string) {
	switch i % 3 {
	case 0:
		return "ipv4", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
	case 1:
		return "domain", "host-" + strconv.Itoa(i) + ".bad-" + strconv.Itoa(i%977) + ".example"
	}
	return "url", "http://bad-" + strconv.Itoa(i%977) + ".example/payload/" + strconv.Itoa(i) + ".exe"
}

// STIX writes a bundle of n indicators, each with one value of value(i),
// a TLP marking, a confidence and a label, and a malware object some
// indicate.
func STIX(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprint(bw, `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[`)
	fmt.Fprint(bw, `{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Emotet","is_family":true}`)
	for i := range n {
		kind, v := value(i)
		var pattern string
		switch kind {
		case "ipv4":
			pattern = "[ipv4-addr:value = '" + v + "']"
		case "domain":
			pattern = "[domain-name:value = '" + v + "']"
		default:
			pattern = "[url:value = '" + v + "']"
		}
		fmt.Fprintf(bw, `,{"type":"indicator","spec_version":"2.1","id":"indicator--%08x-0000-4000-8000-%012x","created":"2026-11-01T00:00:00.000Z","modified":"2026-11-02T00:00:00.000Z","name":"bad %d","indicator_types":["malicious-activity"],"pattern":"%s","pattern_type":"stix","valid_from":"2026-11-01T00:00:00Z","confidence":%d,"labels":["botnet"],"object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}`,
			i, i, i, pattern, 50+i%50)
		if i%10 == 0 {
			fmt.Fprintf(bw, `,{"type":"relationship","spec_version":"2.1","id":"relationship--%08x-0000-4000-8000-000000000000","created":"2026-11-01T00:00:00.000Z","modified":"2026-11-01T00:00:00.000Z","relationship_type":"indicates","source_ref":"indicator--%08x-0000-4000-8000-%012x","target_ref":"malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc"}`,
				i, i, i)
		}
	}
	fmt.Fprint(bw, "]}\n")
	return bw.Flush()
}

// CSV writes n rows in the layout of URLhaus's csv_recent dump (the
// urlhaus preset): values of value(i) in the url column.
func CSV(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprint(bw, "################################################################\n# abuse.ch URLhaus Database Dump (CSV - recent URLs only)      #\n################################################################\n#\n")
	fmt.Fprint(bw, "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n")
	for i := range n {
		_, v := value(i)
		if i%3 == 0 {
			v = "http://" + v + "/bin.sh"
		} else if i%3 == 1 {
			v = "http://" + v + "/"
		}
		fmt.Fprintf(bw, "\"%d\",\"2026-11-01 %02d:%02d:%02d\",\"%s\",\"online\",\"2026-11-02 00:00:00\",\"malware_download\",\"elf,mirai\",\"https://urlhaus.abuse.ch/url/%d/\",\"geenensp\"\n",
			3000000+i, i/3600%24, i/60%60, i%60, v, 3000000+i)
	}
	return bw.Flush()
}

// Shadowserver writes a scan_snmp report of n rows about consecutive
// addresses from first: an open SNMP service on each.
func Shadowserver(w io.Writer, first netip.Addr, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprint(bw, `"timestamp","ip","protocol","port","hostname","sysdesc","sysname","asn","geo","region","city","version","naics","sic","sector","device_vendor","device_type","device_model","device_version","device_sector","tag","community","response_size","amplification"`+"\n")
	a := first
	for i := range n {
		fmt.Fprintf(bw, "\"2026-12-01 %02d:%02d:%02d\",%s,udp,161,,\"Linux router 4.14.0 #1 SMP\",,64512,VN,\"HA NOI\",\"HANOI\",2,0,0,,MikroTik,router,,,,snmp,public,%d,%.2f\n",
			i/3600%24, i/60%60, i%60, a, 100+i%200, 1+float64(i%300)/100)
		a = a.Next()
	}
	return bw.Flush()
}
