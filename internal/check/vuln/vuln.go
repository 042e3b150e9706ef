// Package vuln is the vulnerability check family: it matches the product
// and version a fingerprint saw against the imported CVE data (package
// vulndb) and reports each affected CVE, flagging the ones CISA lists as
// known exploited.
//
// The database is not a registration argument: the scan puts the
// *vulndb.DB loaded at start into env.Extra[ExtraKey] ("vuln"), so
// check/all can register the family without knowing where the data lives,
// and a fresh import reaches the next scan without re-registering.
package vuln

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/vulndb"
)

// Family is the check family name of this package.
const Family = "vuln"

// ExtraKey is the env.Extra key that holds the *vulndb.DB.
const ExtraKey = "vuln"

// ErrNoDB means env.Extra[ExtraKey] holds no *vulndb.DB: a wiring
// mistake, not "no vulnerabilities" (a database with nothing imported is
// vulndb.NewDB() and reports nothing).
var ErrNoDB = errors.New(`vuln: no vulnerability database in env.Extra["vuln"]`)

// Register adds the family's checks to r.
func Register(r *check.Registry) error { return r.Register(Checks()...) }

// Checks returns the family's checks.
func Checks() []check.Check { return []check.Check{BackportFixed{}, NewCMSKnownCVE(), KnownCVE{}} }

// InventoryChecks returns the family's checks that read only a service's
// fingerprint and open no connection, for matching the stored inventory
// again (the retro-hunt): vuln.cms-known-cve needs the site itself.
func InventoryChecks() []check.Check { return []check.Check{BackportFixed{}, KnownCVE{}} }

// KnownCVE is vuln.known-cve.
type KnownCVE struct{}

var _ check.Check = KnownCVE{}

var metaKnownCVE = check.Meta{
	ID:       "vuln.known-cve",
	Family:   Family,
	Severity: finding.High,
	Title: check.Text{
		EN: "Software version with known vulnerabilities",
		VI: "Phiên bản phần mềm có lỗ hổng đã biết",
	},
	Description: check.Text{
		EN: "The service announces a product and version that the National Vulnerability Database lists as affected " +
			"by a published CVE. CVEs in the CISA Known Exploited Vulnerabilities catalog are being exploited in the wild " +
			"and are fixed first.",
		VI: "Dịch vụ để lộ tên và phiên bản sản phẩm mà Cơ sở dữ liệu lỗ hổng quốc gia Hoa Kỳ (NVD) ghi nhận là bị ảnh hưởng " +
			"bởi lỗ hổng CVE đã công bố. Các CVE nằm trong danh mục lỗ hổng đã bị khai thác (KEV) của CISA đang bị khai thác " +
			"trong thực tế và cần được khắc phục trước tiên.",
	},
	Remediation: check.Text{
		EN: "Upgrade to a version the vendor lists as fixed, or apply the vendor's patch or mitigation. If the version " +
			"shown belongs to a distribution package with backported fixes, confirm it from the package changelog and mark " +
			"the finding as a false positive with that evidence. Hide version details in banners once patched.",
		VI: "Nâng cấp lên phiên bản đã được nhà cung cấp khắc phục, hoặc áp dụng bản vá hay biện pháp giảm thiểu của nhà " +
			"cung cấp. Nếu phiên bản hiển thị thuộc gói của bản phân phối đã được vá ngược (backport), hãy xác nhận qua nhật ký " +
			"thay đổi của gói và đánh dấu phát hiện là dương tính giả kèm bằng chứng đó. Sau khi vá, nên ẩn thông tin phiên " +
			"bản trong banner.",
	},
	References: []string{
		"CWE-1395",
		"https://nvd.nist.gov/vuln",
		"https://www.cisa.gov/known-exploited-vulnerabilities-catalog",
		"https://www.first.org/epss/",
	},
}

// Meta describes the check.
func (KnownCVE) Meta() check.Meta { return metaKnownCVE }

// Applies to service targets with a CPE, or with both a product and a
// version.
func (KnownCVE) Applies(t check.Target) bool {
	return t.Kind == check.TargetService && (t.CPE != "" || t.Product != "" && t.Version != "")
}

// Run reports one result per CVE that affects the target's product
// version. It needs no connection: it reads the fingerprint.
func (KnownCVE) Run(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	db, _ := env.Extra[ExtraKey].(*vulndb.DB)
	if db == nil {
		return nil, ErrNoDB
	}
	seen := identify(t)
	report, _ := assess(db, seen)
	out := make([]check.Result, 0, len(report))
	for _, r := range report {
		out = append(out, result(seen, r.Hit, r.distro))
	}
	return out, nil
}

// seen is what the fingerprint told us, cleaned up.
type seen struct {
	product string // display name: "Apache httpd", else from the CPE
	version string // "2.4.49", "" when unknown
	cpe     *vulndb.CPE
	cpeRaw  string
	rawProd string // t.Product as given
	banner  string
	// pkg is the distribution package the banner reveals, when it does.
	pkg    vulndb.Package
	hasPkg bool
}

