// Package website is the website-integrity check family: gambling spam
// injected into pages (the commonest compromise of Vietnamese government
// sites, often cloaked so only search engines see it) and defacement
// measured against a stored baseline of the page.
//
// Pages are fetched through internal/check/http/site (one client per
// target, responses shared with the http family when the scan's env
// carries a site cache). HTML is read with golang.org/x/net/html; text is
// folded (lower case, diacritics removed) so "NHÀ CÁI" and "nha cai" match
// alike. Baselines live behind the Baselines interface, found in
// env.Extra[ExtraKey]; the platform stores them, tests use
// MemoryBaselines. See README.md.
package website

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/http/site"
	"github.com/rampart-cert/rampart/internal/finding"
)

// Family is the family name of these checks.
const Family = "web"

// Sentinel errors.
var (
	// ErrBaselines wraps failures of the baseline store.
	ErrBaselines = errors.New("web: baseline store")
	// ErrBaselineTaken is what the defacement check returns when it had no
	// baseline for a page and took one. It judged nothing, so the run must
	// not count as coverage: a baseline can be lost (a store wiped, a
	// worker without the platform's store) and the page it is taken from
	// may be the defaced one, which would otherwise mark an open
	// web.defacement finding fixed.
	ErrBaselineTaken = errors.New("web: no baseline for the page yet; one was taken, the page is judged from the next scan")
)

// Register adds the web checks to r, with their own site cache and an
// in-memory baseline store used when the env carries none.
func Register(r *check.Registry) error {
	return r.Register(Checks(site.NewCache(), NewMemoryBaselines())...)
}

// Checks returns the web checks using cache for requests and fallback for
// baselines when env.Extra[ExtraKey] holds no Baselines.
func Checks(cache *site.Cache, fallback Baselines) []check.Check {
	return []check.Check{&Gambling{cache: cache}, &Defacement{cache: cache, fallback: fallback}}
}

func siteFor(env *check.Env, cache *site.Cache, t check.Target, id string) (*site.Site, error) {
	s, err := site.FromEnv(env, cache).Site(env, t)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	return s, nil
}

