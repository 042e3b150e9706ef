package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// testFindingLikelihood: the EPSS score in a finding's evidence is kept,
// follows a rescan's evidence, and the likelihood sort pages through KEV
// first, then EPSS, then severity, without losing or repeating a finding.
func testFindingLikelihood(t *testing.T, f *findingFixture) {
	o := f.org(t, sys, f.nat.ID, "LIKELY", org.KindAgency)
	a := f.asset(t, sys, o, asset.KindIPv4, "192.0.2.77")
	vuln := func(subject string, sev finding.Severity, kev bool, epss string) store.Finding {
		x := seen(a, "vuln.known-cve", "192.0.2.77:22", subject, sev)
		x.KEV = kev
		if epss != "" {
			x = withEvidence(x, `{"fields":{"cve":"`+subject+`","epss":"`+epss+`","epss_percentile":"0.5"}}`)
		}
		return x
	}
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	found := []store.Finding{
		vuln("CVE-2024-0005", finding.Low, false, ""),
		vuln("CVE-2024-0002", finding.High, false, "0.91"),
		vuln("CVE-2024-0004", finding.Critical, false, ""),
		vuln("CVE-2024-0001", finding.Medium, true, "0.12"),
		vuln("CVE-2024-0003", finding.High, false, "0.5"),
		vuln("CVE-2024-0006", finding.High, false, "not-a-number"),
	}
	f.record(t, "likely-1", at, []store.Coverage{cover(a, "192.0.2.77:22", "vuln.known-cve")}, found...)
	if got := f.byKey(t, found[1].Key).EPSS; got != 0.91 {
		t.Fatalf("EPSS read back = %v, want 0.91", got)
	}
	if got := f.byKey(t, found[5].Key).EPSS; got != 0 {
		t.Fatalf("EPSS of an unparsable score = %v, want 0", got)
	}
	want := []string{"CVE-2024-0001", "CVE-2024-0002", "CVE-2024-0003", "CVE-2024-0004", "CVE-2024-0006", "CVE-2024-0005"}
	if got := f.likelihoodOrder(t, o, 2); !slices.Equal(got, want) {
		t.Fatalf("likelihood order (pages of 2) = %v, want %v", got, want)
	}
	if got := f.likelihoodOrder(t, o, 100); !slices.Equal(got, want) {
		t.Fatalf("likelihood order (one page) = %v, want %v", got, want)
	}

	// A rescan whose evidence carries a new score moves the finding.
	found[4] = vuln("CVE-2024-0003", finding.High, false, "0.97")
	f.record(t, "likely-2", at.Add(time.Hour), []store.Coverage{cover(a, "192.0.2.77:22", "vuln.known-cve")}, found...)
	want = []string{"CVE-2024-0001", "CVE-2024-0003", "CVE-2024-0002", "CVE-2024-0004", "CVE-2024-0006", "CVE-2024-0005"}
	if got := f.likelihoodOrder(t, o, 4); !slices.Equal(got, want) {
		t.Fatalf("after a rescan, likelihood order = %v, want %v", got, want)
	}

	for _, bad := range []string{"x", "TDIuMC4wLjE", "TDEuZmZmMDAwMDAwMDAwMDAwMC4wLjE", "!!"} {
		_, err := f.s.ListFindings(f.ctx, sys, store.FindingFilter{OrgID: o.ID, Sort: store.SortLikelihood, PageRequest: store.PageRequest{After: bad}})
		wantErr(t, err, store.ErrInvalid, "a bad likelihood cursor "+bad)
	}
	_, err := f.s.ListFindings(f.ctx, sys, store.FindingFilter{OrgID: o.ID, Sort: "random"})
	wantErr(t, err, store.ErrInvalid, "an unknown sort")
}

func (f *findingFixture) likelihoodOrder(t *testing.T, o org.Organization, limit int) []string {
	t.Helper()
	var out []string
	after := ""
	for range 20 {
		page, err := f.s.ListFindings(f.ctx, sys, store.FindingFilter{OrgID: o.ID, Sort: store.SortLikelihood,
			PageRequest: store.PageRequest{Limit: limit, After: after}})
		must(t, err, "list by likelihood")
		for _, x := range page.Items {
			out = append(out, x.Subject)
		}
		if page.Next == "" {
			return out
		}
		after = page.Next
	}
	t.Fatal("likelihood pages do not end")
	return nil
}
