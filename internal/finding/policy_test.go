package finding

import (
	"errors"
	"testing"
	"time"
)

func TestTierOf(t *testing.T) {
	for _, c := range []struct {
		crit  string
		level int
		want  Tier
	}{
		{"normal", 1, TierNormal}, {"", 0, TierNormal}, {"normal", 2, TierNormal}, {"bogus", 1, TierNormal},
		{"important", 1, TierImportant}, {"normal", 3, TierImportant},
		{"critical", 1, TierCritical}, {"normal", 4, TierCritical}, {"important", 4, TierCritical}, {"Critical ", 2, TierCritical},
		{"national", 1, TierNational}, {"normal", 5, TierNational}, {"critical", 5, TierNational}, {"national", 3, TierNational},
		{"normal", 9, TierNormal}, {"important", -1, TierImportant},
	} {
		if got := TierOf(c.crit, c.level); got != c.want {
			t.Errorf("TierOf(%q, %d) = %s, want %s", c.crit, c.level, got, c.want)
		}
	}
}

// TestDefaultPolicyTiers is the documented default table
// (docs/deadlines.md): days by tier and severity, KEV shortest.
func TestDefaultPolicyTiers(t *testing.T) {
	p := DefaultPolicy
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	want := map[Tier][6]int{ // KEV-listed high, critical, high, medium, low, info
		TierNormal:    {14, 15, 30, 90, 180, 0},
		TierImportant: {10, 10, 21, 60, 120, 0},
		TierCritical:  {7, 7, 14, 45, 90, 0},
		TierNational:  {3, 3, 7, 30, 60, 0},
		"":            {14, 15, 30, 90, 180, 0}, // tier unknown: the base row
	}
	for tier, w := range want {
		got := [6]int{p.DaysFor(High, true, tier), p.DaysFor(Critical, false, tier), p.DaysFor(High, false, tier),
			p.DaysFor(Medium, false, tier), p.DaysFor(Low, false, tier), p.DaysFor(Info, false, tier)}
		if got != w {
			t.Errorf("tier %q: %v, want %v", tier, got, w)
		}
	}
	// KEV never lengthens: a KEV-listed critical on a national asset is due
	// in 3 days, a KEV-listed low on a normal one in 14.
	if p.DaysFor(Critical, true, TierNational) != 3 || p.DaysFor(Low, true, TierNormal) != 14 {
		t.Error("KEV deadline")
	}
	// The old entry points are the normal tier.
	if p.Days(High, false) != 30 || !p.DueAt(High, false, time.Unix(0, 0)).Equal(time.Unix(0, 0).Add(30*24*time.Hour)) {
		t.Error("Days/DueAt")
	}
}

func TestPolicyRowsInherit(t *testing.T) {
	p := Policy{KEV: 14, Critical: 15, High: 30, Medium: 90, Low: 180, Info: 365, Tiers: Tiers{National: Days{Critical: 2}}}
	if r := p.Row(TierNational); r != (Days{KEV: 14, Critical: 2, High: 30, Medium: 90, Low: 180, Info: 365}) {
		t.Errorf("national row %+v", r)
	}
	if r := p.Row(TierCritical); r != p.Row(TierNormal) {
		t.Errorf("an empty tier row is the base: %+v", r)
	}
	// A policy without tiers (a zero Tiers) behaves as before.
	old := Policy{KEV: 14, Critical: 15, High: 30, Medium: 90, Low: 180}
	if old.DaysFor(Critical, false, TierNational) != 15 {
		t.Error("untiered policy changed")
	}
	bad := DefaultPolicy
	bad.Tiers.Critical.High = -1
	if err := bad.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative tier days: %v", err)
	}
}

// TestReconcileTieredDueDates: new findings are due by their asset's tier;
// a finding whose asset the batch does not place gets the base row.
func TestReconcileTieredDueDates(t *testing.T) {
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	b := Batch{JobID: "j1", At: at, Policy: DefaultPolicy, Tiers: map[int64]Tier{1: TierNational, 2: TierImportant},
		Seen: []Finding{
			{OrgID: 10, AssetID: 1, Check: "vuln.known-cve", Severity: Critical, Target: "192.0.2.1:22", Subject: "CVE-2024-6387"},
			{OrgID: 10, AssetID: 1, Check: "vuln.known-cve", Severity: High, KEV: true, Target: "192.0.2.1:22", Subject: "CVE-2023-48795"},
			{OrgID: 20, AssetID: 2, Check: "tls.cert-expired", Severity: High, Target: "192.0.2.2:443"},
			{OrgID: 30, AssetID: 3, Check: "tls.cert-expired", Severity: High, Target: "192.0.2.3:443"},
		}}
	seen, err := b.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Reconcile(b, seen, map[string]Finding{}, at)
	if err != nil {
		t.Fatal(err)
	}
	days := map[string]int{}
	for _, f := range p.Insert {
		days[f.Target+" "+f.Subject] = int(f.DueAt.Sub(at).Hours() / 24)
	}
	want := map[string]int{"192.0.2.1:22 CVE-2024-6387": 3, "192.0.2.1:22 CVE-2023-48795": 3, "192.0.2.2:443 ": 21, "192.0.2.3:443 ": 30}
	for k, w := range want {
		if days[k] != w {
			t.Errorf("%s due in %d days, want %d", k, days[k], w)
		}
	}
}
