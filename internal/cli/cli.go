// Package cli is the rampart command line: the subcommand table, and the one
// place that picks drivers (SQLite or PostgreSQL, embedded or external NATS)
// from the configuration.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/rampart-cert/rampart/internal/config"
)

// Version is set at build time with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "dev"

// Env is what a subcommand runs with: its streams and environment, so tests
// run the real commands in-process.
type Env struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
	Getenv         func(string) string
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the platform: API, scheduler, ingester and an in-process worker", runServe},
		{"worker", "take scan jobs of one region from the platform's NATS; worker credentials|revoke|list manage workers' NATS keys", runWorker},
		{"migrate", "apply database migrations and exit", runMigrate},
		{"user", "manage users: create, set-password, token", runUser},
		{"scan", "scan targets now: open ports, services and security checks", runScan},
		{"discover", "find unregistered hosts under domains, networks and AS numbers (CT, DNS, certificates, links, routing); JSON lines", runDiscover},
		{"checks", "list the checks, or lint a directory of check templates", runChecks},
		{"vulndb", "import vulnerability data (NVD JSON, CISA KEV, EPSS, Debian tracker, DSA/DLA lists, OSV) for offline matching; re-match the stored inventory", runVulnDB},
		{"report", "render an assessment report (html, pdf, csv, xlsx) of an organization or the whole constituency", runReport},
		{"notify", "send notification digests now: notify digest --now", runNotify},
		{"import", "import organizations or assets (CSV, JSON), or findings of a third-party tool (SARIF, Nuclei, Nmap)", runImport},
		{"monitor", "monitoring of internet resources: look-alikes of a domain, judge a zone, import expiry dates, one round of a detector, RPKI validity", runMonitor},
		{"dns", "protective DNS resolver: blocks the hub's malicious domains, reports who asked; --listen ADDR --nats URL --upstream ADDR[,ADDR]", runDNS},
		{"sensor", "run at a member's gateway: Suricata EVE, Zeek, NetFlow and syslog in, detections out to the platform's NATS", runSensor},
		{"sensors", "sensors at members' gateways: add NAME --org CODE issues a sensor's NATS key, list, revoke", runSensors},
		{"bouncers", "bouncers pulling national decisions: add NAME [--org CODE] prints a new key (CrowdSec bouncers use it unchanged), list, delete", runBouncers},
		{"intel", "threat intelligence: import STIX, MISP, CSV and Shadowserver reports, list, add and run feeds", runIntel},
		{"export", "export organizations or assets as CSV or JSON", runExport},
		{"backup", "write a consistent archive of the database and the queue state while serve runs", runBackup},
		{"restore", "bring a backup archive back into a new data directory", runRestore},
		{"version", "print the version", runVersion},
	}
}

// errUsage marks an error whose message is the usage text.
var errUsage = errors.New("usage")

// Main runs the command line until SIGINT or SIGTERM and returns the exit
// status.
func Main(args []string, env *Env) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, args, env)
}

// Run runs the command line until ctx ends and returns the exit status.
func Run(ctx context.Context, args []string, env *Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) < 1 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stderr)
		if len(args) < 1 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintln(env.Stderr, "rampart "+c.name+": "+err.Error())
			return 2
		default:
			fmt.Fprintln(env.Stderr, "rampart "+c.name+": "+err.Error())
			return 1
		}
	}
	fmt.Fprintf(env.Stderr, "rampart: unknown command %q\n\n", args[0])
	usage(env.Stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Rampart — national outer-ring defense platform.\n\nUsage: rampart COMMAND [flags]\n\nCommands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --config FILE, --data DIR, --database URL and --nats URL;\nrun 'rampart COMMAND -h' for its flags.")
}

// flags makes a flag set that reports errors instead of exiting.
func flags(env *Env, name string, serve bool) (*flag.FlagSet, *config.Flags) {
	fs := flag.NewFlagSet("rampart "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs, config.Register(fs, serve)
}

// load parses args and merges the configuration.
func load(env *Env, fs *flag.FlagSet, f *config.Flags, args []string) (config.Config, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config.Config{}, err
		}
		return config.Config{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	return config.Load(fs, f, env.Getenv)
}

// logger builds the process logger from the configuration.
func logger(env *Env, c config.Config) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if strings.EqualFold(c.LogFormat, "json") {
		return slog.New(slog.NewJSONHandler(env.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(env.Stderr, opts))
}

func runVersion(ctx context.Context, env *Env, args []string) error {
	fmt.Fprintln(env.Stdout, "rampart", Version)
	return nil
}
