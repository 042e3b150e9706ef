package intel

import (
	"errors"
	"testing"
	"time"
)

func TestNormalizeValue(t *testing.T) {
	ok := []struct {
		k        Kind
		in, want string
	}{
		{KindIPv4, " 192.0.2.1 ", "192.0.2.1"},
		{KindIPv6, "2001:DB8::0:1", "2001:db8::1"},
		{KindCIDR, "10.1.2.3/8", "10.0.0.0/8"},
		{KindCIDR, "10.1.2.3", "10.1.2.3/32"},
		{KindDomain, "*.Example.COM.", "example.com"},
		{KindDomain, "bộyte.vn", "xn--byte-5y5a.vn"},
		{KindURL, "HTTP://X4Z9ARB.cn:80/4712/?a=1#f", "http://x4z9arb.cn/4712/?a=1"},
		{KindURL, "evil.example/login", "http://evil.example/login"},
		{KindEmail, "Donald.Duck@Disney.COM", "donald.duck@disney.com"},
		{KindMD5, "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"},
		{KindASN, "as64500", "AS64500"},
	}
	for _, c := range ok {
		got, err := NormalizeValue(c.k, c.in)
		if err != nil || got != c.want {
			t.Errorf("NormalizeValue(%s, %q) = %q, %v; want %q", c.k, c.in, got, err, c.want)
		}
	}
	bad := []struct {
		k  Kind
		in string
	}{
		{KindIPv4, "2001:db8::1"}, {KindIPv4, "300.1.1.1"}, {KindCIDR, "0.0.0.0/0"},
		{KindDomain, "a..b"}, {KindEmail, "nobody"}, {KindMD5, "xyz"}, {KindSHA256, "abc"},
		{KindASN, "AS0"}, {KindURL, "ftp://x.example/"}, {Kind("bogus"), "x"},
	}
	for _, c := range bad {
		if _, err := NormalizeValue(c.k, c.in); !errors.Is(err, ErrInvalid) {
			t.Errorf("NormalizeValue(%s, %q): err %v, want ErrInvalid", c.k, c.in, err)
		}
	}
}

func TestRecordNormalizeAndMerge(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	r := Record{Kind: KindCIDR, Value: "198.51.100.7/32", Feed: "a", TLP: "tlp:white", Labels: []string{"Malware:X", "malware:x", " "}}
	if err := r.Normalize(now); err != nil {
		t.Fatal(err)
	}
	if r.Kind != KindIPv4 || r.Value != "198.51.100.7" || r.TLP != TLPClear || r.Category != CategoryBlocklist || len(r.Labels) != 1 || !r.LastSeen.Equal(now) {
		t.Fatalf("normalized record %+v", r)
	}
	var in Indicator
	in.Merge(r)
	r2 := Record{Kind: KindIPv4, Value: "198.51.100.7", Feed: "b", TLP: TLPAmber, Confidence: 90, Category: CategoryC2,
		FirstSeen: now.Add(-time.Hour), LastSeen: now.Add(time.Hour)}
	if err := r2.Normalize(now); err != nil {
		t.Fatal(err)
	}
	in.Merge(r2)
	in.Merge(r2)
	if len(in.Sources) != 2 || in.Confidence != 90 || in.TLP != TLPAmber || in.Category != CategoryC2 ||
		!in.FirstSeen.Equal(now.Add(-time.Hour)) || !in.LastSeen.Equal(now.Add(time.Hour)) {
		t.Fatalf("merged %+v", in)
	}
	if FindingKind(in.Category) != FindingCompromisedHost {
		t.Fatal(FindingKind(in.Category))
	}
}

func TestParseTLP(t *testing.T) {
	for in, want := range map[string]TLP{"tlp:white": TLPClear, "TLP:AMBER+STRICT": TLPAmberStrict, "red": TLPRed, "Green": TLPGreen} {
		if got, err := ParseTLP(in); err != nil || got != want {
			t.Errorf("ParseTLP(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseTLP("purple"); err == nil {
		t.Error("purple accepted")
	}
}
