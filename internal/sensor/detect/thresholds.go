package detect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"gopkg.in/yaml.v3"
)

// maxThresholdsFile bounds a thresholds file: a few dozen lines.
const maxThresholdsFile = 64 << 10

// thresholds is the YAML form of the tunable part of Config. A field
// left out keeps its default (Config.Defaults).
type thresholds struct {
	Window           string  `yaml:"window"`
	HitWindow        string  `yaml:"hit_window"`
	ScanPorts        int     `yaml:"scan_ports"`
	ScanHosts        int     `yaml:"scan_hosts"`
	SSHFailures      int     `yaml:"ssh_failures"`
	SSHSessions      int     `yaml:"ssh_sessions"`
	WebFailures      int     `yaml:"web_failures"`
	AlertSeverity    uint8   `yaml:"alert_severity"`
	VolumeInterval   string  `yaml:"volume_interval"`
	VolumeMinBytes   uint64  `yaml:"volume_min_bytes"`
	VolumeMinPackets uint64  `yaml:"volume_min_packets"`
	VolumeFactor     float64 `yaml:"volume_factor"`
	VolumeAlpha      float64 `yaml:"volume_alpha"`
	MaxTracked       int     `yaml:"max_tracked"`
}

// ReadThresholds reads a YAML file of detection thresholds
// (`rampart sensor --thresholds FILE`) onto base: window, hit_window and
// volume_interval are durations ("90s", "10m"); the others are numbers.
// Unknown keys, negative or out-of-range values are errors that name the
// key; base's other fields are kept.
func ReadThresholds(r io.Reader, base Config) (Config, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxThresholdsFile+1))
	if err != nil {
		return base, fmt.Errorf("%w: thresholds: %v", ErrConfig, err)
	}
	if len(raw) > maxThresholdsFile {
		return base, fmt.Errorf("%w: thresholds: larger than %d bytes", ErrConfig, maxThresholdsFile)
	}
	var t thresholds
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil && !errors.Is(err, io.EOF) {
		return base, fmt.Errorf("%w: thresholds: %v", ErrConfig, err)
	}
	c := base
	for _, d := range []struct {
		key string
		s   string
		to  *time.Duration
	}{{"window", t.Window, &c.Window}, {"hit_window", t.HitWindow, &c.HitWindow}, {"volume_interval", t.VolumeInterval, &c.VolumeInterval}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil || v < time.Second || v > 24*time.Hour {
			return base, fmt.Errorf("%w: thresholds: %s %q: a duration from 1s to 24h", ErrConfig, d.key, d.s)
		}
		*d.to = v
	}
	for _, n := range []struct {
		key    string
		v, max int
		to     *int
	}{{"scan_ports", t.ScanPorts, 1024, &c.ScanPorts}, {"scan_hosts", t.ScanHosts, 1024, &c.ScanHosts},
		{"ssh_failures", t.SSHFailures, 1 << 20, &c.SSHFailures}, {"ssh_sessions", t.SSHSessions, 1 << 20, &c.SSHSessions},
		{"web_failures", t.WebFailures, 1 << 20, &c.WebFailures}, {"max_tracked", t.MaxTracked, 10_000_000, &c.MaxTracked}} {
		if n.v == 0 {
			continue
		}
		if n.v < 0 || n.v > n.max {
			return base, fmt.Errorf("%w: thresholds: %s %d: from 1 to %d", ErrConfig, n.key, n.v, n.max)
		}
		*n.to = n.v
	}
	if t.AlertSeverity != 0 {
		if t.AlertSeverity > 3 {
			return base, fmt.Errorf("%w: thresholds: alert_severity %d: 1 (high only) to 3 (all)", ErrConfig, t.AlertSeverity)
		}
		c.AlertSeverity = t.AlertSeverity
	}
	if t.VolumeMinBytes != 0 {
		c.VolumeMinBytes = t.VolumeMinBytes
	}
	if t.VolumeMinPackets != 0 {
		c.VolumeMinPackets = t.VolumeMinPackets
	}
	if t.VolumeFactor != 0 {
		if t.VolumeFactor < 1.5 || t.VolumeFactor > 1000 {
			return base, fmt.Errorf("%w: thresholds: volume_factor %v: from 1.5 to 1000", ErrConfig, t.VolumeFactor)
		}
		c.VolumeFactor = t.VolumeFactor
	}
	if t.VolumeAlpha != 0 {
		if t.VolumeAlpha <= 0 || t.VolumeAlpha >= 1 {
			return base, fmt.Errorf("%w: thresholds: volume_alpha %v: between 0 and 1", ErrConfig, t.VolumeAlpha)
		}
		c.VolumeAlpha = t.VolumeAlpha
	}
	return c, nil
}
