package config

import (
	"strings"
	"testing"
	"time"
)

func TestCorrelationSection(t *testing.T) {
	file := writeFile(t, "rampart.yaml", `
correlation:
  min_orgs: 2
  window: 5m
  ttl: 2h
  approve_all: true
  never_auto: [203.0.113.0/24, 198.51.100.7]
`)
	c, err := load(t, true, []string{"--config", file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := c.Correlation.WithDefaults()
	if k.MinOrgs != 2 || k.Window != 5*time.Minute || k.TTL != 2*time.Hour || !k.ApproveAll || len(k.NeverAuto) != 2 ||
		k.MaxSources != DefaultCorrelationMaxSources {
		t.Fatalf("correlation section: %+v", k)
	}
	// No section: nil, the defaults apply.
	c, err = load(t, true, nil, nil)
	if err != nil || c.Correlation != nil {
		t.Fatalf("without a section: %+v %v", c.Correlation, err)
	}
	if d := c.Correlation.WithDefaults(); d.MinOrgs != 3 || d.Window != 10*time.Minute || d.TTL != 4*time.Hour {
		t.Fatalf("defaults: %+v", d)
	}
	for _, tc := range []struct{ body, want string }{
		{"correlation:\n  min_orgs: -1\n", "correlation.min_orgs"},
		{"correlation:\n  window: -1m\n", "correlation.window"},
		{"correlation:\n  ttl: 10s\n", "correlation.ttl"},
		{"correlation:\n  never_auto: [nowhere]\n", "correlation.never_auto"},
		{"correlation:\n  min_org: 2\n", "min_org"},
	} {
		_, err := load(t, true, []string{"--config", writeFile(t, "r.yaml", tc.body)}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error naming %s", tc.body, err, tc.want)
		}
	}
}
