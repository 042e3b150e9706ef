package http

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/http/site"
	"github.com/rampart-cert/rampart/internal/finding"
)

// probe fetches p and returns the response only when it answered status
// and differs from the site's soft-404 answer.
func probe(ctx context.Context, s *site.Site, p string, follow int, limit int64, status ...int) *site.Response {
	r, distinct, err := s.Probe(ctx, p, follow, limit)
	if err != nil || !distinct {
		return nil
	}
	for _, st := range status {
		if r.Status == st {
			return r
		}
	}
	return nil
}

// ---- http.exposed-git ----

func newExposedGit(cache *site.Cache) *webCheck {
	return &webCheck{
		meta: meta("http.exposed-git", finding.High,
			check.Text{EN: "Git repository exposed", VI: "Lộ kho mã nguồn Git"},
			check.Text{
				EN: "The web server hands out the .git directory. Anyone can download the whole source history, including passwords, keys and configuration ever committed.",
				VI: "Máy chủ web cho phép tải thư mục .git. Bất kỳ ai cũng có thể tải toàn bộ lịch sử mã nguồn, kể cả mật khẩu, khóa và cấu hình từng được đưa vào kho.",
			},
			check.Text{
				EN: "Remove .git from the web root (deploy a build, not a checkout) or deny it: nginx \"location ~ /\\.git { deny all; }\", Apache \"RedirectMatch 404 /\\.git\". Rotate every secret that was ever in the repository.",
				VI: "Xóa .git khỏi thư mục gốc web (triển khai bản build, không phải bản checkout) hoặc chặn truy cập: nginx \"location ~ /\\.git { deny all; }\", Apache \"RedirectMatch 404 /\\.git\". Thay mới mọi bí mật từng có trong kho.",
			},
			"CWE-527", "CWE-538", "OWASP Top 10 2021 A05: Security Misconfiguration"),
		cache:   cache,
		applies: site.IsWeb,
		run:     runExposedGit,
	}
}

var gitHeadRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(ref: refs/[!-~]+|[0-9a-f]{40}|[0-9a-f]{64})\s*$`) })

// IsGitHead reports whether body is a .git/HEAD file.
func IsGitHead(body []byte) bool { return gitHeadRE().Match(bytes.TrimSpace(body)) }

// IsGitConfig reports whether body is a .git/config file.
func IsGitConfig(body []byte) bool {
	b := bytes.ToLower(body)
	return bytes.Contains(b, []byte("[core]")) && !bytes.Contains(b, []byte("<html")) &&
		(bytes.Contains(b, []byte("repositoryformatversion")) || bytes.Contains(b, []byte("bare =")) || bytes.Contains(b, []byte("filemode")))
}

func runExposedGit(ctx context.Context, c *webCheck, s *site.Site) ([]check.Result, error) {
	if _, err := s.Reachable(ctx); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		path  string
		match func([]byte) bool
	}{{"/.git/HEAD", IsGitHead}, {"/.git/config", IsGitConfig}} {
		r := probe(ctx, s, p.path, 0, 16<<10, 200)
		if r == nil || !p.match(r.Body) {
			continue
		}
		dir := strings.TrimSuffix(pathOf(r), p.path[len("/.git/"):])
		return []check.Result{c.result(dir, "Git repository exposed at "+dir, r.Evidence(300, "Content-Type", "Content-Length"))}, nil
	}
	return nil, nil
}

// ---- http.exposed-env ----

func newExposedEnv(cache *site.Cache) *webCheck {
	return &webCheck{
		meta: meta("http.exposed-env", finding.High,
			check.Text{EN: "Environment file with secrets exposed", VI: "Lộ tệp cấu hình môi trường chứa bí mật"},
			check.Text{
				EN: "A .env file (KEY=VALUE settings of a Laravel, Node or Docker application) is downloadable. It usually holds database passwords, application keys and API tokens. Rampart keeps only the variable names as evidence, never the values.",
				VI: "Có thể tải tệp .env (cấu hình KEY=VALUE của ứng dụng Laravel, Node hoặc Docker). Tệp này thường chứa mật khẩu cơ sở dữ liệu, khóa ứng dụng và mã truy cập API. Rampart chỉ lưu tên biến làm bằng chứng, không lưu giá trị.",
			},
			check.Text{
				EN: "Keep .env outside the web root (serve from public/ only) or deny dotfiles in the web server, then change every password, key and token the file held.",
				VI: "Đặt tệp .env ngoài thư mục gốc web (chỉ phục vụ thư mục public/) hoặc chặn các tệp bắt đầu bằng dấu chấm ở máy chủ web, sau đó đổi mọi mật khẩu, khóa và mã truy cập có trong tệp.",
			},
			"CWE-538", "CWE-200", "CWE-798", "OWASP Top 10 2021 A05: Security Misconfiguration"),
		cache:   cache,
		applies: site.IsWeb,
		run:     runExposedEnv,
	}
}

// envPaths are the names under which environment files are found.
var envPaths = []string{"/.env", "/.env.local", "/.env.production", "/.env.bak"}

// EnvVar is one KEY=VALUE line; the value is never kept.
type EnvVar struct {
	Key    string
	Secret bool // the key names a secret and the value is not empty
}

var envKeyRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]{0,127}$`) })

