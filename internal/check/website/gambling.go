package website

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// term is a gambling word or brand, folded (see Fold).
type term struct {
	text   string
	weight int
}

// gamblingTerms are the words of betting spam, Vietnamese (folded) and
// English. Brands of the sites that buy the spam weigh most; ambiguous
// words ("ban ca" is both "bắn cá", the fish-shooting game, and "bán cá",
// selling fish) weigh least.
var gamblingTerms = []term{
	// Vietnamese phrases.
	{"nha cai", 2}, {"nha cai uy tin", 2}, {"keo nha cai", 2}, {"ca cuoc", 2}, {"ca do", 2}, {"ca do bong da", 1},
	{"tai xiu", 2}, {"no hu", 2}, {"ban ca", 1}, {"lo de", 2}, {"danh de", 2}, {"soi keo", 2}, {"ty le keo", 2},
	{"game bai", 2}, {"danh bai", 2}, {"xoc dia", 2}, {"quay hu", 2}, {"doi thuong", 2}, {"casino truc tuyen", 2},
	{"link vao", 1}, {"dang ky nhan", 1}, {"khuyen mai nap", 1},
	// English.
	{"casino", 2}, {"online casino", 2}, {"slot game", 2}, {"slot games", 2}, {"slot online", 2}, {"sportsbook", 2},
	{"betting", 2}, {"sports betting", 2}, {"baccarat", 2}, {"roulette", 1}, {"poker online", 2}, {"jackpot", 1},
	{"gacor", 2}, {"situs judi", 3}, {"judi online", 3}, {"togel", 2},
	// Brands.
	{"w88", 3}, {"fb88", 3}, {"789bet", 3}, {"kubet", 3}, {"ku casino", 3}, {"jun88", 3}, {"bet88", 3},
	{"sbobet", 3}, {"188bet", 3}, {"12bet", 3}, {"m88", 3}, {"v9bet", 3}, {"fun88", 3}, {"hi88", 3}, {"new88", 3},
	{"shbet", 3}, {"f8bet", 3}, {"8xbet", 3}, {"33win", 3}, {"mb66", 3}, {"debet", 3}, {"okvip", 3}, {"go88", 3},
	{"sunwin", 3}, {"hitclub", 3}, {"b52club", 3}, {"rikvip", 3}, {"typhu88", 3}, {"vn88", 3}, {"oxbet", 3},
	{"five88", 3}, {"888b", 3}, {"bk8", 3}, {"dafabet", 3}, {"letou", 3}, {"nhatvip", 3}, {"iwin club", 3},
	{"kingfun", 3}, {"win79", 3}, {"789club", 3}, {"bet365", 3}, {"1xbet", 3}, {"thabet", 3}, {"qh88", 3},
	{"s666", 3}, {"ae888", 3}, {"vin777", 3}, {"king88", 3}, {"sv88", 3}, {"hb88", 3}, {"ee88", 3}, {"789win", 3},
	{"nohu90", 3}, {"tk88", 3}, {"xoso66", 3}, {"ok365", 3}, {"j88", 3}, {"u888", 3},
}

// hostWords mark a link host as a gambling site ("nhacaiuytin.com",
// "fb88vn.net").
var hostWords = []string{"nhacai", "cacuoc", "casino", "taixiu", "nohu", "soikeo", "keonhacai", "gamebai",
	"slotgame", "sportsbook", "danhbai", "xocdia", "banca", "lode", "judi", "gacor"}

// Context multipliers: spam is hidden, linked out, or stuffed in the
// title; a visible mention in an article is normal news.
const (
	multVisible = 1
	multHidden  = 3
	multLink    = 3
	multMeta    = 3
	// GamblingThreshold is the suspicious score (hidden, external-link and
	// title/meta hits) at which a page is reported, with at least two
	// distinct terms. One hidden "nhà cái" (6) is not enough; a hidden
	// "nhà cái uy tín, cá cược bóng đá" (12) is.
	GamblingThreshold = 10
	// CloakThreshold is the total score a page must reach for a crawler
	// while scoring under a third of it for a browser.
	CloakThreshold = 10
)

// Hit is one term found in one context.
type Hit struct {
	Term    string
	Context string // "hidden", "link", "title", "meta", "visible"
	Count   int
	Score   int
}

// GamblingReport is the result of scanning one page.
type GamblingReport struct {
	Hits       []Hit
	Suspicious int // score from hidden, external-link, title and meta contexts
	Total      int // Suspicious plus visible text
	Terms      []string
	Elements   []string // hiding elements that held terms
	Links      []string // external link targets that carried terms
	Snippets   []string // texts that matched, for evidence
}

// Fires reports whether the page carries injected gambling spam.
func (g *GamblingReport) Fires() bool {
	return g.Suspicious >= GamblingThreshold && len(g.suspiciousTerms()) >= 2
}

func (g *GamblingReport) suspiciousTerms() map[string]bool {
	m := map[string]bool{}
	for _, h := range g.Hits {
		if h.Context != "visible" {
			m[h.Term] = true
		}
	}
	return m
}

