package website

import (
	"bytes"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Segment is a run of text in a page with where it sits.
type Segment struct {
	Text    string
	Hidden  bool   // inside an element a visitor does not see
	Why     string // why hidden: "display:none", "off-screen", ...
	Element string // the hiding element ("div#seo.links") or the enclosing one
	Href    string // href of the enclosing <a>, if any
	// External is true when Href points to another site.
	External bool
	Where    string // "body", "title" or "meta"
}

// Link is an <a href> with its text.
type Link struct {
	Href     string
	Host     string // lower-case host of an absolute href; "" when relative
	Text     string
	Hidden   bool
	External bool // points to another site than the page's
}

// Doc is what the web checks read from a page.
type Doc struct {
	Title    string
	Meta     []string // description, keywords, og:title, og:description
	Segments []Segment
	Links    []Link
	Headings []string // h1 and h2 texts
	H1       []string // h1 texts
	// Visible is the visible body text, space-joined.
	Visible string
	Size    int
}

// limits on hostile input.
const (
	maxDepth    = 256
	maxSegments = 20000
	maxLinks    = 5000
)

// isVoidElement reports the elements that never have an end tag. A switch,
// not a map, so that nothing is built at package init.
func isVoidElement(tag string) bool {
	switch tag {
	case "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr", "keygen":
		return true
	}
	return false
}

type frame struct {
	tag    string
	hidden bool
	why    string
	elem   string
	href   string
	link   int // index into Doc.Links, -1 if none
}

// Parse reads an HTML page served for pageHost. It never fails: broken
// markup yields what could be read.
func Parse(body []byte, pageHost string) *Doc {
	d := &Doc{Size: len(body)}
	pageHost = strings.ToLower(strings.TrimPrefix(pageHost, "www."))
	hiddenClass, hiddenID := hiddenSelectors(body)

	z := html.NewTokenizer(bytes.NewReader(body))
	z.SetMaxBuf(4 << 20)
	var stack []frame
	top := func() frame {
		if len(stack) == 0 {
			return frame{link: -1}
		}
		return stack[len(stack)-1]
	}
	var visible strings.Builder
	inTitle, skip := false, 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			attrs := map[string]string{}
			for hasAttr && len(attrs) < 64 {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				attrs[string(k)] = string(v)
			}
			switch tag {
			case "title":
				inTitle = tt == html.StartTagToken
				continue
			case "meta":
				n := strings.ToLower(attrs["name"] + attrs["property"])
				if n == "description" || n == "keywords" || n == "og:title" || n == "og:description" {
					if c := strings.TrimSpace(attrs["content"]); c != "" && len(d.Meta) < 16 {
						d.Meta = append(d.Meta, c)
						d.Segments = append(d.Segments, Segment{Text: c, Where: "meta", Element: "meta[" + n + "]"})
					}
				}
				continue
			case "script", "style", "template", "noscript", "svg":
				if tt == html.StartTagToken && len(stack) < maxDepth {
					skip++
					stack = append(stack, frame{tag: tag, link: -1})
				}
				continue
			}
			if tt == html.SelfClosingTagToken || isVoidElement(tag) {
				continue
			}
			parent := top()
			f := frame{tag: tag, hidden: parent.hidden, why: parent.why, elem: parent.elem, href: parent.href, link: parent.link}
			if why := hiddenBy(attrs, hiddenClass, hiddenID); why != "" && !f.hidden {
				f.hidden, f.why, f.elem = true, why, describe(tag, attrs)
			}
			if !f.hidden {
				f.elem = describe(tag, attrs)
			}
			if tag == "a" {
				f.link = -1
				if href := strings.TrimSpace(attrs["href"]); href != "" && len(d.Links) < maxLinks {
					host, ext := linkHost(href, pageHost)
					d.Links = append(d.Links, Link{Href: href, Host: host, Hidden: f.hidden, External: ext})
					f.href, f.link = href, len(d.Links)-1
				}
			}
			if len(stack) < maxDepth {
				stack = append(stack, f)
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if tag == "title" {
				inTitle = false
				continue
			}
			for i := len(stack) - 1; i >= 0 && i >= len(stack)-16; i-- {
				if stack[i].tag == tag {
					for _, f := range stack[i:] {
						if isSkip(f.tag) && skip > 0 {
							skip--
						}
					}
					stack = stack[:i]
					break
				}
			}
		case html.TextToken:
			text := strings.Join(strings.Fields(string(z.Text())), " ")
			if text == "" {
				continue
			}
			if inTitle {
				if len(d.Title) < 1024 {
					d.Title = strings.TrimSpace(d.Title + " " + text)
				}
				continue
			}
			if skip > 0 || len(d.Segments) >= maxSegments {
				continue
			}
			f := top()
			seg := Segment{Text: text, Hidden: f.hidden, Why: f.why, Element: f.elem, Href: f.href, Where: "body"}
			if f.link >= 0 {
				seg.External = d.Links[f.link].External
			}
			d.Segments = append(d.Segments, seg)
			if f.link >= 0 && len(d.Links[f.link].Text) < 512 {
				d.Links[f.link].Text = strings.TrimSpace(d.Links[f.link].Text + " " + text)
			}
			if !f.hidden {
				if visible.Len() < 1<<20 {
					visible.WriteString(text)
					visible.WriteByte(' ')
				}
				if (f.tag == "h1" || f.tag == "h2") && len(d.Headings) < 64 {
					d.Headings = append(d.Headings, text)
				}
				if f.tag == "h1" && len(d.H1) < 16 {
					d.H1 = append(d.H1, text)
				}
			}
		}
	}
	if d.Title != "" {
		d.Segments = append(d.Segments, Segment{Text: d.Title, Where: "title", Element: "title"})
	}
	d.Visible = strings.TrimSpace(visible.String())
	return d
}

