package config

import (
	"github.com/rampart-cert/rampart/internal/target"

	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
)

// AlertWindowDuration is AlertWindow parsed; 0 when it is not set (the
// notifier's default, one minute).
func (c Config) AlertWindowDuration() time.Duration {
	d, err := time.ParseDuration(c.AlertWindow)
	if err != nil {
		return 0
	}
	return d
}

// Config is the whole configuration of a Rampart process. See the package
// documentation for each setting, its environment variable and its flag.
type Config struct {
	Data     string `yaml:"data"`
	Database string `yaml:"database"`
	NATS     string `yaml:"nats"`
	// NATSListen is where the embedded NATS server takes clients (remote
	// workers): host:port, "none" for no listener; "" is 127.0.0.1 on a
	// random port.
	NATSListen string `yaml:"nats_listen"`
	// NATSCreds authenticates to an external NATS: an NKEY seed file (as
	// `rampart worker credentials` writes) or a NATS .creds file.
	NATSCreds string `yaml:"nats_creds"`
	// NATSCA is a PEM file of CAs for an external NATS's TLS certificate.
	NATSCA        string        `yaml:"nats_ca"`
	Listen        string        `yaml:"listen"`
	Region        string        `yaml:"region"`
	LogLevel      string        `yaml:"log_level"`
	LogFormat     string        `yaml:"log_format"`
	AdminPassword string        `yaml:"admin_password"`
	AdminToken    string        `yaml:"admin_token"`
	PublicURL     string        `yaml:"public_url"`
	SMTP          string        `yaml:"smtp"`         // --smtp, RAMPART_SMTP_URL: smtp://user:pass@host:port?starttls=...
	MailFrom      string        `yaml:"mail_from"`    // RAMPART_MAIL_FROM: sender address of notifications
	AlertWindow   string        `yaml:"alert_window"` // RAMPART_ALERT_WINDOW: alerts batch this long per recipient (a Go duration); empty: 1m
	Scanner       ScannerConfig `yaml:"scanner"`
	// FindingsExpiry overrides how many days a source that closes its
	// findings by expiry (intel, sensor, dns, discovery, monitor) may stop
	// reporting one before it counts as fixed: "intel=30,monitor=3". A
	// key may also be a finding kind of those sources,
	// "intel.exposed-service=7", whose days win over its source's.
	// Sources not named keep findings.DefaultExpiry (intel 30, sensor 7,
	// dns 7, discovery 30, monitor 3), kinds findings.DefaultKindExpiry
	// (intel.exposed-service 7, intel.compromised-host 14,
	// intel.leaked-credentials 90); 0 never expires.
	FindingsExpiry string `yaml:"findings_expiry"`
	// MetricsPublic serves /metrics to anyone who reaches the listener
	// (RAMPART_METRICS_PUBLIC=true); by default it needs a token of a
	// platform admin or analyst.
	MetricsPublic bool `yaml:"metrics_public"`
	// InternalDeployment (RAMPART_INTERNAL_DEPLOYMENT=true) lets members
	// claim private, loopback, link-local and other special-purpose
	// addresses and names such as localhost, and lets ownership proofs
	// reach them: a platform deployed inside one network. Public
	// suffixes stay refused.
	InternalDeployment bool `yaml:"internal_deployment"`
	// Claims bounds what a member may claim.
	Claims ClaimsConfig `yaml:"claims"`
	// WebhookAllow (RAMPART_WEBHOOK_ALLOW) lists the private networks
	// (RFC 1918, ULA fc00::/7, CGNAT 100.64.0.0/10) webhooks may reach,
	// as comma-separated CIDRs: "10.20.0.0/16,fd12:3456::/48". A platform
	// admin sets it for the SOC collectors of organizations that listen on
	// one; by default webhooks reach public addresses only, and never this
	// host's own addresses, loopback or link-local (security F21).
	WebhookAllow string `yaml:"webhook_allow"`
	// Monitor is the monitoring of internet resources (see
	// MonitorConfig); nil when the file has no monitor: key. A pointer
	// keeps Config comparable.
	Monitor *MonitorConfig `yaml:"monitor"`
	// Discovery is how the platform discovers unregistered assets (see
	// DiscoveryConfig); nil when the file has no discovery: key.
	Discovery *DiscoveryConfig `yaml:"discovery"`
	// RPZ serves the blocklists as response policy zones over AXFR and
	// IXFR (see RPZConfig); nil when the file has no rpz: key.
	RPZ *RPZConfig `yaml:"rpz"`
	// Correlation is how sensors' detections become national decisions
	// (see CorrelationConfig); nil when the file has no correlation: key
	// (the defaults apply).
	Correlation *CorrelationConfig `yaml:"correlation"`
	// DNS is the protective DNS policy sent to `rampart dns` resolvers
	// (see DNSConfig); nil when the file has no dns: key.
	DNS *DNSConfig `yaml:"dns"`
}

