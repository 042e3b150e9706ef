package cli

import (
	"strings"
	"testing"
)

// checks list --kinds prints the whole finding catalog: checks beside the
// kinds of the other sources, in the language asked for.
func TestChecksListKinds(t *testing.T) {
	r := must(t, runCLI(t, nil, "", "checks", "list", "--kinds", "--lang", "vi"))
	for _, want := range []string{"tls.cert-expired", "intel.blocklisted", "pdns.blocked-query", "import.nuclei.", "Kết quả nhập từ Nuclei", "manual.finding"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("checks list --kinds lacks %q", want)
		}
	}
}
