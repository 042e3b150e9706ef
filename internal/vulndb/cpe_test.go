package vulndb

import (
	"errors"
	"testing"
)

func TestParseCPE(t *testing.T) {
	tests := []struct {
		in   string
		want CPE
	}{
		{"cpe:2.3:a:nginx:nginx:1.20.0:*:*:*:*:*:*:*",
			CPE{"a", "nginx", "nginx", "1.20.0", "*", "*", "*", "*", "*", "*", "*"}},
		{"cpe:2.3:a:Apache:HTTP_Server:2.4.49",
			CPE{"a", "apache", "http_server", "2.4.49", "*", "*", "*", "*", "*", "*", "*"}},
		{`cpe:2.3:o:ricon:s9922l_firmware:16.10.3\(3794\):*:*:*:*:*:*:*`,
			CPE{"o", "ricon", "s9922l_firmware", "16.10.3(3794)", "*", "*", "*", "*", "*", "*", "*"}},
		{"cpe:2.3:a:openbsd:openssh:8.5:p1:*:*:*:*:*:*",
			CPE{"a", "openbsd", "openssh", "8.5", "p1", "*", "*", "*", "*", "*", "*"}},
		{"cpe:2.3:h:siemens:simatic_s7-1500:-:*:*:*:*:*:*:*",
			CPE{"h", "siemens", "simatic_s7-1500", "-", "*", "*", "*", "*", "*", "*", "*"}},
		{`cpe:2.3:a:x:y:1.\*:*:*:*:*:*:*:*`, // literal star kept escaped
			CPE{"a", "x", "y", `1.\*`, "*", "*", "*", "*", "*", "*", "*"}},
		{`cpe:2.3:a:x:y:2.4.*:*:*:*:*:*:*:*`, // embedded wildcard
			CPE{"a", "x", "y", "2.4.*", "*", "*", "*", "*", "*", "*", "*"}},
		{`cpe:2.3:a:x:y:\-:*:*:*:*:*:*:*`, // a literal lone hyphen is not NA
			CPE{"a", "x", "y", `\-`, "*", "*", "*", "*", "*", "*", "*"}},
		{`cpe:2.3:a:x:a\:b:1:*:*:*:*:*:*:*`, // escaped colon
			CPE{"a", "x", "a:b", "1", "*", "*", "*", "*", "*", "*", "*"}},
		{"cpe:/a:nginx:nginx:1.20.0",
			CPE{"a", "nginx", "nginx", "1.20.0", "*", "*", "*", "*", "*", "*", "*"}},
		{"cpe:/a:openbsd:openssh:7.4p1",
			CPE{"a", "openbsd", "openssh", "7.4p1", "*", "*", "*", "*", "*", "*", "*"}},
		{"cpe:/o:microsoft:windows_server_2003::sp2",
			CPE{"o", "microsoft", "windows_server_2003", "*", "sp2", "*", "*", "*", "*", "*", "*"}},
	}
	for _, tt := range tests {
		got, err := ParseCPE(tt.in)
		if err != nil {
			t.Errorf("ParseCPE(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseCPE(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		// Formatting and parsing again gives the same CPE.
		again, err := ParseCPE(got.String())
		if err != nil || again != got {
			t.Errorf("round trip of %q via %q = %+v, %v", tt.in, got.String(), again, err)
		}
	}
}

func TestParseCPEErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"nginx 1.20",
		"cpe:2.2:a:nginx:nginx",
		`cpe:2.3:a:nginx:nginx:1.0\`,
		"cpe:2.3:x:nginx:nginx:1.0",
		"cpe:2.3:a:a:b:c:d:e:f:g:h:i:j:k",
		"cpe:/a:b:c:d:e:f:g:h",
		"cpe:/a:b%zz:c",
	} {
		if _, err := ParseCPE(in); !errors.Is(err, ErrBadCPE) {
			t.Errorf("ParseCPE(%q) error = %v, want ErrBadCPE", in, err)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"2.4.*", "2.4.49", true},
		{"2.4.*", "2.5.0", false},
		{"*_firmware", "fortios_firmware", true},
		{"1.?", "1.2", true},
		{"1.?", "1.22", false},
		{`1.\*`, "1.2", false},
		{`1.\*`, `1.\*`, true},
		{"*", "", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pat, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pat, tt.s, got, tt.want)
		}
	}
}
