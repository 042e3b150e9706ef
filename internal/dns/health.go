package dns

import (
	"encoding/json"
	"net/http"
	"time"
)

// Health is the body of /healthz.
type Health struct {
	// Status is "ok", "degraded" (serving, but the feed is lost or behind,
	// or no policy is loaded) or "failing" (no upstream answers: 503).
	Status         string           `json:"status"`
	PolicyVersion  int64            `json:"policy_version"`
	PolicyNames    int              `json:"policy_names"`
	PolicyAllowed  int              `json:"policy_allowed"`
	PolicyLoadedAt *time.Time       `json:"policy_loaded_at,omitempty"`
	Feed           FeedHealth       `json:"feed"`
	Upstreams      []UpstreamHealth `json:"upstreams"`
	CacheEntries   int              `json:"cache_entries"`
}

// FeedHealth is the policy feed's state as SetFeedState last gave it.
type FeedHealth struct {
	Known     bool       `json:"known"`
	Connected bool       `json:"connected"`
	Version   int64      `json:"version"`
	At        *time.Time `json:"at,omitempty"`
	// Stale: the feed is lost or announced a version the server does not
	// run; the server keeps answering with the last policy it has.
	Stale bool `json:"stale"`
}

// UpstreamHealth is one upstream's last success and failure.
type UpstreamHealth struct {
	Addr      string     `json:"addr"`
	OK        bool       `json:"ok"`
	LastOK    *time.Time `json:"last_ok,omitempty"`
	LastError *time.Time `json:"last_error,omitempty"`
	Error     string     `json:"error,omitempty"`
}

// Health reports the server's state now.
func (s *Server) Health() Health {
	h := Health{Status: "ok"}
	if st := s.policy.Load(); st != nil && st.p != nil {
		h.PolicyVersion = st.p.Version()
		h.PolicyNames = st.p.Names()
		h.PolicyAllowed = st.p.Allowed()
		at := st.loadedAt.UTC()
		h.PolicyLoadedAt = &at
	} else {
		h.Status = "degraded"
	}
	if f := s.feed.Load(); f != nil {
		h.Feed = FeedHealth{Known: true, Connected: f.connected, Version: f.version}
		if !f.at.IsZero() {
			at := f.at.UTC()
			h.Feed.At = &at
		}
		h.Feed.Stale = !f.connected || f.version != h.PolicyVersion
		if h.Feed.Stale {
			h.Status = "degraded"
		}
	}
	anyOK := false
	for _, u := range s.upstreams {
		uh := UpstreamHealth{Addr: u.addr.String()}
		ok, bad := u.lastOK.Load(), u.lastErr.Load()
		if ok != 0 {
			t := time.Unix(0, ok).UTC()
			uh.LastOK = &t
		}
		if bad != 0 {
			t := time.Unix(0, bad).UTC()
			uh.LastError = &t
			if m := u.errMsg.Load(); m != nil {
				uh.Error = *m
			}
		}
		uh.OK = bad == 0 || ok > bad // unknown counts as ok
		anyOK = anyOK || uh.OK
		h.Upstreams = append(h.Upstreams, uh)
	}
	if !anyOK {
		h.Status = "failing"
	}
	if s.cache != nil {
		h.CacheEntries = s.cache.len()
	}
	return h
}

// HealthHandler serves Health as JSON: 200 when the server answers
// ("ok" or "degraded"), 503 when no upstream does.
func (s *Server) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := s.Health()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if h.Status == "failing" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(h)
	})
}
