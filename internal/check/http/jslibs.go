package http

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/http/jslib"
	"github.com/rampart-cert/rampart/internal/check/http/site"
	"github.com/rampart-cert/rampart/internal/finding"
)

// ---- http.js-library-vulnerable ----

// maxScripts bounds the scripts of a page looked at, and maxScriptFetch
// those fetched (same origin only) to read their own version banner.
const (
	maxScripts     = 64
	maxScriptFetch = 8
	scriptHead     = 96 << 10
)

func newJSLibraries(cache *site.Cache) *webCheck {
	return &webCheck{
		meta: meta("http.js-library-vulnerable", finding.Medium,
			check.Text{EN: "Vulnerable JavaScript library", VI: "Thư viện JavaScript có lỗ hổng"},
			check.Text{
				EN: "The page loads a JavaScript library (jQuery, jQuery UI, Bootstrap, AngularJS, Lodash, Moment.js, Handlebars) in a version with published vulnerabilities, mostly cross-site scripting or prototype pollution that an attacker reaches through the site's own pages; some are in CISA's catalog of vulnerabilities exploited in the wild.",
				VI: "Trang nạp một thư viện JavaScript (jQuery, jQuery UI, Bootstrap, AngularJS, Lodash, Moment.js, Handlebars) ở phiên bản có lỗ hổng đã công bố, chủ yếu là tấn công chèn mã (XSS) hoặc làm ô nhiễm prototype mà kẻ tấn công khai thác qua chính các trang của website; một số nằm trong danh mục lỗ hổng đang bị khai thác của CISA.",
			},
			check.Text{
				EN: "Upgrade the library to the fixed version named in the finding (or the latest of its line) and remove old copies from the web root; for AngularJS, which reached end of life in 2021, migrate to a supported framework.",
				VI: "Nâng cấp thư viện lên phiên bản đã vá nêu trong phát hiện (hoặc bản mới nhất của dòng đó) và xóa các bản cũ khỏi thư mục web; với AngularJS đã hết hỗ trợ từ năm 2021, chuyển sang một framework còn được hỗ trợ.",
			},
			"CWE-1104", "CWE-79", "OWASP Top 10 2021 A06: Vulnerable and Outdated Components"),
		cache:   cache,
		applies: site.IsWeb,
		run:     runJSLibraries,
	}
}

func runJSLibraries(ctx context.Context, c *webCheck, s *site.Site) ([]check.Result, error) {
	page, err := s.Reachable(ctx)
	if err != nil {
		return nil, err
	}
	if page.Status != 200 || !strings.Contains(strings.ToLower(page.Header.Get("Content-Type")), "html") {
		return nil, nil
	}
	base, err := url.Parse(page.URL)
	if err != nil {
		return nil, nil
	}
	var found []jslib.Found
	fetched := 0
	for _, src := range jslib.Scripts(page.Body, maxScripts) {
		ref, err := url.Parse(src)
		if err != nil {
			continue
		}
		abs := base.ResolveReference(ref)
		f, ok := jslib.FromURL(abs.String())
		if !ok {
			continue
		}
		// Read the file's own banner when it is on this site (never
		// another host's): it beats a name, and a ?ver= query is only a
		// hint (a theme's version as often as the library's).
		if sameSite(abs, base) && fetched < maxScriptFetch && (abs.Scheme == "http" || abs.Scheme == "https") {
			fetched++
			if r, err := s.Fetch(ctx, site.Request{URL: abs.String(), Limit: scriptHead}); err == nil && r.Status == 200 {
				if b, ok := jslib.FromBannerOf(f.Library, r.Body); ok {
					f.Version, f.From = b.Version, b.From
				}
			}
		}
		if f.Version == "" || f.From == jslib.FromQuery {
			continue
		}
		if !slices.ContainsFunc(found, func(x jslib.Found) bool { return x.Library == f.Library && x.Version == f.Version }) {
			found = append(found, f)
		}
	}
	var out []check.Result
	for _, f := range found {
		vs := f.Library.Affected(f.Version)
		if len(vs) == 0 {
			continue
		}
		out = append(out, c.jsResult(page, f, vs))
	}
	return out, nil
}

func sameSite(a, b *url.URL) bool {
	return strings.EqualFold(a.Hostname(), b.Hostname()) && a.Port() == b.Port()
}

func (c *webCheck) jsResult(page *site.Response, f jslib.Found, vs []jslib.Vuln) check.Result {
	var ids, kevs []string
	sev, kev := finding.Medium, false
	for _, v := range vs {
		for _, id := range v.IDs {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		if v.KEV {
			kev = true
			kevs = append(kevs, v.IDs[0])
		}
		if v.High || v.KEV {
			sev = finding.High
		}
	}
	fix := jslib.FixedIn(vs)
	title := fmt.Sprintf("%s %s has %d known vulnerabilit%s (%s)", f.Library.Name, f.Version, len(ids), plural(len(ids), "y", "ies"), strings.Join(ids[:min(len(ids), 4)], ", "))
	fields := map[string]string{"library": f.Library.Name, "version": f.Version, "version_from": f.From, "script": f.URL, "cve": strings.Join(ids, " ")}
	if fix != "" {
		fields["fixed_in"] = fix
	} else {
		fields["fixed_in"] = "none in this line: migrate"
	}
	if f.Library.EOL != "" {
		fields["end_of_life"] = f.Library.EOL
	}
	if kev {
		fields["kev"] = strings.Join(kevs, " ")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<script src=%q> → %s %s (from its %s)\n", f.URL, f.Library.Name, f.Version, f.From)
	for _, v := range vs {
		fmt.Fprintf(&b, "%s: %s\n", strings.Join(v.IDs, ", "), v.Summary)
	}
	var cves []string
	for _, id := range ids {
		if strings.HasPrefix(id, "CVE-") {
			cves = append(cves, id)
		}
	}
	ev := page.Evidence(0, "Content-Type", "Server")
	ev.Response = check.Cap(ev.Response + "\n…\n" + b.String())
	ev.Fields = fields
	return check.Result{Check: c.meta.ID, Severity: sev, Subject: f.Library.Name + " " + f.Version, Title: title,
		Evidence: ev, CVE: cves, KEV: kev}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