var secretWords = []string{"PASSWORD", "PASSWD", "PASS", "PWD", "SECRET", "TOKEN", "APP_KEY", "API_KEY", "APIKEY", "PRIVATE", "CREDENTIAL", "ACCESS_KEY", "DATABASE_URL", "DSN", "AUTH", "SALT", "_KEY"}

// ParseEnv reads a dotenv file. ok is true when it really is one: at least
// two KEY=VALUE lines making up at least two thirds of the non-comment
// lines, and no HTML.
func ParseEnv(body []byte) (vars []EnvVar, ok bool) {
	if bytes.Contains(bytes.ToLower(body[:min(len(body), 4096)]), []byte("<html")) {
		return nil, false
	}
	other := 0
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, found := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !found || !envKeyRE().MatchString(k) {
			other++
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		vars = append(vars, EnvVar{Key: k, Secret: v != "" && isSecretKey(k)})
	}
	if len(vars) < 2 || other*2 > len(vars) {
		return nil, false
	}
	return vars, true
}

func isSecretKey(k string) bool {
	k = strings.ToUpper(k)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

func runExposedEnv(ctx context.Context, c *webCheck, s *site.Site) ([]check.Result, error) {
	if _, err := s.Reachable(ctx); err != nil {
		return nil, err
	}
	var out []check.Result
	for _, p := range envPaths {
		r := probe(ctx, s, p, 0, 32<<10, 200)
		if r == nil || r.IsHTML() {
			continue
		}
		vars, ok := ParseEnv(r.Body)
		if !ok {
			continue
		}
		var keys, secrets []string
		var redacted strings.Builder
		for _, v := range vars {
			keys = append(keys, v.Key)
			if v.Secret {
				secrets = append(secrets, v.Key)
			}
			fmt.Fprintf(&redacted, "%s=[redacted]\n", v.Key)
		}
		if len(secrets) == 0 {
			continue
		}
		ev := r.Evidence(0, "Content-Type", "Content-Length")
		ev.Response = check.Cap(ev.Response + "\n" + redacted.String())
		ev.Fields = map[string]string{"keys": strings.Join(keys, " "), "secret_keys": strings.Join(secrets, " ")}
		out = append(out, c.result(pathOf(r), fmt.Sprintf("Environment file %s exposes %d secret settings (%s)", pathOf(r), len(secrets), strings.Join(secrets[:min(len(secrets), 5)], ", ")), ev))
	}
	return out, nil
}

// ---- http.exposed-backup ----

func newExposedBackup(cache *site.Cache) *webCheck {
	return &webCheck{
		meta: meta("http.exposed-backup", finding.High,
			check.Text{EN: "Backup or database dump downloadable", VI: "Có thể tải tệp sao lưu hoặc bản kết xuất cơ sở dữ liệu"},
			check.Text{
				EN: "An archive (zip, tar.gz, 7z, rar) or SQL dump with a common backup name is downloadable from the web root. Backups hold the site's source code, configuration with passwords, and often the citizens' data in its database.",
				VI: "Một tệp nén (zip, tar.gz, 7z, rar) hoặc bản kết xuất SQL có tên sao lưu thông dụng có thể tải về từ thư mục gốc web. Bản sao lưu chứa mã nguồn, cấu hình có mật khẩu và thường cả dữ liệu người dân trong cơ sở dữ liệu.",
			},
			check.Text{
				EN: "Delete backups from the web root and store them off the web server; check access logs for earlier downloads and change the passwords the backup contained.",
				VI: "Xóa bản sao lưu khỏi thư mục gốc web và lưu trữ ngoài máy chủ web; kiểm tra nhật ký truy cập xem đã có ai tải về chưa và đổi các mật khẩu có trong bản sao lưu.",
			},
			"CWE-530", "CWE-538", "OWASP Top 10 2021 A05: Security Misconfiguration"),
		cache:   cache,
		applies: site.IsWeb,
		run:     runExposedBackup,
	}
}

var backupNames = []string{
	"backup.zip", "backup.tar.gz", "backup.tgz", "backup.rar", "backup.7z", "backup.sql", "backup.sql.gz",
	"db.sql", "db.sql.gz", "db.zip", "database.sql", "database.sql.gz", "dump.sql", "data.sql",
	"www.zip", "www.tar.gz", "site.zip", "site.tar.gz", "web.zip", "html.zip", "public_html.zip", "source.zip",
}

// BackupNames returns the file names probed on host: the common names and
// ones made of the host name ("portal.example.gov.vn.zip", "portal.zip").
func BackupNames(host string) []string {
	names := append([]string(nil), backupNames...)
	if host != "" && net.ParseIP(strings.Trim(host, "[]")) == nil {
		label, _, _ := strings.Cut(host, ".")
		for _, n := range []string{host + ".zip", host + ".tar.gz", host + ".sql", label + ".zip", label + ".sql"} {
			if !containsString(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}

func containsString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

var sqlMarkers = []string{"mysql dump", "mariadb dump", "postgresql database dump", "phpmyadmin sql dump",
	"create table", "insert into", "/*!40101", "set sql_mode", "drop table if exists", "lock tables", "create database"}

var sqlStarts = []string{"--", "/*", "#", "set ", "create ", "insert ", "drop ", "begin", "pragma", "lock ", "use "}

// BackupKind names the kind of file body starts with ("zip", "gzip",
// "sql" ...) or returns "" when it is not an archive or dump (an HTML
// soft-404, an error page).
func BackupKind(body []byte) string {
	magic := []struct {
		kind string
		at   int
		sig  string
	}{
		{"zip", 0, "PK\x03\x04"}, {"zip", 0, "PK\x05\x06"}, {"gzip", 0, "\x1f\x8b"},
		{"7z", 0, "7z\xbc\xaf\x27\x1c"}, {"rar", 0, "Rar!\x1a\x07"}, {"bzip2", 0, "BZh"},
		{"xz", 0, "\xfd7zXZ\x00"}, {"tar", 257, "ustar"},
	}
	for _, m := range magic {
		if len(body) >= m.at+len(m.sig) && string(body[m.at:m.at+len(m.sig)]) == m.sig {
			if m.kind == "bzip2" && (len(body) < 4 || body[3] < '1' || body[3] > '9') {
				continue
			}
			return m.kind
		}
	}
	head := strings.ToLower(string(bytes.TrimLeft(bytes.TrimPrefix(body[:min(len(body), 4096)], []byte("\xef\xbb\xbf")), " \t\r\n")))
	if strings.Contains(head, "<html") || strings.Contains(head, "<!doctype") || strings.Contains(head, "<body") {
		return ""
	}
	started := false
	for _, p := range sqlStarts {
		if strings.HasPrefix(head, p) {
			started = true
			break
		}
	}
	if !started {
		return ""
	}
	for _, m := range sqlMarkers {
		if strings.Contains(head, m) {
			return "sql"
		}
	}
	return ""
}

func runExposedBackup(ctx context.Context, c *webCheck, s *site.Site) ([]check.Result, error) {
	if _, err := s.Reachable(ctx); err != nil {
		return nil, err
	}
	var out []check.Result
	for _, name := range BackupNames(s.Hostname()) {
		r := probe(ctx, s, "/"+name, 0, site.MagicLimit, 200, 206)
		if r == nil {
			continue
		}
		kind := BackupKind(r.Body)
		if kind == "" {
			continue
		}
		excerpt := 0
		if kind == "sql" {
			excerpt = 200
		}
		ev := r.Evidence(excerpt, "Content-Type", "Content-Length", "Last-Modified")
		ev.Fields = map[string]string{"kind": kind, "magic": fmt.Sprintf("% x", r.Body[:min(len(r.Body), 8)])}
		out = append(out, c.result(pathOf(r), fmt.Sprintf("Backup file %s (%s) is downloadable", pathOf(r), kind), ev))
	}
	return out, nil
}

// ---- http.directory-listing ----

func newDirectoryListing(cache *site.Cache) *webCheck {
	return &webCheck{
		meta: meta("http.directory-listing", finding.Medium,
			check.Text{EN: "Directory listing enabled", VI: "Bật liệt kê nội dung thư mục"},
			check.Text{
				EN: "The web server lists the files of a directory (\"Index of /\" pages of Apache, nginx, LiteSpeed, IIS and others), showing uploads, backups and internal files nobody linked to.",
				VI: "Máy chủ web liệt kê các tệp trong thư mục (trang \"Index of /\" của Apache, nginx, LiteSpeed, IIS và các máy chủ khác), làm lộ tệp tải lên, bản sao lưu và tệp nội bộ không được liên kết công khai.",
			},
			check.Text{
				EN: "Turn automatic indexes off: Apache \"Options -Indexes\", nginx \"autoindex off\", IIS Directory Browsing disabled; put an index page in directories that must stay reachable.",
				VI: "Tắt tự động liệt kê thư mục: Apache \"Options -Indexes\", nginx \"autoindex off\", IIS tắt Directory Browsing; đặt trang index trong các thư mục cần truy cập được.",
			},
			"CWE-548", "OWASP Top 10 2021 A05: Security Misconfiguration"),
		cache:   cache,
		applies: site.IsWeb,
		run:     runDirectoryListing,
	}
}

var listingDirs = []string{"/images/", "/uploads/", "/upload/", "/files/", "/backup/", "/assets/", "/static/", "/css/", "/js/", "/data/", "/media/", "/wp-content/uploads/"}

var (
	titleIndexOf = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?is)<title>\s*index of /`) })
	h1IndexOf    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?is)<h1>\s*index of /`) })
	dirListFor   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?is)<title>\s*directory listing for /`) })
	iisTitle     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?is)<title>[^<]{0,200} - /[^<]*</title>`) })
)

