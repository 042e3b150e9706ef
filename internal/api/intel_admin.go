package api

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/stixexport"
	"github.com/rampart-cert/rampart/internal/store"
)

type feedList struct {
	Items []store.Feed `json:"items"`
}

type feedRunStarted struct {
	Feed    string    `json:"feed"`
	Started time.Time `json:"started"`
}

func (s *Server) listFeeds(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	fs, err := s.Hub.Feeds(r.Context(), p)
	if err != nil {
		return err
	}
	if fs == nil {
		fs = []store.Feed{}
	}
	writeJSON(w, 200, feedList{Items: fs})
	return nil
}

func (s *Server) getFeed(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return getByID(w, r, func(ctx context.Context, id int64) (store.Feed, error) { return s.Store.GetFeed(ctx, p, id) })
}

// maxFeedRun bounds a run started from the API; the feed's page shows how
// it ended.
const maxFeedRun = time.Hour

// runFeed starts a configured feed now and answers at once: a feed may
// take minutes, longer than a request should wait.
func (s *Server) runFeed(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Can(auth.PermReviewIntel) {
		return errf(CodeForbidden, "running a feed needs "+string(auth.PermReviewIntel))
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	f, err := s.Store.GetFeed(r.Context(), p, id)
	if err != nil {
		return err
	}
	if strings.TrimSpace(f.Location) == "" {
		return errf(CodeInvalid, "feed "+f.Name+" has no location to run from (import into it instead)")
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), maxFeedRun)
	go func() {
		defer cancel()
		if _, err := s.Hub.RunFeed(ctx, p, f.Name); err != nil {
			s.log.Warn("api: feed run", "feed", f.Name, "by", p.Name, "err", err)
		}
	}()
	writeJSON(w, http.StatusAccepted, feedRunStarted{Feed: f.Name, Started: s.Now().UTC()})
	return nil
}

func (s *Server) listFeedFeedback(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	page, err := s.Hub.Feedback(r.Context(), p, id, pr)
	if err != nil {
		return err
	}
	if page.Items == nil {
		page.Items = []store.Feedback{}
	}
	writeJSON(w, 200, page)
	return nil
}

func (s *Server) listReviews(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	f := store.ReviewFilter{PageRequest: pr, State: store.ReviewPending}
	switch v := r.URL.Query().Get("state"); v {
	case "", "pending":
	case "all":
		f.State = ""
	case string(store.ReviewApproved), string(store.ReviewRejected):
		f.State = store.ReviewState(v)
	default:
		return errf(CodeBadRequest, "state must be pending, approved, rejected or all")
	}
	page, err := s.Hub.Reviews(r.Context(), p, f)
	if err != nil {
		return err
	}
	if page.Items == nil {
		page.Items = []store.Review{}
	}
	writeJSON(w, 200, page)
	return nil
}

// reviewDecision approves or rejects a held indicator.
type reviewDecision struct {
	Approve bool   `json:"approve"`
	Note    string `json:"note,omitempty"`
}

func (s *Server) decideReview(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req reviewDecision
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if len(req.Note) > 2000 {
		return errf(CodeInvalid, "note longer than 2000 bytes")
	}
	rv, err := s.Hub.DecideReview(r.Context(), p, id, req.Approve, strings.TrimSpace(req.Note))
	if err != nil {
		return err
	}
	s.Blocklists.Invalidate()
	writeJSON(w, 200, rv)
	return nil
}

type consumerList struct {
	Items []store.Consumer `json:"items"`
}

// consumerRequest creates a consumer or changes the fields it names.
type consumerRequest struct {
	Name          *string      `json:"name,omitempty"`
	OrgID         *int64       `json:"org_id,omitempty"` // the member it serves (0: the national level's own)
	Kinds         []intel.Kind `json:"kinds,omitempty"`  // none: every kind the format holds
	MinConfidence *int         `json:"min_confidence,omitempty"`
	MaxTLP        *intel.TLP   `json:"max_tlp,omitempty"`      // default CLEAR; a member's consumer gets at most AMBER
	MaxAgeDays    *int         `json:"max_age_days,omitempty"` // last seen within; 0: any
	Formats       []string     `json:"formats,omitempty"`      // plain, csv, nft, ipset, mikrotik, rpz; none: all
	Enabled       *bool        `json:"enabled,omitempty"`
}

// consumerCreated carries a consumer's key, shown this once.
type consumerCreated struct {
	Consumer store.Consumer `json:"consumer"`
	Key      string         `json:"key"`
	// Pull says where the lists are: /blocklists/{format} with the key
	// in X-Api-Key, or /blocklists/{key}/{format}.
	Pull string `json:"pull"`
}

