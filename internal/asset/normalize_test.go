package asset

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	long64 := strings.Repeat("a", 64)
	// 4 labels of 63 bytes + 3 dots = 255 bytes; 3 of 63 + 61 + dots = 253.
	name253 := long63 + "." + long63 + "." + long63 + "." + strings.Repeat("b", 61)
	name254 := long63 + "." + long63 + "." + long63 + "." + strings.Repeat("b", 62)

	tests := []struct {
		kind    Kind
		in      string
		want    string
		wantErr string // a piece of the reason; empty means success
	}{
		// domain
		{KindDomain, "example.gov.vn", "example.gov.vn", ""},
		{KindDomain, "  Example.GOV.vn.  ", "example.gov.vn", ""},
		{KindDomain, "Bộ-Công-An.gov.vn", "xn--b-cng-an-63a1467e.gov.vn", ""},
		{KindDomain, "BỘ-CÔNG-AN.GOV.VN.", "xn--b-cng-an-63a1467e.gov.vn", ""},
		{KindDomain, "xn--b-cng-an-63a1467e.gov.vn", "xn--b-cng-an-63a1467e.gov.vn", ""},
		{KindDomain, "bücher。example", "xn--bcher-kva.example", ""},
		{KindDomain, name253, name253, ""},
		{KindDomain, long63 + ".vn", long63 + ".vn", ""},
		{KindDomain, "a-b.vn", "a-b.vn", ""},
		{KindDomain, "", "", "empty"},
		{KindDomain, "   ", "", "empty"},
		{KindDomain, ".", "", "empty"},
		{KindDomain, "vn", "", "at least two labels"},
		{KindDomain, "example..vn", "", "empty label"},
		{KindDomain, ".example.vn", "", "empty label"},
		{KindDomain, "example.vn..", "", "empty label"},
		{KindDomain, "*.example.vn", "", "wildcards"},
		{KindDomain, "-a.vn", "", "hyphen"},
		{KindDomain, "a-.vn", "", "hyphen"},
		{KindDomain, "_dmarc.example.vn", "", "underscore"},
		{KindDomain, "exa mple.vn", "", "character"},
		{KindDomain, "example.vn/x", "", "character"},
		{KindDomain, long64 + ".vn", "", "longer than 63"},
		{KindDomain, name254, "", "longer than 253"},
		{KindDomain, "192.0.2.1", "", "all digits"},
		{KindDomain, "010.1.1.1", "", "all digits"},
		{KindDomain, "2001:db8::1", "", "use kind ipv6"},
		{KindDomain, "[2001:db8::1]", "", "use kind ipv6"},
		{KindDomain, "xn--zz.vn", "", "punycode"},
		{KindDomain, "a\u200db.vn", "", "internationalized"},
		// hostname
		{KindHostname, "WWW.Example.gov.vn", "www.example.gov.vn", ""},
		{KindHostname, "_dmarc.example.gov.vn", "_dmarc.example.gov.vn", ""},
		{KindHostname, "_sip._tcp.example.vn", "_sip._tcp.example.vn", ""},
		{KindHostname, "intranet", "intranet", ""},
		{KindHostname, "cổng.example.vn", "xn--cng-qmz.example.vn", ""},
		{KindHostname, "*.example.vn", "", "wildcards"},
		{KindHostname, "*", "", "wildcards"},
		{KindHostname, "a..b", "", "empty label"},
		{KindHostname, "1.2.3.4", "", "all digits"},
		// mail_domain
		{KindMailDomain, "Mail.Example.VN.", "mail.example.vn", ""},
		{KindMailDomain, "localhost", "", "at least two labels"},
		{KindMailDomain, "_x.example.vn", "", "underscore"},
		// ipv4
		{KindIPv4, "192.0.2.1", "192.0.2.1", ""},
		{KindIPv4, " 0.0.0.0 ", "0.0.0.0", ""},
		{KindIPv4, "255.255.255.255", "255.255.255.255", ""},
		{KindIPv4, "010.1.1.1", "", "leading zero"},
		{KindIPv4, "10.01.1.1", "", "leading zero"},
		{KindIPv4, "256.1.1.1", "", "larger than 255"},
		{KindIPv4, "1000.1.1.1", "", "larger than 255"},
		{KindIPv4, "1.2.3", "", "four fields"},
		{KindIPv4, "1.2.3.4.5", "", "four fields"},
		{KindIPv4, "1.2..4", "", "four fields"},
		{KindIPv4, "1.2.3.4.", "", "four fields"},
		{KindIPv4, "0x1.2.3.4", "", "character"},
		{KindIPv4, "::1", "", "use kind ipv6"},
		{KindIPv4, "10.0.0.0/8", "", "kind cidr"},
		// ipv6
		{KindIPv6, "2001:DB8:0:0:0:0:0:1", "2001:db8::1", ""},
		{KindIPv6, "2001:db8::0001", "2001:db8::1", ""},
		{KindIPv6, "::1", "::1", ""},
		{KindIPv6, "64:ff9b::192.0.2.1", "64:ff9b::c000:201", ""},
		{KindIPv6, "fe80::1%eth0", "", "zone"},
		{KindIPv6, "::ffff:192.0.2.1", "", "use kind ipv4 with 192.0.2.1"},
		{KindIPv6, "192.0.2.1", "", "use kind ipv4"},
		{KindIPv6, "2001:db8::g", "", "not a valid IPv6"},
		{KindIPv6, "2001:db8::/32", "", "kind cidr"},
		{KindIPv6, "example.vn", "", "not an IPv6"},
		// cidr
		{KindCIDR, "10.0.0.0/8", "10.0.0.0/8", ""},
		{KindCIDR, "10.0.0.5/24", "10.0.0.0/24", ""},
		{KindCIDR, "192.0.2.1/32", "192.0.2.1/32", ""},
		{KindCIDR, "2001:DB8:1::5/48", "2001:db8:1::/48", ""},
		{KindCIDR, "2001:db8::1/128", "2001:db8::1/128", ""},
		{KindCIDR, "10.0.0.1", "", "missing the prefix length"},
		{KindCIDR, "10.0.0.0/0", "", "/0"},
		{KindCIDR, "::/0", "", "/0"},
		{KindCIDR, "10.0.0.0/33", "", "longer than 32"},
		{KindCIDR, "2001:db8::/129", "", "longer than 128"},
		{KindCIDR, "10.0.0.0/08", "", "leading zeros"},
		{KindCIDR, "10.0.0.0/", "", "prefix length"},
		{KindCIDR, "10.0.0.0/-1", "", "prefix length"},
		{KindCIDR, "010.0.0.0/8", "", "leading zero"},
		{KindCIDR, "fe80::%eth0/64", "", "zone"},
		{KindCIDR, "::ffff:10.0.0.0/104", "", "use kind ipv4"},
		// asn
		{KindASN, "AS64500", "AS64500", ""},
		{KindASN, "as64500", "AS64500", ""},
		{KindASN, "64500", "AS64500", ""},
		{KindASN, "AS4294967295", "AS4294967295", ""},
		{KindASN, "AS1", "AS1", ""},
		{KindASN, "AS0", "", "AS0"},
		{KindASN, "0", "", "AS0"},
		{KindASN, "AS23456", "", "AS_TRANS"},
		{KindASN, "AS4294967296", "", "at most"},
		{KindASN, "AS99999999999999999999", "", "at most"},
		{KindASN, "AS-1", "", "like AS64500"},
		{KindASN, "AS", "", "like AS64500"},
		{KindASN, "ASN64500", "", "like AS64500"},
		{KindASN, "AS 64500", "", "like AS64500"},
		// url
		{KindURL, "https://portal.example.gov.vn/app", "https://portal.example.gov.vn/app", ""},
		{KindURL, "HTTPS://Portal.Example.gov.vn:443/app?x=1#top", "https://portal.example.gov.vn/app", ""},
		{KindURL, "http://portal.example.gov.vn:80", "http://portal.example.gov.vn/", ""},
		{KindURL, "http://portal.example.gov.vn:443/", "http://portal.example.gov.vn:443/", ""},
		{KindURL, "https://portal.example.gov.vn:8443/a/", "https://portal.example.gov.vn:8443/a/", ""},
		{KindURL, "https://portal.example.gov.vn./", "https://portal.example.gov.vn/", ""},
		{KindURL, "https://cổng.example.vn/Đăng nhập", "https://xn--cng-qmz.example.vn/%C4%90%C4%83ng%20nh%E1%BA%ADp", ""},
		{KindURL, "https://a.vn/app/../admin", "https://a.vn/admin", ""},
		{KindURL, "https://a.vn/app/%2e%2e/admin", "https://a.vn/admin", ""},
		{KindURL, "https://a.vn/./x/.", "https://a.vn/x/", ""},
		{KindURL, "https://a.vn/../../x", "https://a.vn/x", ""},
		{KindURL, "https://192.0.2.1:8443/x", "https://192.0.2.1:8443/x", ""},
		{KindURL, "https://[2001:DB8::1]/x", "https://[2001:db8::1]/x", ""},
		{KindURL, "https://[2001:db8::1]:443/", "https://[2001:db8::1]/", ""},
		{KindURL, "ftp://a.vn/", "", "use http or https"},
		{KindURL, "portal.example.gov.vn/app", "", "starts with http"},
		{KindURL, "https://user:pw@a.vn/", "", "passwords"},
		{KindURL, "https:///x", "", "needs a host"},
		{KindURL, "https://a.vn:0/", "", "between 1 and 65535"},
		{KindURL, "https://a.vn:70000/", "", "between 1 and 65535"},
		{KindURL, "https://010.0.0.1/", "", "leading zero"},
		{KindURL, "https://[fe80::1%25eth0]/", "", "zone"},
		{KindURL, "https://[::ffff:10.0.0.1]/", "", "use kind ipv4"},
		{KindURL, "https://*.a.vn/", "", "wildcards"},
		{KindURL, "https://a_b.vn/", "https://a_b.vn/", ""},
		{KindURL, "https://a..vn/", "", "empty label"},
		{KindURL, "https://" + strings.Repeat("a/", 1100), "", "at most 2048"},
		// unknown kind
		{Kind("ip"), "1.2.3.4", "", "unknown kind"},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.kind, tt.in)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("Normalize(%s, %q) error: %v", tt.kind, tt.in, err)
				continue
			}
			if got != tt.want {
				t.Errorf("Normalize(%s, %q) = %q, want %q", tt.kind, tt.in, got, tt.want)
			}
			if again, err := Normalize(tt.kind, got); err != nil || again != got {
				t.Errorf("Normalize(%s, %q) not idempotent: %q, %v", tt.kind, got, again, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("Normalize(%s, %q) = %q, want error containing %q", tt.kind, tt.in, got, tt.wantErr)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Normalize(%s, %q) error %v does not wrap ErrInvalid", tt.kind, tt.in, err)
		}
		if !strings.HasPrefix(err.Error(), "asset: ") || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Normalize(%s, %q) error %q, want it to contain %q", tt.kind, tt.in, err, tt.wantErr)
		}
	}
}

