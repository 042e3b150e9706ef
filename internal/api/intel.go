package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/hub"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intelweb"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/taxii"
)

// The threat-intelligence hub's part of the API: the push API for
// members and partner CERTs (indicators and sightings), indicators,
// feeds, the review queue, blocklist consumers and the STIX export of an
// organization's findings; and beside /api/v1, the TAXII 2.1 server at
// /taxii2/ and the blocklists at /blocklists/.

// intelRoutes are the hub's routes of the table.
func (s *Server) intelRoutes() []route {
	indicatorParams := append([]param{
		{"kind", "string", "ipv4, ipv6, cidr, domain, url, email, md5, sha1, sha256 or asn"},
		{"category", "string", "compromised, c2, malware, phishing, scanner, spam, exposed, blocklist or leak"},
		{"feed", "string", "with a source of this feed"}, {"label", "string", "carrying this label (malware:emotet)"},
		{"q", "string", "substring of the value"}, {"min_confidence", "integer", "confidence at least this (0-100)"},
		{"tlp", "string", "marked at most this: CLEAR, GREEN, AMBER, AMBER+STRICT or RED (you see what TLP allows you)"},
		{"active", "boolean", "still valid (no valid-until, or a later one)"},
		{"newest", "boolean", "most recently changed first (default: in change order)"}}, pageParams...)
	return []route{
		{method: "POST", path: "/api/v1/intel/indicators", op: "pushIndicators", tag: "intel",
			summary: "Submit indicators (feeds:write): a JSON array of records, or a STIX 2.1 bundle with Content-Type application/stix+json; each record or STIX object refused is listed with its reason and nothing of it is applied; the rest is matched against the registry (early warnings) and merged into the hub. 422 when every record is refused",
			query: []param{{"feed", "string", "the feed to file them under (national level only; others submit as push:<organization code>)"},
				{"tlp", "string", "the marking of STIX indicators that carry none (default AMBER)"}},
			body: []pushRecord{}, resp: pushResult{}, status: 200, h: s.pushIndicators},
		{method: "POST", path: "/api/v1/intel/sightings", op: "pushSightings", tag: "intel",
			summary: "Report seeing indicators the hub holds (by kind and value), for your organization or one below it; each refused item is listed with its reason, 422 when none is recorded",
			body:    []sightingRequest{}, resp: sightingResult{}, status: 200, h: s.pushSightings},
		{method: "GET", path: "/api/v1/intel/indicators", op: "listIndicators", tag: "intel",
			summary: "Search the indicators you may see (members: TLP CLEAR and GREEN; the national level: all)",
			query:   indicatorParams, resp: store.Page[store.StoredIndicator]{}, status: 200, h: s.listIndicators},
		{method: "GET", path: "/api/v1/intel/indicators/{id}", op: "getIndicator", tag: "intel",
			summary: "An indicator with its sources, the sightings of your subtree and its review", resp: hub.IndicatorDetail{}, status: 200, h: s.getIndicator},
		{method: "GET", path: "/api/v1/intel/early-warnings", op: "listEarlyWarnings", tag: "intel",
			summary: "Early warnings (intel.* findings) of an organization's subtree",
			query: append([]param{{"org_id", "integer", "this organization's subtree (default: everything you see)"},
				{"active", "boolean", "open, acknowledged or reopened only"}}, pageParams...),
			resp: findingPage{}, status: 200, h: s.listEarlyWarnings},
		{method: "GET", path: "/api/v1/intel/feeds", op: "listFeeds", tag: "intel",
			summary: "The hub's feeds with their last run: counts, errors, rejected objects with reasons (national level)", resp: feedList{}, status: 200, h: s.listFeeds},
		{method: "GET", path: "/api/v1/intel/feeds/{id}", op: "getFeed", tag: "intel",
			summary: "One feed and its last run", resp: store.Feed{}, status: 200, h: s.getFeed},
		{method: "POST", path: "/api/v1/intel/feeds/{id}/run", op: "runFeed", tag: "intel",
			summary: "Run a configured feed now (intel:review); its page shows the outcome", resp: feedRunStarted{}, status: 202, h: s.runFeed},
		{method: "GET", path: "/api/v1/intel/feeds/{id}/feedback", op: "listFeedFeedback", tag: "intel", query: pageParams,
			summary: "Owners' disputes of a feed's early warnings", resp: store.Page[store.Feedback]{}, status: 200, h: s.listFeedFeedback},
		{method: "GET", path: "/api/v1/intel/reviews", op: "listReviews", tag: "intel",
			summary: "Indicators the blocklist guard holds back, with the reason (national level)",
			query:   append([]param{{"state", "string", "pending (default), approved, rejected or all"}}, pageParams...),
			resp:    store.Page[store.Review]{}, status: 200, h: s.listReviews},
		{method: "POST", path: "/api/v1/intel/reviews/{id}/decide", op: "decideReview", tag: "intel",
			summary: "Approve (the indicator may be enforced) or reject (it stays out of every blocklist) a held indicator, with a note",
			body:    reviewDecision{}, resp: store.Review{}, status: 200, h: s.decideReview},
		{method: "GET", path: "/api/v1/intel/consumers", op: "listConsumers", tag: "intel",
			summary: "Blocklist consumers (keys never shown)", resp: consumerList{}, status: 200, h: s.listConsumers},
		{method: "POST", path: "/api/v1/intel/consumers", op: "createConsumer", tag: "intel",
			summary: "Add a blocklist consumer; its key is in the response only (the hub keeps its hash)",
			body:    consumerRequest{}, resp: consumerCreated{}, status: 201, h: s.createConsumer},
		{method: "GET", path: "/api/v1/intel/consumers/{id}", op: "getConsumer", tag: "intel",
			summary: "A blocklist consumer", resp: store.Consumer{}, status: 200, h: s.getConsumer},
		{method: "PATCH", path: "/api/v1/intel/consumers/{id}", op: "updateConsumer", tag: "intel",
			summary: "Change a consumer's name, organization, filters and formats (its key stays)",
			body:    consumerRequest{}, resp: store.Consumer{}, status: 200, h: s.updateConsumer},
		{method: "POST", path: "/api/v1/intel/consumers/{id}/rotate", op: "rotateConsumerKey", tag: "intel",
			summary: "Give a consumer a new key (in the response only); the old one stops working", resp: consumerCreated{}, status: 200, h: s.rotateConsumer},
		{method: "DELETE", path: "/api/v1/intel/consumers/{id}", op: "deleteConsumer", tag: "intel",
			summary: "Remove a blocklist consumer", status: 204, h: s.deleteConsumer},
		{method: "GET", path: "/api/v1/findings/export.stix", op: "exportFindingsSTIX", tag: "findings",
			summary: "An organization's own findings as a STIX 2.1 bundle for its SIEM (same filters as the list; org_id defaults to yours)",
			query:   append([]param{}, findingParams...), respCT: "application/stix+json", status: 200, h: s.exportFindingsSTIX},
	}
}

