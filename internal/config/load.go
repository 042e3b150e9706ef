package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// maxFileSize bounds the configuration file; a real one is a few hundred
// bytes, and reading /dev/zero by mistake should fail, not hang.
const maxFileSize = 1 << 20

// setting ties one Config field to its environment variable and flag. It is
// the single table Load, Register and the documentation agree on.
type setting struct {
	env   string // RAMPART_...; "" if none
	flag  string // flag name; "" if none (secrets, nested settings)
	usage string
	serve bool // flag exists on `rampart serve` only
	field func(*Config) *string
}

var settings = []setting{
	{env: "RAMPART_DATA", flag: "data", usage: "directory for local state", field: func(c *Config) *string { return &c.Data }},
	{env: "RAMPART_DATABASE", flag: "database", usage: `database URL: sqlite:///path/file.db or postgres://... ("" = SQLite in the data directory)`, field: func(c *Config) *string { return &c.Database }},
	{env: "RAMPART_NATS", flag: "nats", usage: `NATS URLs, comma-separated ("" = embedded server)`, field: func(c *Config) *string { return &c.NATS }},
	{env: "RAMPART_NATS_LISTEN", flag: "nats-listen", serve: true, usage: `host:port where the embedded NATS takes remote workers ("" = 127.0.0.1, random port; "none" = no listener)`, field: func(c *Config) *string { return &c.NATSListen }},
	{env: "RAMPART_NATS_CREDS", flag: "nats-creds", usage: "NKEY seed or .creds file for an external NATS (a worker: from `rampart worker credentials`)", field: func(c *Config) *string { return &c.NATSCreds }},
	{env: "RAMPART_NATS_CA", flag: "nats-ca", usage: "PEM file of CAs for an external NATS's TLS certificate", field: func(c *Config) *string { return &c.NATSCA }},
	{env: "RAMPART_LISTEN", flag: "listen", serve: true, usage: "host:port for the console and API", field: func(c *Config) *string { return &c.Listen }},
	{env: "RAMPART_REGION", flag: "region", usage: "vantage point of this process ([a-z0-9-]{1,32})", field: func(c *Config) *string { return &c.Region }},
	{env: "RAMPART_LOG_LEVEL", flag: "log-level", usage: "debug, info, warn or error", field: func(c *Config) *string { return &c.LogLevel }},
	{env: "RAMPART_LOG_FORMAT", flag: "log-format", usage: "text or json", field: func(c *Config) *string { return &c.LogFormat }},
	{env: "RAMPART_PUBLIC_URL", flag: "public-url", usage: "URL of the console, for links in mail", field: func(c *Config) *string { return &c.PublicURL }},
	{env: "RAMPART_SMTP_URL", flag: "smtp", usage: "mail server: smtp://user:pass@host:port?starttls=mandatory|opportunistic|none", field: func(c *Config) *string { return &c.SMTP }},
	{env: "RAMPART_MAIL_FROM", field: func(c *Config) *string { return &c.MailFrom }},
	{env: "RAMPART_ALERT_WINDOW", field: func(c *Config) *string { return &c.AlertWindow }},
	{env: "RAMPART_ADMIN_PASSWORD", field: func(c *Config) *string { return &c.AdminPassword }},
	{env: "RAMPART_ADMIN_TOKEN", field: func(c *Config) *string { return &c.AdminToken }},
	{env: "RAMPART_SCANNER_USER_AGENT", field: func(c *Config) *string { return &c.Scanner.UserAgent }},
	{env: "RAMPART_SCANNER_CONTACT", field: func(c *Config) *string { return &c.Scanner.Contact }},
	{env: "RAMPART_SCANNER_PORTS", field: func(c *Config) *string { return &c.Scanner.Ports }},
	{env: "RAMPART_SCANNER_RESOLVER", field: func(c *Config) *string { return &c.Scanner.Resolver }},
	{env: "RAMPART_FINDINGS_EXPIRY", field: func(c *Config) *string { return &c.FindingsExpiry }},
	{env: "RAMPART_WEBHOOK_ALLOW", field: func(c *Config) *string { return &c.WebhookAllow }},
}

// EnvConfig names the configuration file when --config is not given.
const EnvConfig = "RAMPART_CONFIG"

// EnvMetricsPublic sets metrics_public, the one boolean setting.
const EnvMetricsPublic = "RAMPART_METRICS_PUBLIC"

// EnvInternalDeployment sets internal_deployment.
const EnvInternalDeployment = "RAMPART_INTERNAL_DEPLOYMENT"