// apply sets c's fields from req, checking each.
func (req *consumerRequest) apply(c *store.Consumer) error {
	if req.Name != nil {
		c.Name = strings.TrimSpace(*req.Name)
	}
	if c.Name == "" || len(c.Name) > 200 {
		return errf(CodeInvalid, "name: 1 to 200 characters")
	}
	if req.OrgID != nil {
		c.OrgID = *req.OrgID
	}
	if req.Kinds != nil {
		for _, k := range req.Kinds {
			if !k.Valid() {
				return errf(CodeInvalid, "kinds: unknown kind "+string(k))
			}
		}
		c.Kinds = slices.Clone(req.Kinds)
	}
	if req.MinConfidence != nil {
		if *req.MinConfidence < 0 || *req.MinConfidence > 100 {
			return errf(CodeInvalid, "min_confidence: 0 to 100")
		}
		c.MinConfidence = *req.MinConfidence
	}
	if req.MaxTLP != nil {
		t, err := intel.ParseTLP(string(*req.MaxTLP))
		if err != nil {
			return errf(CodeInvalid, "max_tlp: "+err.Error())
		}
		c.MaxTLP = t
	}
	if c.MaxTLP == "" {
		c.MaxTLP = intel.TLPClear
	}
	if req.MaxAgeDays != nil {
		if *req.MaxAgeDays < 0 || *req.MaxAgeDays > 3650 {
			return errf(CodeInvalid, "max_age_days: 0 to 3650")
		}
		c.MaxAge = time.Duration(*req.MaxAgeDays) * 24 * time.Hour
	}
	if req.Formats != nil {
		c.Formats = nil
		for _, f := range req.Formats {
			bf, err := blocklist.ParseFormat(f)
			if err != nil {
				return errf(CodeInvalid, "formats: "+err.Error())
			}
			c.Formats = append(c.Formats, string(bf))
		}
	}
	if req.Enabled != nil {
		c.Enabled = *req.Enabled
	}
	return nil
}

func (s *Server) listConsumers(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	cs, err := s.Hub.Consumers(r.Context(), p)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []store.Consumer{}
	}
	writeJSON(w, 200, consumerList{Items: cs})
	return nil
}

func (s *Server) createConsumer(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req consumerRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c := store.Consumer{Enabled: true}
	if err := req.apply(&c); err != nil {
		return err
	}
	key, err := s.Hub.CreateConsumer(r.Context(), p, &c)
	if err != nil {
		return err
	}
	writeJSON(w, 201, consumerCreated{Consumer: c, Key: key, Pull: pullHint})
	return nil
}

const pullHint = "GET /blocklists/{format} with the key in X-Api-Key, or GET /blocklists/{key}/{format}; formats: plain, csv, nft, ipset, mikrotik, rpz"

func (s *Server) getConsumer(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return getByID(w, r, func(ctx context.Context, id int64) (store.Consumer, error) { return s.Store.GetConsumer(ctx, p, id) })
}

func (s *Server) updateConsumer(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req consumerRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c, err := s.Store.GetConsumer(r.Context(), p, id)
	if err != nil {
		return err
	}
	if err := req.apply(&c); err != nil {
		return err
	}
	if err := s.Hub.UpdateConsumer(r.Context(), p, &c); err != nil {
		return err
	}
	writeJSON(w, 200, c)
	return nil
}

func (s *Server) rotateConsumer(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	key, err := s.Hub.RotateConsumerKey(r.Context(), p, id)
	if err != nil {
		return err
	}
	c, err := s.Store.GetConsumer(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, 200, consumerCreated{Consumer: c, Key: key, Pull: pullHint})
	return nil
}

func (s *Server) deleteConsumer(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Hub.DeleteConsumer(r.Context(), p, id); err != nil {
		return err
	}
	return noContent(w)
}

// exportFindingsSTIX writes one organization's findings (its subtree, as
// the caller sees it) as a STIX 2.1 bundle.
func (s *Server) exportFindingsSTIX(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f, err := s.findingFilter(r)
	if err != nil {
		return err
	}
	if f.OrgID == 0 {
		f.OrgID = p.OrgID
	}
	if f.OrgID == 0 {
		return errf(CodeBadRequest, "org_id: the export is of one organization's findings")
	}
	o, err := s.Store.GetOrg(r.Context(), p, f.OrgID)
	if err != nil {
		return err
	}
	f.Limit = store.MaxLimit
	var all []store.Finding
	for {
		page, err := s.Store.ListFindings(r.Context(), p, f)
		if err != nil {
			return err
		}
		all = append(all, page.Items...)
		if page.Next == "" || len(all) >= maxExport {
			break
		}
		f.After = page.Next
	}
	name := o.NameEN
	if name == "" {
		name = o.Name
	}
	var buf bytes.Buffer
	if err := stixexport.Write(&buf, all, stixexport.Options{Producer: s.ScannerInfo.Operator, Organization: name,
		ConsoleURL: strings.TrimSuffix(s.PublicURL, "/"), Now: s.Now()}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/stix+json;version=2.1")
	w.Header().Set("Content-Disposition", `attachment; filename="findings-`+safeFileName(o.Code)+`.stix.json"`)
	_, err = buf.WriteTo(w)
	return err
}

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
