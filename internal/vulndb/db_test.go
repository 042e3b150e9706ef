package vulndb

import (
	"slices"
	"testing"
)

// TestMatchSamples asserts matches against the real NVD records; the
// ranges quoted are the records' own.
func TestMatchSamples(t *testing.T) {
	db := sampleDB(t)
	tests := []struct {
		cpe      string
		want     []string // must be among the hits
		wantNot  []string // must not be
		wantNone bool
	}{
		// CVE-2021-41773: exactly 2.4.49; CVE-2021-42013: 2.4.49 and 2.4.50;
		// CVE-2023-25690: 2.4.0 <= v <= 2.4.55; CVE-2021-40438: v <= 2.4.48.
		{cpe: "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*", want: []string{"CVE-2021-41773", "CVE-2021-42013", "CVE-2023-25690"}, wantNot: []string{"CVE-2021-40438"}},
		{cpe: "cpe:2.3:a:apache:http_server:2.4.50", want: []string{"CVE-2021-42013"}, wantNot: []string{"CVE-2021-41773"}},
		{cpe: "cpe:2.3:a:apache:http_server:2.4.51", want: []string{"CVE-2023-25690"}, wantNot: []string{"CVE-2021-41773", "CVE-2021-42013"}},
		{cpe: "cpe:2.3:a:apache:http_server:2.4.48", want: []string{"CVE-2021-40438", "CVE-2023-25690"}, wantNot: []string{"CVE-2021-41773"}},
		{cpe: "cpe:2.3:a:apache:http_server:2.4.56", wantNone: true},
		// CVE-2014-0160: 1.0.1 <= v < 1.0.1g.
		{cpe: "cpe:2.3:a:openssl:openssl:1.0.1f", want: []string{"CVE-2014-0160"}},
		{cpe: "cpe:2.3:a:openssl:openssl:1.0.1", want: []string{"CVE-2014-0160"}},
		{cpe: "cpe:2.3:a:openssl:openssl:1.0.1g", wantNone: true},
		{cpe: "cpe:2.3:a:openssl:openssl:1.0.0t", wantNone: true},
		// CVE-2011-2523: vsftpd 2.3.4 only.
		{cpe: "cpe:2.3:a:vsftpd_project:vsftpd:2.3.4", want: []string{"CVE-2011-2523"}},
		{cpe: "cpe:/a:vsftpd_project:vsftpd:2.3.5", wantNone: true},
		// OpenSSH: CVE-2018-15473 v <= 7.7; CVE-2016-6210 openssh:*:p2 v <= 7.2;
		// CVE-2024-6387 v < 4.4, 8.6 <= v < 9.8, 4.4:-, 8.5:p1, 9.8:-.
		{cpe: "cpe:2.3:a:openbsd:openssh:7.4p1", want: []string{"CVE-2018-15473"}, wantNot: []string{"CVE-2024-6387", "CVE-2016-6210"}},
		{cpe: "cpe:2.3:a:openbsd:openssh:7.2p2", want: []string{"CVE-2016-6210", "CVE-2018-15473"}},
		{cpe: "cpe:2.3:a:openbsd:openssh:8.5p1", want: []string{"CVE-2024-6387"}},
		{cpe: "cpe:2.3:a:openbsd:openssh:9.6p1", want: []string{"CVE-2024-6387"}},
		{cpe: "cpe:2.3:a:openbsd:openssh:8.4p1", wantNone: true},
		{cpe: "cpe:2.3:a:openbsd:openssh:9.8p1", wantNone: true},
		{cpe: "cpe:2.3:a:openbsd:openssh:4.3p2", want: []string{"CVE-2024-6387", "CVE-2018-15473"}},
		// nginx: CVE-2021-23017 0.6.18 <= v < 1.20.1; CVE-2013-2028 1.3.9 <= v <= 1.4.0 (f5:nginx).
		{cpe: "cpe:2.3:a:f5:nginx:1.20.0", want: []string{"CVE-2021-23017"}, wantNot: []string{"CVE-2013-2028"}},
		{cpe: "cpe:2.3:a:f5:nginx:1.4.0", want: []string{"CVE-2021-23017", "CVE-2013-2028"}},
		{cpe: "cpe:2.3:a:f5:nginx:1.20.1", wantNone: true},
		// AND with a platform we cannot see: IIS 6.0 on Windows Server 2003 R2 (CVE-2017-7269).
		{cpe: "cpe:2.3:a:microsoft:internet_information_services:6.0", want: []string{"CVE-2017-7269"}},
		{cpe: "cpe:2.3:a:microsoft:internet_information_services:7.5", wantNone: true},
		// Firmware AND hardware (CVE-2023-27997): FortiOS 6.2.4 on FortiGate 6000.
		{cpe: "cpe:2.3:o:fortinet:fortios:6.2.4", want: []string{"CVE-2023-27997"}},
		// Redis CVE-2022-0543 names no version (redis:-) on Debian/Ubuntu: a version is not enough.
		{cpe: "cpe:2.3:a:redis:redis:6.0.16", wantNot: []string{"CVE-2022-0543"}},
		// Unknown product, unknown version.
		{cpe: "cpe:2.3:a:acme:unheard_of:1.0", wantNone: true},
		{cpe: "cpe:2.3:a:apache:http_server:*", wantNone: true},
	}
	for _, tt := range tests {
		got := hitIDs(db.Match(tt.cpe))
		for _, id := range tt.want {
			if !slices.Contains(got, id) {
				t.Errorf("%s: hits %v lack %s", tt.cpe, got, id)
			}
		}
		for _, id := range tt.wantNot {
			if slices.Contains(got, id) {
				t.Errorf("%s: hits %v include %s", tt.cpe, got, id)
			}
		}
		if tt.wantNone && len(got) > 0 {
			t.Errorf("%s: hits %v, want none", tt.cpe, got)
		}
	}
}

