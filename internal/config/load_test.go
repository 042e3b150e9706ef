package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// env is a fake environment for Load.
type env map[string]string

func (e env) get(k string) string { return e[k] }

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// load runs Register, Parse and Load the way the cli does.
func load(t *testing.T, serve bool, args []string, e env) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := Register(fs, serve)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("Parse(%q): %v", args, err)
	}
	return Load(fs, f, e.get)
}

func TestLoadPrecedence(t *testing.T) {
	file := writeFile(t, "rampart.yaml", `
data: /file/data
region: file-region
log_level: warn
public_url: https://file.example/
scanner:
  contact: file@example.org
`)
	def := Default()
	tests := []struct {
		name string
		args []string
		env  env
		want func(*Config)
	}{
		{"defaults only", nil, nil, func(c *Config) {}},
		{"file over defaults, only what it names", []string{"--config", file}, nil, func(c *Config) {
			c.Data, c.Region, c.LogLevel, c.PublicURL = "/file/data", "file-region", "warn", "https://file.example"
			c.Scanner.Contact = "file@example.org"
		}},
		{"file named by RAMPART_CONFIG", nil, env{"RAMPART_CONFIG": file}, func(c *Config) {
			c.Data, c.Region, c.LogLevel, c.PublicURL = "/file/data", "file-region", "warn", "https://file.example"
			c.Scanner.Contact = "file@example.org"
		}},
		{"env over file, only what it sets", []string{"--config", file}, env{
			"RAMPART_REGION": "env-region", "RAMPART_LOG_FORMAT": "json", "RAMPART_SCANNER_USER_AGENT": "Env/1",
			"RAMPART_DATA": "", // empty is unset
		}, func(c *Config) {
			c.Data, c.Region, c.LogLevel, c.LogFormat, c.PublicURL = "/file/data", "env-region", "warn", "json", "https://file.example"
			c.Scanner = ScannerConfig{UserAgent: "Env/1", Contact: "file@example.org"}
		}},
		{"flags over env, only what was given", []string{"--config", file, "--region", "flag-region", "--listen", ":9090"}, env{
			"RAMPART_REGION": "env-region", "RAMPART_LOG_FORMAT": "json", "RAMPART_LISTEN": "10.0.0.1:80",
		}, func(c *Config) {
			c.Data, c.Region, c.LogLevel, c.LogFormat, c.PublicURL = "/file/data", "flag-region", "warn", "json", "https://file.example"
			c.Listen = ":9090"
			c.Scanner.Contact = "file@example.org"
		}},
		{"flag set to its default still overrides", []string{"--config", file, "--log-level", "info"}, nil, func(c *Config) {
			c.Data, c.Region, c.LogLevel, c.PublicURL = "/file/data", "file-region", "info", "https://file.example"
			c.Scanner.Contact = "file@example.org"
		}},
		{"--config flag over RAMPART_CONFIG", []string{"--config", file}, env{"RAMPART_CONFIG": "/nonexistent.yaml"}, func(c *Config) {
			c.Data, c.Region, c.LogLevel, c.PublicURL = "/file/data", "file-region", "warn", "https://file.example"
			c.Scanner.Contact = "file@example.org"
		}},
		{"every env var", nil, env{
			"RAMPART_DATA": "/d", "RAMPART_DATABASE": "postgres://u:p@db/rampart", "RAMPART_NATS": "nats://n1:4222,tls://n2:4222",
			"RAMPART_LISTEN": "0.0.0.0:80", "RAMPART_REGION": "hn-1", "RAMPART_LOG_LEVEL": "debug", "RAMPART_LOG_FORMAT": "json",
			"RAMPART_ADMIN_PASSWORD": "correct horse battery", "RAMPART_ADMIN_TOKEN": "rpt_0123456789abcdefghijABCDEFGHIJ0123456789",
			"RAMPART_PUBLIC_URL": "https://rampart.example", "RAMPART_SCANNER_USER_AGENT": "UA/1", "RAMPART_SCANNER_CONTACT": "soc@example.org",
		}, func(c *Config) {
			*c = Config{Data: "/d", Database: "postgres://u:p@db/rampart", NATS: "nats://n1:4222,tls://n2:4222", Listen: "0.0.0.0:80",
				Region: "hn-1", LogLevel: "debug", LogFormat: "json", AdminPassword: "correct horse battery",
				AdminToken: "rpt_0123456789abcdefghijABCDEFGHIJ0123456789", PublicURL: "https://rampart.example",
				Scanner: ScannerConfig{UserAgent: "UA/1", Contact: "soc@example.org"}}
		}},
		{"every flag", []string{"--data", "/d", "--database", "sqlite:///x.db", "--nats", "nats://n:4222", "--listen", "[::1]:80",
			"--region", "r", "--log-level", "error", "--log-format", "json", "--public-url", "http://p.example"}, nil, func(c *Config) {
			*c = Config{Data: "/d", Database: "sqlite:///x.db", NATS: "nats://n:4222", Listen: "[::1]:80", Region: "r",
				LogLevel: "error", LogFormat: "json", PublicURL: "http://p.example"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := load(t, true, tt.args, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			want := def
			tt.want(&want)
			if got != want {
				t.Errorf("got  %#v\nwant %#v", got.unsafeString(), want.unsafeString())
			}
		})
	}
}

// unsafeString shows secrets too; for test failure messages only.
func (c Config) unsafeString() string {
	return strings.Join([]string{c.Data, c.Database, c.NATS, c.Listen, c.Region, c.LogLevel, c.LogFormat,
		c.AdminPassword, c.AdminToken, c.PublicURL, c.Scanner.UserAgent, c.Scanner.Contact}, " | ")
}

func TestRegisterListenServeOnly(t *testing.T) {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	Register(fs, false)
	if fs.Lookup("listen") != nil {
		t.Error("--listen registered for a non-serve command")
	}
	if fs.Lookup("nats-listen") != nil {
		t.Error("--nats-listen registered for a non-serve command")
	}
	for _, name := range []string{"config", "data", "database", "nats", "nats-creds", "nats-ca", "region", "log-level", "log-format", "public-url"} {
		if fs.Lookup(name) == nil {
			t.Errorf("--%s not registered", name)
		}
	}
	for _, name := range []string{"admin-password", "admin-token"} {
		if fs.Lookup(name) != nil {
			t.Errorf("--%s registered: secrets must not be flags", name)
		}
	}
	// RAMPART_LISTEN still applies (harmless; only serve reads Listen).
	c, err := load(t, false, nil, env{"RAMPART_LISTEN": ":1"})
	if err != nil || c.Listen != ":1" {
		t.Errorf("RAMPART_LISTEN on a worker: %q, %v", c.Listen, err)
	}
	// Flag -help shows the real default.
	fs2 := flag.NewFlagSet("serve", flag.ContinueOnError)
	Register(fs2, true)
	if d := fs2.Lookup("listen").DefValue; d != "127.0.0.1:8080" {
		t.Errorf("--listen default shown as %q", d)
	}
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string // substrings of the error
	}{
		{"unknown key", "data: /x\nregoin: hn\n", []string{"rampart.yaml:2: unknown key \"regoin\""}},
		{"unknown nested key", "scanner:\n  contact: a@b.c\n  agent: x\n", []string{"rampart.yaml:3: unknown key \"agent\""}},
		{"two unknown keys", "a: 1\ndata: /x\nb: 2\n", []string{"rampart.yaml:1: unknown key \"a\"", "rampart.yaml:3: unknown key \"b\""}},
		{"wrong type", "data: [1, 2]\n", []string{"rampart.yaml:1:", "cannot unmarshal"}},
		{"scanner not a map", "scanner: yes\n", []string{"rampart.yaml:1:"}},
		{"syntax", "data: /x\n  region: : :\n", []string{"rampart.yaml:2:"}},
		{"two documents", "data: /x\n---\ndata: /y\n", []string{"rampart.yaml:2: more than one YAML document"}},
		{"tab indentation", "scanner:\n\tcontact: x\n", []string{"rampart.yaml:"}},
		{"valid YAML, invalid value", "log_level: loud\n", []string{`log_level "loud"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, "rampart.yaml", tt.body)
			_, err := load(t, true, []string{"--config", p}, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "config: ") {
				t.Errorf("error %q lacks the config: prefix", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadFileEdgeCases(t *testing.T) {
	for _, body := range []string{"", "# only a comment\n", "---\n", "data:\n"} {
		p := writeFile(t, "rampart.yaml", body)
		c, err := load(t, true, []string{"--config", p}, nil)
		if err != nil || c != Default() {
			t.Errorf("file %q: %v, %v; want defaults", body, c.unsafeString(), err)
		}
	}
	if _, err := load(t, true, []string{"--config", filepath.Join(t.TempDir(), "missing.yaml")}, nil); !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "config: ") {
		t.Errorf("missing file: %v", err)
	}
	big := writeFile(t, "big.yaml", "# "+strings.Repeat("x", maxFileSize)+"\n")
	if _, err := load(t, true, []string{"--config", big}, nil); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: %v", err)
	}
}

func TestLoadNilArguments(t *testing.T) {
	c, err := Load(nil, nil, nil)
	if err != nil || c != Default() {
		t.Errorf("Load(nil, nil, nil) = %v, %v", c.unsafeString(), err)
	}
}

// TestF19MetricsPublic: metrics_public is off by default and set by the
// file or RAMPART_METRICS_PUBLIC.
func TestF19MetricsPublic(t *testing.T) {
	c, err := Load(nil, nil, nil)
	if err != nil || c.MetricsPublic {
		t.Fatalf("default: %v, %v", c.MetricsPublic, err)
	}
	path := filepath.Join(t.TempDir(), "rampart.yaml")
	if err := os.WriteFile(path, []byte("metrics_public: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{EnvConfig: path}
	if c, err = Load(nil, nil, func(k string) string { return env[k] }); err != nil || !c.MetricsPublic {
		t.Fatalf("file: %v, %v", c.MetricsPublic, err)
	}
	env[EnvMetricsPublic] = "false"
	if c, err = Load(nil, nil, func(k string) string { return env[k] }); err != nil || c.MetricsPublic {
		t.Fatalf("env over file: %v, %v", c.MetricsPublic, err)
	}
	env[EnvMetricsPublic] = "maybe"
	if _, err = Load(nil, nil, func(k string) string { return env[k] }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad value: %v", err)
	}
}
