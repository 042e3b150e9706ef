package monitor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
)

// ExpiryConfig sets the registration expiry detector. It runs on the
// dates it knows: looked up over RDAP, read from File each round, or
// imported with ImportExpiry.
type ExpiryConfig struct {
	// RDAP is the RDAP server: a base URL for every name
	// ("https://rdap.example/"), or per top-level domain
	// ("vn=https://rdap.a/,com=https://rdap.b/,https://other/"). Empty:
	// no lookups (air-gapped sites import dates instead).
	RDAP string
	// File is a CSV of domain,expiry read at every round.
	File string
	// Interval between rounds (default 6 hours); a domain is looked up
	// over RDAP at most once per Recheck (default 24 hours).
	Interval time.Duration
	Recheck  time.Duration
	// Timeout bounds one RDAP request (default 10 s).
	Timeout time.Duration
	// Warn is how many days before expiry a finding opens (default 30);
	// Urgent is when it turns high (default 7).
	Warn, Urgent int
	// UserAgent identifies the platform to RDAP servers.
	UserAgent string
	// Off turns the detector off.
	Off bool

	servers rdapServers
}

func (c *ExpiryConfig) enabled() bool { return !c.Off }

func (c *ExpiryConfig) validate() error {
	c.Interval = positive(c.Interval, 6*time.Hour)
	c.Recheck = positive(c.Recheck, 24*time.Hour)
	c.Timeout = positive(c.Timeout, 10*time.Second)
	if c.Warn <= 0 {
		c.Warn = 30
	}
	if c.Urgent <= 0 {
		c.Urgent = 7
	}
	if c.Urgent > c.Warn {
		return fmt.Errorf("%w: expiry urgent (%d days) after warn (%d days)", ErrConfig, c.Urgent, c.Warn)
	}
	var err error
	c.servers, err = parseRDAPServers(c.RDAP)
	return err
}

// expiryState is what is known of one registered domain's expiry.
type expiryState struct {
	Expires   time.Time `json:"expires,omitzero"`
	Source    string    `json:"source"` // "rdap", "file", "import"
	URL       string    `json:"url,omitempty"`
	CheckedAt time.Time `json:"checked_at"`
	Error     string    `json:"error,omitempty"`
}

// ExpiryEvidence is the evidence of a monitor.domain-expiring finding.
type ExpiryEvidence struct {
	Domain   string    `json:"domain"`
	Expires  time.Time `json:"expires"`
	DaysLeft int       `json:"days_left"`
	Source   string    `json:"source"`
	URL      string    `json:"url,omitempty"`
}

// ImportExpiry stores expiry dates (from ParseExpiryCSV): the detector
// uses them from its next round, until RDAP or another import says
// otherwise.
func (s *Service) ImportExpiry(ctx context.Context, rows []ExpiryRow, source string) error {
	now := s.now()
	vals := make(map[string]expiryState, len(rows))
	for _, r := range rows {
		vals[r.Domain] = expiryState{Expires: r.Expires, Source: source, CheckedAt: now}
	}
	return saveState(ctx, s, "expiry", vals)
}

// ExpiryRound refreshes what is known of the watched domains' expiry
// (the file, then RDAP for dates older than Recheck) and reports those
// that expire within Warn days.
func (s *Service) ExpiryRound(ctx context.Context) error {
	cfg := &s.cfg.Expiry
	if cfg.File != "" {
		f, err := os.Open(cfg.File)
		if err != nil {
			return fmt.Errorf("monitor: expiry file: %w", err)
		}
		rows, err := ParseExpiryCSV(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", cfg.File, err)
		}
		if err := s.ImportExpiry(ctx, rows, "file"); err != nil {
			return err
		}
	}
	reg, err := s.registry(ctx)
	if err != nil {
		return err
	}
	known, err := loadState[expiryState](ctx, s, "expiry")
	if err != nil {
		return err
	}
	// The registration is the registrable domain's ("moh.gov.vn" for a
	// zone asset "portal.moh.gov.vn").
	regOf := registrableOf
	if len(cfg.servers) > 0 {
		cl := &rdapClient{servers: cfg.servers, http: &http.Client{Timeout: cfg.Timeout}, ua: cfg.UserAgent}
		looked := map[string]expiryState{}
		for _, d := range reg.domains {
			name := regOf(d.Value)
			if _, done := looked[name]; done {
				continue
			}
			st, ok := known[name]
			if ok && s.now().Sub(st.CheckedAt) < cfg.Recheck {
				continue // looked up or imported lately
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			rd, u, err := cl.lookup(ctx, name)
			next := expiryState{Source: "rdap", URL: u, CheckedAt: s.now(), Expires: rd.Expires}
			if err != nil {
				s.log.Info("monitor: rdap lookup failed", "domain", name, "err", err)
				next = st // keep what was known, and try again at Recheck
				next.CheckedAt, next.Error = s.now(), err.Error()
				if errors.Is(err, errRDAPNotFound) {
					next.Error = "not found in the registry"
				}
			}
			looked[name] = next
			known[name] = next
		}
		if err := saveState(ctx, s, "expiry", looked); err != nil {
			return err
		}
	}

	now := s.now()
	var seen []finding.Finding
	mine := map[owned]bool{} // (organization, name) registered as such
	reported := map[owned]bool{}
	for _, d := range reg.domains {
		mine[owned{OrgID: d.OrgID, Value: d.Value}] = true
	}
	for _, d := range reg.domains {
		name := regOf(d.Value)
		st, ok := known[name]
		if !ok || st.Expires.IsZero() {
			continue
		}
		if name != d.Value && mine[owned{OrgID: d.OrgID, Value: name}] || reported[owned{OrgID: d.OrgID, Value: name}] {
			continue // reported on the organization's asset of the registrable domain, or on its first zone under it
		}
		reported[owned{OrgID: d.OrgID, Value: name}] = true
		left := daysLeft(st.Expires, now)
		if left > cfg.Warn {
			continue
		}
		sev := finding.Medium
		switch {
		case left <= 0:
			sev = finding.Critical
		case left <= cfg.Urgent:
			sev = finding.High
		}
		title := "Domain registration expires in " + strconv.Itoa(left) + " days: " + name
		if left <= 0 {
			title = "Domain registration expired: " + name
		}
		seen = append(seen, finding.Finding{OrgID: d.OrgID, AssetID: d.AssetID, Check: "monitor.domain-expiring", Severity: sev,
			Target: name, Title: title,
			Evidence: evidence(ExpiryEvidence{Domain: name, Expires: st.Expires, DaysLeft: left, Source: st.Source, URL: st.URL})})
	}
	return s.record(ctx, "expiry", now, seen)
}

// daysLeft is the whole days from now until t, rounded up (an expiry in
// ten hours is one day away; one an hour past is -1: expired).
func daysLeft(t, now time.Time) int {
	d := t.Sub(now).Hours() / 24
	if d <= 0 {
		return int(math.Floor(d))
	}
	return int(math.Ceil(d))
}