// ClaimsConfig bounds ownership claims below the national level.
type ClaimsConfig struct {
	// MaxIPv4Prefix and MaxIPv6Prefix are the widest networks a member
	// may claim (0: 16 and 32); wider ones the national level registers.
	MaxIPv4Prefix int `yaml:"max_ipv4_prefix"`
	MaxIPv6Prefix int `yaml:"max_ipv6_prefix"`
}

// ScannerConfig is how the scanner presents itself to targets.
type ScannerConfig struct {
	UserAgent string `yaml:"user_agent"` // "" = DefaultUserAgent
	Contact   string `yaml:"contact"`    // e-mail address for target operators
	// Ports the platform's scheduled and requested scans probe: top100,
	// top1000 (default), all, or a list like 22,80,1000-2000.
	Ports string `yaml:"ports"`
	// Resolver is the DNS server (ip:port) scans and DNS checks ask;
	// empty: the system's resolver for names, and no raw-DNS checks.
	Resolver string `yaml:"resolver"`
}

// Database drivers, as returned by Config.DatabaseDriver.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// redacted replaces secrets in Config.Redacted.
const redacted = "REDACTED"

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("config: invalid")

var regionPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9-]{1,32}$`) })

// Default returns the built-in defaults, the bottom layer of Load.
func Default() Config {
	return Config{
		Data:      "./rampart-data",
		Listen:    "127.0.0.1:8080",
		Region:    "default",
		LogLevel:  "info",
		LogFormat: "text",
	}
}

// Validate checks every setting and reports all problems at once, so an
// operator fixes a file in one pass. Errors wrap ErrInvalid.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	if strings.TrimSpace(c.Data) == "" {
		bad("data: must not be empty")
	}
	if err := checkDatabase(c.Database); err != nil {
		bad("database %q: %v", redactURL(c.Database), err)
	}
	if c.SMTP != "" {
		if u, err := url.Parse(c.SMTP); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
			bad("smtp %q: must be smtp://[user:pass@]host:port[?starttls=...]", redactURL(c.SMTP))
		}
	}
	if _, err := c.ExpiryDays(); err != nil {
		bad("findings_expiry %q: %v", c.FindingsExpiry, err)
	}
	if _, err := c.WebhookAllowPrefixes(); err != nil {
		bad("webhook_allow %q: %v", c.WebhookAllow, err)
	}
	if c.MailFrom != "" {
		if _, err := mail.ParseAddress(c.MailFrom); err != nil {
			bad("mail_from %q: not an address", c.MailFrom)
		}
	}
	if c.AlertWindow != "" {
		if d, err := time.ParseDuration(c.AlertWindow); err != nil || d < 100*time.Millisecond || d > 24*time.Hour {
			bad("alert_window %q: must be a duration from 100ms to 24h, like 1m", c.AlertWindow)
		}
	}
	if c.Scanner.Resolver != "" {
		if _, _, err := net.SplitHostPort(c.Scanner.Resolver); err != nil {
			bad("scanner.resolver %q: must be ip:port", c.Scanner.Resolver)
		}
	}
	if n := c.Claims.MaxIPv4Prefix; n != 0 && (n < 8 || n > 32) {
		bad("claims.max_ipv4_prefix %d: want 8 to 32", n)
	}
	if n := c.Claims.MaxIPv6Prefix; n != 0 && (n < 16 || n > 128) {
		bad("claims.max_ipv6_prefix %d: want 16 to 128", n)
	}
	if c.Scanner.Ports != "" {
		if _, err := target.ParsePorts(c.Scanner.Ports); err != nil {
			bad("scanner.ports: %v", err)
		}
	}
	if err := checkNATS(c.NATS); err != nil {
		bad("nats %q: %v", redactNATS(c.NATS), err)
	}
	if err := checkListen(c.Listen); err != nil {
		bad("listen %q: %v", c.Listen, err)
	}
	if c.NATSListen != "" && c.NATSListen != "none" {
		if err := checkListen(c.NATSListen); err != nil {
			bad("nats_listen %q: %v (or \"none\")", c.NATSListen, err)
		}
	}
	if !regionPattern().MatchString(c.Region) {
		bad("region %q: want 1-32 characters of a-z, 0-9 and -", c.Region)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level %q: want debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("log_format %q: want text or json", c.LogFormat)
	}
	if c.PublicURL != "" {
		if err := checkPublicURL(c.PublicURL); err != nil {
			bad("public_url %q: %v", c.PublicURL, err)
		}
	}
	if c.AdminPassword != "" {
		if err := auth.ValidatePassword(c.AdminPassword); err != nil {
			bad("admin_password: %s", strings.TrimPrefix(err.Error(), auth.ErrInvalid.Error()+": "))
		}
	}
	if c.AdminToken != "" && (len(c.AdminToken) < 32 || !printableNoSpace(c.AdminToken)) {
		bad("admin_token: want at least 32 printable characters without spaces")
	}
	if ua := c.Scanner.UserAgent; ua != "" && (len(ua) > 256 || !printable(ua)) {
		bad("scanner.user_agent: want at most 256 printable ASCII characters")
	}
	if c.Scanner.Contact != "" {
		if _, err := mail.ParseAddress(c.Scanner.Contact); err != nil {
			bad("scanner.contact %q: not an e-mail address", c.Scanner.Contact)
		}
	}
	for _, p := range c.Monitor.problems() {
		bad("%s", p)
	}
	for _, p := range c.Discovery.problems() {
		bad("%s", p)
	}
	for _, p := range c.RPZ.problems() {
		bad("%s", p)
	}
	for _, p := range c.Correlation.problems() {
		bad("%s", p)
	}
	for _, p := range c.DNS.problems() {
		bad("%s", p)
	}
	return errors.Join(errs...)
}

func checkDatabase(s string) error {
	if s == "" {
		return nil
	}
	scheme, _, _ := strings.Cut(s, "://")
	switch strings.ToLower(scheme) {
	case "sqlite":
		if sqlitePath(s) == "" {
			return errors.New("no file path (want sqlite:///path/file.db)")
		}
		return nil
	case "postgres", "postgresql":
		if _, err := url.Parse(s); err != nil {
			return errors.New("not a valid URL")
		}
		return nil
	}
	return errors.New("want sqlite://, postgres:// or postgresql://")
}

func checkNATS(s string) error {
	if s == "" {
		return nil
	}
	for _, one := range strings.Split(s, ",") {
		u, err := url.Parse(strings.TrimSpace(one))
		if err != nil {
			return errors.New("not a list of URLs")
		}
		if u.Scheme != "nats" && u.Scheme != "tls" {
			return fmt.Errorf("scheme %q: want nats:// or tls://", u.Scheme)
		}
		if u.Hostname() == "" {
			return errors.New("URL without a host")
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return fmt.Errorf("port %q out of range", p)
			}
		}
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
			return errors.New("URL with a path or query")
		}
	}
	return nil
}

func checkListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("want host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q out of range", port)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("host %q is not a host name or address", host)
	}
	return nil
}

func checkPublicURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an absolute http:// or https:// URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("want no user, query or fragment")
	}
	return nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func printableNoSpace(s string) bool { return printable(s) && !strings.Contains(s, " ") }

// DatabaseDriver returns DriverSQLite or DriverPostgres. Call it on a
// validated Config.
func (c Config) DatabaseDriver() string {
	scheme, _, _ := strings.Cut(c.Database, "://")
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		return DriverPostgres
	}
	return DriverSQLite
}

// SQLitePath returns the SQLite database file: <data>/rampart.db when
// database is empty, the path of a sqlite:// URL otherwise, and "" when the
// database is PostgreSQL.
func (c Config) SQLitePath() string {
	switch {
	case c.Database == "":
		return filepath.Join(c.Data, "rampart.db")
	case c.DatabaseDriver() == DriverSQLite:
		return sqlitePath(c.Database)
	}
	return ""
}

// sqlitePath is the file part of a sqlite:// URL. It is not parsed as a URL:
// "sqlite://rel/x.db" would make "rel" a host. Query parameters are dropped.
func sqlitePath(s string) string {
	_, p, _ := strings.Cut(s, "://")
	p, _, _ = strings.Cut(p, "?")
	return p
}

// NATSURLs returns the external NATS servers, or nil for the embedded one.
func (c Config) NATSURLs() []string {
	if c.NATS == "" {
		return nil
	}
	var out []string
	for _, u := range strings.Split(c.NATS, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// SlogLevel returns LogLevel as a slog.Level (info if it is not valid).
func (c Config) SlogLevel() slog.Level {
	switch c.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// ScannerUserAgent returns the scanner's User-Agent: the configured one, or
// DefaultUserAgent for this build's version.
func (c Config) ScannerUserAgent(version string) string {
	if c.Scanner.UserAgent != "" {
		return c.Scanner.UserAgent
	}
	return DefaultUserAgent(version, c.PublicURL, c.Scanner.Contact)
}

// DefaultUserAgent is "Rampart-Scanner/<version> (+<public_url>/scanner)",
// pointing a target's operator at a page that explains the scan. Without a
// public URL it names the contact address instead, if any.
func DefaultUserAgent(version, publicURL, contact string) string {
	if version == "" {
		version = "dev"
	}
	ua := "Rampart-Scanner/" + version
	switch {
	case publicURL != "":
		ua += " (+" + strings.TrimRight(publicURL, "/") + "/scanner)"
	case contact != "":
		if a, err := mail.ParseAddress(contact); err == nil {
			ua += " (+mailto:" + a.Address + ")"
		}
	}
	return ua
}

// Redacted returns c with secrets masked, for logs and `rampart config`
// output: the admin password and token, and passwords and tokens inside
// the database and NATS URLs.
func (c Config) Redacted() Config {
	if c.AdminPassword != "" {
		c.AdminPassword = redacted
	}
	if c.AdminToken != "" {
		c.AdminToken = redacted
	}
	c.Database = redactURL(c.Database)
	c.NATS = redactNATS(c.NATS)
	c.SMTP = redactURL(c.SMTP)
	c.RPZ = c.RPZ.redacted()
	return c
}

// redactURL masks the password of a database URL, in the user part and in
// a libpq-style password= query parameter.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") {
			return redacted // cannot tell where the secret ends: hide it all
		}
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), redacted)
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", redacted)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// redactNATS masks the whole user part of each NATS URL: a NATS user part
// without a password is a token ("nats://s3cret@host").
func redactNATS(s string) string {
	if s == "" {
		return s
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		switch {
		case err != nil && strings.Contains(p, "@"):
			parts[i] = redacted
		case err == nil && u.User != nil:
			u.User = url.User(redacted)
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

// String formats the redacted configuration, so printing a Config by
// accident (%v, a panic) does not leak a secret.
func (c Config) String() string {
	r := c.Redacted()
	return fmt.Sprintf("data=%q database=%q nats=%q listen=%q region=%q log_level=%q log_format=%q public_url=%q admin_password=%q admin_token=%q scanner.user_agent=%q scanner.contact=%q",
		r.Data, r.Database, r.NATS, r.Listen, r.Region, r.LogLevel, r.LogFormat, r.PublicURL, r.AdminPassword, r.AdminToken, r.Scanner.UserAgent, r.Scanner.Contact)
}

// GoString is String, for %#v.
func (c Config) GoString() string { return "config.Config{" + c.String() + "}" }

// LogValue makes slog log the redacted configuration.
func (c Config) LogValue() slog.Value {
	r := c.Redacted()
	return slog.GroupValue(
		slog.String("data", r.Data),
		slog.String("database", r.Database),
		slog.String("nats", r.NATS),
		slog.String("listen", r.Listen),
		slog.String("region", r.Region),
		slog.String("log_level", r.LogLevel),
		slog.String("log_format", r.LogFormat),
		slog.String("public_url", r.PublicURL),
		slog.String("admin_password", r.AdminPassword),
		slog.String("admin_token", r.AdminToken),
		slog.Group("scanner", slog.String("user_agent", r.Scanner.UserAgent), slog.String("contact", r.Scanner.Contact)),
	)
}

// WebhookAllowPrefixes reads WebhookAllow: the networks webhooks may
// reach although they are private, masked to their prefix length.
func (c Config) WebhookAllowPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(c.WebhookAllow, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%q: want a CIDR such as 10.20.0.0/16", part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// ExpiryDays reads FindingsExpiry's sources: source name → days
// (0..3650). Only sources that close by expiry may be named; kind keys
// are ExpiryKindDays'.
func (c Config) ExpiryDays() (map[finding.Source]int, error) {
	src, _, err := c.expiry()
	return src, err
}

// ExpiryKindDays reads FindingsExpiry's finding kinds: kind → days
// ("intel.exposed-service=7"). A kind's days win over its source's; kinds
// not named keep findings.DefaultKindExpiry.
func (c Config) ExpiryKindDays() (map[string]int, error) {
	_, kinds, err := c.expiry()
	return kinds, err
}

// expiryKind is a finding kind of a source closed by expiry: its family
// (intel, sensor, pdns, discovery, monitor), a dot and a name.
var expiryKind = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(intel|sensor|pdns|discovery|monitor)\.[a-z0-9][a-z0-9.-]{0,95}$`)
})

// expiry reads FindingsExpiry: "intel=30,intel.exposed-service=7".
func (c Config) expiry() (map[finding.Source]int, map[string]int, error) {
	srcs, kinds := map[finding.Source]int{}, map[string]int{}
	if strings.TrimSpace(c.FindingsExpiry) == "" {
		return srcs, kinds, nil
	}
	for _, part := range strings.Split(c.FindingsExpiry, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		name = strings.TrimSpace(name)
		src := finding.Source(name)
		isKind := expiryKind().MatchString(name)
		if !ok || !isKind && (!src.Valid() || src.Closure() != finding.ClosedByExpiry) {
			return nil, nil, fmt.Errorf("%q: want source=days with a source of intel, sensor, dns, discovery or monitor, or kind=days with a kind of those (intel.exposed-service=7)", part)
		}
		d, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || d < 0 || d > 3650 {
			return nil, nil, fmt.Errorf("%q: days must be 0..3650", part)
		}
		if isKind {
			kinds[name] = d
		} else {
			srcs[src] = d
		}
	}
	return srcs, kinds, nil
}
