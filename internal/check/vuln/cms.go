package vuln

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/http/site"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/vulndb"
)

// CMSKnownCVE is vuln.cms-known-cve: the core version of WordPress,
// Joomla, Drupal or Moodle that a site reveals, and the versions of WordPress
// plugins from their readme.txt, matched against the offline NVD data.
// It shares the web family's page cache when the scan's env carries one.
type CMSKnownCVE struct {
	cache *site.Cache
}

// NewCMSKnownCVE returns the check with its own page cache (used when the
// env carries none).
func NewCMSKnownCVE() *CMSKnownCVE { return &CMSKnownCVE{cache: site.NewCache()} }

var _ check.Check = (*CMSKnownCVE)(nil)

var metaCMS = check.Meta{
	ID:       "vuln.cms-known-cve",
	Family:   Family,
	Severity: finding.High,
	Title: check.Text{
		EN: "Content management system or plugin version with known vulnerabilities",
		VI: "Phiên bản hệ quản trị nội dung hoặc plugin có lỗ hổng đã biết",
	},
	Description: check.Text{
		EN: "The site runs WordPress, Joomla, Drupal or Moodle, or a WordPress plugin, in a version that the National " +
			"Vulnerability Database lists as affected by a published CVE. The version comes from what the site itself publishes " +
			"(the generator tag, the feed, the release notes, upgrade notes or manifest files shipped with the core, a plugin's " +
			"readme.txt). Moodle's upgrade notes name only the branch, so for Moodle a CVE is reported only when every release " +
			"of that branch from the named one on is affected. Sites built on these systems are scanned for such versions by " +
			"automated attacks within days of a disclosure.",
		VI: "Website chạy WordPress, Joomla, Drupal hoặc Moodle, hoặc một plugin WordPress, ở phiên bản mà Cơ sở dữ liệu lỗ " +
			"hổng quốc gia Hoa Kỳ (NVD) ghi nhận là bị ảnh hưởng bởi lỗ hổng CVE đã công bố. Phiên bản được lấy từ chính những gì " +
			"website công khai (thẻ generator, nguồn cấp tin, tệp ghi chú phát hành, ghi chú nâng cấp hoặc tệp manifest đi kèm " +
			"mã nguồn, tệp readme.txt của plugin). Ghi chú nâng cấp của Moodle chỉ cho biết nhánh phiên bản, nên với Moodle một " +
			"CVE chỉ được báo khi mọi bản phát hành của nhánh đó, kể từ bản được nêu, đều bị ảnh hưởng. Các website dùng những " +
			"hệ thống này bị công cụ tấn công tự động dò tìm phiên bản lỗi chỉ vài ngày sau khi lỗ hổng được công bố.",
	},
	Remediation: check.Text{
		EN: "Update the core and every plugin to the current release (enable automatic security updates), remove plugins " +
			"that are not used, and delete the release notes and manifest files (CHANGELOG.txt, readme.html, joomla.xml, " +
			"Moodle's lib/upgrade.txt and UPGRADING.md) from the web root or block them; move Moodle to a supported branch.",
		VI: "Cập nhật mã nguồn lõi và mọi plugin lên bản phát hành mới nhất (bật tự động cập nhật bảo mật), gỡ các plugin " +
			"không dùng, xóa hoặc chặn truy cập các tệp ghi chú phát hành, manifest (CHANGELOG.txt, readme.html, " +
			"joomla.xml, lib/upgrade.txt và UPGRADING.md của Moodle) trong thư mục web; chuyển Moodle sang nhánh còn được hỗ trợ.",
	},
	References: []string{"CWE-1395", "CWE-1104", "https://nvd.nist.gov/vuln", "https://www.cisa.gov/known-exploited-vulnerabilities-catalog"},
}

// Meta describes the check.
func (*CMSKnownCVE) Meta() check.Meta { return metaCMS }

// Applies to web services and URLs.
func (*CMSKnownCVE) Applies(t check.Target) bool { return site.IsWeb(t) }