// Flags holds the command-line values. Load applies only the flags that were
// set explicitly, so the values here matter only after fs.Parse.
type Flags struct {
	Config     string
	Data       string
	Database   string
	NATS       string
	NATSListen string // serve only
	NATSCreds  string
	NATSCA     string
	Listen     string // serve only
	Region     string
	LogLevel   string
	LogFormat  string
	PublicURL  string
	SMTP       string
	serve      bool
}

// Register defines the configuration flags on fs: --config, --data,
// --database, --nats, --region, --log-level, --log-format, --public-url,
// and --listen when serve is true. Secrets have no flags.
func Register(fs *flag.FlagSet, serve bool) *Flags {
	f := &Flags{serve: serve}
	def := Default()
	fs.StringVar(&f.Config, "config", "", "YAML configuration file (env "+EnvConfig+")")
	dst := map[string]*string{
		"data": &f.Data, "database": &f.Database, "nats": &f.NATS, "nats-listen": &f.NATSListen, "nats-creds": &f.NATSCreds, "nats-ca": &f.NATSCA, "listen": &f.Listen, "region": &f.Region,
		"log-level": &f.LogLevel, "log-format": &f.LogFormat, "public-url": &f.PublicURL, "smtp": &f.SMTP,
	}
	for _, s := range settings {
		if s.flag == "" || s.serve && !serve {
			continue
		}
		// The flag's default is shown in -help only; Load starts from
		// Default() and ignores flags that were not given.
		fs.StringVar(dst[s.flag], s.flag, *s.field(&def), s.usage+" (env "+s.env+")")
	}
	return f
}

// Load merges defaults < file < environment < flags and validates the
// result. Call it after fs.Parse. getenv is os.Getenv outside tests; an
// empty variable counts as unset.
func Load(fs *flag.FlagSet, f *Flags, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	given := map[string]*flag.Flag{}
	if fs != nil {
		fs.Visit(func(fl *flag.Flag) { given[fl.Name] = fl })
	}

	c := Default()

	path := getenv(EnvConfig)
	if fl, ok := given["config"]; ok {
		path = fl.Value.String()
	}
	if path != "" {
		if err := loadFile(&c, path); err != nil {
			return Config{}, err
		}
	}

	for _, s := range settings {
		if v := getenv(s.env); v != "" {
			*s.field(&c) = v
		}
	}
	if v := getenv(EnvMetricsPublic); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("%w: %s %q: want true or false", ErrInvalid, EnvMetricsPublic, v)
		}
		c.MetricsPublic = b
	}
	if v := getenv(EnvInternalDeployment); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("%w: %s %q: want true or false", ErrInvalid, EnvInternalDeployment, v)
		}
		c.InternalDeployment = b
	}

	for _, s := range settings {
		if s.flag == "" || s.serve && (f == nil || !f.serve) {
			continue
		}
		if fl, ok := given[s.flag]; ok {
			*s.field(&c) = fl.Value.String()
		}
	}

	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// LoadFile reads one YAML file over c. Keys the file does not name keep
// their value in c; unknown keys are an error.
func loadFile(c *Config, path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxFileSize+1))
	if err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return fmt.Errorf("config: %s: larger than %d bytes", path, maxFileSize)
	}
	return decodeYAML(c, path, data)
}

func decodeYAML(c *Config, name string, data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// Decode into a copy, so a file that fails half-way leaves c untouched.
	next := *c
	if err := dec.Decode(&next); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file: nothing set
		}
		return yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			return yamlError(name, err)
		}
		return fmt.Errorf("config: %s:%d: more than one YAML document", name, line)
	}
	*c = next
	return nil
}

var (
	yamlLine    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`) })
	yamlUnknown = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^field (\S+) not found in type \S+$`) })
)

// yamlError rewrites yaml.v3 errors as "config: <file>:<line>: <problem>",
// one line per problem, naming unknown keys plainly.
func yamlError(name string, err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var errs []error
	for _, m := range msgs {
		m = strings.TrimSpace(m)
		pos := name
		if sub := yamlLine().FindStringSubmatch(m); sub != nil {
			pos, m = name+":"+sub[1], sub[2]
		} else {
			m = strings.TrimPrefix(m, "yaml: ")
		}
		if sub := yamlUnknown().FindStringSubmatch(m); sub != nil {
			m = fmt.Sprintf("unknown key %q", sub[1])
		}
		errs = append(errs, fmt.Errorf("config: %s: %s", pos, m))
	}
	return errors.Join(errs...)
}
