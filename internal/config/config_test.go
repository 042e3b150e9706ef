package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		set  func(*Config)
		want string // "" = valid; else a substring of the error
	}{
		{"empty data", func(c *Config) { c.Data = " " }, "data: must not be empty"},

		{"sqlite absolute", func(c *Config) { c.Database = "sqlite:///var/lib/r.db" }, ""},
		{"sqlite relative", func(c *Config) { c.Database = "sqlite://r.db" }, ""},
		{"sqlite no path", func(c *Config) { c.Database = "sqlite://" }, "no file path"},
		{"postgres", func(c *Config) { c.Database = "postgres://u:p@db:5432/rampart?sslmode=verify-full" }, ""},
		{"postgresql", func(c *Config) { c.Database = "postgresql:///rampart?host=/run/postgresql" }, ""},
		{"mysql", func(c *Config) { c.Database = "mysql://u@db/x" }, "want sqlite://, postgres://"},
		{"bare file", func(c *Config) { c.Database = "rampart.db" }, "want sqlite://"},
		{"bad postgres URL hides password", func(c *Config) { c.Database = "postgres://u:s3cret@db:99999999999/x%zz" }, "not a valid URL"},

		{"nats_listen all interfaces", func(c *Config) { c.NATSListen = "0.0.0.0:4222" }, ""},
		{"nats_listen none", func(c *Config) { c.NATSListen = "none" }, ""},
		{"nats_listen no port", func(c *Config) { c.NATSListen = "10.0.0.1" }, "nats_listen"},
		{"nats one", func(c *Config) { c.NATS = "nats://10.0.0.1:4222" }, ""},
		{"nats cluster", func(c *Config) { c.NATS = "nats://a:4222, tls://b:4222,nats://c" }, ""},
		{"nats with token", func(c *Config) { c.NATS = "nats://tok@a:4222" }, ""},
		{"nats http", func(c *Config) { c.NATS = "http://a:4222" }, `scheme "http"`},
		{"nats bare host", func(c *Config) { c.NATS = "a:4222" }, "want nats://"},
		{"nats no host", func(c *Config) { c.NATS = "nats://:4222" }, "without a host"},
		{"nats bad port", func(c *Config) { c.NATS = "nats://a:0" }, "out of range"},
		{"nats path", func(c *Config) { c.NATS = "nats://a:4222/x" }, "path or query"},
		{"nats empty element", func(c *Config) { c.NATS = "nats://a:4222," }, "want nats://"},

		{"listen any", func(c *Config) { c.Listen = ":8080" }, ""},
		{"listen v6", func(c *Config) { c.Listen = "[::]:443" }, ""},
		{"listen port 0", func(c *Config) { c.Listen = "127.0.0.1:0" }, ""},
		{"listen no port", func(c *Config) { c.Listen = "127.0.0.1" }, "want host:port"},
		{"listen port name", func(c *Config) { c.Listen = "localhost:http" }, "out of range"},
		{"listen port big", func(c *Config) { c.Listen = "localhost:65536" }, "out of range"},

		{"region ok", func(c *Config) { c.Region = "hcm-2" }, ""},
		{"region upper", func(c *Config) { c.Region = "HN" }, `region "HN"`},
		{"region long", func(c *Config) { c.Region = strings.Repeat("a", 33) }, "region"},
		{"region empty", func(c *Config) { c.Region = "" }, "region"},
		{"region underscore", func(c *Config) { c.Region = "a_b" }, "region"},

		{"log level", func(c *Config) { c.LogLevel = "trace" }, "log_level"},
		{"log level case", func(c *Config) { c.LogLevel = "INFO" }, "log_level"},
		{"log format", func(c *Config) { c.LogFormat = "logfmt" }, "log_format"},

		{"public url", func(c *Config) { c.PublicURL = "https://rampart.example.gov.vn/base" }, ""},
		{"public url relative", func(c *Config) { c.PublicURL = "rampart.example" }, "public_url"},
		{"public url ftp", func(c *Config) { c.PublicURL = "ftp://rampart.example" }, "public_url"},
		{"public url user", func(c *Config) { c.PublicURL = "https://u:p@rampart.example" }, "no user"},

		{"admin password ok", func(c *Config) { c.AdminPassword = "correct horse battery" }, ""},
		{"admin password short", func(c *Config) { c.AdminPassword = "hunter2" }, "admin_password: password shorter than 12"},
		{"admin token ok", func(c *Config) { c.AdminToken = strings.Repeat("x", 32) }, ""},
		{"admin token short", func(c *Config) { c.AdminToken = "tok" }, "admin_token"},
		{"admin token space", func(c *Config) { c.AdminToken = strings.Repeat("x", 32) + " y" }, "admin_token"},

		{"user agent", func(c *Config) { c.Scanner.UserAgent = "Rampart-Scanner/1 (+https://x)" }, ""},
		{"user agent newline", func(c *Config) { c.Scanner.UserAgent = "UA\r\nX-Evil: 1" }, "scanner.user_agent"},
		{"contact", func(c *Config) { c.Scanner.Contact = "SOC <soc@example.gov.vn>" }, ""},
		{"contact bad", func(c *Config) { c.Scanner.Contact = "not mail" }, "scanner.contact"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.set(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && err == nil:
				t.Errorf("Validate() = nil, want %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("Validate() = %v, want it to contain %q", err, tt.want)
			case err != nil && (!errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), "config: ")):
				t.Errorf("Validate() = %v: want ErrInvalid and the config: prefix", err)
			case err != nil && strings.Contains(err.Error(), "s3cret"):
				t.Errorf("Validate() = %v: leaks a password", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Region, c.LogLevel, c.Listen = "X", "loud", "nope"
	err := c.Validate()
	for _, w := range []string{"region", "log_level", "listen"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Validate() = %v, want it to mention %s", err, w)
		}
	}
}

func TestDatabaseDriver(t *testing.T) {
	tests := []struct {
		database, driver, path string
	}{
		{"", DriverSQLite, filepath.Join("/srv/rampart", "rampart.db")},
		{"sqlite:///var/lib/x.db", DriverSQLite, "/var/lib/x.db"},
		{"sqlite://x.db?_pragma=busy_timeout(5000)", DriverSQLite, "x.db"},
		{"SQLITE:///x.db", DriverSQLite, "/x.db"},
		{"postgres://u:p@db/rampart", DriverPostgres, ""},
		{"postgresql://db/rampart", DriverPostgres, ""},
	}
	for _, tt := range tests {
		c := Default()
		c.Data, c.Database = "/srv/rampart", tt.database
		if got := c.DatabaseDriver(); got != tt.driver {
			t.Errorf("DatabaseDriver(%q) = %q, want %q", tt.database, got, tt.driver)
		}
		if got := c.SQLitePath(); got != tt.path {
			t.Errorf("SQLitePath(%q) = %q, want %q", tt.database, got, tt.path)
		}
	}
}

func TestNATSURLs(t *testing.T) {
	c := Default()
	if c.NATSURLs() != nil {
		t.Error("embedded NATS: want nil")
	}
	c.NATS = "nats://a:4222, tls://b:4222"
	if got := fmt.Sprint(c.NATSURLs()); got != "[nats://a:4222 tls://b:4222]" {
		t.Errorf("NATSURLs = %s", got)
	}
}

func TestScannerUserAgent(t *testing.T) {
	tests := []struct {
		ua, public, contact, version, want string
	}{
		{"", "https://rampart.example/", "", "1.2.0", "Rampart-Scanner/1.2.0 (+https://rampart.example/scanner)"},
		{"", "", "SOC <soc@example.org>", "1.2.0", "Rampart-Scanner/1.2.0 (+mailto:soc@example.org)"},
		{"", "", "", "", "Rampart-Scanner/dev"},
		{"Custom/1", "https://rampart.example", "", "1.2.0", "Custom/1"},
	}
	for _, tt := range tests {
		c := Default()
		c.Scanner.UserAgent, c.PublicURL, c.Scanner.Contact = tt.ua, tt.public, tt.contact
		if got := c.ScannerUserAgent(tt.version); got != tt.want {
			t.Errorf("ScannerUserAgent = %q, want %q", got, tt.want)
		}
	}
}

func TestSlogLevel(t *testing.T) {
	for lvl, want := range map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError, "": slog.LevelInfo} {
		if got := (Config{LogLevel: lvl}).SlogLevel(); got != want {
			t.Errorf("SlogLevel(%q) = %v, want %v", lvl, got, want)
		}
	}
}

