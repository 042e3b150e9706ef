package detect

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestReadThresholds(t *testing.T) {
	base := Config{Member: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}
	c, err := ReadThresholds(strings.NewReader(`
window: 90s
scan_ports: 40
ssh_failures: 5
alert_severity: 2
volume_factor: 20
volume_min_bytes: 50000000
`), base)
	if err != nil {
		t.Fatal(err)
	}
	if c.Window != 90*time.Second || c.ScanPorts != 40 || c.SSHFailures != 5 || c.AlertSeverity != 2 || c.VolumeFactor != 20 ||
		c.VolumeMinBytes != 50_000_000 || len(c.Member) != 1 || c.ScanHosts != 0 {
		t.Fatalf("config %+v", c)
	}
	if d := c.Defaults(); d.ScanHosts != 25 || d.ScanPorts != 40 || d.HitWindow != 10*time.Minute {
		t.Fatalf("defaults over a file: %+v", d)
	}
	// The thresholds take effect: 5 failed SSH logins are brute force now.
	det, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if det.cfg.SSHFailures != 5 {
		t.Fatalf("detector SSHFailures %d", det.cfg.SSHFailures)
	}
	if c, err := ReadThresholds(strings.NewReader(""), base); err != nil || c.Window != 0 {
		t.Fatalf("empty file: %v %+v", err, c)
	}
	for _, bad := range []string{"windw: 1m", "window: soon", "window: 10ms", "scan_ports: 5000", "ssh_failures: -1",
		"alert_severity: 9", "volume_factor: 1.1", "volume_alpha: 1.5", "[1, 2]", strings.Repeat("#", maxThresholdsFile+1)} {
		if _, err := ReadThresholds(strings.NewReader(bad), base); !errors.Is(err, ErrConfig) {
			t.Errorf("%.30q: err %v, want ErrConfig", bad, err)
		}
	}
}

func FuzzReadThresholds(f *testing.F) {
	f.Add("window: 90s\nscan_ports: 40\n")
	f.Add("volume_alpha: 0.2\nmax_tracked: 1000\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ReadThresholds(strings.NewReader(s), Config{})
		if err != nil {
			return
		}
		if _, err := New(c, nil); err != nil && !errors.Is(err, ErrConfig) {
			t.Fatalf("accepted thresholds make New fail: %v", err)
		}
	})
}
