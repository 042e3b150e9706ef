package http

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/http/site"
	"github.com/rampart-cert/rampart/internal/finding"
)

// ---- http.admin-console-exposed ----
//
// One check for every CI, monitoring and administration console, with the
// product as subject ("jenkins", "grafana", "tomcat-manager" ...): one
// kind in the catalog, one control, and each product fixed and verified
// on its own. The severity of each result says how open the console is:
// critical when it gives code execution without a password (Jenkins
// script console, Tomcat manager, an uninitialised Portainer), high or
// medium for anonymous read access, low when a management console that
// runs code once logged in is reachable behind its login (Tomcat manager
// 401, Portainer), info for GitLab's public projects. A login page alone
// of the other products does not fire.

func newAdminConsole(cache *site.Cache) *webCheck {
	return &webCheck{
		meta: meta("http.admin-console-exposed", finding.High,
			check.Text{EN: "CI, monitoring or administration console exposed", VI: "Lộ bảng điều khiển CI, giám sát hoặc quản trị"},
			check.Text{
				EN: "A console of Jenkins, GitLab, Kibana, Grafana, Prometheus, Portainer or the Tomcat manager answers from the internet without asking for a password, or, for consoles that deploy code, is reachable behind its login. Such consoles show the organisation's infrastructure, data and secrets, and several run code on the server (Jenkins script console, Tomcat WAR upload, Portainer containers).",
				VI: "Bảng điều khiển của Jenkins, GitLab, Kibana, Grafana, Prometheus, Portainer hoặc Tomcat manager trả lời từ Internet mà không yêu cầu mật khẩu, hoặc (với các bảng điều khiển có thể triển khai mã) truy cập được tới trang đăng nhập. Các bảng điều khiển này làm lộ hạ tầng, dữ liệu và bí mật của tổ chức, và một số cho phép chạy mã trên máy chủ (Jenkins script console, tải lên tệp WAR của Tomcat, container của Portainer).",
			},
			check.Text{
				EN: "Put consoles on the internal network or behind a VPN; turn on authentication (Jenkins security realm and no anonymous read, Kibana/Elasticsearch security, Grafana auth.anonymous disabled, Prometheus behind an authenticating proxy, GitLab public visibility restricted); remove the Tomcat manager from public servers and initialise Portainer's administrator at once.",
				VI: "Đặt bảng điều khiển trong mạng nội bộ hoặc sau VPN; bật xác thực (Jenkins security realm và tắt quyền đọc ẩn danh, bật bảo mật Kibana/Elasticsearch, tắt auth.anonymous của Grafana, đặt Prometheus sau proxy có xác thực, hạn chế dự án công khai của GitLab); gỡ Tomcat manager khỏi máy chủ công khai và tạo ngay tài khoản quản trị cho Portainer.",
			},
			"CWE-306", "CWE-284", "CWE-1188", "OWASP Top 10 2021 A01: Broken Access Control", "OWASP Top 10 2021 A05: Security Misconfiguration"),
		cache:   cache,
		applies: site.IsWeb,
		run:     runAdminConsole,
	}
}

// consoleHit is one console found.
type consoleHit struct {
	product string // subject: jenkins, gitlab, kibana, grafana, prometheus, portainer, tomcat-manager, tomcat-host-manager
	name    string // for titles
	sev     finding.Severity
	access  string // anonymous-admin, anonymous-read, setup-open, login-required, public-projects
	version string
	what    string
	r       *site.Response
}

// consoleProbe looks for one product; it returns nil when the product is
// absent or closed.
type consoleProbe func(ctx context.Context, s *site.Site) *consoleHit

func runAdminConsole(ctx context.Context, c *webCheck, s *site.Site) ([]check.Result, error) {
	if _, err := s.Reachable(ctx); err != nil {
		return nil, err
	}
	var out []check.Result
	for _, p := range []consoleProbe{probeJenkins, probeGitLab, probeKibana, probeGrafana, probePrometheus, probePortainer, probeTomcat("/manager/html", "tomcat-manager"), probeTomcat("/host-manager/html", "tomcat-host-manager")} {
		h := p(ctx, s)
		if h == nil {
			continue
		}
		h.version = clip(h.version, 64)
		ev := h.r.Evidence(300, "Content-Type", "WWW-Authenticate", "X-Jenkins", "Kbn-Name", "Kbn-Version", "Server")
		ev.Fields = map[string]string{"product": h.product, "access": h.access}
		if h.version != "" {
			ev.Fields["version"] = h.version
		}
		title := h.name
		if h.version != "" {
			title += " " + h.version
		}
		res := c.result(h.product, title+": "+h.what, ev)
		res.Severity = h.sev
		out = append(out, res)
	}
	return out, nil
}

