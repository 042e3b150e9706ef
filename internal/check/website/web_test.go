package website_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/http/site"
	"github.com/rampart-cert/rampart/internal/check/website"
)

// loopback routes host:port to fixture listeners on 127.0.0.1 and refuses
// everything else.
type loopback map[string]string

func (l loopback) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	to, ok := l[addr]
	if !ok {
		return nil, fmt.Errorf("test dial: %s: connection refused", addr)
	}
	if ap, err := netip.ParseAddrPort(to); err != nil || !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("test dial: %s is not loopback", to)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, to)
}

// page serves a swappable body, and another to Googlebot when set.
type page struct {
	mu        sync.Mutex
	body, bot string
}

func (p *page) set(body, bot string) {
	p.mu.Lock()
	p.body, p.bot = body, bot
	p.mu.Unlock()
}

func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	body, bot := p.body, p.bot
	p.mu.Unlock()
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if bot != "" && strings.Contains(r.UserAgent(), "Googlebot") {
		if strings.HasPrefix(bot, "redirect:") {
			http.Redirect(w, r, strings.TrimPrefix(bot, "redirect:"), http.StatusFound)
			return
		}
		body = bot
	}
	fmt.Fprint(w, body)
}

func fixture(t *testing.T, body, bot string) (*page, loopback) {
	t.Helper()
	p := &page{body: body, bot: bot}
	s := httptest.NewServer(p)
	t.Cleanup(s.Close)
	return p, loopback{"sovhtt.gov.vn:80": s.Listener.Addr().String()}
}

var target = check.Target{Kind: check.TargetURL, URL: "http://sovhtt.gov.vn/"}

func newEnv(routes loopback, baselines website.Baselines) *check.Env {
	return &check.Env{
		Dial: routes.dial, UserAgent: "Rampart-test/1", Timeout: 3 * time.Second, MaxRead: 1 << 20,
		Now:   func() time.Time { return time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC) },
		Extra: map[string]any{website.ExtraKey: baselines, site.ExtraKey: site.NewCache()},
	}
}

func run(t *testing.T, id string, env *check.Env) []check.Result {
	t.Helper()
	res, err := runErr(t, id, env)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	return res
}

func runErr(t *testing.T, id string, env *check.Env) ([]check.Result, error) {
	t.Helper()
	for _, c := range website.Checks(site.NewCache(), nil) {
		if c.Meta().ID == id {
			return c.Run(context.Background(), env, target)
		}
	}
	t.Fatalf("no check %s", id)
	return nil, nil
}

const govHead = `<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Sở Văn hóa, Thể thao và Du lịch tỉnh Hòa Bình</title>
<meta name="description" content="Cổng thông tin điện tử Sở Văn hóa, Thể thao và Du lịch"></head><body>
<header><h1>SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH</h1><nav><a href="/">Trang chủ</a> <a href="/gioi-thieu">Giới thiệu</a> <a href="/tin-tuc">Tin tức</a> <a href="/van-ban">Văn bản</a> <a href="/lien-he">Liên hệ</a></nav></header>`

const govNews = `<main>
<article><h2>Khai mạc Lễ hội văn hóa dân tộc Mường năm 2026</h2><p>Sáng nay, tại quảng trường trung tâm tỉnh, Sở Văn hóa, Thể thao và Du lịch phối hợp với UBND huyện tổ chức khai mạc lễ hội văn hóa dân tộc Mường với nhiều hoạt động đặc sắc như thi cồng chiêng, trình diễn trang phục truyền thống và các trò chơi dân gian.</p></article>
<article><h2>Tăng cường quản lý hoạt động thể thao trong mùa giải</h2><p>Sở đề nghị các đơn vị tăng cường tuyên truyền để người hâm mộ không tham gia cá cược trái phép; các hành vi vi phạm sẽ được xử lý theo quy định.</p></article>
<article><h2>Hội nghị tổng kết công tác du lịch</h2><p>Năm qua, tỉnh đón hơn ba triệu lượt khách du lịch, tổng thu đạt gần năm nghìn tỷ đồng; ngành du lịch đặt mục tiêu phát triển bền vững, gắn với bảo tồn di sản văn hóa.</p></article>
</main>`

const govFoot = `<footer><p>Bản quyền thuộc Sở Văn hóa, Thể thao và Du lịch. Địa chỉ: số 1 đường Trần Hưng Đạo.</p><a href="https://chinhphu.vn">Cổng Chính phủ</a></footer></body></html>`

var cleanPage = govHead + govNews + govFoot

const defacedPage = `<html><head><title>Hacked by VN-Gh0st</title></head><body style="background:black;color:lime"><center><h1>HACKED BY VN-GH0ST</h1><h2>Your security is low!</h2><p>Greetz: all members of Gh0st Cyber Team</p></center></body></html>`

// hiddenSpam is what attackers inject into government templates.
const hiddenSpam = `<div style="position:absolute; left:-9999px; top:-9999px">
<a href="https://w88vn.example/">W88</a> | <a href="https://fb88.example/">FB88 – nhà cái uy tín</a> |
<a href="https://789bet.example/">789BET cá cược bóng đá</a> | <a href="https://nhacaiuytin.example/">Nhà Cái Uy Tín</a> |
<a href="https://kubet.example/">Kubet nổ hũ</a> <a href="https://soikeo.example/">soi kèo hôm nay</a></div>`