// intelDefaults fills the hub's dependencies New was not given, and
// mounts the TAXII server and the blocklists.
func (s *Server) intelDefaults() {
	if s.Hub == nil {
		s.Hub = hub.New(hub.Deps{Store: s.Store, Findings: s.Findings, Now: s.Now, Logger: s.log})
	}
	if s.Blocklists == nil {
		s.Blocklists = intelweb.NewBlocklists(s.Store, intelweb.BlocklistOptions{Now: s.Now, Logger: s.log})
	}
	tx := &taxii.Server{Backend: intelweb.NewTAXII(s.Store), Authenticate: intelweb.Authenticator(s.Store),
		BaseURL: s.PublicURL, Contact: s.ScannerInfo.Contact, Logger: s.log}
	s.mux.Handle("/taxii2/", s.counted("/taxii2/", tx))
	s.mux.Handle("/taxii2", http.RedirectHandler("/taxii2/", http.StatusMovedPermanently))
	s.mux.Handle("/blocklists/", s.counted("/blocklists/", http.StripPrefix("/blocklists", s.Blocklists.Handler())))
}

// counted adds the request metrics to a handler mounted beside the route
// table.
func (s *Server) counted(label string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: 200}
		h.ServeHTTP(sw, r)
		s.requests.WithLabelValues(label, r.Method, strconv.Itoa(sw.status)).Inc()
		s.duration.WithLabelValues(label).Observe(time.Since(start).Seconds())
	})
}

