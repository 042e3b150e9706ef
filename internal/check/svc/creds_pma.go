package svc

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"golang.org/x/net/html"

	"github.com/rampart-cert/rampart/internal/check"
)

// phpMyAdmin's cookie login: the login page is a form with pma_username,
// pma_password and a token bound to the phpMyAdmin session cookie. Each
// attempt reads the page (token, cookie), posts the form with one of the
// shipped defaults and follows phpMyAdmin's redirect; a page with the
// navigation panel or a logout link, and no login form, is a login. At
// most three attempts; phpMyAdmin has no lockout of its own, but the
// MySQL server behind it may (max_connect_errors counts only broken
// handshakes, not refused passwords).

// pmaPaths are where phpMyAdmin is usually served: Debian's and most
// distributions' alias, the upper-case one of the release archives, and
// the site root.
var pmaPaths = []string{"/phpmyadmin/", "/phpMyAdmin/", "/pma/", "/"}

// PMAForm is phpMyAdmin's login form as read from its page.
type PMAForm struct {
	Action string     // the form's action, relative to the page
	Fields url.Values // every named input with its value (token, set_session, server, route)
}

// ParsePMALogin finds phpMyAdmin's login form in a page: the form that
// holds both pma_username and pma_password inputs. ok is false when the
// page has none.
func ParsePMALogin(body []byte) (form PMAForm, ok bool) {
	z := html.NewTokenizer(bytes.NewReader(body))
	var cur *PMAForm
	inputs := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return PMAForm{}, false
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "form":
				cur = &PMAForm{Action: attr(tok, "action"), Fields: url.Values{}}
				inputs = 0
			case "input":
				name := attr(tok, "name")
				if cur == nil || name == "" || inputs >= 64 {
					continue
				}
				inputs++
				if t := strings.ToLower(attr(tok, "type")); t == "submit" || t == "button" || t == "checkbox" || t == "radio" {
					continue
				}
				cur.Fields.Set(name, attr(tok, "value"))
			}
		case html.EndTagToken:
			if tn, _ := z.TagName(); string(tn) == "form" && cur != nil {
				if _, u := cur.Fields["pma_username"]; u {
					if _, p := cur.Fields["pma_password"]; p {
						return *cur, true
					}
				}
				cur = nil
			}
		}
	}
}

