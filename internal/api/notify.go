package api

import (
	"context"
	"net/http"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

type (
	notifyPrefsJSON = store.NotifyPrefs
	webhookJSON     = store.Webhook
	deliveryPage    = store.Page[store.Delivery]
)

type webhookList struct {
	Items []store.Webhook `json:"items"`
}

type attemptList struct {
	Items []store.DeliveryAttempt `json:"items"`
}

type webhookRequest struct {
	URL     string   `json:"url"`
	Secret  string   `json:"secret,omitempty"` // HMAC-SHA256 key; on update, empty keeps the old one
	Enabled *bool    `json:"enabled,omitempty"`
	Events  []string `json:"events,omitempty"`
}

func (s *Server) getNotifyPrefs(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return getByID(w, r, func(ctx context.Context, id int64) (store.NotifyPrefs, error) {
		return s.Store.GetNotifyPrefs(ctx, p, id)
	})
}

func (s *Server) putNotifyPrefs(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var np store.NotifyPrefs
	if err := decode(w, r, &np); err != nil {
		return err
	}
	np.OrgID = id
	if err := s.Store.SetNotifyPrefs(r.Context(), p, &np); err != nil {
		return err
	}
	writeJSON(w, 200, np)
	return nil
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	hs, err := s.Store.ListWebhooks(r.Context(), p, id)
	if err != nil {
		return err
	}
	if hs == nil {
		hs = []store.Webhook{}
	}
	writeJSON(w, 200, webhookList{Items: hs})
	return nil
}

// webhookFrom reads a webhook request body into a webhook (enabled unless
// said otherwise).
func webhookFrom(w http.ResponseWriter, r *http.Request) (store.Webhook, error) {
	var req webhookRequest
	if err := decode(w, r, &req); err != nil {
		return store.Webhook{}, err
	}
	h := store.Webhook{URL: req.URL, Secret: req.Secret, Enabled: true, Events: req.Events}
	if req.Enabled != nil {
		h.Enabled = *req.Enabled
	}
	return h, nil
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	h, err := webhookFrom(w, r)
	if err != nil {
		return err
	}
	h.OrgID = id
	if err := s.Store.CreateWebhook(r.Context(), p, &h); err != nil {
		return err
	}
	h.Secret = ""
	writeJSON(w, 201, h)
	return nil
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	h, err := webhookFrom(w, r)
	if err != nil {
		return err
	}
	h.ID = id
	if err := s.Store.UpdateWebhook(r.Context(), p, &h); err != nil {
		return err
	}
	h.Secret = ""
	writeJSON(w, 200, h)
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteWebhook(r.Context(), p, id); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.DeliveryFilter{PageRequest: pr, State: store.DeliveryState(q.Get("state")), Kind: q.Get("kind"), Channel: store.Channel(q.Get("channel"))}
	if f.OrgID, err = queryInt(r, "org_id"); err != nil {
		return err
	}
	page, err := s.Store.ListDeliveries(r.Context(), p, f)
	if err != nil {
		return err
	}
	writeJSON(w, 200, page)
	return nil
}

func (s *Server) deliveryAttempts(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	as, err := s.Store.DeliveryAttempts(r.Context(), p, id)
	if err != nil {
		return err
	}
	if as == nil {
		as = []store.DeliveryAttempt{}
	}
	writeJSON(w, 200, attemptList{Items: as})
	return nil
}