func isSkip(tag string) bool {
	return tag == "script" || tag == "style" || tag == "template" || tag == "noscript" || tag == "svg"
}

func describe(tag string, attrs map[string]string) string {
	s := tag
	if id := attrs["id"]; id != "" {
		s += "#" + truncate(id, 40)
	}
	if c := strings.Fields(attrs["class"]); len(c) > 0 {
		s += "." + truncate(strings.Join(c[:min(len(c), 3)], "."), 60)
	}
	return s
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func linkHost(href, pageHost string) (host string, external bool) {
	u, err := url.Parse(href)
	if err != nil || u.Host == "" {
		return "", false
	}
	if u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" {
		return "", false
	}
	host = strings.ToLower(u.Hostname())
	h := strings.TrimPrefix(host, "www.")
	if pageHost == "" {
		return host, true
	}
	same := h == pageHost || strings.HasSuffix(h, "."+pageHost) || strings.HasSuffix(pageHost, "."+h)
	return host, !same
}

var (
	cssRuleRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`([^{}]{1,512})\{([^{}]*)\}`) })
	cssSimpleRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`([.#])([A-Za-z0-9_-]+)\s*$`) })
	offsetRE    = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?:^|;)(left|top|right|text-indent|margin-left|margin-top):(-?[0-9.]+)(px|em|rem|pt|%)?`)
	})
	fontSizeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:^|;)font-size:([0-9.]+)(px|pt|em|rem|%)?`) })
	sizeRE     = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?:^|;)(height|width|max-height|max-width):0*\.?([0-9]*)(px|em|rem|pt|%)?(?:;|$)`)
	})
	colorRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:^|;)color:([^;]+)`) })
	bgRE      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:^|;)background(?:-color)?:([^;]+)`) })
	opacityRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:^|;)opacity:0*\.?0*(?:;|$)`) })
)

// hiddenSelectors reads <style> blocks for class and id selectors whose
// rules hide their element: injected spam often hides behind
// ".x{position:absolute;left:-9999px}".
func hiddenSelectors(body []byte) (classes, ids map[string]string) {
	classes, ids = map[string]string{}, map[string]string{}
	z := html.NewTokenizer(bytes.NewReader(body))
	in := false
	for n := 0; n < 64; {
		tt := z.Next()
		if tt == html.ErrorToken {
			return
		}
		switch tt {
		case html.StartTagToken:
			name, _ := z.TagName()
			in = string(name) == "style"
		case html.EndTagToken:
			in = false
		case html.TextToken:
			if !in {
				continue
			}
			n++
			css := string(z.Text())
			if len(css) > 256<<10 {
				css = css[:256<<10]
			}
			for _, m := range cssRuleRE().FindAllStringSubmatch(css, 2000) {
				why := hiddenStyle(m[2])
				if why == "" {
					continue
				}
				for _, sel := range strings.Split(m[1], ",") {
					if s := cssSimpleRE().FindStringSubmatch(strings.TrimSpace(sel)); s != nil {
						if s[1] == "." {
							classes[s[2]] = why
						} else {
							ids[s[2]] = why
						}
					}
				}
			}
		}
	}
	return
}

func hiddenBy(attrs map[string]string, classes, ids map[string]string) string {
	if _, ok := attrs["hidden"]; ok {
		return "hidden attribute"
	}
	if why := hiddenStyle(attrs["style"]); why != "" {
		return why
	}
	if why, ok := ids[attrs["id"]]; ok && attrs["id"] != "" {
		return why + " (#" + attrs["id"] + ")"
	}
	for _, c := range strings.Fields(attrs["class"]) {
		if why, ok := classes[c]; ok {
			return why + " (." + c + ")"
		}
	}
	return ""
}

// hiddenStyle tells whether CSS declarations hide their element from a
// visitor, and how.
func hiddenStyle(decl string) string {
	if decl == "" {
		return ""
	}
	s := strings.ToLower(decl)
	s = strings.NewReplacer(" ", "", "\t", "", "\n", "", "\r", "", "!important", "").Replace(s)
	switch {
	case strings.Contains(s, "display:none"):
		return "display:none"
	case strings.Contains(s, "visibility:hidden") || strings.Contains(s, "visibility:collapse"):
		return "visibility:hidden"
	case opacityRE().MatchString(s):
		return "opacity:0"
	}
	for _, m := range offsetRE().FindAllStringSubmatch(s, 8) {
		if v, err := strconv.ParseFloat(m[2], 64); err == nil && v <= -500 {
			return "off-screen (" + m[1] + ":" + m[2] + m[3] + ")"
		}
	}
	if m := fontSizeRE().FindStringSubmatch(s); m != nil {
		if v, err := strconv.ParseFloat(m[1], 64); err == nil && (v == 0 || (v <= 2 && (m[2] == "px" || m[2] == "pt"))) {
			return "font-size:" + m[1] + m[2]
		}
	}
	if strings.Contains(s, "overflow:hidden") {
		for _, m := range sizeRE().FindAllStringSubmatch(s, 4) {
			if v, _ := strconv.Atoi("0" + m[2]); v <= 1 {
				return "zero size (" + m[1] + ")"
			}
		}
	}
	if c := colorRE().FindStringSubmatch(s); c != nil {
		if c[1] == "transparent" {
			return "color:transparent"
		}
		if bg := bgRE().FindStringSubmatch(s); bg != nil && bg[1] == c[1] {
			return "same color as background"
		}
	}
	return ""
}
