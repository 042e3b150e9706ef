package vulndb

import "testing"

func TestCompareVersion(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.2.10", "1.2.9", 1},
		{"2.4.49", "2.4.9", 1},
		{"2.4.49", "2.4.49", 0},
		{"2.4.49", "2.4.51", -1},
		{"1.20", "1.20.0", 0},
		{"1.2", "1.2.1", -1},
		{"01.02", "1.2", 0},
		// OpenSSL letter releases.
		{"1.0.1", "1.0.1f", -1},
		{"1.0.1f", "1.0.1g", -1},
		{"1.0.1F", "1.0.1f", 0},
		{"1.0.1z", "1.0.2", -1},
		{"1.0.1.1", "1.0.1f", 1},
		{"1.0.1.0", "1.0.1f", -1},
		{"A", "0", 1},
		// OpenSSH portable.
		{"7.4", "7.4p1", -1},
		{"7.4p1", "7.4p2", -1},
		{"7.4p2", "7.5", -1},
		{"7.4p1", "7.7", -1},
		{"9.8p1", "9.8", 1},
		// Pre-releases sort below the release.
		{"1.0-rc1", "1.0", -1},
		{"1.0rc1", "1.0.rc1", 0},
		{"1.0-beta2", "1.0-rc1", -1},
		{"1.0-alpha", "1.0-beta", -1},
		{"2.0.0-dev", "2.0.0-alpha1", -1},
		{"1.0-rc2", "1.0-rc10", -1},
		{"1.0.0-RC1", "1.0", -1},
		{"1.0.1-rc1", "1.0", 1},
		// Vendor shapes from the samples.
		{"12.1-55.297", "12.1-55.300", -1},
		{"12.1", "12.1-55.297", -1},
		{"16.12.10a", "16.12.10", 1},
		{"2.5.10.1", "2.5.10", 1},
		{"14.0.5.45", "14.0.5.100", -1},
		{"99999999999999999999999", "99999999999999999999998", 1},
		{"", "", 0},
		{"", "0", 0},
		{"", "1", -1},
	}
	for _, tt := range tests {
		if got := CompareVersion(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareVersion(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := CompareVersion(tt.b, tt.a); got != -tt.want {
			t.Errorf("CompareVersion(%q, %q) = %d, want %d (antisymmetry)", tt.b, tt.a, got, -tt.want)
		}
	}
}

func TestCompareVersionAllocs(t *testing.T) {
	n := testing.AllocsPerRun(100, func() { CompareVersion("1.0.1f", "1.0.1-RC2") })
	if n != 0 {
		t.Errorf("CompareVersion allocates %v times", n)
	}
}
