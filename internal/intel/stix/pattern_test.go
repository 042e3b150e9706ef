package stix

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/intel"
)

func TestParsePatternAccepts(t *testing.T) {
	obs := func(kv ...string) []Observable {
		var out []Observable
		for i := 0; i < len(kv); i += 2 {
			out = append(out, Observable{Kind: intel.Kind(kv[i]), Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		pattern string
		want    []Observable
	}{
		{"[ipv4-addr:value = '10.0.0.0']", obs("ipv4", "10.0.0.0")},
		{"[ipv4-addr:value = '223.166.0.0/15']", obs("cidr", "223.166.0.0/15")},
		{"[ipv6-addr:value = '2001:db8::1']", obs("ipv6", "2001:db8::1")},
		{"[ipv6-addr:value = '2001:db8::/32']", obs("cidr", "2001:db8::/32")},
		{"[domain-name:value = 'hugesoft.org']", obs("domain", "hugesoft.org")},
		{"[url:value = 'http://x4z9arb.cn/4712/']", obs("url", "http://x4z9arb.cn/4712/")},
		{"[email-addr:value = 'a@b.example']", obs("email", "a@b.example")},
		{"[email-message:from_ref.value = 'donald.duck@disney.com']", obs("email", "donald.duck@disney.com")},
		{"[email-message:sender_ref.value = 's@x.example']", obs("email", "s@x.example")},
		{"[autonomous-system:number = 64500]", obs("asn", "64500")},
		{"[autonomous-system:number = 'AS64500']", obs("asn", "AS64500")},
		// Hash names in every quoting and letter case.
		{"[file:hashes.md5 = '001dd76872d80801692ff942308c64e6']", obs("md5", "001dd76872d80801692ff942308c64e6")},
		{"[file:hashes.MD5 = 'aa']", obs("md5", "aa")},
		{"[file:hashes.'SHA-1' = 'bb']", obs("sha1", "bb")},
		{"[file:hashes.sha1 = 'bb']", obs("sha1", "bb")},
		{`[file:hashes."SHA-256" = 'cc']`, obs("sha256", "cc")},
		{"[file:hashes.'sha-256' = 'cc']", obs("sha256", "cc")},
		{"[file:hashes.SHA256 = 'cc']", obs("sha256", "cc")},
		{"[file:hashes.SHA_256 = 'cc']", obs("sha256", "cc")},
		// OR inside an observation and between observations, parentheses.
		{"[domain-name:value = 'a.example' OR domain-name:value = 'b.example']", obs("domain", "a.example", "domain", "b.example")},
		{"[domain-name:value = 'a.example'] OR [url:value = 'http://b.example/']", obs("domain", "a.example", "url", "http://b.example/")},
		{"([ipv4-addr:value = '192.0.2.1'] OR ([ipv4-addr:value = '192.0.2.2']))", obs("ipv4", "192.0.2.1", "ipv4", "192.0.2.2")},
		{"[(ipv4-addr:value = '192.0.2.1' OR (ipv4-addr:value = '192.0.2.2'))]", obs("ipv4", "192.0.2.1", "ipv4", "192.0.2.2")},
		{"[ipv4-addr:value == '192.0.2.1'] or [ipv4-addr:value = '192.0.2.3']", obs("ipv4", "192.0.2.1", "ipv4", "192.0.2.3")},
		{"  [ url:value = 'http://e.example/?q=it\\'s'  ]  ", obs("url", "http://e.example/?q=it's")},
		{`[url:value = 'http://e.example/a\\b']`, obs("url", `http://e.example/a\b`)},
		// AND between the hashes and other properties of one file.
		{"[file:hashes.MD5 = '8764605c6f388c89096b534d33565802' AND file:hashes.'SHA-1' = '46aba99aa7158e4609aaa72b50990842fd22ae86' AND file:hashes.'SHA-256' = 'ec5aedf5ecc6bdadd4120932170d1b10f6cfa175cfda22951dfd882928ab279b' AND file:name = 'oui']",
			obs("md5", "8764605c6f388c89096b534d33565802", "sha1", "46aba99aa7158e4609aaa72b50990842fd22ae86", "sha256", "ec5aedf5ecc6bdadd4120932170d1b10f6cfa175cfda22951dfd882928ab279b")},
		{"[file:size = 35 AND file:hashes.MD5 = 'aa' AND file:hashes.'SHA-512' = 'dd']", obs("md5", "aa")},
		{"[file:hashes.MD5 = 'AA' AND file:hashes.md5 = 'aa']", obs("md5", "AA")},
		{"[file:hashes.MD5 = 'aa' AND file:name = 'x'] OR [domain-name:value = 'd.example']", obs("md5", "aa", "domain", "d.example")},
	} {
		got, err := ParsePattern(tc.pattern)
		if err != nil {
			t.Errorf("ParsePattern(%q): %v", tc.pattern, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("ParsePattern(%q) = %v, want %v", tc.pattern, got, tc.want)
		}
	}
}

func TestParsePatternRefuses(t *testing.T) {
	for _, tc := range []struct {
		pattern     string
		reason      string // a part of the reason
		unsupported bool
	}{
		{"[email-message:subject MATCHES '^[IMPORTANT] Please Review Before']", "pattern uses MATCHES: only = and OR are supported", true},
		{"[domain-name:value = 'circl.lu' AND domain-name:resolves_to_refs[*].value = '149.13.33.14']", "pattern uses AND: only = and OR are supported", true},
		{"[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c']", "pattern uses AND", true},
		{"[ipv4-addr:value = '192.0.2.1'] AND [ipv4-addr:value = '192.0.2.2']", "pattern uses AND", true},
		{"[ipv4-addr:value = '192.0.2.1' AND ipv4-addr:value = '192.0.2.2']", "pattern uses AND", true},
		{"[(file:hashes.MD5 = 'aa' OR file:hashes.MD5 = 'bb') AND file:name = 'x']", "pattern uses AND over OR", true},
		{"[ipv4-addr:value = '192.0.2.1'] FOLLOWEDBY [ipv4-addr:value = '192.0.2.2']", "pattern uses FOLLOWEDBY", true},
		{"[ipv4-addr:value = '192.0.2.1'] WITHIN 300 SECONDS", "pattern uses WITHIN: qualifiers are not supported", true},
		{"[ipv4-addr:value = '192.0.2.1'] REPEATS 5 TIMES", "pattern uses REPEATS", true},
		{"[ipv4-addr:value = '192.0.2.1'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'", "pattern uses START", true},
		{"[ipv4-addr:value != '192.0.2.1']", "pattern uses !=", true},
		{"[ipv4-addr:value <> '192.0.2.1']", "pattern uses <>", true},
		{"[file:size > 10]", "pattern uses >", true},
		{"[ipv4-addr:value NOT = '192.0.2.1']", "pattern uses NOT", true},
		{"[ipv4-addr:value LIKE '192.0.2.%']", "pattern uses LIKE", true},
		{"[ipv4-addr:value ISSUBSET '192.0.2.0/24']", "pattern uses ISSUBSET", true},
		{"[ipv4-addr:value IN ('192.0.2.1', '192.0.2.2')]", "pattern uses IN", true},
		{"[EXISTS windows-registry-key:values]", "pattern uses EXISTS", true},
		{"[network-traffic:dst_ref.value = '192.0.2.1']", "pattern compares network-traffic:dst_ref.value: only", true},
		{"[file:name = 'evil.exe']", "pattern compares file:name: only", true},
		{"[file:hashes.'SHA-512' = 'dd']", "only the MD5, SHA-1 and SHA-256 hashes", true},
		{"[file:name = 'x' AND file:size = 3]", "without an MD5, SHA-1 or SHA-256 hash", true},
		{"[file:hashes.MD5 = 'aa' AND file:hashes.MD5 = 'bb']", "two different md5 hashes", true},
		{"[domain-name:value = 'a.example'] OR [file:name = 'x']", "pattern compares file:name", true},
		{"[ipv4-addr:value = 3232235521]", "the value must be a quoted string", true},
		{"[email-message:to_refs[*].value = 'a@b.example']", "pattern compares email-message:to_refs[*].value", true},
		// Malformed.
		{"", "pattern ends where an observation '[' should start", false},
		{"[ipv4-addr:value = '192.0.2.1'", "pattern ends where ']' closes", false},
		{"[ipv4-addr:value = '192.0.2.1]", "unterminated", false},
		{"ipv4-addr:value = '192.0.2.1'", "where an observation '[' should start", false},
		{"[ipv4-addr:value = '192.0.2.1']]", "after the pattern", false},
		{"[ipv4-addr = '192.0.2.1']", "where ':' follows", false},
		{"[ipv4-addr:value = 'a\\qb']", "badly escaped", false},
		{"[ipv4-addr:value = '2001:db8::/32']", "a network of the other IP version", false},
		{"[ipv4-addr:value ! '1']", "'!' without '='", false},
		{"[ipv4-addr:value = '192.0.2.1'] [url:value = 'x']", "unexpected \"[\" after the pattern", false},
		{"[ipv4-addr:value = '192.0.2.1'] url", "unexpected \"url\" after an observation", false},
		{"[ipv4-addr:value = '192.0.2.1'] OR", "pattern ends", false},
		{strings.Repeat("(", 40) + "[ipv4-addr:value = '192.0.2.1']" + strings.Repeat(")", 40), "nested too deep", false},
		{"[" + strings.Repeat("(", 40) + "ipv4-addr:value = '192.0.2.1'" + strings.Repeat(")", 40) + "]", "nested too deep", false},
	} {
		got, err := ParsePattern(tc.pattern)
		if err == nil {
			t.Errorf("ParsePattern(%q) = %v, want an error", tc.pattern, got)
			continue
		}
		var pe *PatternError
		if !errors.As(err, &pe) || !errors.Is(err, ErrPattern) {
			t.Errorf("ParsePattern(%q): error %v is not a *PatternError", tc.pattern, err)
			continue
		}
		if !strings.Contains(pe.Reason, tc.reason) || pe.Unsupported != tc.unsupported {
			t.Errorf("ParsePattern(%q): reason %q (unsupported %v), want one containing %q (unsupported %v)",
				tc.pattern, pe.Reason, pe.Unsupported, tc.reason, tc.unsupported)
		}
		if !strings.HasPrefix(err.Error(), "stix: ") {
			t.Errorf("ParsePattern(%q): error %q lacks the package prefix", tc.pattern, err)
		}
		if got != nil {
			t.Errorf("ParsePattern(%q) returned %v with its error", tc.pattern, got)
		}
	}
}