func TestGamblingFires(t *testing.T) {
	tests := []struct {
		name, body, bot string
		cloak           bool
	}{
		{"hidden div of betting links", govHead + govNews + hiddenSpam + govFoot, "", false},
		{"class hidden by a style block", strings.Replace(govHead, "</head>", `<style>.ft-lk{display:none}</style></head>`, 1) + govNews +
			`<p class="ft-lk">Tài xỉu online, game bài đổi thưởng, <a href="https://new88.example">New88</a> <a href="https://jun88.example">Jun88 casino</a></p>` + govFoot, "", false},
		{"zero font size", govHead + govNews + `<span style="font-size:0px">NHÀ CÁI SBOBET, CÁ ĐỘ BÓNG ĐÁ, LÔ ĐỀ</span>` + govFoot, "", false},
		{"title and description", strings.Replace(strings.Replace(govHead, "<title>Sở Văn hóa", "<title>Nhà cái W88 uy tín - Sở Văn hóa", 1),
			`content="Cổng thông tin`, `content="Cá cược bóng đá, tài xỉu, nổ hũ. Cổng thông tin`, 1) + govNews + govFoot, "", false},
		{"cloaking: spam only for Googlebot", cleanPage,
			`<html><head><title>Nhà cái uy tín nhất 2026 - Kèo nhà cái</title></head><body><h1>Top nhà cái uy tín: W88, FB88, 789bet</h1><p>Cá cược bóng đá, tài xỉu, nổ hũ, bắn cá đổi thưởng.</p></body></html>`, true},
		{"cloaking: Googlebot redirected to a casino", cleanPage, "redirect:https://nhacai-789bet.example/", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, routes := fixture(t, tt.body, tt.bot)
			res := run(t, "web.gambling-injection", newEnv(routes, website.NewMemoryBaselines()))
			if len(res) != 1 {
				t.Fatalf("results = %d, want 1", len(res))
			}
			r := res[0]
			if (r.Evidence.Fields["cloaking"] == "true") != tt.cloak {
				t.Errorf("cloaking = %q, want %t", r.Evidence.Fields["cloaking"], tt.cloak)
			}
			if r.Subject != "/" || r.Severity != "high" || r.Evidence.Fields["terms"] == "" && r.Evidence.Fields["crawler_redirect"] == "" {
				t.Errorf("result %+v", r)
			}
			t.Logf("%s\n%s\n%v", r.Title, r.Evidence.Response, r.Evidence.Fields)
		})
	}
}

func TestGamblingEvidenceNamesElementsAndLinks(t *testing.T) {
	_, routes := fixture(t, govHead+govNews+hiddenSpam+govFoot, "")
	r := run(t, "web.gambling-injection", newEnv(routes, website.NewMemoryBaselines()))[0]
	for _, want := range []string{"https://fb88.example/", "https://nhacaiuytin.example/"} {
		if !strings.Contains(r.Evidence.Fields["links"], want) {
			t.Errorf("links %q lack %s", r.Evidence.Fields["links"], want)
		}
	}
	if !strings.Contains(r.Evidence.Fields["hidden_elements"], "div") || !strings.Contains(r.Evidence.Response, "off-screen") && !strings.Contains(r.Evidence.Response, "hidden:") {
		t.Errorf("evidence lacks hiding element: %v\n%s", r.Evidence.Fields, r.Evidence.Response)
	}
	for _, term := range []string{"nha cai", "w88", "789bet"} {
		if !strings.Contains(r.Evidence.Fields["terms"], term) {
			t.Errorf("terms %q lack %s", r.Evidence.Fields["terms"], term)
		}
	}
}

func TestGamblingSilentOnHonestPages(t *testing.T) {
	for name, body := range map[string]string{
		"news page mentioning cá cược once":    cleanPage,
		"hidden dropdown menu of normal links": govHead + `<ul style="display:none"><li><a href="/tin-tuc/the-thao">Thể thao</a></li><li><a href="/tin-tuc/van-hoa">Văn hóa</a></li></ul>` + govNews + govFoot,
		"police news about a betting ring":     govHead + `<main><article><h2>Triệt phá đường dây cá độ bóng đá qua mạng</h2><p>Công an tỉnh đã triệt phá đường dây cá độ bóng đá với số tiền hơn 100 tỷ đồng. Các đối tượng sử dụng trang web cá độ của nhà cái nước ngoài để tổ chức đánh bạc. Cơ quan công an khuyến cáo người dân không tham gia cá cược, cá độ dưới mọi hình thức.</p></article></main>` + govFoot,
		"one hidden term":                      govHead + govNews + `<div hidden>nhà cái</div>` + govFoot,
	} {
		t.Run(name, func(t *testing.T) {
			_, routes := fixture(t, body, "")
			if res := run(t, "web.gambling-injection", newEnv(routes, website.NewMemoryBaselines())); len(res) != 0 {
				t.Errorf("fired: %s\n%s", res[0].Title, res[0].Evidence.Response)
			}
		})
	}
}

