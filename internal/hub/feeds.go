package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// ErrBusy means the feed is being run already.
var ErrBusy = errors.New("hub: the feed is running")

// Run resumes the inputs a stopped process left, then runs every
// configured feed when it is due, checking every interval (default a
// minute), until ctx ends.
func (h *Hub) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	if _, err := h.Resume(ctx); err != nil && ctx.Err() == nil {
		h.d.Logger.Warn("hub: resume stored inputs", "err", err)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := h.Tick(ctx); err != nil && ctx.Err() == nil {
			h.d.Logger.Warn("hub: feeds", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick runs, one after the other, every feed that is due now and returns
// how many ran. A feed's failure is recorded on it, not returned.
func (h *Hub) Tick(ctx context.Context) (int, error) {
	feeds, err := h.d.Store.ListFeeds(ctx, sys)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range feeds {
		if !Due(f, h.d.Now()) {
			continue
		}
		if _, err := h.runFeed(ctx, f); errors.Is(err, ErrBusy) {
			continue
		}
		n++
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
	}
	return n, nil
}

// Due reports whether a configured feed should run at now: enabled, with
// a location and an interval, and its interval passed since the last run
// — or, after failures, Backoff.
func Due(f store.Feed, now time.Time) bool {
	if !f.Enabled || f.Interval <= 0 || f.Location == "" {
		return false
	}
	if f.LastRun == nil {
		return true
	}
	wait := f.Interval
	if f.Failures > 0 {
		wait = Backoff(f.Failures, f.Interval)
	}
	return !now.Before(f.LastRun.Add(wait))
}

// Backoff is the pause after failures runs failed in a row: a minute,
// doubling with each failure, never more than the feed's interval.
func Backoff(failures int, interval time.Duration) time.Duration {
	if failures < 1 {
		return interval
	}
	return min(time.Minute<<min(failures-1, 20), interval)
}

// RunFeed runs a configured feed now, for p (who must be allowed to read
// the hub's feeds).
func (h *Hub) RunFeed(ctx context.Context, p auth.Principal, name string) (Run, error) {
	f, err := h.d.Store.GetFeedByName(ctx, p, name)
	if err != nil {
		return Run{}, err
	}
	if f.Location == "" {
		return Run{}, fmt.Errorf("hub: feed %s: %w: it has no location to run from (import into it instead)", name, store.ErrInvalid)
	}
	return h.runFeed(ctx, f)
}

func (h *Hub) runFeed(ctx context.Context, f store.Feed) (Run, error) {
	h.runMu.Lock()
	if h.running[f.Name] {
		h.runMu.Unlock()
		return Run{}, fmt.Errorf("%w: %s", ErrBusy, f.Name)
	}
	h.running[f.Name] = true
	h.runMu.Unlock()
	defer func() {
		h.runMu.Lock()
		delete(h.running, f.Name)
		h.runMu.Unlock()
	}()

	req := ImportRequest{Format: f.Format, Feed: f.Name, Preset: f.Preset, Options: f.Options, TLP: f.TLP}
	id := newRunID(h.d.Now())
	loc := f.Location
	switch {
	case f.Format == store.FeedTAXII:
		if h.d.TAXII == nil {
			return h.failed(ctx, id, req, errors.New("hub: TAXII feeds need the TAXII client, which this process does not have"))
		}
		return h.run(ctx, id, req, func(ctx context.Context, emit intel.Emit) (*intel.Rejections, error) {
			return h.d.TAXII.Poll(ctx, f, emit)
		})
	case strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://"):
		return h.fetch(ctx, id, req, loc)
	default:
		run, err := h.ImportFile(ctx, req, loc)
		if run.ID == "" && err != nil {
			// The location could not be opened.
			return h.failed(ctx, id, req, fmt.Errorf("%w: %w", ErrFetch, err))
		}
		return run, err
	}
}

// failed records a run that could not start.
func (h *Hub) failed(ctx context.Context, id string, req ImportRequest, err error) (Run, error) {
	return h.finish(ctx, Run{ID: id, Feed: req.Feed, Format: req.Format, Started: h.d.Now().UTC()}, err)
}

// fetch reads a feed from a URL, with the fetch deadline and size cap,
// streaming it into an import.
func (h *Hub) fetch(ctx context.Context, id string, req ImportRequest, loc string) (Run, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return h.failed(ctx, id, req, fmt.Errorf("%w: bad URL: %v", ErrFetch, err))
	}
	shown := u.Redacted()
	ctx, cancel := context.WithTimeout(ctx, h.d.FetchTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return h.failed(ctx, id, req, fmt.Errorf("%w: %s: %v", ErrFetch, shown, err))
	}
	hr.Header.Set("User-Agent", "Rampart threat-intelligence hub")
	resp, err := h.d.HTTP.Do(hr)
	if err != nil {
		return h.failed(ctx, id, req, fmt.Errorf("%w: %s: %v", ErrFetch, shown, scrub(err, loc, shown)))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return h.failed(ctx, id, req, fmt.Errorf("%w: %s: HTTP %s", ErrFetch, shown, resp.Status))
	}
	if req.Name == "" {
		req.Name = path.Base(u.Path)
	}
	body := &capReader{r: resp.Body, left: h.d.MaxFetch, max: h.d.MaxFetch}
	return h.Import(ctx, req, body)
}

// scrub keeps a URL's credentials out of an error's text.
func scrub(err error, loc, shown string) string {
	return strings.ReplaceAll(err.Error(), loc, shown)
}

// capReader fails once more than max bytes were read.
type capReader struct {
	r         io.Reader
	left, max int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more tells a body of exactly max from a larger one.
		var one [1]byte
		if n, _ := c.r.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("%w: the feed is larger than %d bytes", ErrFetch, c.max)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
