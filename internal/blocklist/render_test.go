package blocklist

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

var testNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func ind(kind intel.Kind, value string, tlp intel.TLP, conf int, cat intel.Category, ageDays int) intel.Indicator {
	seen := testNow.Add(-time.Duration(ageDays) * 24 * time.Hour)
	return intel.Indicator{Kind: kind, Value: value, TLP: tlp, Confidence: conf, Category: cat, FirstSeen: seen, LastSeen: seen}
}

func sample() []intel.Indicator {
	expired := ind(intel.KindIPv4, "203.0.113.7", intel.TLPClear, 90, intel.CategoryC2, 1)
	expired.ValidUntil = testNow.Add(-time.Hour)
	valid := ind(intel.KindIPv4, "203.0.113.9", intel.TLPClear, 90, intel.CategoryC2, 1)
	valid.ValidUntil = testNow.Add(time.Hour)
	return []intel.Indicator{
		ind(intel.KindIPv4, "198.51.100.7", intel.TLPClear, 90, intel.CategoryC2, 1),
		ind(intel.KindCIDR, "198.51.100.0/25", intel.TLPGreen, 80, intel.CategoryScanner, 2),
		ind(intel.KindIPv4, "192.0.2.1", intel.TLPAmber, 60, intel.CategoryMalware, 3),
		ind(intel.KindIPv6, "2001:db8::1", intel.TLPClear, 90, intel.CategoryC2, 1),
		ind(intel.KindCIDR, "2001:db8:ff::/48", intel.TLPClear, 70, intel.CategoryScanner, 1),
		ind(intel.KindDomain, "evil.example", intel.TLPClear, 95, intel.CategoryPhishing, 1),
		ind(intel.KindDomain, "bad.test", intel.TLPGreen, 40, intel.CategoryMalware, 5),
		ind(intel.KindURL, "http://evil.example/x", intel.TLPClear, 90, intel.CategoryPhishing, 1),
		ind(intel.KindSHA256, strings.Repeat("ab", 32), intel.TLPClear, 90, intel.CategoryMalware, 1),
		ind(intel.KindIPv4, "203.0.113.5", intel.TLPRed, 99, intel.CategoryC2, 1),
		ind(intel.KindIPv4, "203.0.113.6", intel.TLPAmberStrict, 99, intel.CategoryC2, 1),
		expired, valid,
		ind(intel.KindIPv4, "203.0.113.8", intel.TLPClear, 90, intel.CategoryC2, 60),
		ind(intel.KindIPv4, "10.0.0.1", intel.TLPClear, 90, intel.CategoryC2, 1), // held by the guard
	}
}

func render(t *testing.T, l *List, f Format, c *Consumer) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := l.Render(&b, f, c, testNow); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var everything = &Consumer{Name: "SOC of MOH", MaxTLP: intel.TLPAmberStrict}

