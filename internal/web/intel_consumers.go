package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

type consumerRow struct {
	store.Consumer
	OrgName    string
	MaxAgeDays int
}

type consumersData struct {
	Rows    []consumerRow
	Kinds   []intel.Kind
	TLPs    []intel.TLP
	Formats []blocklist.Format
	// Key is a consumer's new key, shown once, for Shown.
	Key   string
	Shown *consumerRow
}

func (s *Server) consumersData(r *http.Request, c *reqCtx) (consumersData, error) {
	d := consumersData{Kinds: intel.Kinds, TLPs: intel.TLPs, Formats: blocklist.Formats}
	cs, err := s.Hub.Consumers(r.Context(), c.p())
	if err != nil {
		return d, err
	}
	names := s.orgNames(r.Context(), c)
	for _, x := range cs {
		d.Rows = append(d.Rows, consumerRow{Consumer: x, OrgName: names(x.OrgID), MaxAgeDays: int(x.MaxAge / (24 * time.Hour))})
	}
	return d, nil
}

// intelConsumers lists the blocklist consumers with the form to add one.
func (s *Server) intelConsumers(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := needIntelAdmin(c); err != nil {
		return err
	}
	d, err := s.consumersData(r, c)
	if err != nil {
		return err
	}
	return s.page(w, r, c, "intel_consumers", "intel.consumers", "intel", d)
}

// consumerFromForm reads the form of a new consumer.
func (s *Server) consumerFromForm(r *http.Request, c *reqCtx) (store.Consumer, error) {
	bad := &uiError{status: http.StatusBadRequest, key: "error.invalid"}
	x := store.Consumer{Name: strings.TrimSpace(r.PostFormValue("name")), Enabled: true}
	if x.Name == "" || len(x.Name) > 200 {
		return x, bad
	}
	if code := strings.TrimSpace(r.PostFormValue("org_code")); code != "" {
		o, err := s.st.GetOrgByCode(r.Context(), c.p(), code)
		if err != nil {
			return x, err
		}
		x.OrgID = o.ID
	}
	for _, k := range r.PostForm["kind"] {
		if !intel.Kind(k).Valid() {
			return x, bad
		}
		x.Kinds = append(x.Kinds, intel.Kind(k))
	}
	n, ok := formInt(r, "min_confidence")
	if !ok || n < 0 || n > 100 {
		return x, bad
	}
	x.MinConfidence = n
	x.MaxTLP = intel.TLPClear
	if v := r.PostFormValue("max_tlp"); v != "" {
		t, err := intel.ParseTLP(v)
		if err != nil {
			return x, bad
		}
		x.MaxTLP = t
	}
	days, ok := formInt(r, "max_age_days")
	if !ok || days < 0 || days > 3650 {
		return x, bad
	}
	x.MaxAge = time.Duration(days) * 24 * time.Hour
	for _, f := range r.PostForm["format"] {
		bf, err := blocklist.ParseFormat(f)
		if err != nil {
			return x, bad
		}
		x.Formats = append(x.Formats, string(bf))
	}
	return x, nil
}

// intelConsumerCreate adds a consumer and shows its key once.
func (s *Server) intelConsumerCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := needIntelAdmin(c); err != nil {
		return err
	}
	x, err := s.consumerFromForm(r, c)
	var key string
	if err == nil {
		key, err = s.Hub.CreateConsumer(r.Context(), c.p(), &x)
	}
	return s.consumersWithKey(w, r, c, x, key, err, "flash.consumercreated")
}

// intelConsumerRotate gives a consumer a new key and shows it once.
func (s *Server) intelConsumerRotate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := needIntelAdmin(c); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	key, err := s.Hub.RotateConsumerKey(r.Context(), c.p(), id)
	var x store.Consumer
	if err == nil {
		x, err = s.st.GetConsumer(r.Context(), c.p(), id)
	}
	return s.consumersWithKey(w, r, c, x, key, err, "flash.consumerrotated")
}

// consumersWithKey renders the consumers page after a create or a
// rotation: the key on success (never in a URL or a redirect), the error
// otherwise.
func (s *Server) consumersWithKey(w http.ResponseWriter, r *http.Request, c *reqCtx, x store.Consumer, key string, err error, flash string) error {
	d, lerr := s.consumersData(r, c)
	if lerr != nil {
		return lerr
	}
	v := s.newView(r, c, "intel.consumers", "intel", nil)
	status := http.StatusOK
	if err != nil {
		v.Err = asUIError(err)
		if v.Err.status >= 500 {
			return err
		}
		status = v.Err.status
	} else {
		d.Key = key
		d.Shown = &consumerRow{Consumer: x, MaxAgeDays: int(x.MaxAge / (24 * time.Hour))}
		v.Flash = flash
	}
	v.Data = d
	return s.render(w, status, "intel_consumers", v)
}

// intelConsumerEnable turns a consumer on or off; its key stays.
func (s *Server) intelConsumerEnable(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := needIntelAdmin(c); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	x, err := s.st.GetConsumer(r.Context(), c.p(), id)
	if err != nil {
		return err
	}
	x.Enabled = r.PostFormValue("enabled") == "1"
	if err := s.Hub.UpdateConsumer(r.Context(), c.p(), &x); err != nil {
		return err
	}
	return redirect(w, r, "/intel/consumers", "flash.saved")
}

// intelConsumerDelete removes a consumer.
func (s *Server) intelConsumerDelete(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := needIntelAdmin(c); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Hub.DeleteConsumer(r.Context(), c.p(), id); err != nil {
		return err
	}
	return redirect(w, r, "/intel/consumers", "flash.consumerdeleted")
}