// cmsFound is one product and version a site revealed, and where.
type cmsFound struct {
	product string // "WordPress", "Drupal", "WordPress plugin contact-form-7"
	version string
	cpe     vulndb.CPE
	from    string // the path that told the version
	// upTo, when set, says version is only a lower bound: the site runs
	// a release between version and upTo, and a CVE counts only when it
	// affects both ends.
	upTo  *vulndb.CPE
	bound string // says so in the evidence
}

// Limits of what one site costs: plugin readmes fetched, bytes read.
const (
	maxPlugins = 12
	cmsRead    = 128 << 10
)

var (
	wpGeneratorRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)<meta\s+name=["']generator["']\s+content=["']WordPress (\d+\.\d+(?:\.\d+)?)["']`)
	})
	wpFeedRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`<generator>https?://wordpress\.org/\?v=(\d+\.\d+(?:\.\d+)?)</generator>`)
	})
	wpMarkRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)/wp-(?:content|includes)/`) })
	wpPluginRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`/wp-content/plugins/([a-z0-9][a-z0-9_-]{1,80})/`) })
	stableTagRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?im)^\s*Stable tag:\s*v?(\d+(?:\.\d+){1,3})\s*$`) })
	drupalMarkRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)<meta\s+name=["']generator["']\s+content=["']Drupal \d+|/sites/default/files/|Drupal\.settings|data-drupal-`)
	})
	drupalLogRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?m)\A\s*(?:\r?\n)*Drupal (\d+\.\d+(?:\.\d+)?), \d{4}-\d{2}-\d{2}`)
	})
	joomlaMarkRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)<meta\s+name=["']generator["']\s+content=["']Joomla!|/media/jui/|/media/system/js/|/components/com_`)
	})
	joomlaXMLRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?s)<extension[^>]*>.*?<name>files_joomla</name>.*?<version>(\d+\.\d+\.\d+)</version>`)
	})
	joomlaLangRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?s)<metafile[^>]*>.*?<version>(\d+\.\d+\.\d+)</version>`)
	})
)

// Run finds what the site reveals and reports one result per CVE.
func (c *CMSKnownCVE) Run(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	db, _ := env.Extra[ExtraKey].(*vulndb.DB)
	if db == nil {
		return nil, ErrNoDB
	}
	s, err := site.FromEnv(env, c.cache).Site(env, t)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", metaCMS.ID, err)
	}
	page, err := s.Reachable(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", metaCMS.ID, err)
	}
	var found []cmsFound
	found = append(found, wordpress(ctx, s, page.Body)...)
	if f, ok := drupal(ctx, s, page.Body); ok {
		found = append(found, f)
	}
	if f, ok := joomla(ctx, s, page.Body); ok {
		found = append(found, f)
	}
	if f, ok := moodle(ctx, s, page); ok {
		found = append(found, f)
	}
	var out []check.Result
	for _, f := range found {
		sn := seen{product: f.product, version: f.version, cpe: &f.cpe, cpeRaw: f.cpe.String()}
		for _, h := range cmsHits(db, f) {
			r := result(sn, h, "")
			r.Check = metaCMS.ID
			r.Evidence.Fields["version_from"] = f.from
			if f.upTo != nil {
				r.Evidence.Fields["version_bound"] = f.bound
			}
			r.Evidence.Response = check.Cap(fmt.Sprintf("GET %s → %s %s\n%s", f.from, f.product, f.version, r.Evidence.Response))
			out = append(out, r)
		}
	}
	return out, nil
}

// cmsHits matches f, and when its version is a lower bound keeps only
// the CVEs that the top of the range is affected by as well.
func cmsHits(db *vulndb.DB, f cmsFound) []vulndb.Hit {
	hits := db.MatchCPE(f.cpe)
	if f.upTo == nil || len(hits) == 0 {
		return hits
	}
	top := map[string]bool{}
	for _, h := range db.MatchCPE(*f.upTo) {
		top[h.CVE.ID] = true
	}
	return slices.DeleteFunc(hits, func(h vulndb.Hit) bool { return !top[h.CVE.ID] })
}

// get fetches p and returns its body when it answered 200.
func get(ctx context.Context, s *site.Site, p string) []byte {
	r, err := s.Fetch(ctx, site.Request{Path: p, Limit: cmsRead})
	if err != nil || r.Status != 200 {
		return nil
	}
	return r.Body
}

func cpeOf(vendor, product, version, targetSW string) vulndb.CPE {
	if targetSW == "" {
		targetSW = "*"
	}
	c, err := vulndb.ParseCPE("cpe:2.3:a:" + vendor + ":" + product + ":" + strings.ToLower(version) + ":*:*:*:*:" + targetSW + ":*:*")
	if err != nil {
		// Only names this file builds reach here; a bad one matches nothing.
		return vulndb.CPE{Part: "a", Vendor: vulndb.NA, Product: vulndb.NA}
	}
	return c
}

// wordpress: the core version from the generator tag or the feed, and
// each plugin the page links from its readme's "Stable tag".
func wordpress(ctx context.Context, s *site.Site, page []byte) []cmsFound {
	if !wpMarkRE().Match(page) && !wpGeneratorRE().Match(page) {
		return nil
	}
	var out []cmsFound
	if m := wpGeneratorRE().FindSubmatch(page); m != nil {
		out = append(out, cmsFound{product: "WordPress", version: string(m[1]), cpe: cpeOf("wordpress", "wordpress", string(m[1]), ""), from: "/ (generator)"})
	} else if m := wpFeedRE().FindSubmatch(get(ctx, s, "/feed/")); m != nil {
		out = append(out, cmsFound{product: "WordPress", version: string(m[1]), cpe: cpeOf("wordpress", "wordpress", string(m[1]), ""), from: "/feed/"})
	}
	var slugs []string
	for _, m := range wpPluginRE().FindAllSubmatch(page, -1) {
		if sl := string(m[1]); !slices.Contains(slugs, sl) && len(slugs) < maxPlugins {
			slugs = append(slugs, sl)
		}
	}
	for _, sl := range slugs {
		p := "/wp-content/plugins/" + sl + "/readme.txt"
		m := stableTagRE().FindSubmatch(get(ctx, s, p))
		if m == nil {
			continue
		}
		// NVD names a plugin's product after its slug, with "_" for "-",
		// and targets it at WordPress.
		out = append(out, cmsFound{product: "WordPress plugin " + sl, version: string(m[1]),
			cpe: cpeOf("*", strings.ReplaceAll(sl, "-", "_"), string(m[1]), "wordpress"), from: p})
	}
	return out
}

// drupal: the release notes shipped with the core (Drupal 7 at the web
// root, 8 and later under core/).
func drupal(ctx context.Context, s *site.Site, page []byte) (cmsFound, bool) {
	if !drupalMarkRE().Match(page) {
		return cmsFound{}, false
	}
	for _, p := range []string{"/CHANGELOG.txt", "/core/CHANGELOG.txt"} {
		if m := drupalLogRE().FindSubmatch(get(ctx, s, p)); m != nil {
			return cmsFound{product: "Drupal", version: string(m[1]), cpe: cpeOf("drupal", "drupal", string(m[1]), ""), from: p}, true
		}
	}
	return cmsFound{}, false
}

// joomla: the core's manifest, else the English language pack's.
func joomla(ctx context.Context, s *site.Site, page []byte) (cmsFound, bool) {
	if !joomlaMarkRE().Match(page) {
		return cmsFound{}, false
	}
	for _, x := range []struct {
		path string
		re   *regexp.Regexp
	}{{"/administrator/manifests/files/joomla.xml", joomlaXMLRE()}, {"/language/en-GB/en-GB.xml", joomlaLangRE()}} {
		if m := x.re.FindSubmatch(get(ctx, s, x.path)); m != nil {
			return cmsFound{product: "Joomla!", version: string(m[1]), cpe: cpeOf("joomla", `joomla\!`, string(m[1]), ""), from: x.path}, true
		}
	}
	return cmsFound{}, false
}
