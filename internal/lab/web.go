package lab

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"strings"
)

// securityHeaders are what a well-configured site sends.
func securityHeaders(h http.Header) {
	h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'self'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
}

func page(title, body string) string {
	return `<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8"><title>` + html.EscapeString(title) + `</title></head>
<body>` + body + `</body></html>
`
}

func writeHTML(w http.ResponseWriter, status int, s string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, s)
}

// apacheNotFound is the 404 page of Apache httpd.
func apacheNotFound(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintf(w, "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n</body></html>\n")
}

// The fake files the weak portal leaks. Every secret is fake and says so.
const (
	gitHEAD   = "ref: refs/heads/main\n"
	gitConfig = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n" +
		"[remote \"origin\"]\n\turl = https://git.hn-demo.gov.vn/cong-thong-tin/portal.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n" +
		"[branch \"main\"]\n\tremote = origin\n\tmerge = refs/heads/main\n"
	dotEnv = "APP_NAME=CongThongTinHaNoi\nAPP_ENV=production\nAPP_KEY=base64:ZGVtby1sYWItbm90LWEtcmVhbC1rZXk=\n" +
		"DB_HOST=127.0.0.1\nDB_DATABASE=portal\nDB_USERNAME=portal\nDB_PASSWORD=demo-lab-not-a-secret\n" +
		"MAIL_PASSWORD=demo-lab-not-a-secret\n"
	etcPasswd = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" +
		"bin:x:2:2:bin:/bin:/usr/sbin/nologin\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n" +
		"portal:x:1000:1000:Cong thong tin (demo lab):/home/portal:/bin/bash\n"
	uploadsIndex = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
<html>
 <head>
  <title>Index of /uploads</title>
 </head>
 <body>
<h1>Index of /uploads</h1>
  <table>
   <tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th><th><a href="?C=S;O=A">Size</a></th></tr>
   <tr><th colspan="5"><hr></th></tr>
<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td><td><a href="/">Parent Directory</a></td><td>&nbsp;</td><td align="right">  - </td></tr>
<tr><td valign="top"><img src="/icons/unknown.gif" alt="[   ]"></td><td><a href="danh-sach-can-bo-2024.xlsx">danh-sach-can-bo-2024.xlsx</a></td><td align="right">2024-03-12 08:14  </td><td align="right"> 48K</td></tr>
<tr><td valign="top"><img src="/icons/unknown.gif" alt="[   ]"></td><td><a href="cong-van-1234.pdf">cong-van-1234.pdf</a></td><td align="right">2024-05-02 16:40  </td><td align="right">212K</td></tr>
   <tr><th colspan="5"><hr></th></tr>
</table>
<address>Apache/2.4.49 (Unix) Server at congthongtin.hn-demo.gov.vn Port 80</address>
</body></html>
`
	adminLogin = `<h1>Đăng nhập quản trị</h1>
<form method="post" action="/quantri/dang-nhap">
<label>Tên đăng nhập <input type="text" name="tendangnhap"></label>
<label>Mật khẩu <input type="password" name="matkhau"></label>
<button type="submit">Đăng nhập</button>
</form>`
)

// backupZip starts like a zip archive; that is all a scanner needs to see.
var backupZip = []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00demo-lab-backup/portal.sql\x00\x00 this is not a real archive\n")

// weakPortal is the Hà Nội province portal: Apache 2.4.49 over plain HTTP
// with no redirect and no security headers, an exposed .git, .env and
// backup, a directory listing, an admin login, and the encoded-dot path
// traversal of CVE-2021-41773.
func weakPortal() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "Apache/2.4.49 (Unix)")
		p := r.URL.Path
		// CVE-2021-41773: an encoded dot segment under an alias escapes
		// the document root. Plain "../" is refused, as Apache does.
		if strings.Contains(p, "..") {
			if strings.Contains(strings.ToLower(r.RequestURI), "%2e") &&
				(strings.HasPrefix(p, "/icons/") || strings.HasPrefix(p, "/cgi-bin/")) &&
				strings.HasSuffix(p, "/etc/passwd") {
				w.Header().Set("Content-Type", "text/plain")
				io.WriteString(w, etcPasswd)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>400 Bad Request</title>\n</head><body>\n<h1>Bad Request</h1>\n</body></html>\n")
			return
		}
		switch p {
		case "/", "/index.php":
			writeHTML(w, 200, page("Cổng thông tin điện tử Thành phố Hà Nội (demo)",
				`<h1>Cổng thông tin điện tử Thành phố Hà Nội</h1>
<p>Phòng thí nghiệm Rampart: trang này cố ý có lỗ hổng để minh họa. / Rampart lab: this page is weak on purpose.</p>
<ul><li><a href="/tin-tuc/">Tin tức</a></li><li><a href="/thu-tuc-hanh-chinh/">Thủ tục hành chính</a></li><li><a href="/uploads/">Tài liệu</a></li></ul>`))
		case "/.git/HEAD":
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, gitHEAD)
		case "/.git/config":
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, gitConfig)
		case "/.env":
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, dotEnv)
		case "/backup.zip":
			w.Header().Set("Content-Type", "application/zip")
			w.Write(backupZip)
		case "/uploads/":
			writeHTML(w, 200, uploadsIndex)
		case "/uploads":
			http.Redirect(w, r, "/uploads/", http.StatusMovedPermanently)
		case "/quantri/":
			writeHTML(w, 200, page("Quản trị hệ thống", adminLogin))
		case "/quantri":
			http.Redirect(w, r, "/quantri/", http.StatusMovedPermanently)
		default:
			apacheNotFound(w, r)
		}
	})
}

// gamblingPortal is the Hồ Chí Minh City portal: an honest page with a
// block of betting links hidden off-screen by an intruder.
func gamblingPortal() http.Handler {
	const body = `<header><h1>Cổng thông tin điện tử Thành phố Hồ Chí Minh</h1></header>
<main>
<p>Phòng thí nghiệm Rampart: trang này bị chèn nội dung cờ bạc ẩn để minh họa. / Rampart lab: this page carries hidden gambling spam on purpose.</p>
<h2>Thông báo</h2>
<p>Ủy ban nhân dân Thành phố thông báo lịch tiếp công dân tháng này tại trụ sở, số 86 Lê Thánh Tôn, Quận 1.</p>
</main>
<div style="position:absolute;left:-9999px;top:-9999px">
<a href="https://nhacai-uytin-demo.example/">Nhà cái uy tín W88</a>
<a href="https://fb88-demo.example/">Cá cược bóng đá FB88</a>
<a href="https://nohu-demo.example/">Nổ hũ đổi thưởng</a>
<p>Tài xỉu online, soi kèo nhà cái, game bài đổi thưởng uy tín nhất.</p>
</div>
<footer><p>Bản quyền © Ủy ban nhân dân Thành phố Hồ Chí Minh (demo)</p></footer>`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "nginx")
		if r.URL.Path != "/" {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center><hr><center>nginx</center></body></html>\n")
			return
		}
		writeHTML(w, 200, page("Cổng thông tin điện tử TP. Hồ Chí Minh (demo)", body))
	})
}

// goodSite is a site with every security header and no version; the lab
// puts it behind certificates with one defect each, and behind a good
// certificate on the hardened host.
func goodSite(title string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "nginx")
		securityHeaders(w.Header())
		if r.URL.Path != "/" {
			writeHTML(w, http.StatusNotFound, page("404", "<h1>Không tìm thấy trang / Not found</h1>"))
			return
		}
		writeHTML(w, 200, page(title, "<h1>"+html.EscapeString(title)+"</h1>\n<p>Phòng thí nghiệm Rampart / Rampart lab.</p>"))
	})
}

// redirectHTTPS sends every plain-HTTP request to https with a 301.
func redirectHTTPS(host string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "nginx")
		securityHeaders(w.Header())
		h := r.Host
		if h == "" || strings.ContainsAny(h, "/\\ ") {
			h = host
		}
		if i := strings.LastIndexByte(h, ':'); i > 0 && !strings.Contains(h[i:], "]") {
			h = h[:i]
		}
		u := "https://" + h + r.URL.EscapedPath()
		if r.URL.RawQuery != "" {
			u += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, u, http.StatusMovedPermanently)
	})
}

// elasticsearch answers like an Elasticsearch 6.8 node with security off.
func elasticsearch(cluster string) http.Handler {
	root, _ := json.MarshalIndent(map[string]any{
		"name":         "es-node-01",
		"cluster_name": cluster,
		"cluster_uuid": "dEmOlAbRaMpArTcLuStEr0",
		"version": map[string]any{
			"number": "6.8.23", "build_flavor": "default", "build_type": "tar",
			"build_hash": "4f67856", "build_date": "2022-01-06T22:31:22.282Z", "build_snapshot": false,
			"lucene_version": "7.7.3", "minimum_wire_compatibility_version": "5.6.0",
			"minimum_index_compatibility_version": "5.0.0",
		},
		"tagline": "You Know, for Search",
	}, "", "  ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		switch r.URL.Path {
		case "/":
			w.Write(root)
			w.Write([]byte("\n"))
		case "/_cat/indices":
			w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
			io.WriteString(w, "ho-so-dat-dai-2024\nnhat-ky-truy-cap\nthong-tin-cong-dan\n")
		case "/_cluster/health":
			fmt.Fprintf(w, `{"cluster_name":%q,"status":"yellow","number_of_nodes":1,"active_shards":3}`+"\n", cluster)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index"}],"type":"index_not_found_exception","reason":"no such index"},"status":404}`+"\n")
		}
	})
}
