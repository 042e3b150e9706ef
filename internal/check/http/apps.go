package http

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	stdhttp "net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/http/site"
	"github.com/rampart-cert/rampart/internal/finding"
)

// Web application and server pages that should not be public: Apache's
// status and info handlers, phpinfo(), TRACE, and CORS that trusts any
// origin with credentials.

// ---- http.apache-server-status ----

func newApacheServerStatus(cache *site.Cache) *webCheck {
	return &webCheck{
		meta: meta("http.apache-server-status", finding.Medium,
			check.Text{EN: "Apache server-status page public", VI: "Trang server-status của Apache truy cập công khai"},
			check.Text{
				EN: "Apache's mod_status page (/server-status) answers anyone. It shows the server version, uptime and load and, with ExtendedStatus, the address of every client and the URL each is requesting right now, including session tokens and parameters in query strings.",
				VI: "Trang mod_status của Apache (/server-status) trả lời bất kỳ ai. Trang này cho biết phiên bản, thời gian hoạt động, tải của máy chủ và, khi bật ExtendedStatus, địa chỉ của từng máy khách cùng URL họ đang truy cập, kể cả mã phiên và tham số trong chuỗi truy vấn.",
			},
			check.Text{
				EN: "Restrict the handler to the local host or the monitoring network: <Location \"/server-status\"> SetHandler server-status; Require local (or Require ip <monitoring network>) </Location>; or disable mod_status (a2dismod status).",
				VI: "Chỉ cho phép máy cục bộ hoặc mạng giám sát truy cập: <Location \"/server-status\"> SetHandler server-status; Require local (hoặc Require ip <mạng giám sát>) </Location>; hoặc tắt mod_status (a2dismod status).",
			},
			"CWE-200", "CWE-497", "OWASP Top 10 2021 A05: Security Misconfiguration"),
		cache:   cache,
		applies: site.IsWeb,
		run:     runApacheServerStatus,
	}
}

var (
	statusVersionRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)<dt>\s*Server Version:\s*([^<]{1,200})</dt>`)
	})
	statusUptimeRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)<dt>\s*Server uptime:\s*([^<]{1,100})</dt>`)
	})
	statusClientRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)<th>\s*Client\s*</th>`)
	})
)

// ServerStatus is what an Apache mod_status page tells.
type ServerStatus struct {
	Version  string // "Apache/2.4.62 (Debian)"
	Uptime   string
	Extended bool // ExtendedStatus: clients and requests are listed
}

// ParseServerStatus reports whether body is Apache's server-status page
// ("Apache Server Status for <host>" with its "Server Version:" or
// "Server uptime:" line) and what it shows.
func ParseServerStatus(body []byte) (ServerStatus, bool) {
	b := body[:min(len(body), 256<<10)]
	if !bytes.Contains(b, []byte("Apache Server Status for")) {
		return ServerStatus{}, false
	}
	var st ServerStatus
	if m := statusVersionRE().FindSubmatch(b); m != nil {
		st.Version = strings.TrimSpace(string(m[1]))
	}
	if m := statusUptimeRE().FindSubmatch(b); m != nil {
		st.Uptime = strings.TrimSpace(string(m[1]))
	}
	if st.Version == "" && st.Uptime == "" && !bytes.Contains(b, []byte("Server Version:")) {
		return ServerStatus{}, false
	}
	st.Extended = statusClientRE().Match(b)
	return st, true
}

func runApacheServerStatus(ctx context.Context, c *webCheck, s *site.Site) ([]check.Result, error) {
	if _, err := s.Reachable(ctx); err != nil {
		return nil, err
	}
	r := probe(ctx, s, "/server-status", 0, 256<<10, 200)
	if r == nil {
		return nil, nil
	}
	st, ok := ParseServerStatus(r.Body)
	if !ok {
		return nil, nil
	}
	// The headline only: the page lists clients' addresses and URLs.
	ev := r.Evidence(0, "Content-Type", "Server")
	ev.Response = check.Cap(ev.Response + "\nApache Server Status for …\nServer Version: " + st.Version + "\nServer uptime: " + st.Uptime)
	ev.Fields = map[string]string{"server_version": st.Version, "uptime": st.Uptime, "extended_status": fmt.Sprint(st.Extended)}
	title := "Apache server-status is public at " + pathOf(r)
	if st.Extended {
		title += " with ExtendedStatus (clients and requested URLs listed)"
	}
	return []check.Result{c.result(pathOf(r), title, ev)}, nil
}

// ---- http.apache-server-info ----

func newApacheServerInfo(cache *site.Cache) *webCheck {
	return &webCheck{
		meta: meta("http.apache-server-info", finding.Medium,
			check.Text{EN: "Apache server-info page public", VI: "Trang server-info của Apache truy cập công khai"},
			check.Text{
				EN: "Apache's mod_info page (/server-info) answers anyone. It lists the server version, every loaded module and the configuration directives in force, with file paths, which helps an attacker pick exploits and find sensitive locations.",
				VI: "Trang mod_info của Apache (/server-info) trả lời bất kỳ ai. Trang này liệt kê phiên bản máy chủ, mọi mô-đun đã nạp và các chỉ thị cấu hình đang áp dụng kèm đường dẫn tệp, giúp kẻ tấn công chọn mã khai thác và tìm vị trí nhạy cảm.",
			},
			check.Text{
				EN: "Disable mod_info on production servers (a2dismod info), or restrict it: <Location \"/server-info\"> SetHandler server-info; Require local </Location>.",
				VI: "Tắt mod_info trên máy chủ vận hành (a2dismod info), hoặc giới hạn truy cập: <Location \"/server-info\"> SetHandler server-info; Require local </Location>.",
			},
			"CWE-200", "CWE-497", "OWASP Top 10 2021 A05: Security Misconfiguration"),
		cache:   cache,
		applies: site.IsWeb,
		run:     runApacheServerInfo,
	}
}

var infoVersionRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)<strong>\s*Server Version:\s*</strong>\s*(?:<[a-z][^>]{0,40}>\s*){0,3}([^<\s][^<]{0,199})<`)
})