// DirectoryListing reports whether body is an automatic directory index
// and which server style made it ("apache", "nginx", "iis", "python",
// "tomcat", "autoindex").
func DirectoryListing(body []byte) (server string, ok bool) {
	b := body[:min(len(body), 64<<10)]
	lower := bytes.ToLower(b)
	switch {
	case titleIndexOf().Match(b) && (h1IndexOf().Match(b) || bytes.Contains(lower, []byte("parent directory")) ||
		bytes.Contains(lower, []byte(`href="../"`)) || bytes.Contains(lower, []byte("last modified"))):
		switch {
		case bytes.Contains(lower, []byte("parent directory")) || bytes.Contains(lower, []byte("?c=n;o=d")) || bytes.Contains(lower, []byte("<address>apache")):
			return "apache", true
		case bytes.Contains(lower, []byte(`<a href="../">../</a>`)):
			return "nginx", true
		case bytes.Contains(lower, []byte("litespeed")):
			return "litespeed", true
		}
		return "autoindex", true
	case bytes.Contains(lower, []byte("[to parent directory]")) ||
		(iisTitle().Match(b) && bytes.Contains(lower, []byte("<pre>")) && bytes.Contains(lower, []byte("&lt;dir&gt;"))):
		return "iis", true
	case dirListFor().Match(b):
		if bytes.Contains(lower, []byte("tomcat")) {
			return "tomcat", true
		}
		return "python", true
	}
	return "", false
}