func TestRenderFormats(t *testing.T) {
	l, review := Build(sample(), nil)
	if len(review) != 1 || review[0].Value != "10.0.0.1" {
		t.Fatalf("review %+v", review)
	}
	if l.Serial != uint32(testNow.Add(-24*time.Hour).Unix()) {
		t.Errorf("serial %d", l.Serial)
	}
	serial := strconv.FormatInt(testNow.Add(-24*time.Hour).Unix(), 10)
	hash := strings.Repeat("ab", 32)
	want := map[Format]string{
		FormatPlain: `192.0.2.1
198.51.100.0/25
198.51.100.7
203.0.113.6
203.0.113.8
203.0.113.9
2001:db8::1
2001:db8:ff::/48
bad.test
evil.example
http://evil.example/x
` + hash + "\n",
		FormatCSV: `value,kind,category,confidence,tlp,last_seen
192.0.2.1,ipv4,malware,60,AMBER,2026-11-28T12:00:00Z
198.51.100.0/25,cidr,scanner,80,GREEN,2026-11-29T12:00:00Z
198.51.100.7,ipv4,c2,90,CLEAR,2026-11-30T12:00:00Z
203.0.113.6,ipv4,c2,99,AMBER+STRICT,2026-11-30T12:00:00Z
203.0.113.8,ipv4,c2,90,CLEAR,2026-10-02T12:00:00Z
203.0.113.9,ipv4,c2,90,CLEAR,2026-11-30T12:00:00Z
2001:db8::1,ipv6,c2,90,CLEAR,2026-11-30T12:00:00Z
2001:db8:ff::/48,cidr,scanner,70,CLEAR,2026-11-30T12:00:00Z
bad.test,domain,malware,40,GREEN,2026-11-26T12:00:00Z
evil.example,domain,phishing,95,CLEAR,2026-11-30T12:00:00Z
http://evil.example/x,url,phishing,90,CLEAR,2026-11-30T12:00:00Z
` + hash + `,sha256,malware,90,CLEAR,2026-11-30T12:00:00Z
`,
		FormatNFT: `#!/usr/sbin/nft -f
# Rampart blocklist for SOC of MOH: 4 IPv4 and 2 IPv6 entries, serial ` + serial + `.
# Load with nft -f; match with: ip saddr @block4 drop, ip6 saddr @block6 drop (table inet rampart).
add table inet rampart
add set inet rampart block4 { type ipv4_addr; flags interval; }
flush set inet rampart block4
add element inet rampart block4 { 192.0.2.1, 198.51.100.0/25, 203.0.113.6, 203.0.113.8/31 }
add set inet rampart block6 { type ipv6_addr; flags interval; }
flush set inet rampart block6
add element inet rampart block6 { 2001:db8::1, 2001:db8:ff::/48 }
`,
		FormatIPSet: `create rampart4 hash:net family inet hashsize 1024 maxelem 65536 -exist
create rampart4-new hash:net family inet hashsize 1024 maxelem 65536 -exist
flush rampart4-new
add rampart4-new 192.0.2.1 -exist
add rampart4-new 198.51.100.0/25 -exist
add rampart4-new 203.0.113.6 -exist
add rampart4-new 203.0.113.8/31 -exist
swap rampart4-new rampart4
destroy rampart4-new
create rampart6 hash:net family inet6 hashsize 1024 maxelem 65536 -exist
create rampart6-new hash:net family inet6 hashsize 1024 maxelem 65536 -exist
flush rampart6-new
add rampart6-new 2001:db8::1 -exist
add rampart6-new 2001:db8:ff::/48 -exist
swap rampart6-new rampart6
destroy rampart6-new
`,
		FormatRPZ: `; Rampart blocklist for SOC of MOH: 4 IPv4 and 2 IPv6 entries, serial ` + serial + `.
$TTL 300
$ORIGIN rpz.rampart.
@ IN SOA localhost. hostmaster.localhost. ` + serial + ` 3600 600 604800 300
@ IN NS localhost.
bad.test CNAME .
*.bad.test CNAME .
evil.example CNAME .
*.evil.example CNAME .
32.1.2.0.192.rpz-ip CNAME .
25.0.100.51.198.rpz-ip CNAME .
32.6.113.0.203.rpz-ip CNAME .
31.8.113.0.203.rpz-ip CNAME .
128.1.zz.db8.2001.rpz-ip CNAME .
48.zz.ff.db8.2001.rpz-ip CNAME .
`,
	}
	for f, w := range want {
		if got := render(t, l, f, everything); got != w {
			t.Errorf("%s:\n%s\nwant\n%s", f, got, w)
		}
	}
	mt := render(t, l, FormatMikrotik, everything)
	for _, line := range []string{
		"/ip firewall address-list\n",
		":do { add list=rampart address=198.51.100.0/25 comment=rampart-",
		"} on-error={ set [find list=rampart address=198.51.100.0/25] comment=rampart-",
		"/ipv6 firewall address-list\n",
		"address=2001:db8::1/128 ",
		"remove [find list=rampart comment~\"^rampart-\" comment!=rampart-",
	} {
		if !strings.Contains(mt, line) {
			t.Errorf("mikrotik script lacks %q:\n%s", line, mt)
		}
	}
	if strings.Count(mt, ":do { add") != 6 || strings.Count(mt, "remove [find") != 2 {
		t.Errorf("mikrotik script:\n%s", mt)
	}
}

func TestRenderFilters(t *testing.T) {
	l, _ := Build(sample(), nil)
	cases := []struct {
		name string
		c    Consumer
		want string
	}{
		{"default ceiling is CLEAR", Consumer{Kinds: []intel.Kind{intel.KindIPv4}},
			"198.51.100.7 203.0.113.8 203.0.113.9"},
		{"RED never, even asked", Consumer{MaxTLP: intel.TLPRed, Kinds: []intel.Kind{intel.KindIPv4}},
			"192.0.2.1 198.51.100.7 203.0.113.6 203.0.113.8 203.0.113.9"},
		{"GREEN ceiling", Consumer{MaxTLP: intel.TLPGreen, Kinds: []intel.Kind{intel.KindCIDR, intel.KindDomain}},
			"198.51.100.0/25 2001:db8:ff::/48 bad.test evil.example"},
		{"min confidence", Consumer{MaxTLP: intel.TLPAmber, MinConfidence: 85},
			"198.51.100.7 203.0.113.8 203.0.113.9 2001:db8::1 evil.example http://evil.example/x " + strings.Repeat("ab", 32)},
		{"max age", Consumer{MaxTLP: intel.TLPGreen, MaxAge: 48 * time.Hour, Kinds: []intel.Kind{intel.KindIPv4, intel.KindCIDR, intel.KindDomain}},
			"198.51.100.0/25 198.51.100.7 203.0.113.9 2001:db8:ff::/48 evil.example"},
		{"categories", Consumer{MaxTLP: intel.TLPAmber, Categories: []intel.Category{intel.CategoryPhishing}},
			"evil.example http://evil.example/x"},
	}
	for _, c := range cases {
		got := strings.Join(strings.Fields(render(t, l, FormatPlain, &c.c)), " ")
		if got != c.want {
			t.Errorf("%s: %s\nwant %s", c.name, got, c.want)
		}
	}
	// The address formats hold no names whatever the kinds asked.
	if got := render(t, l, FormatNFT, &Consumer{Kinds: []intel.Kind{intel.KindDomain}}); strings.Contains(got, "evil") || strings.Contains(got, "add element") {
		t.Errorf("nft with only domains:\n%s", got)
	}
	if _, err := l.Render(&bytes.Buffer{}, FormatNFT, &Consumer{SetName: "x; flush ruleset"}, testNow); err == nil {
		t.Error("a set name that injects nft commands was accepted")
	}
	if _, err := l.Render(&bytes.Buffer{}, FormatRPZ, &Consumer{Zone: "a b."}, testNow); err == nil {
		t.Error("a bad zone was accepted")
	}
	if _, err := l.Render(&bytes.Buffer{}, Format("xml"), everything, testNow); err == nil {
		t.Error("unknown format accepted")
	}
}

