package baselinekv_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/http/site"
	"github.com/rampart-cert/rampart/internal/check/website"
	"github.com/rampart-cert/rampart/internal/engine"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/worker/baselinekv"
)

const pageURL = "http://sovhtt.gov.vn/"

const goodPage = `<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Sở Văn hóa, Thể thao và Du lịch tỉnh Hòa Bình</title></head>
<body><header><h1>Cổng thông tin điện tử Sở Văn hóa, Thể thao và Du lịch</h1>
<nav><a href="/">Trang chủ</a> <a href="/gioi-thieu">Giới thiệu</a> <a href="/tin-tuc">Tin tức</a> <a href="/van-ban">Văn bản</a> <a href="/thu-tuc">Thủ tục hành chính</a> <a href="/lien-he">Liên hệ</a></nav></header>
<main><article><h2>Hội nghị tổng kết công tác văn hóa năm 2025</h2><p>Sáng nay, Sở Văn hóa, Thể thao và Du lịch tổ chức hội nghị tổng kết công tác năm 2025 và triển khai nhiệm vụ năm 2026. Hội nghị đánh giá kết quả thực hiện các chỉ tiêu về xây dựng đời sống văn hóa cơ sở, bảo tồn di sản, phát triển thể thao quần chúng và thu hút khách du lịch.</p></article>
<article><h2>Giải chạy việt dã truyền thống lần thứ 30</h2><p>Hơn 800 vận động viên đến từ các huyện, thành phố trong tỉnh tham gia giải chạy việt dã truyền thống, góp phần phong trào toàn dân rèn luyện thân thể theo gương Bác Hồ vĩ đại.</p></article>
<article><h2>Lễ hội Khai hạ Mường Bi</h2><p>Lễ hội Khai hạ của đồng bào dân tộc Mường được tổ chức vào mùng 7 tháng Giêng hằng năm, với các nghi lễ truyền thống, trò chơi dân gian và các hoạt động văn hóa văn nghệ đặc sắc thu hút đông đảo nhân dân và du khách.</p></article></main>
<footer><p>Cơ quan chủ quản: Sở Văn hóa, Thể thao và Du lịch tỉnh Hòa Bình. Địa chỉ: đường Trần Hưng Đạo, thành phố Hòa Bình.</p></footer></body></html>`

const defacedPage = `<html><head><title>Hacked by VN-Gh0st</title></head><body style="background:black;color:lime"><center><h1>HACKED BY VN-GH0ST</h1><h2>Your security is low!</h2><p>Greetz: all members of Gh0st Cyber Team</p></center></body></html>`

// site serves a page that the test swaps, on a loopback listener.
type page struct {
	mu   sync.Mutex
	body string
}

func (p *page) set(body string) {
	p.mu.Lock()
	p.body = body
	p.mu.Unlock()
}

func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	body := p.body
	p.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, body)
}

// serve starts the web site; its dialer sends sovhtt.gov.vn:80 there and
// refuses every other address.
func serve(t *testing.T) (*page, func(ctx context.Context, network, addr string) (net.Conn, error)) {
	t.Helper()
	p := &page{body: goodPage}
	s := httptest.NewServer(p)
	t.Cleanup(s.Close)
	to := s.Listener.Addr().String()
	return p, func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != "sovhtt.gov.vn:80" {
			return nil, fmt.Errorf("test dial: %s: connection refused", addr)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, to)
	}
}

// outcome is what one scan of the page told the finding lifecycle.
type outcome struct {
	findings []string // check IDs reported
	covered  bool     // web.defacement ran to completion (silence means fixed)
	problems []string
}

type sink struct {
	mu sync.Mutex
	o  outcome
}

func (s *sink) Port(engine.Port) {}

func (s *sink) Finding(_ check.Target, r check.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.o.findings = append(s.o.findings, r.Check)
}

func (s *sink) Problem(what string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.o.problems = append(s.o.problems, what+": "+err.Error())
}

func (s *sink) Covered(_ check.Target, checks []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.o.covered = s.o.covered || slices.Contains(checks, "web.defacement")
}

