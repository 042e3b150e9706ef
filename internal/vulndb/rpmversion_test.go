package vulndb

import "testing"

// TestRPMVerCmp: orderings RPM's documentation and real packages show.
func TestRPMVerCmp(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0", "2.0", -1},
		{"2.0.1", "2.0", 1},
		{"2.0.1a", "2.0.1", 1},
		{"1.0a", "1.0", 1},
		{"5.5p1", "5.5p2", -1},
		{"5.5p10", "5.5p1", 1},
		{"10xyz", "10.1xyz", -1},
		{"xyz10", "xyz10.1", -1},
		{"xyz.4", "xyz.4", 0},
		{"2a", "2.0", -1},      // letters older than digits
		{"1.0", "1_0", 0},      // separators only separate
		{"1.0", "1..0", 0},     // however many
		{"1.002", "1.2", 0},    // leading zeros
		{"1.010", "1.9", 1},    // numbers, not strings
		{"abc", "abd", -1},     // letters as bytes
		{"B", "a", -1},         // upper case first
		{"1.0~rc1", "1.0", -1}, // tilde: before the end
		{"1.0~rc1", "1.0~rc2", -1},
		{"1.0~rc1~git123", "1.0~rc1", -1},
		{"1.0~", "1.0", -1},
		{"1.0^", "1.0", 1}, // caret: after the end
		{"1.0^git1", "1.0", 1},
		{"1.0^git1", "1.0.1", -1}, // and before any segment
		{"1.0^git1", "1.01", -1},
		{"1.0^20160101", "1.0.1", -1},
		{"1.0^git1~pre", "1.0^git1", -1},
		{"1.0~rc1^git1", "1.0~rc1", 1},
		{"1.0~rc1^git1", "1.0", -1},
		{"1.0^git1", "1.0^git2", -1},
		{"", "1", -1},
		{"", "", 0},
		// Real releases.
		{"38.el9_4.1", "38.el9", 1},
		{"38.el9_4", "38.el9_4.1", -1},
		{"26.P2.el7_9.16", "26.P2.el7_9.15", 1},
		{"26.P2.el7_9.16", "26.P2.el7_9.2", 1},
		{"56.module+el8.8.0+18758+b3a9c8da.6", "62.module+el8.9.0+19699+7a7a2044", -1},
		{"62.module+el8.9.0+19699+7a7a2044", "62.module+el8.9.0+19699+7a7a2044.1", -1},
		{"7.4p1", "7.4", 1},
		{"8.7p1", "8.0p1", 1},
	}
	for _, tt := range tests {
		if got := RPMVerCmp(tt.a, tt.b); got != tt.want {
			t.Errorf("RPMVerCmp(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := RPMVerCmp(tt.b, tt.a); got != -tt.want {
			t.Errorf("RPMVerCmp(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

func TestCompareRPMVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"0:8.7p1-38.el9_4.1", "8.7p1-38.el9_4.1", 0}, // no epoch is epoch 0
		{"1:1.0-1", "0:2.0-1", 1},                     // the epoch first
		{"32:9.11.36-11.el8_9.1", "32:9.11.36-11.el8_9", 1},
		{"32:9.11.4-26.P2.el7_9.16", "32:9.11.4-26.P2.el7_9.15", 1},
		{"0:2.4.37-62.module+el8.9.0+19699+7a7a2044", "2.4.37-56.module+el8.8.0+18758+b3a9c8da.6", 1},
		{"1.0-1", "1.0-1.el9", -1},
		{"1.0.1-1", "1.0-9", 1}, // the version before the release
	}
	for _, tt := range tests {
		got, err := CompareRPMVersions(tt.a, tt.b)
		if err != nil || got != tt.want {
			t.Errorf("CompareRPMVersions(%q, %q) = %d, %v; want %d", tt.a, tt.b, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "x:1.0-1", "1:", "1.0-", "-1", "1.0 -1", "1:2:3-4", "1.0-1\x00", string(make([]byte, 300))} {
		if v, err := ParseRPMVersion(bad); err == nil {
			t.Errorf("ParseRPMVersion(%q) = %+v, no error", bad, v)
		}
	}
	v, err := ParseRPMVersion("32:9.11.36-11.el8_9.1")
	if err != nil || v.Epoch != 32 || v.Version != "9.11.36" || v.Release != "11.el8_9.1" || !v.EpochSet || v.String() != "32:9.11.36-11.el8_9.1" {
		t.Errorf("parse: %+v %v", v, err)
	}
}

// FuzzRPMVerCmp checks that the order is consistent: reflexive,
// antisymmetric, and that a parsed version prints back to what compares
// equal.
func FuzzRPMVerCmp(f *testing.F) {
	for _, s := range [][2]string{
		{"1.0~rc1", "1.0"}, {"1.0^git1", "1.0.1"}, {"2a", "2.0"}, {"0:8.7p1-38.el9_4.1", "8.7p1-38.el9"},
		{"32:9.11.36-11.el8_9.1", "9.11.36-11.el8_9"}, {"1.0^", "1.0~"}, {"1..0", "1_0"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := RPMVerCmp(a, b), RPMVerCmp(b, a)
		if ab != -ba || ab < -1 || ab > 1 {
			t.Fatalf("RPMVerCmp(%q, %q) = %d but reversed %d", a, b, ab, ba)
		}
		if RPMVerCmp(a, a) != 0 {
			t.Fatalf("%q is not equal to itself", a)
		}
		va, errA := ParseRPMVersion(a)
		vb, errB := ParseRPMVersion(b)
		if errA != nil || errB != nil {
			return
		}
		if c, d := va.Compare(vb), vb.Compare(va); c != -d {
			t.Fatalf("Compare(%q, %q) = %d but reversed %d", a, b, c, d)
		}
		again, err := ParseRPMVersion(va.String())
		if err != nil || again.Compare(va) != 0 || again.String() != va.String() {
			t.Fatalf("%q: printed %q parses to %+v, %v", a, va.String(), again, err)
		}
	})
}