func runDirectoryListing(ctx context.Context, c *webCheck, s *site.Site) ([]check.Result, error) {
	page, err := s.Reachable(ctx)
	if err != nil {
		return nil, err
	}
	var out []check.Result
	found := map[string]bool{}
	consider := func(r *site.Response) {
		if r == nil || r.Status != 200 {
			return
		}
		server, ok := DirectoryListing(r.Body)
		p := urlPath(r.URL)
		if !ok || found[p] {
			return
		}
		found[p] = true
		ev := r.Evidence(600, "Content-Type", "Server")
		ev.Fields = map[string]string{"style": server}
		out = append(out, c.result(p, fmt.Sprintf("Directory listing enabled at %s (%s)", p, server), ev))
	}
	consider(page)
	for _, d := range listingDirs {
		consider(probe(ctx, s, d, 0, site.ProbeLimit, 200))
	}
	return out, nil
}

// ---- http.exposed-admin-panel ----

func newExposedAdminPanel(cache *site.Cache) *webCheck {
	return &webCheck{
		meta: meta("http.exposed-admin-panel", finding.Medium,
			check.Text{EN: "Administration login reachable from the internet", VI: "Trang đăng nhập quản trị truy cập được từ Internet"},
			check.Text{
				EN: "A common administration path (/admin, /administrator, /wp-admin, /phpmyadmin, /manager/html, /quantri ...) answers with a login form or an HTTP authentication prompt to anyone on the internet, inviting password guessing and exploitation of the panel's flaws. Pages that only look like the site's answer to unknown paths (soft 404) are not reported.",
				VI: "Một đường dẫn quản trị thông dụng (/admin, /administrator, /wp-admin, /phpmyadmin, /manager/html, /quantri ...) hiển thị biểu mẫu đăng nhập hoặc hộp xác thực HTTP cho bất kỳ ai trên Internet, tạo điều kiện dò mật khẩu và khai thác lỗ hổng của trang quản trị. Các trang chỉ giống câu trả lời của trang web cho đường dẫn không tồn tại (soft 404) không bị báo.",
			},
			check.Text{
				EN: "Restrict administration paths to the agency's network or VPN (allow-list by IP in the web server or firewall), require multi-factor authentication, and remove tools such as phpMyAdmin and the Tomcat manager from public servers.",
				VI: "Chỉ cho phép truy cập đường dẫn quản trị từ mạng nội bộ hoặc VPN của cơ quan (danh sách IP được phép ở máy chủ web hoặc tường lửa), bắt buộc xác thực đa yếu tố, và gỡ các công cụ như phpMyAdmin, Tomcat manager khỏi máy chủ công khai.",
			},
			"CWE-284", "CWE-1188", "OWASP Top 10 2021 A01: Broken Access Control", "OWASP Top 10 2021 A07: Identification and Authentication Failures"),
		cache:   cache,
		applies: site.IsWeb,
		run:     runAdminPanel,
	}
}

