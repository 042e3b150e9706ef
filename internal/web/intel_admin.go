package web

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// earlyWarningKinds are the finding kinds of the early warning, in the
// order the page shows them.
var earlyWarningKinds = []string{intel.FindingCompromisedHost, intel.FindingMaliciousContent, intel.FindingExposedService,
	intel.FindingBlocklisted, intel.FindingLeakedCredentials}

// maxWarningsCounted bounds the findings the summary reads.
const maxWarningsCounted = 10_000

type warningKind struct {
	Kind, Title string
	Count       int
}

type warningOrg struct {
	ID     int64
	Name   string
	Counts []int // by earlyWarningKinds
	Total  int
}

type warningsData struct {
	Kinds   []warningKind
	Orgs    []warningOrg
	Total   int
	Partial bool // more than maxWarningsCounted: the counts are a lower bound
	Rows    []findingRow
	List    string // the findings list of every active early warning
}

// intelWarnings summarizes the active early warnings of the user's
// subtree by kind and organization, with the latest ones.
func (s *Server) intelWarnings(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ctx := r.Context()
	d := warningsData{List: "/findings?" + url2("check", "intel.", "state", "active")}
	byOrg := map[int64]*warningOrg{}
	kindIndex := map[string]int{}
	for i, k := range earlyWarningKinds {
		kindIndex[k] = i
		d.Kinds = append(d.Kinds, warningKind{Kind: k, Title: s.checkTitle(c.lang, k)})
	}
	names := s.orgNames(ctx, c)
	pr := store.PageRequest{Limit: store.MaxLimit}
	var first []store.Finding
	for {
		page, err := s.Hub.EarlyWarnings(ctx, c.p(), 0, true, pr)
		if err != nil {
			return err
		}
		if first == nil {
			first = page.Items[:min(len(page.Items), findingsPerPage)]
		}
		for _, f := range page.Items {
			i, ok := kindIndex[f.Check]
			if !ok {
				continue
			}
			o := byOrg[f.OrgID]
			if o == nil {
				o = &warningOrg{ID: f.OrgID, Name: names(f.OrgID), Counts: make([]int, len(earlyWarningKinds))}
				byOrg[f.OrgID] = o
			}
			o.Counts[i]++
			o.Total++
			d.Kinds[i].Count++
			d.Total++
		}
		if page.Next == "" {
			break
		}
		if d.Total >= maxWarningsCounted {
			d.Partial = true
			break
		}
		pr.After = page.Next
	}
	for _, o := range byOrg {
		d.Orgs = append(d.Orgs, *o)
	}
	slices.SortFunc(d.Orgs, func(a, b warningOrg) int {
		if c := cmp.Compare(b.Total, a.Total); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	var err error
	if d.Rows, err = s.findingRows(r, c, first); err != nil {
		return err
	}
	return s.page(w, r, c, "intel_warnings", "intel.warnings", "intel", d)
}

// url2 encodes a query of two pairs.
func url2(k1, v1, k2, v2 string) string {
	return urlQueryEscape(k1) + "=" + urlQueryEscape(v1) + "&" + urlQueryEscape(k2) + "=" + urlQueryEscape(v2)
}

// needIntelAdmin refuses the national pages to everyone else (the store
// refuses them too; this gives the page's own answer first).
func needIntelAdmin(c *reqCtx) error {
	if !c.p().Can(auth.PermReviewIntel) {
		return errForbidden
	}
	return nil
}

type feedsData struct {
	Feeds  []store.Feed
	CanRun bool
}

// intelFeeds lists the feeds with their last run.
func (s *Server) intelFeeds(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := needIntelAdmin(c); err != nil {
		return err
	}
	fs, err := s.Hub.Feeds(r.Context(), c.p())
	if err != nil {
		return err
	}
	return s.page(w, r, c, "intel_feeds", "intel.feeds", "intel", feedsData{Feeds: fs, CanRun: true})
}

type feedData struct {
	Feed     store.Feed
	Feedback []store.Feedback
	Names    map[int64]string
	Next     string
	First    string
}

// intelFeed shows one feed: its last run with the rejected objects and
// their reasons, and the owners' feedback on its early warnings.
func (s *Server) intelFeed(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := needIntelAdmin(c); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	f, err := s.st.GetFeed(r.Context(), c.p(), id)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	fb, err := s.Hub.Feedback(r.Context(), c.p(), id, store.PageRequest{Limit: 50, After: q.Get("after")})
	if err != nil {
		return err
	}
	d := feedData{Feed: f, Feedback: fb.Items, Names: map[int64]string{}}
	names := s.orgNames(r.Context(), c)
	for _, x := range fb.Items {
		d.Names[x.OrgID] = names(x.OrgID)
	}
	d.Next, d.First = pageLinks(q, fb.Next)
	return s.page(w, r, c, "intel_feed", "intel.feed", "intel", d)
}

// maxFeedRun bounds a run started from the console.
const maxFeedRun = time.Hour

// intelFeedRun starts a configured feed now; its page shows the outcome
// when it ends.
func (s *Server) intelFeedRun(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := needIntelAdmin(c); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	f, err := s.st.GetFeed(r.Context(), c.p(), id)
	if err != nil {
		return err
	}
	if strings.TrimSpace(f.Location) == "" {
		return &uiError{status: http.StatusBadRequest, key: "intel.feed.nolocation"}
	}
	p := c.p()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), maxFeedRun)
	go func() {
		defer cancel()
		if _, err := s.Hub.RunFeed(ctx, p, f.Name); err != nil {
			s.log.Warn("web: feed run", "feed", f.Name, "by", p.Name, "err", err)
		}
	}()
	return redirect(w, r, "/intel/feeds/"+strconv.FormatInt(id, 10), "flash.feedrun")
}