func TestHitKEVAndEPSS(t *testing.T) {
	db := sampleDB(t)
	hits := db.Match("cpe:2.3:a:apache:http_server:2.4.49")
	var h *Hit
	for i := range hits {
		if hits[i].CVE.ID == "CVE-2021-41773" {
			h = &hits[i]
		}
	}
	if h == nil {
		t.Fatalf("no CVE-2021-41773 in %v", hitIDs(hits))
	}
	if h.KEV == nil || h.KEV.Catalog != "2025.08.25" || h.KEV.DueDate.Format("2006-01-02") != "2021-11-17" {
		t.Errorf("KEV = %+v, want the catalog entry", h.KEV)
	}
	if h.EPSS != 0.94432 || h.Percentile != 0.99979 {
		t.Errorf("EPSS = %v/%v", h.EPSS, h.Percentile)
	}
	if h.Match.Criteria != "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*" {
		t.Errorf("matched criteria = %q", h.Match.Criteria)
	}
	// KEV-listed first, then by score.
	if hits[0].KEV == nil {
		t.Errorf("first hit %s is not KEV-listed", hits[0].CVE.ID)
	}
	// CVE-2023-25690 is not in KEV.
	for _, h := range hits {
		if h.CVE.ID == "CVE-2023-25690" && h.KEV != nil {
			t.Errorf("CVE-2023-25690 flagged KEV: %+v", h.KEV)
		}
	}
	// Without the catalog, the NVD record's cisa* fields still flag KEV.
	bare := NewDB()
	c, _ := db.CVE("CVE-2021-41773")
	bare.AddCVE(c)
	if k, ok := bare.KEV("CVE-2021-41773"); !ok || k.Catalog != "nvd" {
		t.Errorf("KEV from NVD fields = %+v", k)
	}
}

func TestMatchProductSamples(t *testing.T) {
	db := sampleDB(t)
	tests := []struct {
		vendor, product, version string
		want                     string
		none                     bool
	}{
		{"", "Apache httpd", "2.4.49", "CVE-2021-41773", false},
		{"", "Apache httpd", "2.4.58", "", true},
		{"", "http_server", "2.4.49", "CVE-2021-41773", false},
		{"apache", "http_server", "2.4.49", "CVE-2021-41773", false},
		{"", "OpenSSH", "7.4p1", "CVE-2018-15473", false},
		{"", "OpenSSH", "9.8p1", "", true},
		{"", "nginx", "1.20.0", "CVE-2021-23017", false},
		{"", "vsftpd", "2.3.4", "CVE-2011-2523", false},
		{"", "OpenSSL", "1.0.1f", "CVE-2014-0160", false},
		{"", "OpenSSL", "", "", true},
		{"", "Microsoft IIS httpd", "6.0", "CVE-2017-7269", false},
		{"", "Unheard-of Server", "1.0", "", true},
		{"", "", "1.0", "", true},
	}
	for _, tt := range tests {
		got := hitIDs(db.MatchProduct(tt.vendor, tt.product, tt.version))
		if tt.none && len(got) > 0 || !tt.none && !slices.Contains(got, tt.want) {
			t.Errorf("MatchProduct(%q, %q, %q) = %v, want %q (none: %v)", tt.vendor, tt.product, tt.version, got, tt.want, tt.none)
		}
	}
}

func TestMatchConcurrent(t *testing.T) {
	db := sampleDB(t)
	done := make(chan []string)
	for range 8 {
		go func() { done <- hitIDs(db.Match("cpe:2.3:a:apache:http_server:2.4.49")) }()
	}
	first := <-done
	for range 7 {
		if got := <-done; !slices.Equal(got, first) {
			t.Errorf("concurrent results differ: %v vs %v", got, first)
		}
	}
}
