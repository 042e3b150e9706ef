package hub

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/stix"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/taxii"
)

// TAXIIOptions are a TAXII feed's options (store.Feed.Options, JSON). A
// secret is named by the environment variable that holds it, never
// written into the feed.
type TAXIIOptions struct {
	TokenEnv    string `json:"token_env,omitempty"`    // a bearer token
	User        string `json:"user,omitempty"`         // HTTP Basic, with
	PasswordEnv string `json:"password_env,omitempty"` // the password
	PageSize    int    `json:"page_size,omitempty"`
}

// TAXIIOverlap is how far before the feed's last successful run a poll
// asks from: objects the server dated a little earlier than it published
// them are not missed, and reading one twice changes nothing.
const TAXIIOverlap = time.Hour

// TAXIIPolling polls a TAXII 2.1 collection (the feed's location) with
// internal/taxii's client: added_after from the feed's last success,
// pages as the server gives them, the objects written to a temporary
// envelope file and read by the STIX parser (relationships and markings
// may come on later pages). Failures are the feed's, retried with its
// backoff.
type TAXIIPolling struct {
	Getenv  func(string) string // nil: os.Getenv
	HTTP    *http.Client        // nil: the TAXII client's default
	Timeout time.Duration       // of each request; 0: the client's default
	TempDir string              // "" the system's
}

var _ TAXIIPoller = (*TAXIIPolling)(nil)

// Poll reads what the collection added since the last successful run.
func (t *TAXIIPolling) Poll(ctx context.Context, f store.Feed, emit intel.Emit) (*intel.Rejections, error) {
	var o TAXIIOptions
	if strings.TrimSpace(f.Options) != "" {
		dec := json.NewDecoder(strings.NewReader(f.Options))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			return nil, fmt.Errorf("%w: TAXII feed options: %v", ErrFormat, err)
		}
	}
	getenv := t.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	c := &taxii.Client{BaseURL: f.Location, User: o.User, HTTP: t.HTTP, Timeout: t.Timeout, PageSize: o.PageSize,
		UserAgent: "Rampart threat-intelligence hub"}
	for _, v := range []struct {
		env string
		dst *string
	}{{o.TokenEnv, &c.Token}, {o.PasswordEnv, &c.Password}} {
		if v.env == "" {
			continue
		}
		if *v.dst = getenv(v.env); *v.dst == "" {
			return nil, fmt.Errorf("%w: TAXII feed %s: environment variable %s is empty", ErrFetch, f.Name, v.env)
		}
	}
	var after time.Time
	if f.LastOK != nil {
		after = f.LastOK.Add(-TAXIIOverlap)
	}
	tmp, err := os.CreateTemp(t.TempDir, "rampart-taxii-*.json")
	if err != nil {
		return nil, fmt.Errorf("hub: TAXII spool: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	w := bufio.NewWriterSize(tmp, 1<<16)
	w.WriteString(`{"objects":[`)
	n := 0
	_, perr := c.Poll(ctx, f.Location, after, func(obj json.RawMessage) error {
		if n > 0 {
			w.WriteByte(',')
		}
		n++
		_, err := w.Write(obj)
		return err
	})
	if perr != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, perr)
	}
	w.WriteString("]}")
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("hub: TAXII spool: %w", err)
	}
	if _, err := tmp.Seek(0, 0); err != nil {
		return nil, fmt.Errorf("hub: TAXII spool: %w", err)
	}
	res, err := stix.ParseWith(ctx, tmp, f.Name, emit, stix.Options{DefaultTLP: f.TLP})
	if res == nil {
		return nil, err
	}
	return &res.Rejections, err
}