// clip cuts s, text the target chose, to n bytes of valid UTF-8.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), "")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// fetchJSON GETs p (no redirects, 64 KiB) and decodes a JSON answer of
// status 200 into v; it reports whether that worked.
func fetchJSON(ctx context.Context, s *site.Site, p string, v any) (*site.Response, bool) {
	r, err := s.Fetch(ctx, site.Request{Path: p, Limit: site.ProbeLimit})
	if err != nil || r.Status != 200 || r.Truncated {
		return r, false
	}
	return r, json.Unmarshal(bytes.TrimSpace(r.Body), v) == nil
}

// JenkinsAPI is the part of Jenkins' /api/json read.
type JenkinsAPI struct {
	Class string            `json:"_class"`
	Jobs  []json.RawMessage `json:"jobs"`
}

func probeJenkins(ctx context.Context, s *site.Site) *consoleHit {
	var api JenkinsAPI
	r, ok := fetchJSON(ctx, s, "/api/json", &api)
	if !ok || r.Header.Get("X-Jenkins") == "" || !strings.HasPrefix(api.Class, "hudson.model.") {
		return nil
	}
	h := &consoleHit{product: "jenkins", name: "Jenkins", sev: finding.High, access: "anonymous-read", version: r.Header.Get("X-Jenkins"), r: r,
		what: fmt.Sprintf("dashboard and API readable without authentication (%d jobs listed)", len(api.Jobs))}
	sc, err := s.Fetch(ctx, site.Request{Path: "/script", Limit: site.ProbeLimit})
	if err == nil && sc.Status == 200 && sc.Header.Get("X-Jenkins") != "" && bytes.Contains(sc.Body, []byte("Script Console")) && bytes.Contains(sc.Body, []byte("<textarea")) {
		h.sev, h.access, h.r = finding.Critical, "anonymous-admin", sc
		h.what = "script console open without authentication (runs Groovy code on the server)"
	}
	return h
}

// GitLabProject is the part of a GitLab API project read.
type GitLabProject struct {
	PathWithNamespace string `json:"path_with_namespace"`
	WebURL            string `json:"web_url"`
}

func probeGitLab(ctx context.Context, s *site.Site) *consoleHit {
	var projects []GitLabProject
	r, ok := fetchJSON(ctx, s, "/api/v4/projects?per_page=5&simple=true", &projects)
	if !ok || len(projects) == 0 {
		return nil
	}
	var names []string
	for _, p := range projects {
		if p.PathWithNamespace == "" || p.WebURL == "" {
			return nil
		}
		if len(names) < 5 {
			names = append(names, clip(p.PathWithNamespace, 100))
		}
	}
	return &consoleHit{product: "gitlab", name: "GitLab", sev: finding.Info, access: "public-projects", r: r,
		what: "projects listed without login (" + strings.Join(names, ", ") + ")"}
}

// KibanaStatus is the part of Kibana's /api/status read.
type KibanaStatus struct {
	Name    string `json:"name"`
	UUID    string `json:"uuid"`
	Version struct {
		Number string `json:"number"`
	} `json:"version"`
}

func probeKibana(ctx context.Context, s *site.Site) *consoleHit {
	var st KibanaStatus
	r, ok := fetchJSON(ctx, s, "/api/status", &st)
	if ok && st.Version.Number != "" && (r.Header.Get("Kbn-Name") != "" || st.UUID != "") {
		return &consoleHit{product: "kibana", name: "Kibana", sev: finding.High, access: "anonymous-read", version: st.Version.Number, r: r,
			what: "status API and applications reachable without authentication"}
	}
	app, err := s.Fetch(ctx, site.Request{Path: "/app/home", Limit: site.ProbeLimit})
	if err == nil && app.Status == 200 && app.Header.Get("Kbn-Name") != "" && bytes.Contains(app.Body, []byte("kbn-")) {
		return &consoleHit{product: "kibana", name: "Kibana", sev: finding.High, access: "anonymous-read", version: app.Header.Get("Kbn-Version"), r: app,
			what: "application pages reachable without authentication"}
	}
	return nil
}

// GrafanaHealth is Grafana's /api/health answer.
type GrafanaHealth struct {
	Database string `json:"database"`
	Version  string `json:"version"`
}

