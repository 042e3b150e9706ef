package config

import (
	"maps"
	"testing"

	"github.com/rampart-cert/rampart/internal/finding"
)

func TestFindingsExpiryKeys(t *testing.T) {
	c := Config{FindingsExpiry: " intel=45, intel.exposed-service=7 ,monitor=3,pdns.blocked-query=2,sensor.port-scan=0"}
	src, err := c.ExpiryDays()
	if err != nil {
		t.Fatal(err)
	}
	if want := map[finding.Source]int{finding.SourceIntel: 45, finding.SourceMonitor: 3}; !maps.Equal(src, want) {
		t.Fatalf("sources %v, want %v", src, want)
	}
	kinds, err := c.ExpiryKindDays()
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"intel.exposed-service": 7, "pdns.blocked-query": 2, "sensor.port-scan": 0}; !maps.Equal(kinds, want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
	for _, bad := range []string{
		"scan=3",                  // closed by coverage
		"tls.cert-expired=3",      // a scan kind
		"intel.Exposed=3",         // not lower case
		"intel.=3",                // no name
		"intel.exposed-service",   // no days
		"intel.exposed-service=x", // not a number
		"intel=3651",
		"dns.zone-transfer=3", // dns.* are scan checks; protective DNS is pdns.*
	} {
		c := Config{FindingsExpiry: bad}
		if _, err := c.ExpiryDays(); err == nil {
			t.Errorf("%q accepted", bad)
		}
		if _, err := c.ExpiryKindDays(); err == nil {
			t.Errorf("%q accepted as kinds", bad)
		}
	}
}
