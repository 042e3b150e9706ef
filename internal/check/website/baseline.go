package website

import (
	"context"
	"hash/fnv"
	"math/bits"
	"sort"
	"strings"
	"sync"
	"time"
)

// ExtraKey is the check.Env.Extra key of the Baselines the defacement
// check uses; without it the check keeps baselines in memory for the
// life of the process.
const ExtraKey = "web.baselines"

// Baseline is the normalized fingerprint of a page at a time its owner
// considers good.
type Baseline struct {
	URL     string    `json:"url"`
	Title   string    `json:"title"`   // folded title
	SimHash uint64    `json:"simhash"` // of the visible text's 3-word shingles
	Size    int       `json:"size"`    // bytes of visible text
	Links   []string  `json:"links"`   // up to 64 link targets, sorted
	Markers []string  `json:"markers"` // defacement markers present then (a news story about hacking)
	TakenAt time.Time `json:"taken_at"`
}

// Baselines stores page baselines by key. Implementations must be safe
// for concurrent use. Get reports found=false, with no error, for an
// unknown key; Put replaces what was there.
type Baselines interface {
	Get(ctx context.Context, key string) (Baseline, bool, error)
	Put(ctx context.Context, key string, b Baseline) error
}

// MemoryBaselines is an in-memory Baselines.
type MemoryBaselines struct {
	mu sync.RWMutex
	m  map[string]Baseline
}

var _ Baselines = (*MemoryBaselines)(nil)

// NewMemoryBaselines returns an empty store.
func NewMemoryBaselines() *MemoryBaselines { return &MemoryBaselines{m: map[string]Baseline{}} }

// Get returns the baseline for key.
func (s *MemoryBaselines) Get(_ context.Context, key string) (Baseline, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.m[key]
	b.Links = append([]string(nil), b.Links...)
	b.Markers = append([]string(nil), b.Markers...)
	return b, ok, nil
}

// Put stores b under key.
func (s *MemoryBaselines) Put(_ context.Context, key string, b Baseline) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b.Links = append([]string(nil), b.Links...)
	b.Markers = append([]string(nil), b.Markers...)
	s.m[key] = b
	return nil
}

// Caps that keep a baseline small (under 140 KiB of JSON with 64 links).
const (
	maxLinkLen  = 2048
	maxTitleLen = 1024
)

// Fingerprint makes the baseline of a parsed page.
func Fingerprint(pageURL string, d *Doc, now time.Time) Baseline {
	links := map[string]bool{}
	for _, l := range d.Links {
		if len(links) >= 64 {
			break
		}
		// Over-long targets (data: URIs, tracking junk) are left out so a
		// baseline stays small enough for the platform's store.
		if h := strings.TrimSpace(l.Href); h != "" && len(h) <= maxLinkLen && !strings.HasPrefix(h, "#") && !l.Hidden {
			links[h] = true
		}
	}
	ls := make([]string, 0, len(links))
	for l := range links {
		ls = append(ls, l)
	}
	sort.Strings(ls)
	text := Fold(d.Visible + " " + strings.Join(d.Headings, " "))
	ms := markersIn(" " + Fold(d.Title) + " " + text + " ")
	return Baseline{URL: pageURL, Title: truncate(Fold(d.Title), maxTitleLen), SimHash: SimHash(text), Size: len(d.Visible), Links: ls, Markers: ms, TakenAt: now}
}

// SimHash returns the 64-bit simhash of folded text over 3-word shingles
// (single words when the text is shorter).
func SimHash(folded string) uint64 {
	words := strings.Fields(folded)
	if len(words) > 50000 {
		words = words[:50000]
	}
	var v [64]int
	add := func(s string) {
		h := fnv.New64a()
		h.Write([]byte(s))
		x := h.Sum64()
		for i := range 64 {
			if x&(1<<i) != 0 {
				v[i]++
			} else {
				v[i]--
			}
		}
	}
	if len(words) < 3 {
		for _, w := range words {
			add(w)
		}
	} else {
		for i := 0; i+3 <= len(words); i++ {
			add(words[i] + " " + words[i+1] + " " + words[i+2])
		}
	}
	var out uint64
	for i := range 64 {
		if v[i] > 0 {
			out |= 1 << i
		}
	}
	return out
}

// Change says how far a page moved from its baseline.
type Change struct {
	Distance   int     // simhash bits that differ, 0..64
	TitleMoved bool    //
	SizeRatio  float64 // new size / old size
	LinkJacc   float64 // Jaccard similarity of the link sets, 1 when either is tiny
}

// Changed reports whether the change is more than a content update could
// explain: text fingerprint over 12 bits away, a new title, the text
// shrunk or grown fourfold, or under a third of the links in common.
func (c Change) Changed() bool {
	return c.Distance > 12 || c.TitleMoved || c.SizeRatio < 0.25 || c.SizeRatio > 4 || c.LinkJacc < 0.34
}

// Compare measures the change from old to cur.
func Compare(old, cur Baseline) Change {
	c := Change{Distance: bits.OnesCount64(old.SimHash ^ cur.SimHash), TitleMoved: old.Title != cur.Title, LinkJacc: 1}
	switch {
	case old.Size == 0 && cur.Size == 0:
		c.SizeRatio = 1
	case old.Size == 0:
		c.SizeRatio = 100
	default:
		c.SizeRatio = float64(cur.Size) / float64(old.Size)
	}
	if len(old.Links) >= 4 && len(cur.Links) >= 4 {
		in := map[string]bool{}
		for _, l := range old.Links {
			in[l] = true
		}
		both := 0
		for _, l := range cur.Links {
			if in[l] {
				both++
			}
		}
		c.LinkJacc = float64(both) / float64(len(old.Links)+len(cur.Links)-both)
	}
	return c
}