func TestNormalizeCanonicalDoesNotAllocate(t *testing.T) {
	for _, v := range []struct {
		k Kind
		s string
	}{{KindHostname, "www.example.gov.vn"}, {KindIPv4, "192.0.2.1"}} {
		n := testing.AllocsPerRun(100, func() {
			if _, err := normalize(v.k, v.s); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("normalize(%s, %q) allocates %v times", v.k, v.s, n)
		}
	}
}

func TestPrepareUsesNormalize(t *testing.T) {
	a := Asset{OrgID: 1, Kind: " Domain ", Value: "Bộ-Công-An.gov.vn."}
	if err := a.Prepare(); err != nil {
		t.Fatal(err)
	}
	if a.Value != "xn--b-cng-an-63a1467e.gov.vn" {
		t.Errorf("Value = %q", a.Value)
	}
	b := Asset{OrgID: 1, Kind: KindCIDR, Value: "10.0.0.1"}
	if err := b.Prepare(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Prepare of a bare address as cidr: %v", err)
	}
}

func FuzzNormalize(f *testing.F) {
	seeds := []string{
		"example.gov.vn", "Bộ-Công-An.gov.vn.", "_dmarc.example.vn", "xn--b-cng-an-63a1467e.gov.vn",
		"192.0.2.1", "010.1.1.1", "2001:db8::1", "::ffff:1.2.3.4", "fe80::1%eth0",
		"10.0.0.5/24", "2001:db8::/32", "::/0", "AS64500", "64500", "AS23456",
		"https://Portal.example.gov.vn:443/app/../x?q#f", "http://[2001:db8::1]:80", "https://a.vn/%2e%2e/",
		"a。b。vn", "*.a.vn", "https://u@a.vn/", "https://a.vn/a%2Fb/./c",
	}
	for _, s := range seeds {
		for i := range Kinds {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, k uint8, s string) {
		kind := Kinds[int(k)%len(Kinds)]
		v, err := Normalize(kind, s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Normalize(%s, %q) error %v does not wrap ErrInvalid", kind, s, err)
			}
			return
		}
		again, err := Normalize(kind, v)
		if err != nil {
			t.Fatalf("Normalize(%s, %q) = %q, which does not normalize again: %v", kind, s, v, err)
		}
		if again != v {
			t.Fatalf("Normalize(%s, %q) = %q, then %q", kind, s, v, again)
		}
	})
}