var adminPaths = []string{
	"/admin/", "/administrator/", "/wp-admin/", "/wp-login.php", "/phpmyadmin/", "/pma/", "/adminer.php",
	"/manager/html", "/user/login", "/admin/login", "/admin.php", "/quantri/", "/quan-tri/", "/admincp/", "/backend/",
}

var (
	passwordInput = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)<input[^>]+type\s*=\s*["']?password`) })
	formTag       = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)<form[\s>]`) })
	realmRE       = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)realm\s*=\s*"?([^",]*)`) })
)

// HasLoginForm reports whether an HTML body holds a form with a password
// field.
func HasLoginForm(body []byte) bool { return formTag().Match(body) && passwordInput().Match(body) }

func runAdminPanel(ctx context.Context, c *webCheck, s *site.Site) ([]check.Result, error) {
	if _, err := s.Reachable(ctx); err != nil {
		return nil, err
	}
	var out []check.Result
	seen := map[string]bool{}
	for _, p := range adminPaths {
		r := probe(ctx, s, p, 3, site.ProbeLimit, 200, 401)
		if r == nil || seen[urlPath(r.URL)] {
			continue
		}
		var what string
		fields := map[string]string{}
		switch {
		case r.Status == 401:
			m := realmRE().FindStringSubmatch(r.Header.Get("WWW-Authenticate"))
			if m == nil {
				continue
			}
			what = fmt.Sprintf("HTTP authentication (realm %q)", m[1])
			fields["realm"] = m[1]
		case HasLoginForm(r.Body):
			t := site.Title(r.Body)
			what = "a login form"
			if t != "" {
				what += fmt.Sprintf(" (%q)", t)
			}
			fields["title"] = t
		default:
			continue
		}
		seen[urlPath(r.URL)] = true
		subject := pathOf(r)
		ev := r.Evidence(0, "Content-Type", "WWW-Authenticate", "Server")
		fields["final_url"] = r.URL
		ev.Fields = fields
		out = append(out, c.result(subject, fmt.Sprintf("Admin path %s answers with %s", subject, what), ev))
	}
	return out, nil
}
