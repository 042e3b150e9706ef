package all

import (
	"testing"

	"github.com/rampart-cert/rampart/internal/finding"
)

// Every check that ships is a kind of the finding catalog, with the same
// texts, reported by scans; the other sources' kinds are there beside them.
func TestChecksInCatalog(t *testing.T) {
	r, errs := Registry("../template/builtin")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	cat := r.Catalog()
	for _, c := range r.All() {
		m := c.Meta()
		k, ok := cat.Get(m.ID)
		if !ok {
			t.Errorf("check %s is not in the catalog", m.ID)
			continue
		}
		if k.Source != finding.SourceScan || k.Family != m.Family || k.Severity != m.Severity ||
			k.Title != m.Title || k.Description != m.Description || k.Remediation != m.Remediation || len(k.References) != len(m.References) {
			t.Errorf("%s: catalog kind %+v differs from the check's meta %+v", m.ID, k, m)
		}
	}
	for _, id := range []string{"intel.blocklisted", "pdns.blocked-query", "manual.finding", "import.nuclei."} {
		if _, ok := cat.Get(id); !ok {
			t.Errorf("source kind %s is missing", id)
		}
	}
	if _, ok := cat.Lookup("import.nuclei.cve-2021-41773"); !ok {
		t.Error("an imported Nuclei result has no kind")
	}
	// Registering the same check again fails in the catalog too.
	if err := r.Register(r.All()[0]); err == nil {
		t.Error("a duplicate check registered")
	}
}
