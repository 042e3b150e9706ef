package fields

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestTime(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"2022-07-10T23:50:05.533101+0000", time.Date(2022, 7, 10, 23, 50, 5, 533101000, time.UTC)},
		{"2022-02-08T09:40:31.064321-0500", time.Date(2022, 2, 8, 14, 40, 31, 64321000, time.UTC)},
		{"2018-03-24T17:15:20.629574Z", time.Date(2018, 3, 24, 17, 15, 20, 629574000, time.UTC)},
		{"2024-02-29T00:00:00+07:00", time.Date(2024, 2, 28, 17, 0, 0, 0, time.UTC)},
		{"1969-12-31 23:59:59", time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)},
	} {
		if got, ok := Time([]byte(c.in)); !ok || !got.Equal(c.want) {
			t.Errorf("Time(%q) = %v, %v; want %v", c.in, got, ok, c.want)
		}
	}
	for _, bad := range []string{"", "2022-13-01T00:00:00Z", "2022-01-01T00:00:00+5", "2022-01-01T00:00:00.Z", "2022-01-01T00:00:00Zx", "yyyy-01-01T00:00:00Z"} {
		if _, ok := Time([]byte(bad)); ok {
			t.Errorf("Time(%q) accepted", bad)
		}
	}
	if got, ok := Epoch([]byte("1517422326.539915")); !ok || !got.Equal(time.Unix(1517422326, 539915000)) {
		t.Errorf("Epoch = %v, %v", got, ok)
	}
}

func TestAddrName(t *testing.T) {
	for in, want := range map[string]string{"10.0.0.1": "10.0.0.1", "::ffff:1.2.3.4": "1.2.3.4", "2a03:b0c0:0002:00d0::1": "2a03:b0c0:2:d0::1", "fe80::1%eth0": "fe80::1"} {
		if a, ok := Addr([]byte(in)); !ok || a != netip.MustParseAddr(want) {
			t.Errorf("Addr(%q) = %v, %v", in, a, ok)
		}
	}
	for _, bad := range []string{"", "1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1", "a.b.c.d", "1..2.3", "1::2::3", "12345::1", ":1", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "fe80::1%", "::ffff:1.2.3"} {
		if _, ok := Addr([]byte(bad)); ok {
			t.Errorf("Addr(%q) accepted", bad)
		}
	}
	for in, want := range map[string]string{"Www.Example.COM.": "www.example.com", "host.example:8080": "host.example", "xn--bcher-kva.example": "xn--bcher-kva.example"} {
		if got, ok := Name(nil, []byte(in)); !ok || string(got) != want {
			t.Errorf("Name(%q) = %q, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "10.0.0.1", "[::1]:80", "2001:db8::1", "a b.example", "x\x00y"} {
		if _, ok := Name(nil, []byte(bad)); ok {
			t.Errorf("Name(%q) accepted", bad)
		}
	}
}

func TestLoginFailure(t *testing.T) {
	if !LoginFailure([]byte("POST"), []byte("/wp-login.php"), 401) || !LoginFailure([]byte("post"), []byte("/Account/Login?x=1"), 403) {
		t.Error("login failures not recognized")
	}
	if LoginFailure([]byte("GET"), []byte("/login"), 401) || LoginFailure([]byte("POST"), []byte("/login"), 200) || LoginFailure([]byte("POST"), []byte("/search?q=login"), 401) {
		t.Error("not login failures recognized")
	}
}

// FuzzTime checks Time against time.Parse on what both accept.
func FuzzTime(f *testing.F) {
	for _, s := range []string{"::", "::1", "1::", "2001:db8::1:2", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "fe80::1%eth0", "1::2::3", ":1", "12345::1", "2022-07-10T23:50:05.533101+0000", "2022-02-08T09:40:31.064321-0500", "2018-03-24T17:15:20.629574Z", "2024-02-29T00:00:00+07:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := Time([]byte(s))
		ref, err := time.Parse(time.RFC3339Nano, s)
		if ok && err == nil && !got.Equal(ref) {
			t.Fatalf("Time(%q) = %v, time.Parse %v", s, got, ref)
		}
		Name(nil, []byte(s))
		got6, ok6 := Addr([]byte(s))
		ref6, refErr := netip.ParseAddr(s)
		if refErr == nil && !strings.Contains(s, "%") && (!ok6 || got6 != ref6.Unmap()) {
			t.Fatalf("Addr(%q) = %v, %v; netip %v", s, got6, ok6, ref6)
		}
		if ok6 && refErr != nil && !strings.Contains(s, "%") {
			t.Fatalf("Addr(%q) accepted what netip refuses: %v", s, refErr)
		}
		Epoch([]byte(s))
		LoginPath([]byte(s))
	})
}
