package web

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/hub"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/stix"
	"github.com/rampart-cert/rampart/internal/intelweb"
	"github.com/rampart-cert/rampart/internal/store"
)

// The threat-intelligence pages: indicators (search, sources, sightings),
// early warnings per organization, and for the national level the feeds,
// the review queue and the blocklist consumers. Every read goes through
// the hub with the session's principal: members see the markings and the
// sightings their subtree may see, the store decides.

func (s *Server) intelRoutes(m *http.ServeMux) {
	m.Handle("GET /intel", s.authed(s.intelIndicators))
	m.Handle("GET /intel/indicators/new", s.authed(s.intelIndicatorNewForm))
	m.Handle("POST /intel/indicators/new", s.authed(s.intelIndicatorCreate))
	m.Handle("GET /intel/indicators/{id}", s.authed(s.intelIndicator))
	m.Handle("GET /intel/warnings", s.authed(s.intelWarnings))
	m.Handle("GET /intel/feeds", s.authed(s.intelFeeds))
	m.Handle("GET /intel/feeds/new", s.authed(s.intelFeedNewForm))
	m.Handle("POST /intel/feeds/new", s.authed(s.intelFeedCreate))
	m.Handle("GET /intel/feeds/{id}", s.authed(s.intelFeed))
	m.Handle("GET /intel/feeds/{id}/edit", s.authed(s.intelFeedEditForm))
	m.Handle("POST /intel/feeds/{id}/edit", s.authed(s.intelFeedUpdate))
	m.Handle("POST /intel/feeds/{id}/run", s.authed(s.intelFeedRun))
	m.Handle("GET /intel/reviews", s.authed(s.intelReviews))
	m.Handle("POST /intel/reviews/{id}", s.authed(s.intelReviewDecide))
	m.Handle("GET /intel/consumers", s.authed(s.intelConsumers))
	m.Handle("POST /intel/consumers", s.authed(s.intelConsumerCreate))
	m.Handle("POST /intel/consumers/{id}/rotate", s.authed(s.intelConsumerRotate))
	m.Handle("POST /intel/consumers/{id}/enabled", s.authed(s.intelConsumerEnable))
	m.Handle("POST /intel/consumers/{id}/delete", s.authed(s.intelConsumerDelete))
}

// intelDefaults makes the hub and the blocklists New was not given.
func (s *Server) intelDefaults() {
	if s.Hub == nil {
		s.Hub = hub.New(hub.Deps{Store: s.Store, Findings: s.Findings, Now: s.Now, Logger: s.log})
	}
	if s.Blocklists == nil {
		s.Blocklists = intelweb.NewBlocklists(s.Store, intelweb.BlocklistOptions{Now: s.Now, Logger: s.log})
	}
}

// IntelNav is the argument of the "intelnav" partial: the hub's pages,
// the national ones for those who administer the hub.
func (v *view) IntelNav(cur string) map[string]any {
	return map[string]any{"L": v.Lang, "Cur": cur, "Admin": v.Can(string(auth.PermReviewIntel))}
}

// TLPClass is the CSS class of a marking's badge.
func (v *view) TLPClass(t intel.TLP) string {
	return "tlp-" + strings.ToLower(strings.ReplaceAll(string(t), "+", "-"))
}

