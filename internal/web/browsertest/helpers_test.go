package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/rampart-cert/rampart/internal/cli"
)

// testTimeout bounds each test: platform, scans and browser together.
const testTimeout = 90 * time.Second

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tail is the end of a log, for failure messages.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// browserPath finds a Chromium or Chrome on PATH.
func browserPath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium, chromium-browser or google-chrome on PATH")
}

// needBrowser returns the browser's path, or skips the test when there is
// none (fails under CI, where .ci/run installs it).
func needBrowser(t *testing.T) string {
	t.Helper()
	p, err := browserPath()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %v (.ci/run installs Debian's chromium)", err)
		}
		t.Skipf("browser test skipped: %v", err)
	}
	return p
}

// newBrowser starts a headless Chromium with a fresh profile and returns
// the context of its first tab. The browser lives as long as ctx (the
// test's deadline) and is stopped when the test ends.
func newBrowser(t *testing.T, ctx context.Context, execPath string) context.Context {
	t.Helper()
	profile := filepath.Join(t.TempDir(), "profile")
	// Chromium's helpers may still write in the profile for a moment after
	// the browser stops; remove it with retries before TempDir's own
	// clean-up (which runs later) fails on "directory not empty".
	t.Cleanup(func() {
		for range 50 {
			if err := os.RemoveAll(profile); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	var out syncBuffer
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in CI containers
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-proxy-server", true), // loopback only, whatever the environment says
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(&out),
	)
	bctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v\n%s", execPath, err, tail(out.String(), 2000))
	}
	return bctx
}

// platform is one `rampart serve --demo` running in this process.
type platform struct {
	Base     string // http://127.0.0.1:port
	Password string // the admin's, as printed
	stdout   *syncBuffer
	stderr   *syncBuffer
}

var (
	listeningRE = regexp.MustCompile(`listening on (http://\S+)`)
	passwordRE  = regexp.MustCompile(`log in as admin / (\S+)`)
)

// startPlatform runs `serve --demo` on a free loopback port with a fresh
// data directory, waits until it listens and printed the demo login, and
// stops it when the test ends.
func startPlatform(t *testing.T) *platform {
	t.Helper()
	data := t.TempDir()
	p := &platform{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	env := &cli.Env{Stdout: p.stdout, Stderr: p.stderr, Stdin: strings.NewReader(""),
		Getenv: func(string) string { return "" }} // nothing from the developer's environment
	go func() {
		done <- cli.Run(ctx, []string{"serve", "--demo", "--demo-base", "127.77.128.0", "--listen", "127.0.0.1:0", "--data", data}, env)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d: %s", code, tail(p.stderr.String(), 2000))
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not shut down within 30 s")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := p.stdout.String()
		m, pw := listeningRE.FindStringSubmatch(out), passwordRE.FindStringSubmatch(out)
		if m != nil && pw != nil {
			p.Base, p.Password = m[1], pw[1]
			return p
		}
		select {
		case code := <-done:
			done <- code // for the clean-up
			t.Fatalf("serve exited %d before listening\nstdout: %s\nstderr: %s", code, out, tail(p.stderr.String(), 4000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start within 30 s\nstdout: %s\nstderr: %s", out, tail(p.stderr.String(), 4000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// api calls the JSON API with a bearer token (empty: none) and decodes
// the answer into out (nil: ignore it). It returns the status.
func (p *platform) api(t *testing.T, method, path, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.Base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, path, err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %T: %v\n%s", method, path, out, err, tail(string(b), 1000))
		}
	}
	if resp.StatusCode >= 300 && out != nil {
		t.Logf("%s %s: %d %s", method, path, resp.StatusCode, tail(string(b), 500))
	}
	return resp.StatusCode
}

// login exchanges a password for an API token.
func (p *platform) login(t *testing.T, name, password string) string {
	t.Helper()
	var r struct {
		Token string `json:"token"`
	}
	if code := p.api(t, "POST", "/api/v1/auth/login", "", map[string]string{"name": name, "password": password}, &r); code != 200 || r.Token == "" {
		t.Fatalf("API login as %s: status %d", name, code)
	}
	return r.Token
}

// The API's objects, as far as the tests read them.
type (
	apiOrg struct {
		ID       int64  `json:"id"`
		ParentID int64  `json:"parent_id"`
		Code     string `json:"code"`
		Name     string `json:"name"`
		NameEN   string `json:"name_en"`
	}
	apiAsset struct {
		ID    int64  `json:"id"`
		OrgID int64  `json:"org_id"`
		Kind  string `json:"kind"`
		Value string `json:"value"`
	}
	apiFinding struct {
		ID       int64  `json:"id"`
		OrgID    int64  `json:"org_id"`
		AssetID  int64  `json:"asset_id"`
		Check    string `json:"check"`
		Severity string `json:"severity"`
		State    string `json:"state"`
		Target   string `json:"target"`
		Title    string `json:"title"`
	}
)

// listAll reads every page of an API listing.
func listAll[T any](t *testing.T, p *platform, token, path string) []T {
	t.Helper()
	var all []T
	after := ""
	for range 100 {
		q := url.Values{"limit": {"1000"}}
		if after != "" {
			q.Set("after", after)
		}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		var page struct {
			Items []T    `json:"items"`
			Next  string `json:"next"`
		}
		if code := p.api(t, "GET", path+sep+q.Encode(), token, nil, &page); code != 200 {
			t.Fatalf("GET %s: status %d", path, code)
		}
		all = append(all, page.Items...)
		if page.Next == "" {
			return all
		}
		after = page.Next
	}
	t.Fatalf("GET %s: more than 100 pages", path)
	return nil
}

// waitFindings polls the findings list until ok says it has what the
// test needs, and returns it.
func waitFindings(t *testing.T, ctx context.Context, p *platform, token string, what string, ok func([]apiFinding) bool) []apiFinding {
	t.Helper()
	for {
		fs := listAll[apiFinding](t, p, token, "/api/v1/findings")
		if ok(fs) {
			return fs
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the demo scans produced no %s before the deadline (%d findings so far)\nstderr: %s", what, len(fs), tail(p.stderr.String(), 3000))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// catalog is one of the console's message catalogs, read from the
// source tree so that the tests follow a change of wording.
func catalog(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "i18n", lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("catalog %s: %v", lang, err)
	}
	return m
}

// msg is a message of a catalog; a missing key fails the test.
func msg(t *testing.T, cat map[string]string, key string) string {
	t.Helper()
	s, ok := cat[key]
	if !ok || s == "" {
		t.Fatalf("catalog has no %q", key)
	}
	return s
}

// do runs steps in the tab.
func do(t *testing.T, b context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// open navigates the tab and returns the HTTP response of the page it
// ends on (after redirects).
func open(t *testing.T, b context.Context, u string) *network.Response {
	t.Helper()
	resp, err := chromedp.Run(b, chromedp.NavigateResponse(u))
	if err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	return resp
}

// submit runs steps that load a new page (a click on a link or a submit
// button) and waits for that page.
func submit(t *testing.T, b context.Context, steps ...chromedp.Action[chromedp.Void]) *network.Response {
	t.Helper()
	resp, err := chromedp.RunResponse(b, steps...)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return resp
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, b context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(b, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %.80q: %v", js, err)
	}
	return v
}

// location is the tab's URL.
func location(t *testing.T, b context.Context) *url.URL {
	t.Helper()
	s, err := chromedp.Run(b, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// screenshots says whether RAMPART_SCREENSHOTS asks for docs/screenshots.
func screenshots() bool { return os.Getenv("RAMPART_SCREENSHOTS") == "1" }

// screenshot writes a full-page PNG of the tab to docs/screenshots/name,
// reduced to 256 colours to keep the repository small.
func screenshot(t *testing.T, b context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(b, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, paletted(img)); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(repoRoot(t), "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%dx%d, %d KiB)", path, img.Bounds().Dx(), img.Bounds().Dy(), out.Len()>>10)
}

// paletted maps a screenshot onto its 256 most frequent colours. A page
// of flat colours loses little (the anti-aliased edges of text snap to
// the nearest frequent shade) and the PNG shrinks several times.
func paletted(img image.Image) *image.Paletted {
	b := img.Bounds()
	rgba := image.NewRGBA(b)
	draw.Draw(rgba, b, img, b.Min, draw.Src)
	px := func(i int) color.RGBA {
		return color.RGBA{rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2], rgba.Pix[i+3]}
	}
	count := map[color.RGBA]int{}
	for i := 0; i < len(rgba.Pix); i += 4 {
		count[px(i)]++
	}
	cs := make([]color.RGBA, 0, len(count))
	for c := range count {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool {
		if count[cs[i]] != count[cs[j]] {
			return count[cs[i]] > count[cs[j]]
		}
		return rgbKey(cs[i]) < rgbKey(cs[j])
	})
	pal := make(color.Palette, 0, 256)
	for _, c := range cs[:min(len(cs), 256)] {
		pal = append(pal, c)
	}
	out := image.NewPaletted(b, pal)
	index := map[color.RGBA]uint8{}
	for i := 0; i < len(rgba.Pix); i += 4 {
		c := px(i)
		n, ok := index[c]
		if !ok {
			n = uint8(pal.Index(c))
			index[c] = n
		}
		out.Pix[i/4] = n
	}
	return out
}

func rgbKey(c color.RGBA) uint32 {
	return uint32(c.R)<<24 | uint32(c.G)<<16 | uint32(c.B)<<8 | uint32(c.A)
}

// repoRoot is the directory of go.mod above the package.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", dir)
		}
	}
}

// get fetches a console page outside the browser with the given cookies
// and without following redirects: status and Location.
func get(t *testing.T, u string, cookies ...*http.Cookie) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	c := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// sessionCookie is the browser's console session cookie for base, if any.
func sessionCookie(t *testing.T, b context.Context, base string) *http.Cookie {
	t.Helper()
	res, err := chromedp.Call(b, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
	if err != nil {
		t.Fatalf("cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == "rampart_session" {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	return nil
}

// snippet is the text around s[i], on one line, for failure messages.
func snippet(s string, i, n int) string {
	lo, hi := max(0, i-n), min(len(s), i+n)
	return strings.Join(strings.Fields(s[lo:hi]), " ")
}