// ScanGambling scores a parsed page for gambling spam.
func ScanGambling(d *Doc) *GamblingReport {
	g := &GamblingReport{}
	type key struct{ term, ctx string }
	counts := map[key]int{}
	elems, links, terms := map[string]bool{}, map[string]bool{}, map[string]bool{}
	var visibleSnippets []string
	termWords, termsByFirstWord := termIndex()
	add := func(folded, ctx, elem, link, raw string) {
		matched := false
		words := strings.Fields(folded)
		for i, w := range words {
			for _, ti := range termsByFirstWord[w] {
				tw := termWords[ti]
				if i+len(tw) > len(words) || !equalWords(words[i:i+len(tw)], tw) {
					continue
				}
				t := gamblingTerms[ti].text
				matched = true
				counts[key{t, ctx}]++
				terms[t] = true
			}
		}
		if !matched {
			return
		}
		if elem != "" && ctx == "hidden" {
			elems[elem] = true
		}
		if link != "" {
			links[link] = true
		}
		if ctx == "visible" {
			if len(visibleSnippets) < 10 {
				visibleSnippets = append(visibleSnippets, truncate(ctx+": "+raw, 200))
			}
		} else if len(g.Snippets) < 20 {
			g.Snippets = append(g.Snippets, truncate(ctx+": "+raw, 200))
		}
	}
	for _, s := range d.Segments {
		ctx := "visible"
		switch {
		case s.Where == "title":
			ctx = "title"
		case s.Where == "meta":
			ctx = "meta"
		case s.Hidden:
			ctx = "hidden"
		case s.External:
			ctx = "link"
		}
		link := ""
		if s.External {
			link = s.Href
		}
		elem := s.Element
		if s.Hidden && s.Why != "" {
			elem += " [" + s.Why + "]"
		}
		add(Fold(s.Text), ctx, elem, link, s.Text)
	}
	// Link targets on gambling hosts count even with innocent anchor text.
	for _, l := range d.Links {
		if !l.External || l.Host == "" {
			continue
		}
		if hit := GamblingHost(l.Host); hit != "" {
			counts[key{"host:" + hit, "link"}]++
			terms["host:"+hit] = true
			links[l.Href] = true
		}
	}
	weights := map[string]int{}
	for _, t := range gamblingTerms {
		weights[t.text] = t.weight
	}
	for k, n := range counts {
		w := weights[k.term]
		if strings.HasPrefix(k.term, "host:") {
			w = 2
		}
		n = min(n, 5)
		mult := map[string]int{"visible": multVisible, "hidden": multHidden, "link": multLink, "title": multMeta, "meta": multMeta}[k.ctx]
		h := Hit{Term: k.term, Context: k.ctx, Count: n, Score: w * mult * n}
		g.Hits = append(g.Hits, h)
		g.Total += h.Score
		if k.ctx != "visible" {
			g.Suspicious += h.Score
		}
	}
	sort.Slice(g.Hits, func(i, j int) bool {
		if g.Hits[i].Score != g.Hits[j].Score {
			return g.Hits[i].Score > g.Hits[j].Score
		}
		return g.Hits[i].Term+g.Hits[i].Context < g.Hits[j].Term+g.Hits[j].Context
	})
	g.Snippets = append(g.Snippets, visibleSnippets[:min(len(visibleSnippets), max(0, 20-len(g.Snippets)))]...)
	g.Terms = sortedSet(terms)
	g.Elements = sortedSet(elems)
	g.Links = sortedSet(links)
	return g
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Summary renders hits as "nha cai×3 (hidden), w88×2 (link)".
func (g *GamblingReport) Summary() string {
	parts := make([]string, 0, len(g.Hits))
	for _, h := range g.Hits[:min(len(g.Hits), 20)] {
		parts = append(parts, fmt.Sprintf("%s×%d (%s)", h.Term, h.Count, h.Context))
	}
	return strings.Join(parts, ", ")
}

// GamblingHost returns the gambling word or brand in a host name
// ("nhacaiuytin.com" gives "nhacai"), or "".
func GamblingHost(host string) string {
	h := strings.ReplaceAll(strings.ToLower(host), "-", "")
	for _, w := range hostWords {
		if strings.Contains(h, w) {
			return w
		}
	}
	for _, b := range brandsLongestFirst() {
		if strings.Contains(h, b) {
			return b
		}
	}
	return ""
}

// brandsLongestFirst are the one-word brands, longest first so that
// "new88" is not reported as "w88". Built on first use; read-only.
var brandsLongestFirst = sync.OnceValue(func() []string {
	var out []string
	for _, t := range gamblingTerms {
		if t.weight >= 3 && !strings.Contains(t.text, " ") {
			out = append(out, t.text)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
})

// termIndex gives termWords and termsByFirstWord, which index gamblingTerms
// for a one-pass scan over a text's words. Built on first use; read-only.
var termIndex = sync.OnceValues(func() (termWords [][]string, termsByFirstWord map[string][]int) {
	words := make([][]string, len(gamblingTerms))
	first := map[string][]int{}
	for i, t := range gamblingTerms {
		words[i] = strings.Fields(t.text)
		first[words[i][0]] = append(first[words[i][0]], i)
	}
	return words, first
})

func equalWords(a, b []string) bool {
	for i := range b {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