func identify(t check.Target) seen {
	s := seen{product: strings.TrimSpace(t.Product), rawProd: t.Product, version: CleanVersion(t.Version), cpeRaw: t.CPE, banner: t.Banner}
	s.pkg, s.hasPkg = vulndb.DistroPackage(t.Product, t.Version, t.Banner)
	if s.hasPkg && s.pkg.Upstream != "" {
		// "9.18.49-1~deb12u3-Debian" is upstream 9.18.49 for NVD's ranges.
		s.version = s.pkg.Upstream
	}
	if t.CPE != "" {
		if c, err := vulndb.ParseCPE(t.CPE); err == nil && c.Product != vulndb.Any && c.Product != vulndb.NA {
			if s.hasPkg && s.pkg.Upstream != "" && c.Version != strings.ToLower(s.pkg.Upstream) &&
				strings.HasPrefix(c.Version, strings.ToLower(s.pkg.Upstream)) {
				// An older fingerprint put the Debian revision into the
				// CPE's version ("9.18.49-1").
				c.Version = strings.ToLower(s.pkg.Upstream)
			}
			if (c.Version == vulndb.Any || c.Version == "") && s.version != "" {
				c.Version = strings.ToLower(s.version)
			}
			if s.version == "" && c.Version != vulndb.Any && c.Version != vulndb.NA {
				s.version = c.Version
			}
			if s.product == "" {
				s.product = strings.TrimSpace(strings.ReplaceAll(c.Vendor+" "+c.Product, "_", " "))
			}
			s.cpe = &c
		}
	}
	return s
}

// CleanVersion reduces a fingerprint's version to what CVE ranges compare:
// the first word ("7.4p1 Debian-10+deb9u7" → "7.4p1", "2.4.49 (Unix)" →
// "2.4.49") without a leading "v" ("v1.2.3" → "1.2.3").
func CleanVersion(v string) string {
	f := strings.Fields(v)
	if len(f) == 0 {
		return ""
	}
	w := f[0]
	if len(w) > 1 && (w[0] == 'v' || w[0] == 'V') && w[1] >= '0' && w[1] <= '9' {
		w = w[1:]
	}
	return w
}

// lookup matches by CPE and by product name, and merges the two.
func lookup(db *vulndb.DB, s seen) []vulndb.Hit {
	var hits []vulndb.Hit
	if s.cpe != nil {
		hits = db.MatchCPE(*s.cpe)
	}
	if s.rawProd != "" && s.version != "" {
		have := map[string]bool{}
		for _, h := range hits {
			have[h.CVE.ID] = true
		}
		for _, h := range db.MatchProduct("", s.rawProd, s.version) {
			if !have[h.CVE.ID] {
				hits = append(hits, h)
			}
		}
	}
	return hits
}

// Severity ranks a hit: CVSS base score ≥ 9 critical, ≥ 7 high, ≥ 4
// medium, below that low; a CVE without any CVSS score is medium (NVD has
// not scored it yet, which says nothing about its impact); a KEV-listed
// CVE is at least high.
func Severity(h vulndb.Hit) finding.Severity {
	sev := finding.Medium
	if c := h.CVE.CVSS; c != nil {
		switch {
		case c.Score >= 9:
			sev = finding.Critical
		case c.Score >= 7:
			sev = finding.High
		case c.Score >= 4:
			sev = finding.Medium
		default:
			sev = finding.Low
		}
	}
	if h.KEV != nil && !sev.AtLeast(finding.High) {
		sev = finding.High
	}
	return sev
}

const maxDescription = 1024

// result reports one CVE; distro says why the distribution's data did not
// clear it, when the banner revealed a distribution package.
func result(s seen, h vulndb.Hit, distro string) check.Result {
	c := h.CVE
	name := s.product
	if s.version != "" {
		name += " " + s.version
	}
	title := fmt.Sprintf("%s is affected by %s", name, c.ID)
	if h.KEV != nil {
		title += " (known exploited)"
	}
	f := map[string]string{
		"product": s.product,
		"cve":     c.ID,
	}
	if m := h.Match; m != nil {
		f["criteria"] = m.Criteria
		if r := m.Range(); r != "" {
			f["range"] = r
		}
	}
	if s.version != "" {
		f["version"] = s.version
	}
	if s.cpeRaw != "" {
		f["cpe"] = s.cpeRaw
	}
	if s.hasPkg {
		f["package"] = s.pkg.Label()
		if distro != "" {
			f["distribution"] = distro
		}
	}
	if v := c.CVSS; v != nil {
		f["cvss"] = strconv.FormatFloat(v.Score, 'f', 1, 64)
		f["cvss_version"] = v.Version
		if v.Vector != "" {
			f["cvss_vector"] = v.Vector
		}
	}
	if !c.Published.IsZero() {
		f["published"] = c.Published.Format("2006-01-02")
	}
	if len(c.CWEs) > 0 {
		f["cwe"] = strings.Join(c.CWEs, ",")
	}
	if d := c.Description; d != "" {
		if len(d) > maxDescription {
			cut := maxDescription
			for cut > 0 && !utf8.RuneStart(d[cut]) {
				cut--
			}
			d = d[:cut] + "…"
		}
		f["description"] = d
	}
	if k := h.KEV; k != nil {
		f["kev"] = "true"
		f["kev_date_added"] = k.DateAdded.Format("2006-01-02")
		if !k.DueDate.IsZero() {
			f["kev_due_date"] = k.DueDate.Format("2006-01-02")
		}
		if k.KnownRansomwareCampaignUse != "" {
			f["kev_ransomware"] = k.KnownRansomwareCampaignUse
		}
		if k.RequiredAction != "" {
			f["kev_required_action"] = k.RequiredAction
		}
	}
	if h.EPSS > 0 {
		f["epss"] = strconv.FormatFloat(h.EPSS, 'f', -1, 64)
		f["epss_percentile"] = strconv.FormatFloat(h.Percentile, 'f', -1, 64)
	}
	return check.Result{
		Check:    metaKnownCVE.ID,
		Severity: Severity(h),
		Subject:  c.ID,
		Title:    title,
		Evidence: check.Evidence{Response: check.Cap(s.banner), Fields: f},
		CVE:      []string{c.ID},
		KEV:      h.KEV != nil,
	}
}
