package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/hub"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/feedcsv"
	"github.com/rampart-cert/rampart/internal/store"
)

// feedFormData is the form of a new or changed feed. The form keeps what
// was typed (Interval as written) so a refused one comes back as it was.
type feedFormData struct {
	Feed     store.Feed
	Interval string
	// The credentials of a TAXII feed are named by the environment
	// variables that hold them (hub.TAXIIOptions): a secret never enters
	// the database or the page.
	TokenEnv, User, PasswordEnv string
	Edit                        bool
	Formats                     []string
	TLPs                        []intel.TLP
	Presets                     []string
}

// envName is an environment variable's name, as a credentials reference.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,99}$`)

func (s *Server) feedFormView(r *http.Request, c *reqCtx, d feedFormData, err error) *view {
	d.Formats, d.TLPs, d.Presets = store.FeedFormats, intel.TLPs, feedcsv.Presets()
	title := "intel.feed.new"
	if d.Edit {
		title = "intel.feed.edit"
	}
	v := s.newView(r, c, title, "intel", d)
	if err != nil {
		v.Err = asUIError(err)
	}
	return v
}

// formOfFeed is the form showing a stored feed.
func formOfFeed(f store.Feed) feedFormData {
	d := feedFormData{Feed: f, Edit: true}
	if f.Interval > 0 {
		// "1h", "1h30m" rather than "1h0m0s".
		d.Interval = f.Interval.String()
		if strings.HasSuffix(d.Interval, "m0s") {
			d.Interval = strings.TrimSuffix(d.Interval, "0s")
		}
		if strings.HasSuffix(d.Interval, "h0m") {
			d.Interval = strings.TrimSuffix(d.Interval, "0m")
		}
	}
	if f.Format == store.FeedTAXII && f.Options != "" {
		var o hub.TAXIIOptions
		if json.Unmarshal([]byte(f.Options), &o) == nil {
			d.TokenEnv, d.User, d.PasswordEnv = o.TokenEnv, o.User, o.PasswordEnv
		}
	}
	return d
}

// intelFeedNewForm shows the form to configure a feed.
func (s *Server) intelFeedNewForm(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := needIntelAdmin(c); err != nil {
		return err
	}
	d := feedFormData{Feed: store.Feed{Format: store.FeedCSV, TLP: intel.TLPAmber, Enabled: true}, Interval: "1h"}
	return s.render(w, http.StatusOK, "intel_feed_form", s.feedFormView(r, c, d, nil))
}

// intelFeedEditForm shows a feed's configuration for editing.
func (s *Server) intelFeedEditForm(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
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
	return s.render(w, http.StatusOK, "intel_feed_form", s.feedFormView(r, c, formOfFeed(f), nil))
}

// readFeedForm fills d from the posted form (the name only when new) and
// checks what the store cannot: the interval's syntax and the
// credentials references.
func readFeedForm(r *http.Request, d *feedFormData) error {
	bad := func(key string) error { return &uiError{status: http.StatusBadRequest, key: key} }
	f := &d.Feed
	was := f.Format
	if !d.Edit {
		f.Name = strings.TrimSpace(r.PostFormValue("name"))
	}
	f.Format = strings.TrimSpace(r.PostFormValue("format"))
	f.Preset = strings.TrimSpace(r.PostFormValue("preset"))
	f.Location = strings.TrimSpace(r.PostFormValue("location"))
	f.Analyst = strings.TrimSpace(r.PostFormValue("analyst"))
	f.Enabled = r.PostFormValue("enabled") != ""
	f.TLP = intel.TLP(r.PostFormValue("tlp"))
	d.Interval = strings.TrimSpace(r.PostFormValue("interval"))
	d.TokenEnv = strings.TrimSpace(r.PostFormValue("token_env"))
	d.User = strings.TrimSpace(r.PostFormValue("user"))
	d.PasswordEnv = strings.TrimSpace(r.PostFormValue("password_env"))
	if !slices.Contains(store.FeedFormats, f.Format) {
		return bad("intel.feedform.badformat")
	}
	if _, err := intel.ParseTLP(string(f.TLP)); err != nil {
		return bad("intel.feedform.badtlp")
	}
	f.Interval = 0
	if d.Interval != "" && d.Interval != "0" {
		iv, err := time.ParseDuration(d.Interval)
		if err != nil || iv < 0 {
			return bad("intel.feedform.badinterval")
		}
		f.Interval = iv
	}
	if len(f.Analyst) > 200 || len(f.Preset) > 200 || len(f.Location) > 2000 || len(d.User) > 200 {
		return bad("error.invalid")
	}
	for _, v := range []string{d.TokenEnv, d.PasswordEnv} {
		if v != "" && !envName.MatchString(v) {
			return bad("intel.feedform.badenv")
		}
	}
	if d.PasswordEnv != "" && d.User == "" || d.User != "" && d.PasswordEnv == "" {
		return bad("intel.feedform.basic")
	}
	if f.Format != store.FeedTAXII {
		if d.TokenEnv != "" || d.User != "" || d.PasswordEnv != "" {
			return bad("intel.feedform.credsnottaxii")
		}
		if was == store.FeedTAXII {
			f.Options = "" // a former TAXII feed's credentials are no CSV format
		}
		return nil
	}
	// A TAXII feed's options: the credentials references, and what else
	// they held (a page size) kept.
	var o hub.TAXIIOptions
	if f.Options != "" {
		dec := json.NewDecoder(strings.NewReader(f.Options))
		dec.DisallowUnknownFields()
		if dec.Decode(&o) != nil {
			o = hub.TAXIIOptions{} // the options of another format
		}
	}
	o.TokenEnv, o.User, o.PasswordEnv = d.TokenEnv, d.User, d.PasswordEnv
	f.Options = ""
	if o != (hub.TAXIIOptions{}) {
		b, _ := json.Marshal(o)
		f.Options = string(b)
	}
	return nil
}

// intelFeedCreate configures a new feed.
func (s *Server) intelFeedCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := needIntelAdmin(c); err != nil {
		return err
	}
	var d feedFormData
	err := readFeedForm(r, &d)
	if err == nil {
		err = s.Hub.AddFeed(r.Context(), c.p(), &d.Feed)
	}
	if err != nil {
		return s.feedFormFailed(w, r, c, d, err)
	}
	return redirect(w, r, "/intel/feeds/"+strconv.FormatInt(d.Feed.ID, 10), "flash.saved")
}

// intelFeedUpdate changes a feed's configuration (not its name or its
// run results).
func (s *Server) intelFeedUpdate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
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
	d := feedFormData{Feed: f, Edit: true}
	err = readFeedForm(r, &d)
	if err == nil {
		err = s.Hub.UpdateFeed(r.Context(), c.p(), &d.Feed)
	}
	if err != nil {
		return s.feedFormFailed(w, r, c, d, err)
	}
	return redirect(w, r, "/intel/feeds/"+strconv.FormatInt(id, 10), "flash.saved")
}

// feedFormFailed shows the form again with why it was refused.
func (s *Server) feedFormFailed(w http.ResponseWriter, r *http.Request, c *reqCtx, d feedFormData, err error) error {
	ue := asUIError(err)
	if ue.status >= 500 || ue.status == http.StatusForbidden {
		return err
	}
	return s.render(w, ue.status, "intel_feed_form", s.feedFormView(r, c, d, ue))
}