func attr(tok html.Token, name string) string {
	for _, a := range tok.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// isPMAHome tells phpMyAdmin's page after a login: the navigation panel
// or a logout link, and no login form.
func isPMAHome(body []byte) bool {
	if _, login := ParsePMALogin(body); login {
		return false
	}
	return bytes.Contains(body, []byte("pma_navigation")) || bytes.Contains(body, []byte("route=/logout")) || bytes.Contains(body, []byte("logout.php"))
}

// pmaSession keeps phpMyAdmin's cookies between requests.
type pmaSession struct {
	w       *webClient
	cookies map[string]string
}

func (s *pmaSession) header() http.Header {
	h := http.Header{}
	if len(s.cookies) > 0 {
		names := make([]string, 0, len(s.cookies))
		for n := range s.cookies {
			names = append(names, n)
		}
		sort.Strings(names)
		parts := make([]string, 0, len(names))
		for _, n := range names {
			parts = append(parts, n+"="+s.cookies[n])
		}
		h.Set("Cookie", strings.Join(parts, "; "))
	}
	return h
}

// do sends one request with the session's cookies and keeps the ones the
// answer sets (at most 16; a deleted cookie is dropped).
func (s *pmaSession) do(ctx context.Context, method, path string, form url.Values) (int, http.Header, []byte, error) {
	h := s.header()
	var body []byte
	if form != nil {
		body = []byte(form.Encode())
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	status, rh, b, err := s.w.send(ctx, method, path, h, body)
	if err != nil {
		return 0, nil, nil, err
	}
	for _, c := range (&http.Response{Header: rh}).Cookies() {
		switch {
		case c.MaxAge < 0 || c.Value == "deleted":
			delete(s.cookies, c.Name)
		case len(s.cookies) < 16 || s.cookies[c.Name] != "":
			s.cookies[c.Name] = c.Value
		}
	}
	return status, rh, b, nil
}

// hasPMACookie tells the phpMyAdmin session cookie among the set ones.
func (s *pmaSession) hasPMACookie() bool {
	for n := range s.cookies {
		if n == "phpMyAdmin" || n == "phpMyAdmin_https" {
			return true
		}
	}
	return false
}

// resolve makes a form action or a Location relative to page a path on
// the target (a full URL keeps only its path and query: requests never
// leave the target).
func resolve(page, ref string) string {
	base, err := url.Parse(page)
	if err != nil {
		return page
	}
	u, err := url.Parse(ref)
	if err != nil {
		return page
	}
	r := base.ResolveReference(u)
	p := r.EscapedPath()
	if p == "" {
		p = "/"
	}
	if r.RawQuery != "" {
		p += "?" + r.RawQuery
	}
	return p
}

// webPhpMyAdmin finds phpMyAdmin's login page and tries its defaults.
func webPhpMyAdmin(ctx context.Context, w *webClient, t check.Target, m check.Meta) (*check.Result, error) {
	s := &pmaSession{w: w, cookies: map[string]string{}}
	page := ""
	for _, p := range pmaPaths {
		status, _, body, err := s.do(ctx, http.MethodGet, p, nil)
		if err != nil {
			return nil, err
		}
		if _, ok := ParsePMALogin(body); status == http.StatusOK && ok && s.hasPMACookie() {
			page = p
			break
		}
		s.cookies = map[string]string{}
	}
	if page == "" {
		return nil, nil
	}
	for i, cred := range credentialsFor("phpmyadmin") {
		// Each attempt posts the form of a freshly read page: its token
		// belongs to the session cookie we hold.
		status, _, body, err := s.do(ctx, http.MethodGet, page, nil)
		if err != nil {
			return nil, err
		}
		form, ok := ParsePMALogin(body)
		if status != http.StatusOK || !ok {
			if i == 0 {
				return nil, nil
			}
			break
		}
		fields := url.Values{}
		for k, v := range form.Fields {
			fields[k] = v
		}
		fields.Set("pma_username", cred.User)
		fields.Set("pma_password", cred.Password)
		action := resolve(page, form.Action)
		status, h, body, err := s.do(ctx, http.MethodPost, action, fields)
		if err != nil {
			return nil, err
		}
		// Follow phpMyAdmin's redirects (at most three) on the target.
		at := action
		for range 3 {
			if status < 300 || status > 399 || h.Get("Location") == "" {
				break
			}
			at = resolve(at, h.Get("Location"))
			if status, h, body, err = s.do(ctx, http.MethodGet, at, nil); err != nil {
				return nil, err
			}
		}
		if status == http.StatusOK && isPMAHome(body) {
			// Log out again, so the session we opened does not linger.
			if lo := pmaLogout(body); lo != "" {
				_, _, _, _ = s.do(ctx, http.MethodGet, resolve(at, lo), nil)
			}
			r := credResult(m, t, "phpmyadmin", cred.User, passwordKind(cred.Password), check.Evidence{
				Request:  "GET " + page + " (token, session cookie), POST " + strings.SplitN(action, "?", 2)[0] + " pma_username=" + cred.User + " (password not kept)",
				Response: "phpMyAdmin's main page (navigation panel, logout link) instead of the login form",
				Fields:   map[string]string{"product": "phpMyAdmin", "path": page}})
			return &r, nil
		}
		if deviceLocked(status, h, body) && status != http.StatusOK {
			break
		}
	}
	return nil, nil
}

// pmaLogout finds the logout link of phpMyAdmin's main page.
func pmaLogout(body []byte) string {
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if tok.Data == "a" {
				if href := attr(tok, "href"); strings.Contains(href, "route=/logout") || strings.Contains(href, "logout.php") {
					return href
				}
			}
		}
	}
}
