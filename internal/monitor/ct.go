package monitor

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/rampart-cert/rampart/internal/discovery/ct"
	"github.com/rampart-cert/rampart/internal/finding"
)

// CTConfig sets the watch of Certificate Transparency logs for new
// certificates of look-alike names, and for certificates of registered
// names from a CA their domain's CAA records do not allow. (Discovery reads the same logs for
// names under registered domains; it may hand every certificate's names
// to CheckNames instead of a second reader.)
type CTConfig struct {
	// Logs are the logs' base URLs, as the log list gives them.
	Logs []string
	// Interval between rounds (default 1 minute).
	Interval time.Duration
	// Limit bounds the entries read from one log in a round (default
	// 200,000); the rest waits for the next round.
	Limit uint64
	// FromStart reads a log from its first entry when it has no saved
	// position; by default a new log is read from its current end, so
	// only certificates logged from now on are judged.
	FromStart bool
	// Timeout bounds one request to a log (default ct.DefaultTimeout).
	Timeout   time.Duration
	UserAgent string
}

func (c *CTConfig) enabled() bool { return len(c.Logs) > 0 }

func (c *CTConfig) validate() error {
	c.Interval = positive(c.Interval, time.Minute)
	if c.Limit == 0 {
		c.Limit = 200_000
	}
	c.Timeout = positive(c.Timeout, ct.DefaultTimeout)
	for _, l := range c.Logs {
		u, err := url.Parse(l)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: ct log %q is not an http(s) URL", ErrConfig, l)
		}
	}
	return nil
}

// ctState is where the watch of one log stands.
type ctState struct {
	Position ct.Position `json:"position"`
	ReadAt   time.Time   `json:"read_at"`
	Entries  uint64      `json:"entries"` // read in all
	Bad      uint64      `json:"bad"`     // entries that did not decode
}

// CTRound reads every configured log from where the last round stopped
// and reports the look-alikes among the names of the new certificates.
func (s *Service) CTRound(ctx context.Context) error {
	m, err := s.matcher(ctx)
	if err != nil {
		return err
	}
	states, err := loadState[ctState](ctx, s, "ct")
	if err != nil {
		return err
	}
	reg, err := s.registry(ctx)
	if err != nil {
		return err
	}
	issuers, err := s.newIssuerCheck(ctx, reg)
	if err != nil {
		return err
	}
	var errs []error
	for _, u := range s.cfg.CT.Logs {
		cl := &ct.Client{URL: u, HTTP: &http.Client{Timeout: s.cfg.CT.Timeout}, UserAgent: s.cfg.CT.UserAgent}
		st, had := states[u]
		if !had && !s.cfg.CT.FromStart {
			sth, err := cl.GetSTH(ctx)
			if err != nil {
				errs = append(errs, fmt.Errorf("monitor: ct %s: %w", u, err))
				continue
			}
			st.Position = ct.Position{Next: sth.TreeSize, TreeSize: sth.TreeSize}
		}
		var (
			hits  []sourcedHit
			unexp []finding.Finding
		)
		pos, err := cl.Scan(ctx, st.Position, s.cfg.CT.Limit, func(i uint64, e ct.RawEntry) error {
			st.Entries++
			names, cert, ok := entryNames(e)
			if !ok {
				st.Bad++
				return nil
			}
			var info *CertInfo
			certOf := func() *CertInfo {
				if info == nil {
					info = certInfo(cert, u, i)
				}
				return info
			}
			for _, n := range names {
				for _, l := range m.Check(n) {
					hits = append(hits, sourcedHit{l, NameSource{Kind: "ct", Ref: u, Cert: certOf()}})
				}
			}
			unexp = append(unexp, issuers.check(cert, names, certOf)...)
			return nil
		})
		// What was read is reported and the position kept even when the
		// scan stopped early: the next round resumes after it.
		st.Position, st.ReadAt = pos, s.now()
		if rerr := s.reportLookalikes(ctx, hits); rerr != nil {
			return rerr
		}
		if rerr := s.record(ctx, "ct", s.now(), unexp); rerr != nil {
			return rerr
		}
		if serr := saveState(ctx, s, "ct", map[string]ctState{u: st}); serr != nil {
			return serr
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("monitor: ct %s: %w", u, err))
		}
	}
	return errors.Join(errs...)
}

// entryNames decodes a log entry's certificate and its names.
func entryNames(e ct.RawEntry) ([]string, *x509.Certificate, bool) {
	leaf, err := ct.ParseLeaf(e.LeafInput)
	if err != nil {
		return nil, nil, false
	}
	c, err := leaf.Certificate()
	if err != nil {
		return nil, nil, false
	}
	return ct.Names(c), c, true
}

func certInfo(c *x509.Certificate, log string, index uint64) *CertInfo {
	ci := &CertInfo{Issuer: printableText(c.Issuer.String()), NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), Log: log, Index: index}
	if len(c.Issuer.Organization) > 0 {
		ci.IssuerOrg = printableText(c.Issuer.Organization[0])
	}
	if c.SerialNumber != nil {
		ci.Serial = c.SerialNumber.Text(16)
	}
	return ci
}
