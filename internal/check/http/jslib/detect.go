package jslib

import (
	"bytes"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/rampart-cert/rampart/internal/vulndb"
)

// How a version was learned, from the most to the least trusted.
const (
	FromBanner = "banner" // the file's own comment or version constant
	FromPath   = "path"   // a CDN directory or a versioned file name
	FromQuery  = "query"  // a ?ver= cache-buster: a hint only
)

// Found is a library a page loads.
type Found struct {
	Library *Library
	Version string
	From    string // FromBanner, FromPath or FromQuery
	URL     string
}

// maxScan bounds how much of a page or a script is searched.
const maxScan = 512 << 10

var scriptSrcRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?is)<script\b[^>]{0,512}?\bsrc\s*=\s*(?:"([^"]{1,1000})"|'([^']{1,1000})'|([^\s>]{1,1000}))`)
})

// Scripts returns the src of every <script> element of an HTML page, in
// order and without repeats, at most max.
func Scripts(html []byte, max int) []string {
	html = html[:min(len(html), maxScan)]
	var out []string
	seen := map[string]bool{}
	for _, m := range scriptSrcRE().FindAllSubmatch(html, -1) {
		src := strings.TrimSpace(string(bytes.Join(m[1:], nil)))
		if src == "" || seen[src] {
			continue
		}
		seen[src] = true
		out = append(out, src)
		if len(out) == max {
			break
		}
	}
	return out
}

// FromURL recognises a library by a script URL's file name or CDN path.
// The version comes from the path or the file name when they carry it,
// else from a ?ver= query (From = FromQuery), else it is empty.
func FromURL(raw string) (Found, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return Found{}, false
	}
	file := path.Base(u.Path)
	if u.RawQuery != "" {
		file += "?" + u.RawQuery
	}
	for _, l := range Libraries {
		l.compile()
		if l.path != nil {
			if m := l.path.FindStringSubmatch(u.Path); m != nil {
				if v := named(l.path, m, "v"); v != "" {
					return Found{Library: l, Version: v, From: FromPath, URL: raw}, true
				}
			}
		}
		m := l.file.FindStringSubmatch(file)
		if m == nil {
			continue
		}
		f := Found{Library: l, URL: raw}
		if v := named(l.file, m, "v"); v != "" {
			f.Version, f.From = v, FromPath
		} else if q := named(l.file, m, "q"); q != "" {
			f.Version, f.From = q, FromQuery
		}
		return f, true
	}
	return Found{}, false
}

// FromBannerOf reads the version that the file itself declares, for the
// library l (nil: any library of the table).
func FromBannerOf(l *Library, body []byte) (Found, bool) {
	body = body[:min(len(body), maxScan)]
	for _, x := range Libraries {
		if l != nil && x != l {
			continue
		}
		x.compile()
		if m := x.banner.FindSubmatch(body); m != nil {
			for i, n := range x.banner.SubexpNames() {
				if n == "v" && len(m[i]) > 0 {
					return Found{Library: x, Version: string(m[i]), From: FromBanner}, true
				}
			}
		}
	}
	return Found{}, false
}

func named(re *regexp.Regexp, m []string, name string) string {
	for i, n := range re.SubexpNames() {
		if n == name && i < len(m) && m[i] != "" {
			return m[i]
		}
	}
	return ""
}

// Affected returns the vulnerabilities of l that version carries.
func (l *Library) Affected(version string) []Vuln {
	if version == "" {
		return nil
	}
	var out []Vuln
	for _, v := range l.Vulns {
		if v.Introduced != "" && vulndb.CompareVersion(version, v.Introduced) < 0 {
			continue
		}
		if v.Fixed != "" && vulndb.CompareVersion(version, v.Fixed) >= 0 {
			continue
		}
		out = append(out, v)
	}
	return out
}

// FixedIn returns the lowest version that fixes every vulnerability in
// vs, or "" when one has no fix in this line.
func FixedIn(vs []Vuln) string {
	best := ""
	for _, v := range vs {
		if v.Fixed == "" {
			return ""
		}
		if best == "" || vulndb.CompareVersion(v.Fixed, best) > 0 {
			best = v.Fixed
		}
	}
	return best
}
