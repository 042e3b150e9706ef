package sensor

import "testing"

func TestSubject(t *testing.T) {
	for _, c := range []struct{ org, name, want string }{
		{"MOH", "gw1", "rampart.sensor.MOH.gw1"},
		{"MOH.HN", "gw-1", "rampart.sensor.MOH~HN.gw-1"},
		{"moh", "gw1", ""},
		{"MOH", "gw.1", ""},
		{"MOH", "", ""},
		{"", "gw1", ""},
		{"MOH*", "gw1", ""},
		{".MOH", "gw1", ""},
	} {
		if got := Subject(c.org, c.name); got != c.want {
			t.Errorf("Subject(%q, %q) = %q, want %q", c.org, c.name, got, c.want)
		}
		if c.want == "" {
			continue
		}
		org, name, rest, ok := ParseSubject(c.want + ".detections")
		if !ok || org != c.org || name != c.name || rest != "detections" {
			t.Errorf("ParseSubject(%q) = %q %q %q %v", c.want+".detections", org, name, rest, ok)
		}
	}
	for _, s := range []string{
		"rampart.sensor.MOH.gw1", "rampart.sensor.MOH", "rampart.sensor.MOH.gw1.", "rampart.sensors.MOH.gw1.x",
		"rampart.sensor.moh.gw1.x", "rampart.sensor.MOH.GW1.x", "rampart.sensor.~MOH.gw1.x",
	} {
		if org, name, rest, ok := ParseSubject(s); ok {
			t.Errorf("ParseSubject(%q) = %q %q %q, want not ok", s, org, name, rest)
		}
	}
}

func FuzzParseSubject(f *testing.F) {
	f.Add("rampart.sensor.MOH~HN.gw-1.detections")
	f.Add("rampart.sensor.MOH.gw1.stats")
	f.Fuzz(func(t *testing.T, s string) {
		org, name, rest, ok := ParseSubject(s)
		if !ok {
			return
		}
		if got := Subject(org, name) + "." + rest; got != s {
			t.Errorf("ParseSubject(%q) does not round-trip: %q", s, got)
		}
	})
}
