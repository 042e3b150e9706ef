package dns

import (
	"html/template"
	"net"
	"net/http"
	"strings"
)

// The walled garden: redirect answers point browsers here, and the page
// says, in Vietnamese and English, which name was blocked, by which list,
// and whom to ask. The name is the request's Host; nothing of the request
// is kept.

var gardenPage = template.Must(template.New("garden").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Truy cập bị chặn · Access blocked</title>
<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#222}
h1{color:#a40000;font-size:1.5rem}code{background:#f3f3f3;padding:.1rem .3rem}section{margin-bottom:2rem}</style></head>
<body>
<section lang="vi">
<h1>Truy cập tới tên miền này đã bị chặn</h1>
<p>Hệ thống DNS bảo vệ đã chặn tên miền <code>{{.Name}}</code>{{if .List}} vì tên miền này nằm trong danh sách <strong>{{.List}}</strong>{{end}}: tên miền được xác định là độc hại (lừa đảo, mã độc hoặc máy chủ điều khiển).</p>
<p>Nếu bạn vừa mở một liên kết hoặc tệp đính kèm, hãy dừng lại và báo cho bộ phận CNTT của đơn vị. Máy tính của bạn có thể cần được kiểm tra mã độc.</p>
{{if .Contact}}<p>Nếu bạn cho rằng việc chặn là nhầm lẫn, vui lòng liên hệ: {{.Contact}}.</p>{{end}}
</section>
<section lang="en">
<h1>Access to this domain has been blocked</h1>
<p>The protective DNS resolver blocked <code>{{.Name}}</code>{{if .List}} because it is on the list <strong>{{.List}}</strong>{{end}}: the domain is known to be malicious (phishing, malware or command-and-control).</p>
<p>If you just opened a link or an attachment, stop and tell your IT staff. Your computer may need to be checked for malware.</p>
{{if .Contact}}<p>If you think this block is a mistake, contact: {{.Contact}}.</p>{{end}}
</section>
</body></html>
`))

// GardenHandler serves the walled-garden page. lookup tells the list
// that blocks a name (false when none does); contact is whom to ask.
// Either may be nil.
func GardenHandler(lookup func(name string) (list string, blocked bool), contact func() string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "GET only", http.StatusMethodNotAllowed)
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		name, ok := canonicalName(host)
		if !ok {
			name = "?"
		}
		data := struct{ Name, List, Contact string }{Name: name}
		if lookup != nil && ok {
			if l, blocked := lookup(name); blocked {
				data.List = l
			}
		}
		if contact != nil {
			data.Contact = strings.TrimSpace(contact())
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		// 403 so scripts and crawlers do not take the page for the site.
		w.WriteHeader(http.StatusForbidden)
		_ = gardenPage.Execute(w, data)
	})
}

// Lookup tells the list that blocks name under the policy in force.
func (f *Feed) Lookup(name string) (string, bool) {
	p := f.srv.Policy()
	if p == nil {
		return "", false
	}
	list, _, blocked := p.Lookup(name)
	return list, blocked
}

// Contact is whom the walled garden names, from the DNS policy.
func (f *Feed) Contact() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.policy.Contact
}

// Version is the snapshot version the feed last applied (0: none).
func (f *Feed) Version() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.version
}