// ParseServerInfo reports whether body is Apache's server-info page
// ("Apache Server Information" with its "Server Settings" or module
// sections) and the server version it names.
func ParseServerInfo(body []byte) (version string, ok bool) {
	b := body[:min(len(body), 256<<10)]
	if !bytes.Contains(b, []byte("Apache Server Information")) {
		return "", false
	}
	if !bytes.Contains(b, []byte("Server Settings")) && !bytes.Contains(b, []byte("Module Name:")) && !bytes.Contains(b, []byte("Server Version:")) {
		return "", false
	}
	if m := infoVersionRE().FindSubmatch(b); m != nil {
		version = strings.TrimSpace(string(m[1]))
	}
	return version, true
}

func runApacheServerInfo(ctx context.Context, c *webCheck, s *site.Site) ([]check.Result, error) {
	if _, err := s.Reachable(ctx); err != nil {
		return nil, err
	}
	r := probe(ctx, s, "/server-info", 0, 256<<10, 200)
	if r == nil {
		return nil, nil
	}
	version, ok := ParseServerInfo(r.Body)
	if !ok {
		return nil, nil
	}
	ev := r.Evidence(0, "Content-Type", "Server")
	ev.Response = check.Cap(ev.Response + "\nApache Server Information\nServer Version: " + version)
	ev.Fields = map[string]string{"server_version": version, "modules": fmt.Sprint(bytes.Count(r.Body, []byte("Module Name:")))}
	return []check.Result{c.result(pathOf(r), "Apache server-info is public at "+pathOf(r), ev)}, nil
}

// ---- http.phpinfo-exposed ----

func newPHPInfo(cache *site.Cache) *webCheck {
	return &webCheck{
		meta: meta("http.phpinfo-exposed", finding.Medium,
			check.Text{EN: "phpinfo() page exposed", VI: "Lộ trang phpinfo()"},
			check.Text{
				EN: "A page calling phpinfo() is public. It shows the exact PHP version and build, loaded extensions, file paths, environment variables and request headers (sometimes database passwords and cookies), a ready map for an attacker.",
				VI: "Một trang gọi phpinfo() truy cập công khai. Trang này hiển thị chính xác phiên bản và bản dựng PHP, các phần mở rộng, đường dẫn tệp, biến môi trường và tiêu đề yêu cầu (đôi khi cả mật khẩu cơ sở dữ liệu và cookie), là bản đồ sẵn có cho kẻ tấn công.",
			},
			check.Text{
				EN: "Delete test pages such as phpinfo.php, info.php and test.php from the web root, and change any password the page displayed.",
				VI: "Xóa các trang thử nghiệm như phpinfo.php, info.php, test.php khỏi thư mục gốc web và đổi mọi mật khẩu trang đó từng hiển thị.",
			},
			"CWE-200", "CWE-497", "OWASP Top 10 2021 A05: Security Misconfiguration"),
		cache:   cache,
		applies: site.IsWeb,
		run:     runPHPInfo,
	}
}

var phpinfoPaths = []string{"/phpinfo.php", "/info.php", "/test.php", "/php_info.php", "/php.php", "/i.php"}

