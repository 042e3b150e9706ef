package vuln

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/vulndb"
)

// reported is a CVE that stands, with what the distribution's data said
// when the banner revealed a package ("" otherwise).
type reported struct {
	vulndb.Hit
	distro string
}

// cleared is a CVE the installed distribution package is fixed for.
type cleared struct {
	vulndb.Hit
	by vulndb.Backport
}

// assess matches what was seen and splits the CVEs: those the installed
// distribution package is fixed for (vulndb.Backported) are cleared,
// the others reported. Without a package revision in the banner nothing is
// cleared, except that a CVE Red Hat fixed in the very upstream version a
// RHEL-family banner shows is not claimed either (Unverified): it goes to
// the informational result with how to verify it.
func assess(db *vulndb.DB, s seen) ([]reported, []cleared) {
	hits := lookup(db, s)
	var rep []reported
	var clr []cleared
	for _, h := range hits {
		if !s.hasPkg {
			rep = append(rep, reported{Hit: h})
			continue
		}
		v := db.Backported(s.pkg, h.CVE.ID)
		if v.Fixed || v.Unverified {
			clr = append(clr, cleared{Hit: h, by: v})
			continue
		}
		rep = append(rep, reported{Hit: h, distro: v.Reason})
	}
	return rep, clr
}

// BackportFixed is vuln.backport-fixed: an informational result per
// service listing the CVEs that the upstream version matches but the
// installed distribution package is fixed for, each with the advisory
// that fixed it. It is how a suppressed CVE stays visible and explained.
type BackportFixed struct{}

var _ check.Check = BackportFixed{}

var metaBackportFixed = check.Meta{
	ID:       "vuln.backport-fixed",
	Family:   Family,
	Severity: finding.Info,
	Title: check.Text{
		EN: "Known CVEs fixed by the distribution's patched package",
		VI: "Các CVE đã biết đã được bản phân phối vá trong gói phần mềm",
	},
	Description: check.Text{
		EN: "The service announces an upstream version that the National Vulnerability Database lists as affected, but the " +
			"banner also shows the distribution package (Debian, Ubuntu, Red Hat Enterprise Linux and its rebuilds) and that " +
			"distribution's security data says the installed package revision is fixed (a backported patch) or was never " +
			"affected. These CVEs are not reported as vulnerabilities; this informational result names the advisory that " +
			"fixed each one. Red Hat family banners rarely show the package release: a CVE that Red Hat fixed in the very " +
			"upstream version shown is listed here with the advisory and the first fixed release, to be verified on the host " +
			"(rpm -q), instead of being reported as a vulnerability.",
		VI: "Dịch vụ để lộ phiên bản gốc mà Cơ sở dữ liệu lỗ hổng quốc gia Hoa Kỳ (NVD) ghi nhận là bị ảnh hưởng, nhưng banner " +
			"cũng cho biết gói phần mềm của bản phân phối (Debian, Ubuntu, Red Hat Enterprise Linux và các bản dựng lại) và dữ " +
			"liệu bảo mật của bản phân phối đó xác nhận phiên bản gói đang cài đã được vá (vá ngược - backport) hoặc chưa từng bị " +
			"ảnh hưởng. Các CVE này không bị báo là lỗ hổng; kết quả mang tính thông tin này nêu bản tin bảo mật đã khắc phục " +
			"từng CVE. Banner của họ Red Hat hiếm khi cho biết số hiệu bản phát hành của gói: CVE mà Red Hat đã vá ngay trong " +
			"phiên bản gốc đang hiển thị được liệt kê tại đây cùng bản tin và bản phát hành đầu tiên đã vá, để kiểm tra lại trên " +
			"máy chủ (rpm -q), thay vì bị báo là lỗ hổng.",
	},
	Remediation: check.Text{
		EN: "Nothing to fix for these CVEs. Keep installing the distribution's security updates, and consider hiding the " +
			"version and package revision from the banner. Where the evidence asks for verification, check on the host that " +
			"the installed package (rpm -q) is at or after the release it names; an older one is vulnerable and must be updated.",
		VI: "Không cần khắc phục đối với các CVE này. Tiếp tục cài đặt các bản cập nhật bảo mật của bản phân phối, và cân nhắc " +
			"ẩn phiên bản cùng số hiệu gói khỏi banner. Khi bằng chứng yêu cầu kiểm tra, hãy xác nhận trên máy chủ rằng gói đang " +
			"cài (rpm -q) bằng hoặc mới hơn bản phát hành được nêu; gói cũ hơn vẫn có lỗ hổng và phải được cập nhật.",
	},
	References: []string{
		"https://security-tracker.debian.org/tracker/",
		"https://ubuntu.com/security/notices",
		"https://www.debian.org/security/faq#oldversion",
		"https://access.redhat.com/security/data/oval/v2/",
	},
}

// Meta describes the check.
func (BackportFixed) Meta() check.Meta { return metaBackportFixed }

// Applies where vuln.known-cve does.
func (BackportFixed) Applies(t check.Target) bool { return KnownCVE{}.Applies(t) }

// maxListed bounds the CVEs listed in one result's evidence.
const maxListed = 200

// Run reports, at most once per service, the CVEs the distribution fixed.
func (BackportFixed) Run(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	db, _ := env.Extra[ExtraKey].(*vulndb.DB)
	if db == nil {
		return nil, ErrNoDB
	}
	s := identify(t)
	if !s.hasPkg {
		return nil, nil
	}
	_, clr := assess(db, s)
	if len(clr) == 0 {
		return nil, nil
	}
	slices.SortFunc(clr, func(a, b cleared) int { return strings.Compare(a.CVE.ID, b.CVE.ID) })
	var ids, lines, verify []string
	unverified := 0
	for i, c := range clr {
		if c.by.Unverified {
			unverified++
		}
		if i >= maxListed {
			continue
		}
		ids = append(ids, c.CVE.ID)
		if c.by.Unverified {
			verify = append(verify, c.CVE.ID+": "+c.by.Reason)
		} else {
			lines = append(lines, c.CVE.ID+": "+c.by.Reason)
		}
	}
	if len(clr) > maxListed {
		lines = append(lines, fmt.Sprintf("… and %d more", len(clr)-maxListed))
	}
	name := s.product
	if s.version != "" {
		name += " " + s.version
	}
	what := "CVE"
	if len(clr) > 1 {
		what = "CVEs"
	}
	f := map[string]string{
		"product": s.product,
		"package": s.pkg.Label(),
		"cves":    strings.Join(ids, ","),
	}
	if len(lines) > 0 {
		f["fixed"] = strings.Join(lines, "\n")
	}
	if len(verify) > 0 {
		// Red Hat fixed these in the upstream version shown; the banner
		// does not tell whether the installed release has the fix.
		f["verify"] = strings.Join(verify, "\n")
		f["verify_command"] = "rpm -q " + s.pkg.Source
	}
	if s.version != "" {
		f["version"] = s.version
	}
	title := fmt.Sprintf("%s (%s): %d known %s fixed by the distribution", name, s.pkg.Label(), len(clr), what)
	if unverified == len(clr) {
		title = fmt.Sprintf("%s (%s): %d known %s fixed in a package release the banner does not show; verify the installed release",
			name, s.pkg.Label(), len(clr), what)
	} else if unverified > 0 {
		title += fmt.Sprintf(" (%d to verify on the host)", unverified)
	}
	return []check.Result{{
		Check:    metaBackportFixed.ID,
		Severity: finding.Info,
		Title:    title,
		Evidence: check.Evidence{Response: check.Cap(s.banner), Fields: f},
	}}, nil
}