// FuzzPlainURL holds normalizePlainURL, the fast path of URL
// normalization, to the answers of url.Parse's path, normalizeParsedURL.
func FuzzPlainURL(f *testing.F) {
	for _, s := range []string{
		"http://bad-1.example/payload/1.exe", "https://Portal.Example.gov.vn", "http://10.0.0.1/bin.sh", "http://010.0.0.1/",
		"http://host-2.bad-2.example/", "https://a.vn/x/./y", "https://a.vn/x/../y", "https://a.vn/..", "https://a.vn/.a/b.",
		"http://a.vn.", "http://-a.vn/", "http://a..vn/", "http://a/", "http://1.2.3/", "http://a.vn//x;y=1,2@z:3~$&+",
		"https://a.vn/%41", "https://a.vn/ x", "https://a.vn/é", "HTTP://a.vn/", "http://a.vn:80/", "http://u@a.vn/",
		"http:///x", "http://xn--b-cng-an-63a1467e.gov.vn/", "http://xn--abc.vn/", "http://" + strings.Repeat("a", 64) + ".vn/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > maxURLLen || !strings.Contains(s, "://") {
			return
		}
		v, err, ok := normalizePlainURL(s)
		if !ok {
			return
		}
		want, wantErr := normalizeParsedURL(s)
		if v != want || fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("normalizePlainURL(%q) = %q, %v; url.Parse's path gives %q, %v", s, v, err, want, wantErr)
		}
	})
}