func TestRedacted(t *testing.T) {
	tests := []struct {
		name  string
		set   func(*Config)
		check func(Config) string // the field to inspect
		want  string
	}{
		{"admin password", func(c *Config) { c.AdminPassword = "s3cret-password" }, func(c Config) string { return c.AdminPassword }, "REDACTED"},
		{"admin token", func(c *Config) { c.AdminToken = "rpt_s3cret" }, func(c Config) string { return c.AdminToken }, "REDACTED"},
		{"no admin password stays empty", func(c *Config) {}, func(c Config) string { return c.AdminPassword }, ""},
		{"postgres password", func(c *Config) { c.Database = "postgres://rampart:s3cret@db:5432/rampart?sslmode=require" },
			func(c Config) string { return c.Database }, "postgres://rampart:REDACTED@db:5432/rampart?sslmode=require"},
		{"postgres query password", func(c *Config) { c.Database = "postgres://db/rampart?password=s3cret&user=r" },
			func(c Config) string { return c.Database }, "postgres://db/rampart?password=REDACTED&user=r"},
		{"postgres without password", func(c *Config) { c.Database = "postgres://rampart@db/rampart" },
			func(c Config) string { return c.Database }, "postgres://rampart@db/rampart"},
		{"unparsable URL with credentials", func(c *Config) { c.Database = "postgres://u:s3cret@db:x%zz/" },
			func(c Config) string { return c.Database }, "REDACTED"},
		{"sqlite untouched", func(c *Config) { c.Database = "sqlite:///var/lib/r.db" }, func(c Config) string { return c.Database }, "sqlite:///var/lib/r.db"},
		{"nats user and password", func(c *Config) { c.NATS = "nats://u:s3cret@a:4222,nats://b:4222" },
			func(c Config) string { return c.NATS }, "nats://REDACTED@a:4222,nats://b:4222"},
		{"nats token", func(c *Config) { c.NATS = "tls://s3cret@a:4222" }, func(c Config) string { return c.NATS }, "tls://REDACTED@a:4222"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.set(&c)
			orig := c
			r := c.Redacted()
			if got := tt.check(r); got != tt.want {
				t.Errorf("redacted %q, want %q", got, tt.want)
			}
			if c != orig {
				t.Error("Redacted modified its receiver")
			}
			if r.Redacted() != r {
				t.Error("Redacted is not idempotent")
			}
			// Every way of printing a Config is redacted.
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("start", "config", c)
			for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), buf.String()} {
				if strings.Contains(s, "s3cret") {
					t.Errorf("printed config leaks the secret: %s", s)
				}
			}
		})
	}
}