func probeGrafana(ctx context.Context, s *site.Site) *consoleHit {
	var health GrafanaHealth
	if _, ok := fetchJSON(ctx, s, "/api/health", &health); !ok || health.Database == "" {
		return nil
	}
	var dashboards []json.RawMessage
	r, ok := fetchJSON(ctx, s, "/api/search?limit=5", &dashboards)
	if !ok {
		return nil // 401: the login page only
	}
	return &consoleHit{product: "grafana", name: "Grafana", sev: finding.Medium, access: "anonymous-read", version: health.Version, r: r,
		what: fmt.Sprintf("anonymous access on: dashboards searchable without login (%d listed)", len(dashboards))}
}

// PrometheusAnswer is the envelope of Prometheus' HTTP API.
type PrometheusAnswer struct {
	Status string `json:"status"`
	Data   struct {
		YAML    string `json:"yaml"`
		Version string `json:"version"`
	} `json:"data"`
}

var promTitle = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)<title>\s*Prometheus`) })

func probePrometheus(ctx context.Context, s *site.Site) *consoleHit {
	var h *consoleHit
	var conf PrometheusAnswer
	if r, ok := fetchJSON(ctx, s, "/api/v1/status/config", &conf); ok && conf.Status == "success" && conf.Data.YAML != "" {
		jobs := strings.Count(conf.Data.YAML, "job_name:")
		h = &consoleHit{product: "prometheus", name: "Prometheus", sev: finding.Medium, access: "anonymous-read", r: r,
			what: fmt.Sprintf("configuration (%d scrape jobs) and all metrics readable without authentication", jobs)}
	} else if r, err := s.Fetch(ctx, site.Request{Path: "/graph", Limit: site.ProbeLimit}); err == nil && r.Status == 200 && promTitle().Match(r.Body) {
		h = &consoleHit{product: "prometheus", name: "Prometheus", sev: finding.Medium, access: "anonymous-read", r: r,
			what: "query interface reachable without authentication"}
	}
	if h == nil {
		return nil
	}
	var build PrometheusAnswer
	if _, ok := fetchJSON(ctx, s, "/api/v1/status/buildinfo", &build); ok && build.Status == "success" {
		h.version = build.Data.Version
	}
	return h
}

// PortainerStatus is Portainer's /api/status answer.
type PortainerStatus struct {
	Version    string `json:"Version"`
	InstanceID string `json:"InstanceID"`
}

func probePortainer(ctx context.Context, s *site.Site) *consoleHit {
	var st PortainerStatus
	r, ok := fetchJSON(ctx, s, "/api/status", &st)
	if !ok || st.Version == "" || st.InstanceID == "" {
		return nil
	}
	h := &consoleHit{product: "portainer", name: "Portainer", sev: finding.Low, access: "login-required", version: st.Version, r: r,
		what: "container management console reachable (login required)"}
	chk, err := s.Fetch(ctx, site.Request{Path: "/api/users/admin/check", Limit: site.MagicLimit})
	if err == nil && chk.Status == 404 {
		h.sev, h.access, h.r = finding.Critical, "setup-open", chk
		h.what = "administrator not yet created: anyone can claim the console and the Docker hosts it manages"
	}
	return h
}

// TomcatManager tells what a Tomcat manager answer is: "open" (the
// manager page itself), "login" (401 with the manager's realm) or "".
func TomcatManager(status int, wwwAuth string, body []byte) string {
	switch status {
	case 401:
		m := realmRE().FindStringSubmatch(wwwAuth)
		if m != nil && strings.HasPrefix(m[1], "Tomcat ") && strings.Contains(m[1], "Manager") {
			return "login"
		}
	case 200:
		if bytes.Contains(body, []byte("Tomcat Web Application Manager")) || bytes.Contains(body, []byte("Tomcat Virtual Host Manager")) {
			return "open"
		}
	}
	return ""
}

func probeTomcat(path, product string) consoleProbe {
	return func(ctx context.Context, s *site.Site) *consoleHit {
		r := probe(ctx, s, path, 0, site.ProbeLimit, 200, 401)
		if r == nil {
			return nil
		}
		name := "Tomcat manager"
		if product == "tomcat-host-manager" {
			name = "Tomcat host manager"
		}
		switch TomcatManager(r.Status, r.Header.Get("WWW-Authenticate"), r.Body) {
		case "login":
			return &consoleHit{product: product, name: name, sev: finding.Low, access: "login-required", r: r,
				what: "reachable at " + pathOf(r) + " behind HTTP authentication (deploys code once logged in)"}
		case "open":
			return &consoleHit{product: product, name: name, sev: finding.Critical, access: "anonymous-admin", r: r,
				what: "open at " + pathOf(r) + " without authentication (WAR deployment runs code)"}
		}
		return nil
	}
}
