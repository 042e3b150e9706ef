package svc

import (
	"net/netip"
	"testing"

	"github.com/rampart-cert/rampart/internal/check"
)

// TestEndOfLifeRedHatFamily: a package of Red Hat's family lives as long
// as its release (distro.yaml): the el tag names it, or the upstream
// version only one release ships; the test's clock is 2026-11-25.
func TestEndOfLifeRedHatFamily(t *testing.T) {
	ap := netip.MustParseAddrPort("127.0.0.1:80")
	cases := []struct {
		name, product, version, banner string
		subject, end                   string // "" for no finding
	}{
		{"rhel 7 from version.bind", "ISC BIND", "9.11.4-P2 RedHat-9.11.4-26.P2.el7_9.16", "", "Red Hat Enterprise Linux 7", "2024-06-30"},
		{"rhel 8 from version.bind", "ISC BIND", "9.11.36-RedHat-9.11.36-11.el8_9.1", "", "", ""},
		{"rhel 9 from an el release", "nginx", "1.20.1", "HTTP/1.1 200 OK\r\nServer: nginx/1.20.1-14.el9_2.1\r\n", "", ""},
		{"centos 7", "Apache httpd", "2.4.6", "Server: Apache/2.4.6 (CentOS) OpenSSL/1.0.2k-fips\r\n", "CentOS 7", "2024-06-30"},
		{"centos linux 8", "Apache httpd", "2.4.37", "Server: Apache/2.4.37 (centos)\r\n", "CentOS Linux 8", "2021-12-31"},
		{"centos stream 8", "Apache httpd", "2.4.37", "Server: Apache/2.4.37 (CentOS Stream)\r\n", "CentOS Stream 8", "2024-05-31"},
		{"rocky 8", "Apache httpd", "2.4.37", "Server: Apache/2.4.37 (Rocky Linux)\r\n", "", ""},
		{"almalinux 8", "Apache httpd", "2.4.37", "Server: Apache/2.4.37 (AlmaLinux) OpenSSL/1.1.1k\r\n", "", ""},
		{"rhel 8", "Apache httpd", "2.4.37", "Server: Apache/2.4.37 (Red Hat Enterprise Linux) OpenSSL/1.1.1k\r\n", "", ""},
	}
	for _, c := range cases {
		tg := check.Target{Kind: check.TargetService, Addr: ap, Service: "http", Product: c.product, Version: c.version, Banner: c.banner}
		rs := run(t, "svc.end-of-life", tg)
		switch {
		case c.subject == "" && len(rs) != 0:
			t.Errorf("%s: %+v, want none", c.name, rs)
		case c.subject != "" && (len(rs) != 1 || rs[0].Subject != c.subject || rs[0].Evidence.Fields["support_end"] != c.end):
			t.Errorf("%s: %+v, want subject %q ending %s", c.name, rs, c.subject, c.end)
		}
	}
	// Every release of the family has a support period.
	table, err := ParseDistroTable(distroData)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][2]string{{"rhel", "el7"}, {"rhel", "el8"}, {"rhel", "el9"}, {"centos", "el7"}, {"centos", "el8"},
		{"centos-stream", "el8"}, {"centos-stream", "el9"}, {"rocky", "el8"}, {"rocky", "el9"}, {"almalinux", "el8"}, {"almalinux", "el9"}} {
		if _, ok := table.release(want[0], want[1]); !ok {
			t.Errorf("%s %s is not in distro.yaml", want[0], want[1])
		}
	}
}
