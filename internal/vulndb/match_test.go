package vulndb

import (
	"slices"
	"testing"
	"time"
)

func mustCPE(t *testing.T, s string) CPE {
	t.Helper()
	c, err := ParseCPE(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCPEMatchVersions(t *testing.T) {
	tests := []struct {
		name   string
		m      CPEMatch
		target string
		want   bool
	}{
		{"exact", CPEMatch{Criteria: "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"}, "cpe:2.3:a:apache:http_server:2.4.49", true},
		{"exact other", CPEMatch{Criteria: "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"}, "cpe:2.3:a:apache:http_server:2.4.51", false},
		{"exact zero pad", CPEMatch{Criteria: "cpe:2.3:a:x:y:1.20:*:*:*:*:*:*:*"}, "cpe:2.3:a:x:y:1.20.0", true},
		{"other product", CPEMatch{Criteria: "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"}, "cpe:2.3:a:apache:tomcat:2.4.49", false},
		{"other part", CPEMatch{Criteria: "cpe:2.3:o:x:y:1:*:*:*:*:*:*:*"}, "cpe:2.3:a:x:y:1", false},
		{"unknown version vs exact", CPEMatch{Criteria: "cpe:2.3:a:x:y:1.0:*:*:*:*:*:*:*"}, "cpe:2.3:a:x:y:*", false},
		{"unknown version vs range", CPEMatch{Criteria: "cpe:2.3:a:x:y:*:*:*:*:*:*:*:*", VersionEndExcluding: "2.0"}, "cpe:2.3:a:x:y", false},
		{"all versions", CPEMatch{Criteria: "cpe:2.3:a:x:y:*:*:*:*:*:*:*:*"}, "cpe:2.3:a:x:y", true},
		{"range in", CPEMatch{Criteria: "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*", VersionStartIncluding: "1.0.1", VersionEndExcluding: "1.0.1g"}, "cpe:2.3:a:openssl:openssl:1.0.1f", true},
		{"range start", CPEMatch{Criteria: "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*", VersionStartIncluding: "1.0.1", VersionEndExcluding: "1.0.1g"}, "cpe:2.3:a:openssl:openssl:1.0.1", true},
		{"range end excluded", CPEMatch{Criteria: "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*", VersionStartIncluding: "1.0.1", VersionEndExcluding: "1.0.1g"}, "cpe:2.3:a:openssl:openssl:1.0.1g", false},
		{"range below", CPEMatch{Criteria: "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*", VersionStartIncluding: "1.0.1", VersionEndExcluding: "1.0.1g"}, "cpe:2.3:a:openssl:openssl:1.0.0t", false},
		{"start excluded", CPEMatch{Criteria: "cpe:2.3:a:x:y:*:*:*:*:*:*:*:*", VersionStartExcluding: "1.0"}, "cpe:2.3:a:x:y:1.0", false},
		{"end included", CPEMatch{Criteria: "cpe:2.3:a:x:y:*:*:*:*:*:*:*:*", VersionEndIncluding: "2.4.55"}, "cpe:2.3:a:x:y:2.4.55", true},
		{"pre-release below end", CPEMatch{Criteria: "cpe:2.3:a:x:y:*:*:*:*:*:*:*:*", VersionEndExcluding: "2.0"}, "cpe:2.3:a:x:y:2.0-rc1", true},
		// OpenSSH: fingerprints say 7.4p1, NVD may say 7.4 + update p1.
		{"ssh range suffix", CPEMatch{Criteria: "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*", VersionEndIncluding: "7.7"}, "cpe:2.3:a:openbsd:openssh:7.4p1", true},
		{"ssh range fixed", CPEMatch{Criteria: "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*", VersionStartIncluding: "8.6", VersionEndExcluding: "9.8"}, "cpe:2.3:a:openbsd:openssh:9.8p1", false},
		{"ssh update exact", CPEMatch{Criteria: "cpe:2.3:a:openbsd:openssh:8.5:p1:*:*:*:*:*:*"}, "cpe:2.3:a:openbsd:openssh:8.5p1", true},
		{"ssh update exact split", CPEMatch{Criteria: "cpe:2.3:a:openbsd:openssh:8.5:p1:*:*:*:*:*:*"}, "cpe:2.3:a:openbsd:openssh:8.5:p1", true},
		{"ssh update other", CPEMatch{Criteria: "cpe:2.3:a:openbsd:openssh:8.5:p1:*:*:*:*:*:*"}, "cpe:2.3:a:openbsd:openssh:8.5p2", false},
		{"ssh update NA", CPEMatch{Criteria: "cpe:2.3:a:openbsd:openssh:4.4:-:*:*:*:*:*:*"}, "cpe:2.3:a:openbsd:openssh:4.4p1", false},
		{"ssh update NA bare", CPEMatch{Criteria: "cpe:2.3:a:openbsd:openssh:4.4:-:*:*:*:*:*:*"}, "cpe:2.3:a:openbsd:openssh:4.4", true},
		{"ssh any update", CPEMatch{Criteria: "cpe:2.3:a:openbsd:openssh:7.4:*:*:*:*:*:*:*"}, "cpe:2.3:a:openbsd:openssh:7.4p1", true},
		{"openssl letter is version", CPEMatch{Criteria: "cpe:2.3:a:openssl:openssl:1.0.1:*:*:*:*:*:*:*"}, "cpe:2.3:a:openssl:openssl:1.0.1f", false},
		{"rc as update", CPEMatch{Criteria: "cpe:2.3:a:x:y:1.0:rc1:*:*:*:*:*:*"}, "cpe:2.3:a:x:y:1.0-rc1", true},
		{"ssh any update joined", CPEMatch{Criteria: "cpe:2.3:a:openbsd:openssh:7.4:*:*:*:*:*:*:*"}, "cpe:2.3:a:openbsd:openssh:7.4:p1", true},
		{"range with update", CPEMatch{Criteria: "cpe:2.3:a:openbsd:openssh:*:p2:*:*:*:*:*:*", VersionEndIncluding: "7.2"}, "cpe:2.3:a:openbsd:openssh:7.2p2", true},
		{"range with update split", CPEMatch{Criteria: "cpe:2.3:a:openbsd:openssh:*:p2:*:*:*:*:*:*", VersionEndIncluding: "7.2"}, "cpe:2.3:a:openbsd:openssh:7.1:p2", true},
		{"range with other update", CPEMatch{Criteria: "cpe:2.3:a:openbsd:openssh:*:p2:*:*:*:*:*:*", VersionEndIncluding: "7.2"}, "cpe:2.3:a:openbsd:openssh:7.2p1", false},
		{"range with update over", CPEMatch{Criteria: "cpe:2.3:a:openbsd:openssh:*:p2:*:*:*:*:*:*", VersionEndIncluding: "7.2"}, "cpe:2.3:a:openbsd:openssh:7.3p2", false},
		// Other attributes.
		{"edition unknown", CPEMatch{Criteria: "cpe:2.3:a:citrix:adc:*:*:*:*:fips:*:*:*", VersionEndExcluding: "13.0"}, "cpe:2.3:a:citrix:adc:12.1", true},
		{"edition differs", CPEMatch{Criteria: "cpe:2.3:a:citrix:adc:*:*:*:*:fips:*:*:*", VersionEndExcluding: "13.0"}, "cpe:2.3:a:citrix:adc:12.1:*:*:*:ndcpp", false},
		{"version wildcard", CPEMatch{Criteria: "cpe:2.3:a:x:y:2.4.*:*:*:*:*:*:*:*"}, "cpe:2.3:a:x:y:2.4.7", true},
		{"version wildcard miss", CPEMatch{Criteria: "cpe:2.3:a:x:y:2.4.*:*:*:*:*:*:*:*"}, "cpe:2.3:a:x:y:2.5.0", false},
		{"NA version", CPEMatch{Criteria: "cpe:2.3:a:redis:redis:-:*:*:*:*:*:*:*"}, "cpe:2.3:a:redis:redis:6.0.16", false},
		{"escaped version", CPEMatch{Criteria: `cpe:2.3:o:ricon:s9922l_firmware:16.10.3\(3794\):*:*:*:*:*:*:*`}, `cpe:2.3:o:ricon:s9922l_firmware:16.10.3\(3794\)`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := Node{Match: []CPEMatch{tt.m}}
			if err := n.compile(); err != nil {
				t.Fatal(err)
			}
			target := mustCPE(t, tt.target)
			if got := n.Match[0].matchCPE(&target); got != tt.want {
				t.Errorf("%s against %s (%s) = %v, want %v", tt.target, tt.m.Criteria, tt.m.Range(), got, tt.want)
			}
		})
	}
}

func TestNodeEval(t *testing.T) {
	app := func(vuln bool) CPEMatch {
		return CPEMatch{Vulnerable: vuln, Criteria: "cpe:2.3:a:acme:web:*:*:*:*:*:*:*:*", VersionEndExcluding: "2.0"}
	}
	os := CPEMatch{Vulnerable: false, Criteria: "cpe:2.3:o:acme:os:1.0:*:*:*:*:*:*:*"}
	otherApp := CPEMatch{Vulnerable: true, Criteria: "cpe:2.3:a:acme:plugin:*:*:*:*:*:*:*:*"}
	exact15 := CPEMatch{Vulnerable: true, Criteria: "cpe:2.3:a:acme:web:1.5:*:*:*:*:*:*:*"}
	tests := []struct {
		name string
		cfg  Node
		want bool
	}{
		{"or", Node{Children: []Node{{Match: []CPEMatch{otherApp, app(true)}}}}, true},
		{"or none", Node{Children: []Node{{Match: []CPEMatch{otherApp}}}}, false},
		{"not vulnerable itself", Node{Children: []Node{{Match: []CPEMatch{app(false)}}}}, false},
		{"app on os", Node{Operator: "AND", Children: []Node{{Match: []CPEMatch{app(true)}}, {Match: []CPEMatch{os}}}}, true},
		{"os only", Node{Operator: "AND", Children: []Node{{Match: []CPEMatch{os}}}}, false},
		{"needs another app", Node{Operator: "AND", Children: []Node{{Match: []CPEMatch{app(true)}}, {Match: []CPEMatch{otherApp}}}}, false},
		{"and not exact", Node{Operator: "AND", Children: []Node{{Match: []CPEMatch{app(true)}}, {Negate: true, Match: []CPEMatch{exact15}}}}, false},
		{"and not other", Node{Operator: "AND", Children: []Node{{Match: []CPEMatch{app(true)}}, {Negate: true, Match: []CPEMatch{otherApp}}}}, true},
		{"negated platform stays unknown", Node{Operator: "AND", Children: []Node{{Match: []CPEMatch{app(true)}}, {Negate: true, Match: []CPEMatch{os}}}}, true},
		{"negated config", Node{Negate: true, Children: []Node{{Match: []CPEMatch{app(true)}}}}, false},
		{"and within node", Node{Children: []Node{{Operator: "AND", Match: []CPEMatch{app(true), os}}}}, true},
		{"and within node fails", Node{Children: []Node{{Operator: "AND", Match: []CPEMatch{app(true), otherApp}}}}, false},
		{"nested", Node{Children: []Node{{Operator: "AND", Children: []Node{{Match: []CPEMatch{app(true)}}, {Match: []CPEMatch{os}}}}}}, true},
	}
	target := mustCPE(t, "cpe:2.3:a:acme:web:1.5")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &CVE{ID: "CVE-2099-0001", Configurations: []Node{tt.cfg}}
			if err := c.compile(); err != nil {
				t.Fatal(err)
			}
			if got := c.match(&target) != nil; got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDBReplaceAndMatchProduct(t *testing.T) {
	db := NewDB()
	old := &CVE{ID: "CVE-2099-0002", Modified: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		Configurations: []Node{{Children: []Node{{Match: []CPEMatch{{Vulnerable: true, Criteria: "cpe:2.3:a:acme:web:*:*:*:*:*:*:*:*", VersionEndExcluding: "2.0"}}}}}}}
	newer := &CVE{ID: "CVE-2099-0002", Modified: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC),
		Configurations: []Node{{Children: []Node{{Match: []CPEMatch{{Vulnerable: true, Criteria: "cpe:2.3:a:acme:web:*:*:*:*:*:*:*:*", VersionEndExcluding: "1.5"}}}}}}}
	for _, c := range []*CVE{old, newer, old} {
		if err := db.AddCVE(c); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := db.CVE("CVE-2099-0002"); got != newer {
		t.Fatalf("the newer record did not win")
	}
	if hits := db.Match("cpe:2.3:a:acme:web:1.6"); len(hits) != 0 {
		t.Errorf("1.6 matched the replaced range: %v", hitIDs(hits))
	}
	if hits := db.Match("cpe:2.3:a:acme:web:1.4"); len(hits) != 1 {
		t.Errorf("1.4 hits = %v, want one", hitIDs(hits))
	}
	// Vendor found through the product index; names normalised.
	if hits := db.MatchProduct("", "Web", "1.4"); !slices.Equal(hitIDs(hits), []string{"CVE-2099-0002"}) {
		t.Errorf("MatchProduct by product = %v", hitIDs(hits))
	}
	if hits := db.MatchProduct("other", "web", "1.4"); len(hits) != 0 {
		t.Errorf("MatchProduct with the wrong vendor = %v", hitIDs(hits))
	}
	if hits := db.Match("not a cpe"); hits != nil {
		t.Errorf("bad cpe matched %v", hitIDs(hits))
	}
	bad := &CVE{ID: "CVE-2099-0003", Configurations: []Node{{Match: []CPEMatch{{Criteria: "cpe:2.3:q:x"}}}}}
	if err := db.AddCVE(bad); err == nil {
		t.Error("a bad criteria was accepted")
	}
}