// scan runs web.defacement on the page through the engine, as a worker's
// job does, with baselines b and a fresh response cache.
func scan(t *testing.T, dial func(context.Context, string, string) (net.Conn, error), b website.Baselines) outcome {
	t.Helper()
	var checks []check.Check
	for _, c := range website.Checks(site.NewCache(), nil) {
		if c.Meta().ID == "web.defacement" {
			checks = append(checks, c)
		}
	}
	env := &check.Env{Dial: dial, UserAgent: "Rampart-test/1", Timeout: 3 * time.Second, MaxRead: 1 << 20, Now: time.Now,
		Extra: map[string]any{website.ExtraKey: b, site.ExtraKey: site.NewCache()}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := &sink{}
	// The job's host is the loopback address; the port scan has nothing
	// to find there but the engine wants a target, as a worker's job has.
	cfg := engine.Config{Ports: []uint16{9}, Checks: checks, CheckEnv: env, Names: []string{}, URLs: []string{pageURL}}
	if _, err := engine.Run(ctx, []string{"127.0.0.1"}, cfg, s); err != nil {
		t.Fatalf("engine: %v", err)
	}
	return s.o
}

func (o outcome) defaced() bool { return slices.Contains(o.findings, "web.defacement") }

func openEmbedded(t *testing.T, dir string) *natsq.Queue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, err := natsq.Open(ctx, natsq.Options{DataDir: dir, Name: "baselinekv-test", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("open embedded NATS: %v", err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

// openURL joins an embedded server as the platform does (its
// credentials from the data dir), or an external one without (creds "").
func openURL(t *testing.T, url, creds string) *natsq.Queue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, err := natsq.Open(ctx, natsq.Options{URL: url, Creds: creds, Name: "baselinekv-test-2", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("open NATS %s: %v", url, err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func store(t *testing.T, q queue.Queue) *baselinekv.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, ok := q.(queue.KVStore)
	if !ok {
		t.Fatal("natsq.Queue is not a queue.KVStore")
	}
	b, err := baselinekv.Open(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDefacementSurvivesWorkerRestart: worker A takes the baseline of a
// good page and reports the defacement; then a restarted worker (a new
// server and connection on the same data dir, a new Store) and a second
// worker of the region (another connection to that server) scan the
// still-defaced page and keep reporting it, rather than taking it as a
// new baseline and marking the finding fixed.
func TestDefacementSurvivesWorkerRestart(t *testing.T) {
	p, dial := serve(t)
	dir := t.TempDir()

	qa := openEmbedded(t, dir)
	a := store(t, qa)
	if o := scan(t, dial, a); o.defaced() || o.covered {
		t.Fatalf("first scan (baseline taken): %+v; want no finding and no coverage", o)
	}
	if o := scan(t, dial, a); o.defaced() || !o.covered || len(o.problems) != 0 {
		t.Fatalf("second scan of the good page: %+v; want covered and silent", o)
	}
	p.set(defacedPage)
	if o := scan(t, dial, a); !o.defaced() {
		t.Fatalf("worker A, defaced page: %+v; want web.defacement", o)
	}

	// Worker A's process ends; a new one starts on the same data dir.
	if err := qa.Close(); err != nil {
		t.Fatal(err)
	}
	qb := openEmbedded(t, dir)
	b := store(t, qb)
	if o := scan(t, dial, b); !o.defaced() || !o.covered {
		t.Fatalf("restarted worker, still defaced: %+v; want web.defacement reported", o)
	}
	// A second worker of the region, on its own connection.
	c := store(t, openURL(t, qb.ClientURL(), qb.PlatformCredentials()))
	if o := scan(t, dial, c); !o.defaced() || !o.covered {
		t.Fatalf("second worker, still defaced: %+v; want web.defacement reported", o)
	}

	// Restored: silent and covered, so the finding is verified fixed.
	p.set(goodPage)
	if o := scan(t, dial, c); o.defaced() || !o.covered {
		t.Fatalf("restored page: %+v; want covered and silent", o)
	}
}

// TestMemoryBaselinesLoseDefacement documents why baselines left the
// worker: a restarted worker with MemoryBaselines meets the defaced page
// with no baseline. The check's own guard keeps that first run from
// counting as coverage, but the defaced page is now the baseline, and
// the scan after treats it as normal and fixes the finding.
func TestMemoryBaselinesLoseDefacement(t *testing.T) {
	p, dial := serve(t)
	a := website.NewMemoryBaselines()
	scan(t, dial, a)
	p.set(defacedPage)
	if o := scan(t, dial, a); !o.defaced() {
		t.Fatalf("worker A, defaced page: %+v; want web.defacement", o)
	}

	restarted := website.NewMemoryBaselines()
	if o := scan(t, dial, restarted); o.defaced() || o.covered {
		t.Fatalf("restarted worker, first scan: %+v; want no finding and no coverage (baseline taken)", o)
	}
	if o := scan(t, dial, restarted); o.defaced() || !o.covered {
		t.Fatalf("restarted worker, second scan: %+v; this is the loss the platform's store prevents", o)
	}
}

func TestKey(t *testing.T) {
	for _, u := range []string{pageURL, "https://sở.gov.vn/trang chủ?a=1&b=..#x", strings.Repeat("/", 5000)} {
		k := baselinekv.Key(website.BaselineKey(u))
		if !queue.ValidKey(k) {
			t.Errorf("Key(%q) = %q, not a valid bucket key", u, k)
		}
		if k == baselinekv.Key(website.BaselineKey(u+"x")) {
			t.Errorf("Key(%q) collides", u)
		}
	}
}

// A value the store cannot read is an error (the check then does not
// count the page as covered), not a missing baseline to replace.
func TestCorruptValue(t *testing.T) {
	q := openEmbedded(t, t.TempDir())
	ctx := context.Background()
	kv, err := q.KeyValue(ctx, baselinekv.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	key := website.BaselineKey(pageURL)
	if err := kv.Put(ctx, baselinekv.Key(key), []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, found, err := baselinekv.New(kv).Get(ctx, key); err == nil || found {
		t.Fatalf("Get of a corrupt value: found=%v err=%v; want an error", found, err)
	}
	if _, _, err := baselinekv.New(kv).Get(ctx, website.BaselineKey("http://other.gov.vn/")); err != nil {
		t.Fatalf("Get of an absent key: %v", err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := baselinekv.New(kv).Get(ctx, key); !errors.Is(err, queue.ErrClosed) {
		t.Fatalf("Get after Close: %v; want queue.ErrClosed", err)
	}
}
