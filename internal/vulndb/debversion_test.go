package vulndb

import (
	"errors"
	"testing"
)

// The table follows dpkg's documented rules (deb-version(7)) and the
// kinds of versions the Debian and Ubuntu archives carry.
func TestCompareDebVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		// equal forms
		{"0", "0", 0},
		{"0", "00", 0},
		{"1.2.3", "1.2.3", 0},
		{"0:1.2.3", "1.2.3", 0},       // epoch 0 is the default
		{"1.2.3-0", "1.2.3", 0},       // an absent revision sorts like "0"
		{"1:9.2p1-2", "1:9.2p1-2", 0}, // identical with epoch
		{"1.02", "1.2", 0},            // digit runs are numbers
		{"1.2.3-01", "1.2.3-1", 0},    // also in the revision
		{"2:1.0", "2:1.0-0", 0},       // both rules together
		{"9.18.19-1~deb12u1", "9.18.19-1~deb12u1", 0},
		// epochs dominate
		{"1:1.0", "2.0", 1},
		{"1:0.1", "0:9.9", 1},
		{"2:1.0", "10:0.1", -1}, // epochs are numbers, not text
		// upstream
		{"1.2.3", "1.2.4", -1},
		{"1.2.10", "1.2.9", 1},
		{"1.2.3", "1.2.3.0", -1}, // the longer version with a non-digit run is newer
		{"1.0", "1.0a", -1},
		{"1.0a", "1.0b", -1},
		{"1.0a", "1.0+dfsg", -1},  // letters sort before other characters
		{"1.0+dfsg", "1.0.1", -1}, // other characters by their code: '+' is below '.'
		{"7.4p1", "7.5", -1},
		{"9.2p1", "9.2p2", -1},
		// the tilde: before everything, even the end
		{"1.0~rc1", "1.0", -1},
		{"1.0~rc1", "1.0~rc2", -1},
		{"1.0~~", "1.0~~a", -1},
		{"1.0~~a", "1.0~", -1},
		{"1.0~", "1.0", -1},
		{"1.0~beta", "1.0~rc", -1},
		// revisions
		{"1.0-1", "1.0-2", -1},
		{"1.0-1", "1.0-1+deb12u1", -1},
		{"1.0-1~deb12u1", "1.0-1", -1}, // a backport of -1 to stable sorts before -1
		{"1:9.2p1-2", "1:9.2p1-2+deb12u3", -1},
		{"1:9.2p1-2+deb12u2", "1:9.2p1-2+deb12u3", -1},
		{"1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u7", -1},
		{"1:9.2p1-2+deb12u10", "1:9.2p1-2+deb12u9", 1},
		{"1:9.18.28-1~deb12u2", "1:9.18.33-1~deb12u2", -1},
		{"1:9.18.33-1~deb12u2", "1:9.18.33-1", -1},
		// Ubuntu
		{"1:8.9p1-3ubuntu0.7", "1:8.9p1-3ubuntu0.10", -1},
		{"1:8.9p1-3", "1:8.9p1-3ubuntu0.1", -1},
		{"1:8.9p1-3ubuntu0.10", "1:9.6p1-3ubuntu13.3", -1},
		{"1:9.18.30-0ubuntu0.22.04.1", "1:9.18.30-0ubuntu0.22.04.2", -1},
		{"1.18.0-6ubuntu14", "1.18.0-6ubuntu14.4", -1},
		{"2.4.52-1ubuntu4.12", "2.4.52-1ubuntu4.9", 1},
		{"1:8.2p1-4ubuntu0.11", "1:8.2p1-4ubuntu0.11+esm1", -1},
		// hyphens in the upstream version: the revision is after the last one
		{"1.0-beta-1", "1.0-beta-2", -1},
		{"1.0-beta-1", "1.0-1", 1}, // upstream "1.0-beta" > "1.0": '-' is above the end
	}
	for _, tt := range tests {
		got, err := CompareDebVersions(tt.a, tt.b)
		if err != nil {
			t.Errorf("compare(%q, %q): %v", tt.a, tt.b, err)
			continue
		}
		if got != tt.want {
			t.Errorf("compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		back, _ := CompareDebVersions(tt.b, tt.a)
		if back != -tt.want {
			t.Errorf("compare(%q, %q) = %d, not the opposite of %d", tt.b, tt.a, back, tt.want)
		}
	}
}

func TestParseDebVersion(t *testing.T) {
	good := map[string]DebVersion{
		"1:9.2p1-2+deb12u3":          {Epoch: 1, Upstream: "9.2p1", Revision: "2+deb12u3"},
		"9.18.49-1~deb12u3":          {Upstream: "9.18.49", Revision: "1~deb12u3"},
		"2.4.62":                     {Upstream: "2.4.62"},
		"1:9.18.30-0ubuntu0.22.04.2": {Epoch: 1, Upstream: "9.18.30", Revision: "0ubuntu0.22.04.2"},
		"2:1.0-beta-1":               {Epoch: 2, Upstream: "1.0-beta", Revision: "1"},
		"1:2:3-4":                    {Epoch: 1, Upstream: "2:3", Revision: "4"}, // a colon in upstream, after an epoch
	}
	for in, want := range good {
		got, err := ParseDebVersion(in)
		if err != nil || got != want {
			t.Errorf("ParseDebVersion(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("String() = %q, want %q", got.String(), in)
		}
	}
	for _, bad := range []string{"", ":1.0", "a:1.0", "1:", "1.0-", "-1", "1.0 -1", "1.0-1 2", "1.0_1", "1:1.0-a_b", "1234567890:1"} {
		if _, err := ParseDebVersion(bad); !errors.Is(err, ErrBadDebVersion) {
			t.Errorf("ParseDebVersion(%q) = %v, want ErrBadDebVersion", bad, err)
		}
	}
}

// FuzzCompareDebVersions: never a panic; comparing is antisymmetric and a
// version equals itself.
func FuzzCompareDebVersions(f *testing.F) {
	for _, s := range [][2]string{{"1:9.2p1-2+deb12u3", "1:9.2p1-2"}, {"1.0~rc1", "1.0"}, {"9.18.49-1~deb12u3", "1:9.18.49-1"},
		{"1:8.9p1-3ubuntu0.10", "1:8.9p1-3ubuntu0.7"}, {"0", "00"}, {"1.0-beta-1", "1.0-1"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, errA := CompareDebVersions(a, b)
		ba, errB := CompareDebVersions(b, a)
		if errA != nil || errB != nil {
			return
		}
		if ab != -ba {
			t.Fatalf("compare(%q,%q)=%d but compare(%q,%q)=%d", a, b, ab, b, a, ba)
		}
		if c, _ := CompareDebVersions(a, a); c != 0 {
			t.Fatalf("%q != itself", a)
		}
	})
}