var (
	phpVersionRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)<h1[^>]*>\s*PHP Version\s+([0-9]+\.[0-9]+(?:\.[0-9]+)?[0-9A-Za-z.+~-]*)`)
	})
	phpCLIVersionRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?m)^PHP Version => ([0-9]+\.[0-9]+(?:\.[0-9]+)?[0-9A-Za-z.+~-]*)`)
	})
	phpRowRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)<tr><td class="e">\s*(System|Server API|Loaded Configuration File|DOCUMENT_ROOT|\$_SERVER\['DOCUMENT_ROOT'\])\s*</td><td class="v">\s*([^<]{0,300})</td>`)
	})
)

// PHPInfo is what a phpinfo() page tells.
type PHPInfo struct {
	Version string
	Facts   map[string]string // System, Server API, Loaded Configuration File, DOCUMENT_ROOT
}

// ParsePHPInfo reports whether body is phpinfo() output: the HTML page
// ("PHP Version x.y.z" heading, "phpinfo()" title and its e/v table) or
// the text form ("phpinfo()" then "PHP Version => x.y.z").
func ParsePHPInfo(body []byte) (PHPInfo, bool) {
	b := body[:min(len(body), 256<<10)]
	if !bytes.Contains(b, []byte("phpinfo()")) {
		return PHPInfo{}, false
	}
	info := PHPInfo{Facts: map[string]string{}}
	if m := phpVersionRE().FindSubmatch(b); m != nil && bytes.Contains(b, []byte(`class="e"`)) {
		info.Version = string(m[1])
		for _, row := range phpRowRE().FindAllSubmatch(b, 10) {
			k := string(row[1])
			if strings.Contains(k, "DOCUMENT_ROOT") {
				k = "DOCUMENT_ROOT"
			}
			if _, dup := info.Facts[k]; !dup {
				info.Facts[k] = strings.TrimSpace(string(row[2]))
			}
		}
		return info, true
	}
	if m := phpCLIVersionRE().FindSubmatch(b); m != nil {
		info.Version = string(m[1])
		return info, true
	}
	return PHPInfo{}, false
}

func runPHPInfo(ctx context.Context, c *webCheck, s *site.Site) ([]check.Result, error) {
	if _, err := s.Reachable(ctx); err != nil {
		return nil, err
	}
	var out []check.Result
	for _, p := range phpinfoPaths {
		r := probe(ctx, s, p, 0, site.ProbeLimit, 200)
		if r == nil {
			continue
		}
		info, ok := ParsePHPInfo(r.Body)
		if !ok {
			continue
		}
		ev := r.Evidence(0, "Content-Type", "Server", "X-Powered-By")
		var facts strings.Builder
		fmt.Fprintf(&facts, "\nPHP Version %s", info.Version)
		fields := map[string]string{"product": "PHP", "version": info.Version}
		for _, k := range []string{"System", "Server API", "Loaded Configuration File", "DOCUMENT_ROOT"} {
			if v, ok := info.Facts[k]; ok {
				fmt.Fprintf(&facts, "\n%s: %s", k, v)
				fields[strings.ToLower(strings.ReplaceAll(k, " ", "_"))] = v
			}
		}
		ev.Response = check.Cap(ev.Response + facts.String())
		ev.Fields = fields
		out = append(out, c.result(pathOf(r), fmt.Sprintf("phpinfo() of PHP %s is public at %s", info.Version, pathOf(r)), ev))
	}
	return out, nil
}

// ---- http.trace-enabled ----

func newTraceEnabled(cache *site.Cache) *webCheck {
	return &webCheck{
		meta: meta("http.trace-enabled", finding.Low,
			check.Text{EN: "HTTP TRACE method enabled", VI: "Bật phương thức HTTP TRACE"},
			check.Text{
				EN: "The server answers TRACE by echoing the request, headers included. Combined with a script injection flaw this lets a page read headers it should not see (cross-site tracing), and it shows what proxies add to requests.",
				VI: "Máy chủ trả lời phương thức TRACE bằng cách gửi lại nguyên yêu cầu, kể cả các tiêu đề. Kết hợp với lỗi chèn mã kịch bản, điều này cho phép một trang đọc các tiêu đề lẽ ra không thấy được (cross-site tracing) và làm lộ những gì proxy thêm vào yêu cầu.",
			},
			check.Text{
				EN: "Disable TRACE: Apache \"TraceEnable Off\"; nginx rejects it by default; IIS request filtering: deny the TRACE verb; on load balancers, drop the method.",
				VI: "Tắt TRACE: Apache \"TraceEnable Off\"; nginx mặc định từ chối; IIS dùng Request Filtering để chặn động từ TRACE; trên bộ cân bằng tải, loại bỏ phương thức này.",
			},
			"CWE-200", "OWASP Top 10 2021 A05: Security Misconfiguration"),
		cache:   cache,
		applies: site.IsWeb,
		run:     runTrace,
	}
}

// traceHeader is the request header whose value must come back.
const traceHeader = "X-Rampart-Trace"

func randomToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// TraceEchoes reports whether a TRACE answer body echoes the request
// header name: value that was sent.
func TraceEchoes(body []byte, name, value string) bool {
	b := bytes.ToLower(body[:min(len(body), 64<<10)])
	return bytes.Contains(b, []byte(strings.ToLower(name+": "+value))) ||
		bytes.Contains(b, []byte(strings.ToLower(name+":"+value)))
}

func runTrace(ctx context.Context, c *webCheck, s *site.Site) ([]check.Result, error) {
	if _, err := s.Reachable(ctx); err != nil {
		return nil, err
	}
	token := randomToken()
	hdr := stdhttp.Header{traceHeader: {token}}
	r, err := s.Send(ctx, "TRACE", "", hdr, site.ProbeLimit)
	if err != nil || r.Status != 200 || !TraceEchoes(r.Body, traceHeader, token) {
		return nil, nil
	}
	ev := r.Evidence(400, "Content-Type", "Server")
	ev.Request = site.RequestText(r, hdr)
	ev.Fields = map[string]string{"method": "TRACE", "echoed_header": traceHeader}
	return []check.Result{c.result("TRACE", "TRACE echoes the request at "+pathOf(r), ev)}, nil
}

// ---- http.cors-reflects-origin ----

func newCORSReflects(cache *site.Cache) *webCheck {
	return &webCheck{
		meta: meta("http.cors-reflects-origin", finding.High,
			check.Text{EN: "CORS trusts any origin with credentials", VI: "CORS tin cậy mọi nguồn gốc kèm thông tin xác thực"},
			check.Text{
				EN: "The site copies any Origin it is sent into Access-Control-Allow-Origin and adds Access-Control-Allow-Credentials: true. Any web page a logged-in user visits can then call the site with the user's cookies and read the answers: personal data, tokens, and actions in the user's name.",
				VI: "Trang web sao chép bất kỳ Origin nào nhận được vào Access-Control-Allow-Origin và thêm Access-Control-Allow-Credentials: true. Khi đó, bất kỳ trang web nào mà người dùng đã đăng nhập truy cập đều có thể gọi đến trang này bằng cookie của người dùng và đọc kết quả: dữ liệu cá nhân, mã truy cập, và thực hiện thao tác dưới danh nghĩa người dùng.",
			},
			check.Text{
				EN: "Answer CORS requests from a fixed allow-list of trusted origins only (exact scheme, host and port); never echo the Origin header, never allow \"null\", and send Access-Control-Allow-Credentials only for origins on the list.",
				VI: "Chỉ trả lời CORS cho danh sách cố định các nguồn gốc tin cậy (đúng giao thức, tên miền và cổng); không bao giờ sao chép lại tiêu đề Origin, không cho phép \"null\", và chỉ gửi Access-Control-Allow-Credentials cho các nguồn gốc trong danh sách.",
			},
			"CWE-942", "CWE-346", "OWASP Top 10 2021 A05: Security Misconfiguration"),
		cache:   cache,
		applies: site.IsWeb,
		run:     runCORS,
	}
}

// corsOrigin is the foreign origin sent; it is in the reserved .example
// domain, so no real site can be it.
const corsOrigin = "https://evil.example"

// corsPaths are asked in order; CORS is often set on the API only.
var corsPaths = []string{"", "/api/"}

// CORSReflects reports whether response headers allow origin with
// credentials: Access-Control-Allow-Origin equal to origin (the one sent,
// which the site cannot know in advance) and
// Access-Control-Allow-Credentials: true.
func CORSReflects(h stdhttp.Header, origin string) bool {
	acao := strings.TrimSpace(h.Get("Access-Control-Allow-Origin"))
	acac := strings.TrimSpace(h.Get("Access-Control-Allow-Credentials"))
	return strings.EqualFold(acao, origin) && strings.EqualFold(acac, "true")
}

func runCORS(ctx context.Context, c *webCheck, s *site.Site) ([]check.Result, error) {
	if _, err := s.Reachable(ctx); err != nil {
		return nil, err
	}
	for _, p := range corsPaths {
		hdr := stdhttp.Header{"Origin": {corsOrigin}}
		r, err := s.Send(ctx, stdhttp.MethodGet, p, hdr, site.MagicLimit)
		if err != nil || r.Status >= 500 || !CORSReflects(r.Header, corsOrigin) {
			continue
		}
		ev := r.Evidence(0, "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods", "Vary", "Content-Type")
		ev.Request = site.RequestText(r, hdr)
		ev.Fields = map[string]string{"origin_sent": corsOrigin, "allow_origin": r.Header.Get("Access-Control-Allow-Origin"), "allow_credentials": "true"}
		return []check.Result{c.result("Access-Control-Allow-Origin",
			fmt.Sprintf("%s reflects Origin %s with credentials allowed", pathOf(r), corsOrigin), ev)}, nil
	}
	return nil, nil
}
