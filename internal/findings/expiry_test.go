package findings_test

import (
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/findings"
)

func TestKindTTL(t *testing.T) {
	svc := findings.New(findings.Deps{Expiry: map[finding.Source]int{finding.SourceIntel: 45},
		KindExpiry: map[string]int{"intel.blocklisted": 10, "intel.exposed-service": 0}})
	day := 24 * time.Hour
	for _, tc := range []struct {
		src  finding.Source
		kind string
		want time.Duration
	}{
		{finding.SourceIntel, "", 45 * day},                         // the source's, configured
		{finding.SourceIntel, "intel.malicious-content", 45 * day},  // no days of its own
		{finding.SourceIntel, "intel.blocklisted", 10 * day},        // configured kind
		{finding.SourceIntel, "intel.exposed-service", 0},           // configured never
		{finding.SourceIntel, "intel.compromised-host", 14 * day},   // default kind
		{finding.SourceIntel, "intel.leaked-credentials", 90 * day}, // default kind
		{finding.SourceMonitor, "monitor.website-down", 3 * day},    // default source
		{finding.SourceScan, "tls.cert-expired", 0},                 // scans close by coverage
		{finding.SourceImport, "intel.exposed-service", 0},          // so do imports, whatever the kind
	} {
		if got := svc.KindTTL(tc.src, tc.kind); got != tc.want {
			t.Errorf("KindTTL(%s, %q) = %v, want %v", tc.src, tc.kind, got, tc.want)
		}
	}
}