// Two builds of the same indicators in any order render the same bytes.
func TestRenderDeterministic(t *testing.T) {
	a, _ := Build(sample(), nil)
	for i := range 20 {
		s := sample()
		rand.New(rand.NewPCG(uint64(i), 9)).Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		s = append(s, s[0], s[3]) // and duplicates
		b, _ := Build(s, nil)
		for _, f := range Formats {
			if x, y := render(t, a, f, everything), render(t, b, f, everything); x != y {
				t.Fatalf("shuffle %d, %s differs:\n%s\n---\n%s", i, f, x, y)
			}
		}
	}
}

// The nftables file loads: nft checks it (-c: no change) inside a new
// user and network namespace, never against the host's ruleset. A file
// with overlapping intervals, as it would be without merging, is refused
// by the same check, so the check is real.
func TestNFTLoads(t *testing.T) {
	nft, err := exec.LookPath("nft")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("nft is not installed on CI (apt-get install nftables)")
		}
		t.Skip("nft is not installed")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatal("unshare is missing")
	}
	ins := sample()
	// Overlaps and adjacency the merge must resolve.
	ins = append(ins,
		ind(intel.KindCIDR, "198.51.100.0/24", intel.TLPClear, 90, intel.CategoryC2, 1),
		ind(intel.KindCIDR, "198.51.101.0/24", intel.TLPClear, 90, intel.CategoryC2, 1),
		ind(intel.KindIPv4, "198.51.101.77", intel.TLPClear, 90, intel.CategoryC2, 1),
		ind(intel.KindCIDR, "2001:db8::/64", intel.TLPClear, 90, intel.CategoryC2, 1),
	)
	l, _ := Build(ins, nil)
	dir := t.TempDir()
	check := func(body string) (string, error) {
		f := filepath.Join(dir, "list.nft")
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(unshare, "-rn", nft, "-c", "-f", f).CombinedOutput()
		return string(out), err
	}
	body := render(t, l, FormatNFT, everything)
	if !strings.Contains(body, "198.51.100.0/23") {
		t.Errorf("merge missing:\n%s", body)
	}
	if out, err := check(body); err != nil {
		t.Fatalf("nft -c refused the rendered file: %v\n%s\n%s", err, out, body)
	}
	bad := strings.Replace(body, "198.51.100.0/23", "198.51.100.0/23, 198.51.101.77", 1)
	if out, err := check(bad); err == nil {
		t.Fatalf("nft -c accepted overlapping intervals; the check proves nothing\n%s", out)
	}
	// An empty list loads too (no "add element" with nothing in it).
	empty, _ := Build(nil, nil)
	if out, err := check(render(t, empty, FormatNFT, everything)); err != nil {
		t.Fatalf("empty list: %v\n%s", err, out)
	}
}

// The ipset file restores into a fresh network namespace (a throwaway
// one: ipset has no check mode), and the sets hold the merged entries.
func TestIPSetLoads(t *testing.T) {
	ipset, err := exec.LookPath("ipset")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ipset is not installed on CI (apt-get install ipset)")
		}
		t.Skip("ipset is not installed")
	}
	l, _ := Build(sample(), nil)
	f := filepath.Join(t.TempDir(), "list.ipset")
	body := render(t, l, FormatIPSet, everything)
	// Twice: the second load swaps over the sets of the first.
	if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	script := ipset + " restore -exist < " + f + " && " + ipset + " restore -exist < " + f + " && " + ipset + " list -o save"
	out, err := exec.Command("unshare", "-rn", "sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("ipset restore: %v\n%s\n%s", err, out, body)
	}
	for _, want := range []string{"add rampart4 198.51.100.0/25", "add rampart4 203.0.113.8/31", "add rampart6 2001:db8:ff::/48"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("ipset list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "rampart4-new") {
		t.Errorf("temporary set left behind:\n%s", out)
	}
}