// Interval is a feed's interval, short: "1h", "15m", "1h30m".
func (v *view) Interval(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// IntelKind and IntelCat name an indicator's kind and category.
func (l *Lang) IntelKind(v any) string { return l.T("intel.kind." + fmt.Sprint(v)) }
func (l *Lang) IntelCat(v any) string  { return l.T("intel.cat." + fmt.Sprint(v)) }

// indicatorsPerPage is one page of the indicators list.
const indicatorsPerPage = 50

type indicatorFilter struct {
	Q, Kind, Category, Feed, TLP, Label string
	Active                              bool
}

type indicatorsData struct {
	F           indicatorFilter
	Rows        []store.StoredIndicator
	Kinds       []intel.Kind
	Categories  []intel.Category
	TLPs        []intel.TLP
	SeesAll     bool
	CanSubmit   bool // may submit indicators (the push API's right)
	Next, First string
}

// intelIndicators searches the indicators the user may see, most
// recently changed first.
func (s *Server) intelIndicators(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query()
	ff := indicatorFilter{Q: strings.TrimSpace(q.Get("q")), Kind: q.Get("kind"), Category: q.Get("category"), Feed: strings.TrimSpace(q.Get("feed")),
		TLP: q.Get("tlp"), Label: strings.TrimSpace(q.Get("label")), Active: q.Get("active") == "1"}
	f := store.IndicatorFilter{PageRequest: store.PageRequest{Limit: indicatorsPerPage, After: q.Get("after")}, Kind: intel.Kind(ff.Kind),
		Category: intel.Category(ff.Category), Feed: ff.Feed, Label: ff.Label, Query: ff.Q, Active: ff.Active, Now: c.now, Newest: true, Sources: true}
	if f.Kind != "" && !f.Kind.Valid() {
		return &uiError{status: http.StatusBadRequest, key: "error.invalid"}
	}
	if ff.TLP != "" {
		t, err := intel.ParseTLP(ff.TLP)
		if err != nil {
			return &uiError{status: http.StatusBadRequest, key: "error.invalid", cause: err}
		}
		f.MaxTLP = t
	}
	own, err := intelweb.PushFeed(r.Context(), s.st, c.p())
	if err != nil {
		return err
	}
	var page store.Page[store.StoredIndicator]
	if !intelweb.HidesFeed(c.p(), own, f.Feed) {
		if page, err = s.Hub.Indicators(r.Context(), c.p(), f); err != nil {
			return err
		}
	}
	for i := range page.Items {
		intelweb.HideSubmitters(c.p(), own, page.Items[i].Sources)
	}
	d := indicatorsData{F: ff, Rows: page.Items, Kinds: intel.Kinds, Categories: intel.Categories, TLPs: intel.TLPs, SeesAll: c.p().SeesAll(),
		CanSubmit: c.p().Can(auth.PermWriteFeeds)}
	d.Next, d.First = pageLinks(q, page.Next)
	return s.page(w, r, c, "intel", "intel.title", "intel", d)
}

// pageLinks are the queries of the next and the first page.
func pageLinks(q url.Values, next string) (string, string) {
	var n, f string
	if next != "" {
		nq := cloneValues(q)
		nq.Set("after", next)
		nq.Del("ok")
		n = nq.Encode()
	}
	if q.Get("after") != "" {
		fq := cloneValues(q)
		fq.Del("after")
		fq.Del("ok")
		f = fq.Encode()
	}
	return n, f
}

type sightingRow struct {
	store.Sighting
	OrgName string
}

type indicatorData struct {
	In        hub.IndicatorDetail
	STIXID    string
	Sightings []sightingRow
	Review    *reviewRow
	// Recipients name whom a TLP:RED indicator is for: organizations and
	// people as the user sees them (a number when not).
	Recipients []string
}

// intelIndicator shows one indicator: its sources, the sightings of the
// user's subtree and, for the national level, its review.
func (s *Server) intelIndicator(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	in, err := s.Hub.Indicator(r.Context(), c.p(), id)
	if err != nil {
		return err
	}
	own, err := intelweb.PushFeed(r.Context(), s.st, c.p())
	if err != nil {
		return err
	}
	intelweb.HideSubmitters(c.p(), own, in.Sources)
	d := indicatorData{In: in, STIXID: stix.IndicatorID(in.Kind, in.Value)}
	names := s.orgNames(r.Context(), c)
	for _, sg := range in.SightingList {
		d.Sightings = append(d.Sightings, sightingRow{Sighting: sg, OrgName: names(sg.OrgID)})
	}
	for _, id := range in.Recipients.Orgs {
		d.Recipients = append(d.Recipients, cmp.Or(names(id), "#"+strconv.FormatInt(id, 10)))
	}
	for _, id := range in.Recipients.Users {
		n := "#" + strconv.FormatInt(id, 10)
		if u, err := s.st.GetUser(r.Context(), c.p(), id); err == nil {
			n = u.Name
		}
		d.Recipients = append(d.Recipients, n)
	}
	if in.Review != nil {
		rr, err := s.reviewRow(r.Context(), c, *in.Review)
		if err != nil {
			return err
		}
		d.Review = &rr
	}
	return s.page(w, r, c, "intel_indicator", "intel.indicator", "intel", d)
}

// orgNames names organizations as the user sees them, once each; one
// outside the user's view has no name.
func (s *Server) orgNames(ctx context.Context, c *reqCtx) func(int64) string {
	cache := map[int64]string{}
	return func(id int64) string {
		if id == 0 {
			return ""
		}
		if n, ok := cache[id]; ok {
			return n
		}
		n := ""
		if o, err := s.st.GetOrg(ctx, c.p(), id); err == nil {
			n = c.lang.OrgName(o)
		}
		cache[id] = n
		return n
	}
}

// formInt reads an optional integer form field.
func formInt(r *http.Request, name string) (int, bool) {
	v := strings.TrimSpace(r.PostFormValue(name))
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}