func TestDefacement(t *testing.T) {
	p, routes := fixture(t, cleanPage, "")
	store := website.NewMemoryBaselines()
	scan := func() []check.Result { return run(t, "web.defacement", newEnv(routes, store)) }

	if res, err := runErr(t, "web.defacement", newEnv(routes, store)); len(res) != 0 || !errors.Is(err, website.ErrBaselineTaken) {
		t.Fatalf("first scan: %v, %v; want no result and ErrBaselineTaken", res, err)
	}
	if _, ok, _ := store.Get(context.Background(), website.BaselineKey("http://sovhtt.gov.vn/")); !ok {
		t.Fatal("first scan stored no baseline")
	}
	if res := scan(); len(res) != 0 {
		t.Fatalf("unchanged page fired: %v", res)
	}

	// A normal content update: a new article on top, one gone.
	updated := govHead + strings.Replace(govNews, `<article><h2>Hội nghị tổng kết`, `<article><h2>Triển lãm ảnh "Hòa Bình - đất và người"</h2><p>Triển lãm giới thiệu hơn 200 bức ảnh về cảnh quan thiên nhiên, đời sống của đồng bào các dân tộc trong tỉnh; tin tặc (hacker) từng tấn công nhiều website nhưng cổng thông tin của Sở vẫn an toàn.</p></article><article><h2>Hội nghị tổng kết`, 1) + govFoot
	p.set(updated, "")
	if res := scan(); len(res) != 0 {
		t.Fatalf("content update fired: %s", res[0].Title)
	}

	// Maintenance page: tiny, big heading, no defacer words.
	p.set(`<html><head><title>Bảo trì</title></head><body><h1>Hệ thống đang bảo trì</h1><p>Vui lòng quay lại sau.</p></body></html>`, "")
	if res := scan(); len(res) != 0 {
		t.Fatalf("maintenance page fired: %s", res[0].Title)
	}
	p.set(updated, "")
	scan()

	p.set(defacedPage, "")
	res := scan()
	if len(res) != 1 {
		t.Fatalf("defaced page: %d results", len(res))
	}
	if !strings.Contains(res[0].Evidence.Fields["markers"], "hacked by") || res[0].Subject != "/" {
		t.Errorf("result %+v", res[0])
	}
	t.Logf("%s %v", res[0].Title, res[0].Evidence.Fields)
	// Still defaced on the next scan: the baseline was kept.
	if res := scan(); len(res) != 1 {
		t.Fatalf("second scan of defaced page: %d results", len(res))
	}
	// Restored: silent, so the finding is verified fixed.
	p.set(updated, "")
	if res := scan(); len(res) != 0 {
		t.Fatalf("restored page fired: %s", res[0].Title)
	}
}

// A page first seen already defaced becomes the baseline (as before: a
// page about hacking legitimately carries the words) and the run that took
// it is not coverage, so an open finding is not marked fixed by it. Later
// scans judge against that baseline and stay silent, which is why
// baselines live on the platform rather than in a worker (README).
func TestDefacementFreshBaselineIsNotCoverage(t *testing.T) {
	_, routes := fixture(t, defacedPage, "")
	store := website.NewMemoryBaselines()
	res, err := runErr(t, "web.defacement", newEnv(routes, store))
	if len(res) != 0 || !errors.Is(err, website.ErrBaselineTaken) {
		t.Fatalf("fresh baseline of a defaced page: %v, %v; want no result and ErrBaselineTaken", res, err)
	}
	if errors.Is(err, check.ErrUnreachable) {
		t.Errorf("a taken baseline is not an unreachable target: %v", err)
	}
	if _, ok, _ := store.Get(context.Background(), website.BaselineKey("http://sovhtt.gov.vn/")); !ok {
		t.Fatal("no baseline stored")
	}
	if res := run(t, "web.defacement", newEnv(routes, store)); len(res) != 0 {
		t.Errorf("second scan judged against the defaced baseline fired: %s", res[0].Title)
	}
}

func TestUnreachable(t *testing.T) {
	env := newEnv(loopback{}, website.NewMemoryBaselines())
	for _, c := range website.Checks(site.NewCache(), website.NewMemoryBaselines()) {
		if _, err := c.Run(context.Background(), env, target); !errors.Is(err, check.ErrUnreachable) {
			t.Errorf("%s: %v", c.Meta().ID, err)
		}
	}
}

func TestRegister(t *testing.T) {
	r := check.NewRegistry()
	if err := website.Register(r); err != nil {
		t.Fatal(err)
	}
	if n := len(r.Select([]string{"web"})); n != 2 {
		t.Fatalf("%d web checks", n)
	}
	svc := check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort("127.0.0.1:443"), Service: "https", TLS: true}
	for _, c := range r.All() {
		if !c.Applies(svc) || !c.Applies(target) || c.Applies(check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort("127.0.0.1:6379"), Service: "redis"}) {
			t.Errorf("%s: Applies wrong", c.Meta().ID)
		}
	}
}
