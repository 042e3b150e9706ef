// Package check defines what a security check is and keeps the registry of
// checks. Each family lives in its own folder (check/tls, check/http,
// check/dns, check/svc, check/vuln, check/website, check/template) with a
// README, and registers its checks with a Registry; check/all decides what
// ships.
//
// A check has a stable namespaced ID ("tls.cert-expired"), a default
// severity, texts in Vietnamese and English, references, and it returns
// findings with the evidence it saw. Targets are hostile: every read has a
// deadline and a size cap, and parsers of target data have fuzz targets.
package check

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/finding/catalog"
)

// Sentinel errors.
var (
	// ErrUnreachable means the check could not reach the target at all.
	// It must never be reported as "problem fixed".
	ErrUnreachable = errors.New("check: target unreachable")
	ErrDuplicateID = errors.New("check: duplicate check id")
	ErrInvalidMeta = errors.New("check: invalid metadata")
)

// Text is a string in both console languages; it lives in the finding
// catalog, which holds the texts of every finding kind.
type Text = catalog.Text

// Meta describes a check.
type Meta struct {
	ID          string           `json:"id"`     // family.name, e.g. "tls.cert-expired"
	Family      string           `json:"family"` // tls, http, web, svc, vuln, dns, mail, template
	Severity    finding.Severity `json:"severity"`
	Title       Text             `json:"title"`
	Description Text             `json:"description"`
	Remediation Text             `json:"remediation"`
	References  []string         `json:"references,omitempty"` // "CWE-295", "CVE-2014-3566", URLs, standards
}

var idRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]+\.[a-z0-9][a-z0-9.-]*$`) })

// Validate checks m.
func (m Meta) Validate() error {
	switch {
	case !idRE().MatchString(m.ID):
		return fmt.Errorf("%w: id %q must look like family.name", ErrInvalidMeta, m.ID)
	case strings.HasSuffix(m.ID, "."):
		return fmt.Errorf("%w: id %q ends in '.', which the finding catalog keeps for prefix kinds", ErrInvalidMeta, m.ID)
	case m.Family == "":
		return fmt.Errorf("%w: %s: family is empty", ErrInvalidMeta, m.ID)
	case !m.Severity.Valid():
		return fmt.Errorf("%w: %s: severity %q", ErrInvalidMeta, m.ID, m.Severity)
	case m.Title.EN == "" || m.Title.VI == "":
		return fmt.Errorf("%w: %s: title needs en and vi", ErrInvalidMeta, m.ID)
	case m.Remediation.EN == "" || m.Remediation.VI == "":
		return fmt.Errorf("%w: %s: remediation needs en and vi", ErrInvalidMeta, m.ID)
	}
	return nil
}

// Kind is m as a finding kind of the catalog, reported by scans.
func (m Meta) Kind() catalog.Kind {
	return catalog.Kind{ID: m.ID, Family: m.Family, Source: finding.SourceScan, Severity: m.Severity,
		Title: m.Title, Description: m.Description, Remediation: m.Remediation, References: m.References}
}

// TargetKind says what a target is.
type TargetKind string

// The target kinds a check may apply to.
const (
	TargetService TargetKind = "service" // an open TCP (or, with Proto "udp", UDP) port, with its fingerprint
	TargetDomain  TargetKind = "domain"  // a DNS name (zone, mail domain): DNS and mail checks
	TargetURL     TargetKind = "url"     // a web application
)

// Target is what a check looks at. Fields not relevant to Kind are empty.
type Target struct {
	Kind TargetKind `json:"kind"`
	// Service targets.
	Addr    netip.AddrPort `json:"addr,omitzero"`
	Service string         `json:"service,omitempty"` // from fingerprinting: http, https, ssh, redis, ...
	Product string         `json:"product,omitempty"`
	Version string         `json:"version,omitempty"`
	CPE     string         `json:"cpe,omitempty"`
	TLS     bool           `json:"tls,omitempty"`
	Banner  string         `json:"banner,omitempty"`

	// Proto is "udp" for a UDP service, empty for TCP. A UDP target goes
	// only to checks that implement UDPCheck.
	Proto string `json:"proto,omitempty"`
	// Host is the DNS name for SNI, Host headers and DNS checks (may be
	// empty for a bare address).
	Host string `json:"host,omitempty"`
	// URL targets.
	URL string `json:"url,omitempty"`
}

// String names the target for findings: "ip:port", a name or a URL.
func (t Target) String() string {
	switch t.Kind {
	case TargetURL:
		return t.URL
	case TargetDomain:
		return t.Host
	}
	addr := t.Addr.String()
	if t.Proto == ProtoUDP {
		addr += "/udp"
	}
	if t.Host != "" {
		return t.Host + " (" + addr + ")"
	}
	return addr
}

// ProtoUDP is Target.Proto of a UDP service.
const ProtoUDP = "udp"

// UDPCheck is a check that looks at UDP service targets; the engine gives
// a UDP target (Proto "udp") only to checks that implement it, and then
// still asks Applies. Checks written for TCP services never see one.
type UDPCheck interface {
	Check
	// UDP reports whether the check handles UDP targets.
	UDP() bool
}

// ForUDP reports whether c looks at UDP service targets.
func ForUDP(c Check) bool {
	u, ok := c.(UDPCheck)
	return ok && u.UDP()
}

// Evidence is what a check saw, kept with the finding.
type Evidence struct {
	Request  string            `json:"request,omitempty"`  // what was sent (a request line, a query)
	Response string            `json:"response,omitempty"` // the relevant part of the reply, capped
	Fields   map[string]string `json:"fields,omitempty"`   // structured facts: certificate fields, DNS answers, versions
}

// Result is one problem a check found on a target.
type Result struct {
	Check    string           `json:"check"`
	Severity finding.Severity `json:"severity"`
	// Subject distinguishes several results of one check on one target
	// (a path, a cipher, a CVE); with the asset and check it forms the
	// finding key.
	Subject  string   `json:"subject,omitempty"`
	Title    string   `json:"title"` // English, specific ("Certificate expired on 2026-01-02")
	Evidence Evidence `json:"evidence"`
	CVE      []string `json:"cve,omitempty"`
	KEV      bool     `json:"kev,omitempty"`
}

// MaxEvidence caps Evidence.Response.
const MaxEvidence = 4096

// Env is what checks may use. Build it once per scan; it is shared by
// concurrent checks and must not be changed while they run.
type Env struct {
	// Dial opens connections; tests point it at loopback fixtures.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Resolver answers DNS questions (for DNS and mail checks).
	Resolver *net.Resolver
	// DNSServer, when set ("127.0.0.1:5353"), is asked directly by checks
	// that need raw DNS (zone transfer, DNSSEC).
	DNSServer string
	// Roots are the trusted CAs for certificate checks (system roots plus
	// --ca-file); nil means the system pool.
	Roots     *x509.CertPool
	UserAgent string
	Timeout   time.Duration // per network operation; default 5s
	MaxRead   int64         // bytes read from one reply; default 1 MiB
	Now       func() time.Time
	// Extra holds family-specific dependencies (the vulnerability
	// database, web baselines), keyed by family.
	Extra map[string]any
}

// Check is one security check.
type Check interface {
	Meta() Meta
	// Applies reports cheaply whether the check is relevant to t.
	Applies(t Target) bool
	// Run examines t and returns the problems found (none when clean).
	// It returns an error wrapping ErrUnreachable when it could not
	// reach t, so the finding lifecycle does not take silence for a fix.
	Run(ctx context.Context, env *Env, t Target) ([]Result, error)
}

// Registry holds checks by ID, and registers each check's Meta as a kind
// of its finding catalog. Safe for concurrent use.
type Registry struct {
	mu     sync.RWMutex
	checks map[string]Check
	cat    *catalog.Catalog
}

// NewRegistry returns an empty registry with an empty catalog of its own.
func NewRegistry() *Registry { return NewRegistryIn(catalog.New()) }

// NewRegistryIn returns an empty registry whose checks register their
// kinds into cat (which may already hold the kinds of other sources).
func NewRegistryIn(cat *catalog.Catalog) *Registry {
	return &Registry{checks: map[string]Check{}, cat: cat}
}

// Catalog returns the finding catalog the registry's checks are in.
func (r *Registry) Catalog() *catalog.Catalog { return r.cat }

// Register adds checks and their kinds to the catalog; an invalid ID, or
// one already in the registry or the catalog, is an error.
func (r *Registry) Register(cs ...Check) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range cs {
		m := c.Meta()
		if err := m.Validate(); err != nil {
			return err
		}
		if _, dup := r.checks[m.ID]; dup {
			return fmt.Errorf("%w: %s", ErrDuplicateID, m.ID)
		}
		if err := r.cat.Register(m.Kind()); err != nil {
			if errors.Is(err, catalog.ErrDuplicateID) {
				return fmt.Errorf("%w: %s is already a finding kind", ErrDuplicateID, m.ID)
			}
			return fmt.Errorf("%w: %w", ErrInvalidMeta, err)
		}
		r.checks[m.ID] = c
	}
	return nil
}

// Get returns the check with id.
func (r *Registry) Get(id string) (Check, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.checks[id]
	return c, ok
}

// All returns every check sorted by ID.
func (r *Registry) All() []Check {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Check, 0, len(r.checks))
	for _, c := range r.checks {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Meta().ID < out[j].Meta().ID })
	return out
}

// Select returns the checks of the given families ("all" for every one,
// "none" or empty for none).
func (r *Registry) Select(families []string) []Check {
	want := map[string]bool{}
	for _, f := range families {
		want[f] = true
	}
	if want["none"] || len(want) == 0 {
		return nil
	}
	var out []Check
	for _, c := range r.All() {
		if want["all"] || want[c.Meta().Family] {
			out = append(out, c)
		}
	}
	return out
}

// Cap truncates s to MaxEvidence bytes for evidence.
func Cap(s string) string {
	if len(s) <= MaxEvidence {
		return s
	}
	return s[:MaxEvidence] + "…[truncated]"
}
