package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// weekdays in the order the form lists them (Monday first).
var weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

type notifyData struct {
	Org        org.Organization
	Prefs      store.NotifyPrefs
	Webhooks   []store.Webhook
	Deliveries []store.Delivery
	State      string
	States     []store.DeliveryState
	First      string
	Next       string
	CanWrite   bool
	Channels   []store.Channel
	Severities []finding.Severity
	Periods    []store.DigestPeriod
	Weekdays   []time.Weekday
	Hours      []int
	Kinds      []string
	Languages  []string
	Hook       store.Webhook // the add form, kept on error
}

// HasChannel reports whether the preferences enable c.
func (d notifyData) HasChannel(c store.Channel) bool { return d.Prefs.Has(c) }

// HookWants reports whether the add form had event k ticked.
func (d notifyData) HookWants(k string) bool { return slices.Contains(d.Hook.Events, k) }

// Weekday names a day of the week.
func (l *Lang) Weekday(d time.Weekday) string { return l.T("weekday." + strconv.Itoa(int(d))) }

func (s *Server) notifyView(r *http.Request, c *reqCtx, id int64, d notifyData, uerr *uiError) (*view, error) {
	p, ctx, l := c.p(), r.Context(), c.lang
	o, err := s.st.GetOrg(ctx, p, id)
	if err != nil {
		return nil, err
	}
	d.Org = o
	if d.Prefs.OrgID == 0 {
		if d.Prefs, err = s.st.GetNotifyPrefs(ctx, p, id); err != nil {
			return nil, err
		}
	}
	if d.Webhooks, err = s.st.ListWebhooks(ctx, p, id); err != nil {
		return nil, err
	}
	q := r.URL.Query()
	d.State = q.Get("state")
	f := store.DeliveryFilter{OrgID: id, State: store.DeliveryState(d.State), PageRequest: store.PageRequest{Limit: 50, After: q.Get("after")}}
	page, err := s.st.ListDeliveries(ctx, p, f)
	if err != nil {
		return nil, err
	}
	d.Deliveries = page.Items
	base := "state=" + urlQueryEscape(d.State)
	if page.Next != "" {
		d.Next = base + "&after=" + urlQueryEscape(page.Next)
	}
	if f.After != "" {
		d.First = base
	}
	d.CanWrite = p.Can(auth.PermWriteAssets)
	d.States = []store.DeliveryState{store.DeliveryPending, store.DeliverySent, store.DeliveryFailed}
	d.Channels = []store.Channel{store.ChannelEmail, store.ChannelWebhook}
	d.Severities = finding.Severities
	d.Periods = []store.DigestPeriod{store.DigestDaily, store.DigestWeekly}
	d.Weekdays = weekdays
	for h := range 24 {
		d.Hours = append(d.Hours, h)
	}
	d.Kinds = store.NotifyKinds
	d.Languages = languages
	v := s.newView(r, c, "notify.title", "dash", d)
	v.TitleArg = l.OrgName(o)
	v.Err = uerr
	return v, nil
}

// notifyPage shows an organization's notification preferences, webhooks
// and delivery log.
func (s *Server) notifyPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.notifyView(r, c, id, notifyData{}, nil)
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, "notifications", v)
}

// notifyFail shows the page again with the error of a refused change (a
// 404 or an internal error is shown alone).
func (s *Server) notifyFail(w http.ResponseWriter, r *http.Request, c *reqCtx, id int64, d notifyData, err error) error {
	ue := asUIError(err)
	if ue.status >= 500 || ue.status == http.StatusNotFound {
		return err
	}
	v, verr := s.notifyView(r, c, id, d, ue)
	if verr != nil {
		return verr
	}
	return s.render(w, ue.status, "notifications", v)
}

func notifyBack(id int64) string { return "/orgs/" + strconv.FormatInt(id, 10) + "/notifications" }

// notifyPrefsSave stores the preferences form.
func (s *Server) notifyPrefsSave(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	np := store.NotifyPrefs{OrgID: id, Language: r.PostFormValue("language"),
		AlertMinSeverity: finding.Severity(r.PostFormValue("alert_min_severity")), AlertKEV: r.PostFormValue("alert_kev") != "",
		DigestPeriod: store.DigestPeriod(r.PostFormValue("digest_period")), BusinessDaysOnly: r.PostFormValue("business_days_only") != "",
		Channels: []store.Channel{}}
	for _, ch := range r.PostForm["channel"] {
		np.Channels = append(np.Channels, store.Channel(ch))
	}
	wd, err1 := strconv.Atoi(r.PostFormValue("digest_weekday"))
	hr, err2 := strconv.Atoi(r.PostFormValue("digest_hour"))
	if err1 != nil || err2 != nil {
		return s.notifyFail(w, r, c, id, notifyData{Prefs: np}, &uiError{status: http.StatusBadRequest, key: "error.invalid"})
	}
	np.DigestWeekday, np.DigestHour = time.Weekday(wd), hr
	if err := s.st.SetNotifyPrefs(r.Context(), c.p(), &np); err != nil {
		return s.notifyFail(w, r, c, id, notifyData{Prefs: np}, err)
	}
	return redirect(w, r, notifyBack(id), "flash.saved")
}

// webhookCreate adds a webhook (URL, secret, optional events).
func (s *Server) webhookCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	h := store.Webhook{OrgID: id, URL: strings.TrimSpace(r.PostFormValue("url")), Secret: r.PostFormValue("secret"), Enabled: true, Events: []string{}}
	for _, k := range r.PostForm["event"] {
		h.Events = append(h.Events, k)
	}
	if err := s.st.CreateWebhook(r.Context(), c.p(), &h); err != nil {
		h.Secret = ""
		return s.notifyFail(w, r, c, id, notifyData{Hook: h}, err)
	}
	return redirect(w, r, notifyBack(id), "flash.webhookadded")
}

// orgWebhook finds webhook {wid} among those of organization {id}.
func (s *Server) orgWebhook(r *http.Request, c *reqCtx) (int64, store.Webhook, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, store.Webhook{}, err
	}
	wid, err := strconv.ParseInt(r.PathValue("wid"), 10, 64)
	if err != nil || wid <= 0 {
		return 0, store.Webhook{}, errNotFound
	}
	hs, err := s.st.ListWebhooks(r.Context(), c.p(), id)
	if err != nil {
		return 0, store.Webhook{}, err
	}
	for _, h := range hs {
		if h.ID == wid {
			return id, h, nil
		}
	}
	return 0, store.Webhook{}, errNotFound
}

// webhookEnable turns a webhook on (enabled=1) or off.
func (s *Server) webhookEnable(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, h, err := s.orgWebhook(r, c)
	if err != nil {
		return err
	}
	h.Enabled = r.PostFormValue("enabled") == "1"
	h.Secret = "" // keep the stored one
	if err := s.st.UpdateWebhook(r.Context(), c.p(), &h); err != nil {
		return s.notifyFail(w, r, c, id, notifyData{}, err)
	}
	return redirect(w, r, notifyBack(id), "flash.saved")
}

// webhookDelete removes a webhook.
func (s *Server) webhookDelete(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, h, err := s.orgWebhook(r, c)
	if err != nil {
		return err
	}
	if err := s.st.DeleteWebhook(r.Context(), c.p(), h.ID); err != nil {
		return s.notifyFail(w, r, c, id, notifyData{}, err)
	}
	return redirect(w, r, notifyBack(id), "flash.deleted")
}
