package report

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/assess"
	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// sampleNow is when the sample report is made.
var sampleNow = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

// sample is a small realistic constituency in a real SQLite store.
type sample struct {
	st    *sqlstore.Store
	orgs  map[string]org.Organization
	cat   *assess.Catalog
	svc   *assess.Service
	camp  store.Campaign
	admin auth.Principal
}

func openStore(t testing.TB) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "r.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func newSample(t testing.TB) *sample {
	t.Helper()
	ctx := context.Background()
	s := &sample{st: openStore(t), orgs: map[string]org.Organization{}}
	sys := auth.SystemPrincipal
	tree := []struct {
		parent, code, vi, en string
		kind                 org.Kind
	}{
		{"", "VN", "Việt Nam", "Viet Nam", org.KindNational},
		{"VN", "BTTTT", "Bộ Thông tin và Truyền thông", "Ministry of Information and Communications", org.KindMinistry},
		{"BTTTT", "CUC-ATTT", "Cục An toàn thông tin", "Authority of Information Security", org.KindAgency},
		{"BTTTT", "VNNIC", "Trung tâm Internet Việt Nam", "Viet Nam Internet Network Information Center", org.KindAgency},
		{"BTTTT", "CUC-TS", "Cục Tần số vô tuyến điện", "Authority of Radio Frequency Management", org.KindAgency},
		{"VN", "BYT", "Bộ Y tế", "Ministry of Health", org.KindMinistry},
		{"BYT", "CUC-KCB", "Cục Quản lý Khám, chữa bệnh", "Medical Services Administration", org.KindAgency},
		{"BYT", "BV-BACHMAI", "Bệnh viện Bạch Mai", "Bach Mai Hospital", org.KindAgency},
		{"VN", "HN", "Thành phố Hà Nội", "Ha Noi City", org.KindProvince},
		{"HN", "STTTT-HN", "Sở Thông tin và Truyền thông Hà Nội", "Ha Noi Department of Information and Communications", org.KindAgency},
		{"HN", "SYT-HN", "Sở Y tế Hà Nội", "Ha Noi Department of Health", org.KindAgency},
		{"VN", "DN", "Thành phố Đà Nẵng", "Da Nang City", org.KindProvince},
		{"DN", "STTTT-DN", "Sở Thông tin và Truyền thông Đà Nẵng", "Da Nang Department of Information and Communications", org.KindAgency},
	}
	for _, n := range tree {
		o := org.Organization{ParentID: s.orgs[n.parent].ID, Code: n.code, Name: n.vi, NameEN: n.en, Kind: n.kind}
		if err := s.st.CreateOrg(ctx, sys, &o); err != nil {
			t.Fatal(err)
		}
		s.orgs[n.code] = o
	}
	// Findings: org, host, check, severity, KEV, days ago first seen,
	// fixed days ago (0: still open).
	type fx struct {
		org, host, check string
		sev              finding.Severity
		kev              bool
		seen, fixed      int
	}
	fs := []fx{
		{"CUC-ATTT", "ais.gov.vn", "http.missing-hsts", finding.Low, false, 20, 0},
		{"CUC-ATTT", "ais.gov.vn", "tls.cert-expiring", finding.Medium, false, 40, 10},
		{"VNNIC", "vnnic.vn", "dns.dnssec-missing", finding.Low, false, 10, 0},
		{"VNNIC", "mail.vnnic.vn", "dns.dmarc-policy-none", finding.Low, false, 50, 30},
		{"CUC-TS", "rfd.gov.vn", "tls.legacy-protocol", finding.High, false, 60, 0},
		{"CUC-TS", "rfd.gov.vn", "http.exposed-admin-panel", finding.Medium, false, 12, 0},
		{"CUC-KCB", "kcb.vn", "vuln.known-cve", finding.Critical, true, 30, 0},
		{"CUC-KCB", "kcb.vn", "svc.rdp-exposed", finding.High, false, 45, 0},
		{"CUC-KCB", "kcb.vn", "http.exposed-env", finding.High, false, 25, 5},
		{"BV-BACHMAI", "bachmai.gov.vn", "web.gambling-injection", finding.High, false, 8, 0},
		{"BV-BACHMAI", "bachmai.gov.vn", "tls.cert-expired", finding.High, false, 35, 0},
		{"BV-BACHMAI", "bachmai.gov.vn", "svc.database-exposed", finding.Medium, false, 100, 0},
		{"STTTT-HN", "stttt.hanoi.gov.vn", "http.missing-security-headers", finding.Low, false, 15, 0},
		{"SYT-HN", "soyte.hanoi.gov.vn", "svc.redis-unauthenticated", finding.Critical, false, 20, 0},
		{"SYT-HN", "soyte.hanoi.gov.vn", "vuln.known-cve", finding.High, true, 40, 0},
		{"SYT-HN", "soyte.hanoi.gov.vn", "dns.spf-missing", finding.Medium, false, 70, 20},
		{"STTTT-DN", "tttt.danang.gov.vn", "tls.weak-cipher", finding.High, false, 5, 0},
	}
	assets := map[string]asset.Asset{}
	for i, f := range fs {
		o := s.orgs[f.org]
		a, ok := assets[f.host]
		if !ok {
			a = asset.Asset{OrgID: o.ID, Kind: asset.KindHostname, Value: f.host, SecurityLevel: 2 + i%2}
			if err := s.st.CreateAsset(ctx, sys, &a); err != nil {
				t.Fatal(err)
			}
			assets[f.host] = a
		}
		target := f.host + ":443"
		family := fam(f.check)
		seen := store.Finding{Key: finding.Key(a.ID, f.check, target, ""), OrgID: o.ID, AssetID: a.ID, Check: f.check, Family: family,
			Severity: f.sev, KEV: f.kev, Target: target, Title: f.check + " on " + f.host, Evidence: json.RawMessage(`{}`)}
		if f.kev {
			seen.CVE = []string{"CVE-2024-3400"}
		}
		at := sampleNow.Add(-time.Duration(f.seen) * 24 * time.Hour)
		if _, err := s.st.RecordFindings(ctx, store.FindingBatch{JobID: fmt.Sprintf("seed-%d", i), At: at, Policy: finding.DefaultPolicy, Seen: []store.Finding{seen}}); err != nil {
			t.Fatal(err)
		}
		if f.fixed > 0 {
			at := sampleNow.Add(-time.Duration(f.fixed) * 24 * time.Hour)
			cov := []store.Coverage{{AssetID: a.ID, OrgID: o.ID, Target: target, Checks: []string{f.check}}}
			if _, err := s.st.RecordFindings(ctx, store.FindingBatch{JobID: fmt.Sprintf("fix-%d", i), At: at, Policy: finding.DefaultPolicy, Covered: cov}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// An asset without findings: a unit that is clean still counts.
	clean := asset.Asset{OrgID: s.orgs["STTTT-HN"].ID, Kind: asset.KindDomain, Value: "hanoi.gov.vn", SecurityLevel: 3}
	if err := s.st.CreateAsset(ctx, sys, &clean); err != nil {
		t.Fatal(err)
	}

	// A campaign on the baseline: three agencies submit, one drafts.
	reg, _ := all.Registry("")
	cat, err := assess.NewCatalog("", reg.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	s.cat = cat
	s.svc = &assess.Service{Store: s.st, Frameworks: cat, Now: func() time.Time { return sampleNow }}
	s.admin = auth.Principal{Name: "quan-tri-quoc-gia", Role: auth.RoleOrgAdmin, OrgID: s.orgs["VN"].ID}
	s.camp = store.Campaign{Framework: "baseline", Title: "Tự đánh giá an toàn thông tin năm 2026", Deadline: time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC),
		TargetKinds: []org.Kind{org.KindAgency}}
	if err := s.svc.OpenCampaign(ctx, s.admin, &s.camp); err != nil {
		t.Fatal(err)
	}
	answers := map[string][]store.Answer{
		"CUC-ATTT": {store.AnswerImplemented, store.AnswerImplemented, store.AnswerPartial},
		"CUC-KCB":  {store.AnswerPartial, store.AnswerNotImplemented, store.AnswerImplemented},
		"SYT-HN":   {store.AnswerNotImplemented, store.AnswerPartial, store.AnswerNotApplicable},
		"VNNIC":    {store.AnswerImplemented},
	}
	f, _ := cat.Get("baseline")
	for _, code := range []string{"CUC-ATTT", "CUC-KCB", "SYT-HN", "VNNIC"} {
		p := auth.Principal{Name: "dau-moi-" + code, Role: auth.RoleOrgMember, OrgID: s.orgs[code].ID}
		// The national level sets the campaign's level 2 (an organization
		// may not set one below its registry's own).
		q, err := s.svc.Start(ctx, s.admin, s.orgs[code].ID, "baseline", s.camp.ID, 2)
		if err != nil {
			t.Fatal(err)
		}
		var ans []store.ControlAnswer
		for i, c := range f.ControlsAt(2) {
			ans = append(ans, store.ControlAnswer{ControlID: c.ID, Answer: answers[code][i%len(answers[code])]})
		}
		if err := s.svc.Answer(ctx, p, q.ID, ans); err != nil {
			t.Fatal(err)
		}
		if code != "VNNIC" {
			if _, err := s.st.SubmitAssessment(ctx, p, q.ID, sampleNow.Add(-48*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s
}

func fam(check string) string {
	for i := range check {
		if check[i] == '.' {
			return check[:i]
		}
	}
	return check
}

func (s *sample) build(t testing.TB, p auth.Principal, root string) *Report {
	t.Helper()
	reg, _ := all.Registry("")
	r, err := Build(context.Background(), s.st, p, s.orgs[root].ID, sampleNow, WithCatalog(reg.Catalog()), WithFrameworks(s.cat))
	if err != nil {
		t.Fatal(err)
	}
	return r
}