func (s *Server) listIndicators(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.IndicatorFilter{PageRequest: pr, Kind: intel.Kind(q.Get("kind")), Category: intel.Category(q.Get("category")),
		Feed: q.Get("feed"), Label: q.Get("label"), Query: q.Get("q"), Now: s.Now(), Sources: true}
	if f.Kind != "" && !f.Kind.Valid() {
		return errf(CodeBadRequest, "unknown kind "+strconv.Quote(string(f.Kind)))
	}
	if v := q.Get("tlp"); v != "" {
		t, err := intel.ParseTLP(v)
		if err != nil {
			return errf(CodeBadRequest, err.Error())
		}
		f.MaxTLP = t
	}
	n, err := queryInt(r, "min_confidence")
	if err != nil {
		return err
	}
	f.MinConfidence = int(min(n, 100))
	if f.Active, err = queryBool(r, "active"); err != nil {
		return err
	}
	if f.Newest, err = queryBool(r, "newest"); err != nil {
		return err
	}
	own, err := intelweb.PushFeed(r.Context(), s.Store, p)
	if err != nil {
		return err
	}
	page := store.Page[store.StoredIndicator]{Items: []store.StoredIndicator{}}
	if !intelweb.HidesFeed(p, own, f.Feed) {
		if page, err = s.Hub.Indicators(r.Context(), p, f); err != nil {
			return err
		}
	}
	if page.Items == nil {
		page.Items = []store.StoredIndicator{}
	}
	for i := range page.Items {
		intelweb.HideSubmitters(p, own, page.Items[i].Sources)
	}
	writeJSON(w, 200, page)
	return nil
}

func (s *Server) getIndicator(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return getByID(w, r, func(ctx context.Context, id int64) (hub.IndicatorDetail, error) {
		d, err := s.Hub.Indicator(ctx, p, id)
		if err != nil {
			return d, err
		}
		own, err := intelweb.PushFeed(ctx, s.Store, p)
		if err != nil {
			return d, err
		}
		intelweb.HideSubmitters(p, own, d.Sources)
		return d, nil
	})
}

func (s *Server) listEarlyWarnings(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	orgID, err := queryInt(r, "org_id")
	if err != nil {
		return err
	}
	active, err := queryBool(r, "active")
	if err != nil {
		return err
	}
	page, err := s.Hub.EarlyWarnings(r.Context(), p, orgID, active, pr)
	if err != nil {
		return err
	}
	if page.Items == nil {
		page.Items = []store.Finding{}
	}
	writeJSON(w, 200, page)
	return nil
}

// pushFeed is the feed a principal's submissions are filed under
// (intelweb.PushFeed); the national level may name another.
func (s *Server) pushFeed(ctx context.Context, p auth.Principal, asked string) (string, error) {
	asked = strings.TrimSpace(asked)
	if asked != "" {
		if !p.SeesAll() {
			return "", errf(CodeForbidden, "only the national level names the feed of a submission; yours is filed under your organization")
		}
		if len(asked) > 200 {
			return "", errf(CodeBadRequest, "feed name longer than 200 bytes")
		}
		return asked, nil
	}
	return intelweb.PushFeed(ctx, s.Store, p)
}