func pageHost(r *site.Response) string {
	u, err := url.Parse(r.URL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// ---- web.gambling-injection ----

// Gambling is web.gambling-injection.
type Gambling struct{ cache *site.Cache }

var _ check.Check = (*Gambling)(nil)

// Meta describes the check.
func (*Gambling) Meta() check.Meta {
	return check.Meta{
		ID: "web.gambling-injection", Family: Family, Severity: finding.High,
		Title: check.Text{EN: "Gambling spam injected into the website", VI: "Website bị chèn nội dung cờ bạc, cá cược"},
		Description: check.Text{
			EN: "The page carries gambling and betting spam (casino, betting brands such as W88, FB88, 789bet, Kubet; \"nhà cái\", \"cá cược\", \"nổ hũ\", \"tài xỉu\"...) hidden from visitors (display:none, off-screen, zero font size), in links to outside betting sites, in the title or description, or served only to search engine crawlers (cloaking). It means the site is compromised: attackers sell its reputation to gambling sites, and the same access lets them change anything else.",
			VI: "Trang chứa nội dung quảng cáo cờ bạc, cá cược (casino, các nhà cái như W88, FB88, 789bet, Kubet; \"nhà cái\", \"cá cược\", \"nổ hũ\", \"tài xỉu\"...) được ẩn khỏi người xem (display:none, đẩy ra ngoài màn hình, cỡ chữ 0), trong liên kết tới trang cá cược bên ngoài, trong tiêu đề hoặc mô tả, hoặc chỉ hiển thị cho trình thu thập của công cụ tìm kiếm (cloaking). Điều này cho thấy website đã bị xâm nhập: kẻ tấn công bán uy tín của trang cho các trang cờ bạc, và với cùng quyền truy cập đó chúng có thể thay đổi bất kỳ nội dung nào khác.",
		},
		Remediation: check.Text{
			EN: "Treat it as an intrusion: take a copy for investigation, find the injected code (templates, database content, .htaccess or plugin files; compare with a clean source), remove it and the attacker's access (web shells, admin accounts), patch the CMS and plugins, change every password, then ask Google Search Console for a review.",
			VI: "Xử lý như một sự cố xâm nhập: sao lưu hiện trạng để điều tra, tìm mã bị chèn (giao diện, nội dung cơ sở dữ liệu, tệp .htaccess hoặc plugin; so sánh với mã nguồn sạch), gỡ bỏ mã độc và các lối vào của kẻ tấn công (web shell, tài khoản quản trị lạ), cập nhật bản vá CMS và plugin, đổi toàn bộ mật khẩu, sau đó yêu cầu Google Search Console xem xét lại.",
		},
		References: []string{"CWE-506", "OWASP Top 10 2021 A08: Software and Data Integrity Failures", "Google Search spam policies: hacked content, cloaking", "MITRE ATT&CK T1608.004"},
	}
}

// Applies reports whether t is a web target.
func (*Gambling) Applies(t check.Target) bool { return site.IsWeb(t) }

// Run fetches the page as the scanner and as Googlebot and scores both.
func (g *Gambling) Run(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	const id = "web.gambling-injection"
	s, err := siteFor(env, g.cache, t, id)
	if err != nil {
		return nil, err
	}
	r, err := s.Reachable(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	var rep *GamblingReport
	if r.Status >= 200 && r.Status < 300 {
		rep = ScanGambling(Parse(r.Body, pageHost(r)))
	} else {
		rep = &GamblingReport{}
	}

	// Cloaking: the same page for a crawler.
	var bot *site.Response
	var botRep *GamblingReport
	cloakHost := ""
	if rb, err := s.Fetch(ctx, site.Request{UserAgent: site.GooglebotUA + " " + s.UserAgent(), Follow: 5}); err == nil {
		bot = rb
		if rb.Status >= 200 && rb.Status < 300 {
			botRep = ScanGambling(Parse(rb.Body, pageHost(rb)))
		} else if loc, ok := rb.Location(); ok && !strings.EqualFold(loc.Hostname(), s.Hostname()) {
			cloakHost = GamblingHost(loc.Hostname())
		}
	}
	cloaked := cloakHost != "" ||
		(botRep != nil && botRep.Total >= CloakThreshold && len(botRep.Terms) >= 2 && rep.Total*3 < botRep.Total)
	if !rep.Fires() && !cloaked {
		return nil, nil
	}

	var title string
	var b strings.Builder
	fields := map[string]string{}
	req := r.RequestLine()
	main := rep
	switch {
	case rep.Fires():
		title = fmt.Sprintf("Gambling spam injected into %s (%d terms, %d outside links)", s.PagePath(), len(rep.Terms), len(rep.Links))
		if cloaked {
			title += ", more served to search engines"
		}
	default:
		title = fmt.Sprintf("Gambling content served only to search engines at %s (cloaking)", s.PagePath())
		if botRep != nil {
			main = botRep
		}
	}
	if cloaked {
		fields["cloaking"] = "true"
		fields["browser_score"] = strconv.Itoa(rep.Total)
		if botRep != nil {
			fields["crawler_score"] = strconv.Itoa(botRep.Total)
		}
		if cloakHost != "" {
			fields["crawler_redirect"] = bot.Header.Get("Location")
		}
		req += "\n\n" + bot.RequestLine()
	}
	fields["score"] = strconv.Itoa(main.Suspicious)
	fields["terms"] = strings.Join(main.Terms, ", ")
	if len(main.Elements) > 0 {
		fields["hidden_elements"] = strings.Join(main.Elements[:min(len(main.Elements), 10)], "; ")
	}
	if len(main.Links) > 0 {
		fields["links"] = strings.Join(main.Links[:min(len(main.Links), 20)], " ")
	}
	fmt.Fprintf(&b, "matched: %s\n", main.Summary())
	if len(main.Elements) > 0 {
		fmt.Fprintf(&b, "hidden in: %s\n", strings.Join(main.Elements[:min(len(main.Elements), 10)], "; "))
	}
	if len(main.Links) > 0 {
		fmt.Fprintf(&b, "links to: %s\n", strings.Join(main.Links[:min(len(main.Links), 20)], " "))
	}
	if cloakHost != "" {
		fmt.Fprintf(&b, "crawler redirected to: %s\n", bot.Header.Get("Location"))
	}
	b.WriteString("\n")
	for _, sn := range main.Snippets {
		b.WriteString(sn)
		b.WriteString("\n")
	}
	return []check.Result{{
		Check: id, Severity: finding.High, Subject: s.PagePath(), Title: title,
		Evidence: check.Evidence{Request: req, Response: check.Cap(b.String()), Fields: fields},
	}}, nil
}

// ---- web.defacement ----

// Defacement is web.defacement.
type Defacement struct {
	cache    *site.Cache
	fallback Baselines
}

var _ check.Check = (*Defacement)(nil)

// Meta describes the check.
func (*Defacement) Meta() check.Meta {
	return check.Meta{
		ID: "web.defacement", Family: Family, Severity: finding.High,
		Title: check.Text{EN: "Website defaced", VI: "Website bị thay đổi giao diện trái phép (deface)"},
		Description: check.Text{
			EN: "The page changed against its stored baseline (title, text fingerprint, links, size) and now shows what defacers leave: \"hacked by\", \"owned by\", \"h4ck3d\", \"security is low\", greetings to other groups, often on a tiny page with one big heading in place of the site.",
			VI: "Trang đã thay đổi so với bản mẫu đã lưu (tiêu đề, dấu vân tay nội dung, liên kết, kích thước) và hiện các dấu hiệu của kẻ deface: \"hacked by\", \"owned by\", \"h4ck3d\", \"security is low\", lời chào tới các nhóm khác, thường là một trang nhỏ với một tiêu đề lớn thay cho nội dung trang.",
		},
		Remediation: check.Text{
			EN: "Take the site offline or show a maintenance page, keep a copy for investigation, restore from a known-good backup, find and close the way in (vulnerable CMS or plugin, web shell, stolen password), change all credentials, and report the incident to the national CERT.",
			VI: "Tạm dừng trang hoặc hiển thị trang bảo trì, lưu lại hiện trạng để điều tra, khôi phục từ bản sao lưu sạch, tìm và đóng lối xâm nhập (CMS hoặc plugin có lỗ hổng, web shell, mật khẩu bị lộ), đổi toàn bộ thông tin đăng nhập và báo cáo sự cố cho cơ quan ứng cứu sự cố quốc gia.",
		},
		References: []string{"MITRE ATT&CK T1491.002", "CWE-494", "OWASP Top 10 2021 A08: Software and Data Integrity Failures"},
	}
}

// Applies reports whether t is a web target.
func (*Defacement) Applies(t check.Target) bool { return site.IsWeb(t) }

func (d *Defacement) store(env *check.Env) Baselines {
	if env != nil {
		if b, ok := env.Extra[ExtraKey].(Baselines); ok && b != nil {
			return b
		}
	}
	return d.fallback
}

// BaselineKey is the key a page's baseline is stored under.
func BaselineKey(pageURL string) string { return "web.defacement " + pageURL }

// Run fingerprints the page and judges it against the stored baseline.
// The first scan stores a baseline, reports nothing and returns an error
// wrapping ErrBaselineTaken, so the engine does not count the page as
// covered by this check (check.Check: only a nil error is coverage). A
// page judged
// defaced is reported and the baseline is kept, so the finding stays
// open until the page is restored. Any other page, changed or not,
// becomes the new baseline: content updates are accepted as they come.
func (d *Defacement) Run(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	const id = "web.defacement"
	s, err := siteFor(env, d.cache, t, id)
	if err != nil {
		return nil, err
	}
	r, err := s.Reachable(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	if r.Status < 200 || r.Status > 299 {
		return nil, nil // an error page is not a fingerprint of the site
	}
	store := d.store(env)
	if store == nil {
		return nil, fmt.Errorf("%s: %w: none configured", id, ErrBaselines)
	}
	now := time.Now
	if env != nil && env.Now != nil {
		now = env.Now
	}
	first := r.Chain()[0].URL
	doc := Parse(r.Body, pageHost(r))
	cur := Fingerprint(first, doc, now())
	key := BaselineKey(first)
	old, ok, err := store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: get %s: %w", id, ErrBaselines, key, err)
	}
	if !ok {
		if err := store.Put(ctx, key, cur); err != nil {
			return nil, fmt.Errorf("%s: %w: put %s: %w", id, ErrBaselines, key, err)
		}
		return nil, fmt.Errorf("%s %s: %w", id, first, ErrBaselineTaken)
	}
	v := Judge(old, cur, doc)
	if !v.Defaced {
		if err := store.Put(ctx, key, cur); err != nil {
			return nil, fmt.Errorf("%s: %w: put %s: %w", id, ErrBaselines, key, err)
		}
		return nil, nil
	}
	heading := ""
	if len(doc.H1) > 0 {
		heading = doc.H1[0]
	}
	fields := map[string]string{
		"markers":        strings.Join(v.NewMarkers, ", "),
		"score":          strconv.Itoa(v.Score),
		"title_before":   old.Title,
		"title_now":      Fold(doc.Title),
		"heading":        truncate(heading, 200),
		"simhash_bits":   strconv.Itoa(v.Change.Distance),
		"size_before":    strconv.Itoa(old.Size),
		"size_now":       strconv.Itoa(cur.Size),
		"baseline_taken": old.TakenAt.UTC().Format(time.RFC3339),
		"tiny_page":      strconv.FormatBool(v.TinyPage),
	}
	ev := r.Evidence(1500, "Content-Type", "Last-Modified", "Server")
	ev.Fields = fields
	what := doc.Title
	if what == "" {
		what = heading
	}
	return []check.Result{{
		Check: id, Severity: finding.High, Subject: s.PagePath(),
		Title:    fmt.Sprintf("Page %s defaced: %q (%s)", s.PagePath(), truncate(what, 80), strings.Join(v.NewMarkers, ", ")),
		Evidence: ev,
	}}, nil
}