func TestSMTPSettings(t *testing.T) {
	c := Default()
	c.SMTP = "smtp://rampart:s3cret@127.0.0.1:2525?starttls=opportunistic"
	c.MailFrom = "rampart@cert.example.vn"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if r := c.Redacted(); strings.Contains(r.SMTP, "s3cret") {
		t.Fatalf("password not redacted: %s", r.SMTP)
	}
	c.SMTP = "http://x"
	c.MailFrom = "nobody"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "smtp") || !strings.Contains(err.Error(), "mail_from") {
		t.Fatalf("bad mail settings accepted: %v", err)
	}
}

// TestWebhookAllow: webhook_allow reads comma-separated CIDRs from the
// file or RAMPART_WEBHOOK_ALLOW and refuses anything else (security F21).
func TestWebhookAllow(t *testing.T) {
	c := Default()
	c.WebhookAllow = " 10.20.0.0/16, fd12:3456::1/48 ,"
	ps, err := c.WebhookAllowPrefixes()
	if err != nil || len(ps) != 2 || ps[0].String() != "10.20.0.0/16" || ps[1].String() != "fd12:3456::/48" {
		t.Fatalf("prefixes %v, %v", ps, err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.WebhookAllow = "10.20.0.0/16,intranet"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "webhook_allow") {
		t.Fatalf("bad webhook_allow accepted: %v", err)
	}
}
