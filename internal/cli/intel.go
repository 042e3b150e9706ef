package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/hub"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/feedcsv"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/store"
)

const intelUsage = `usage: rampart intel import --format stix|misp|csv|shadowserver [--preset NAME] [--feed NAME] FILE|DIR|-
       rampart intel feeds                       list the feeds, their last run and error
       rampart intel feeds add NAME --format F --location PATH|URL [--interval 1h] [--preset NAME]
       rampart intel feeds run NAME              run a configured feed now`

const intelImportUsage = `usage: rampart intel import --format stix|misp|csv|shadowserver [--preset NAME] [--feed NAME] FILE|DIR|-
Reads indicators into the hub and warns the owners of every registered
asset they name. FILE may be - for standard input; a directory is a MISP
feed (manifest.json and its events). CSV needs --preset (` + "%s" + `) or
--csv-format FILE (a feedcsv format in JSON); a Shadowserver report's type
comes from its file name or --preset (scan_snmp, event4_sinkhole …).
Importing the same file again changes nothing. The early warnings' events
wait in the outbox for the serving process to publish.`

// runIntel is "rampart intel": imports and feeds of the threat
// intelligence hub.
func runIntel(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, intelUsage)
	}
	switch args[0] {
	case "import":
		return runIntelImport(ctx, env, args[1:])
	case "feeds":
		return runIntelFeeds(ctx, env, args[1:])
	}
	return fmt.Errorf("%w: %s", errUsage, intelUsage)
}

// intelHub opens the store and a hub that records early warnings through
// the findings service, as the platform.
func intelHub(ctx context.Context, env *Env, c config.Config, log *slog.Logger) (*hub.Hub, store.Store, error) {
	st, err := openStore(ctx, c, log)
	if err != nil {
		return nil, nil, err
	}
	kinds, _ := c.ExpiryKindDays() // validated by load
	svc := findings.New(findings.Deps{Store: st, KindExpiry: kinds, Logger: log})
	return hub.New(hub.Deps{Store: st, Findings: svc, TAXII: &hub.TAXIIPolling{Getenv: env.Getenv}, Logger: log}), st, nil
}

func runIntelImport(ctx context.Context, env *Env, args []string) error {
	fs, f := flags(env, "intel import", false)
	format := fs.String("format", "", "stix, misp, csv or shadowserver")
	preset := fs.String("preset", "", "CSV preset, or Shadowserver report type")
	feed := fs.String("feed", "", "the source's name (default: the preset, \"stix\", \"misp\", \"shadowserver:<type>\")")
	csvFormat := fs.String("csv-format", "", "a CSV format file (JSON) for a feed no preset describes")
	tlp := fs.String("tlp", "", "marking of records the source leaves unmarked (default AMBER)")
	pos, flagArgs := positional(args)
	c, err := load(env, fs, f, flagArgs)
	if err != nil {
		return err
	}
	var file string
	if len(pos) == 1 {
		file = pos[0]
	}
	if file == "" || *format == "" || len(pos) > 1 {
		return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(intelImportUsage, strings.Join(feedcsv.Presets(), ", ")))
	}
	req := hub.ImportRequest{Format: *format, Feed: *feed, Preset: *preset, TLP: intel.TLP(*tlp)}
	if *csvFormat != "" {
		b, err := os.ReadFile(*csvFormat)
		if err != nil {
			return err
		}
		req.Options = string(b)
	}
	log := logger(env, c)
	h, st, err := intelHub(ctx, env, c, log)
	if err != nil {
		return err
	}
	defer st.Close()
	var run hub.Run
	if file == "-" {
		run, err = h.Import(ctx, req, env.Stdin)
	} else {
		run, err = h.ImportFile(ctx, req, file)
	}
	printRun(env.Stdout, file, run)
	if err != nil {
		if errors.Is(err, hub.ErrFormat) {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// positional splits arguments into the positional ones and the flags
// with their values, wherever they come ("FILE --format x" and "--format
// x FILE"). A value is taken to belong to the flag before it unless that
// flag is a boolean one written with "=" or one of ours without a value.
func positional(args []string) (pos, flagArgs []string) {
	boolFlags := map[string]bool{"disabled": true, "no-nats": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-" || !strings.HasPrefix(a, "-"):
			pos = append(pos, a)
		case a == "--":
			pos = append(pos, args[i+1:]...)
			return pos, flagArgs
		default:
			flagArgs = append(flagArgs, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && !boolFlags[name] && i+1 < len(args) {
				i++
				flagArgs = append(flagArgs, args[i])
			}
		}
	}
	return pos, flagArgs
}

// printRun writes a run's counts and its first rejections.
func printRun(w io.Writer, what string, r hub.Run) {
	if r.ID == "" {
		return
	}
	fmt.Fprintf(w, "%s (feed %s): %d records in %s: %d new indicators, %d updated, %d unchanged, %d events; %d early warnings (%d new, %d reopened); %d rejected\n",
		what, r.Feed, r.Records, r.Finished.Sub(r.Started).Round(time.Millisecond), r.Indicators.New, r.Indicators.Updated, r.Indicators.Unchanged,
		r.Events, r.Hits, r.NewFindings, r.Reopened, r.Rejected)
	const shown = 10
	for i, rej := range r.Rejections {
		if i == shown {
			fmt.Fprintf(w, "  … and %d more rejected\n", r.Rejected-shown)
			break
		}
		fmt.Fprintf(w, "  rejected %s: %s\n", rej.Where, rej.Reason)
	}
	if r.Err != "" {
		fmt.Fprintf(w, "  failed: %s\n", r.Err)
	}
}

func runIntelFeeds(ctx context.Context, env *Env, args []string) error {
	sub := "list"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "list":
		return intelFeedsList(ctx, env, args)
	case "add":
		return intelFeedsAdd(ctx, env, args)
	case "run":
		return intelFeedsRun(ctx, env, args)
	}
	return fmt.Errorf("%w: %s", errUsage, intelUsage)
}

func intelFeedsList(ctx context.Context, env *Env, args []string) error {
	fs, f := flags(env, "intel feeds", false)
	c, err := load(env, fs, f, args)
	if err != nil {
		return err
	}
	h, st, err := intelHub(ctx, env, c, logger(env, c))
	if err != nil {
		return err
	}
	defer st.Close()
	feeds, err := h.Feeds(ctx, auth.SystemPrincipal)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tFORMAT\tEVERY\tENABLED\tLAST RUN\tRECORDS\tNEW\tUPDATED\tREJECTED\tWARNINGS\tFEEDBACK\tSTATUS")
	for _, fd := range feeds {
		every, last, status := "on demand", "never", "ok"
		if fd.Interval > 0 {
			every = fd.Interval.String()
		}
		if fd.LastRun != nil {
			last = fd.LastRun.Format("2006-01-02 15:04")
		}
		if fd.LastError != "" {
			status = fmt.Sprintf("failing (%d in a row): %s", fd.Failures, oneLine(fd.LastError, 120))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", fd.Name, dash(fd.Format), every, fd.Enabled, last,
			fd.Records, fd.New, fd.Updated, fd.Rejected, fd.Hits, fd.Feedback, status)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}

func intelFeedsAdd(ctx context.Context, env *Env, args []string) error {
	const usage = "usage: rampart intel feeds add NAME --format stix|misp|csv|shadowserver|taxii --location PATH|URL [--interval 1h] [--preset NAME] [--tlp AMBER] [--analyst NAME] [--disabled]"
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("%w: %s", errUsage, usage)
	}
	name, args := args[0], args[1:]
	pos, args := positional(args)
	fs, f := flags(env, "intel feeds add", false)
	format := fs.String("format", "", "stix, misp, csv, shadowserver or taxii")
	location := fs.String("location", "", "a file, a directory (MISP) or an http(s) URL")
	interval := fs.Duration("interval", 0, "run every this long (0: on demand only; at least 1m)")
	preset := fs.String("preset", "", "CSV preset, or Shadowserver report type")
	csvFormat := fs.String("csv-format", "", "a CSV format file (JSON) for a feed no preset describes")
	tlp := fs.String("tlp", "", "marking of records the source leaves unmarked (default AMBER)")
	analyst := fs.String("analyst", "", "who answers for the feed and reads its feedback")
	disabled := fs.Bool("disabled", false, "add it without running it on its interval")
	c, err := load(env, fs, f, args)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 || len(pos) > 0 {
		return fmt.Errorf("%w: %s", errUsage, usage)
	}
	fd := store.Feed{Name: name, Format: *format, Location: *location, Interval: *interval, Preset: *preset, TLP: intel.TLP(*tlp),
		Analyst: *analyst, Enabled: !*disabled}
	if *csvFormat != "" {
		b, err := os.ReadFile(*csvFormat)
		if err != nil {
			return err
		}
		fd.Options = string(b)
	}
	h, st, err := intelHub(ctx, env, c, logger(env, c))
	if err != nil {
		return err
	}
	defer st.Close()
	if err := h.AddFeed(ctx, auth.SystemPrincipal, &fd); err != nil {
		if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		return err
	}
	every := "on demand"
	if fd.Interval > 0 {
		every = "every " + fd.Interval.String()
	}
	fmt.Fprintf(env.Stdout, "feed %s added (%s from %s, %s); serve runs it when due, or run it now with: rampart intel feeds run %s\n",
		fd.Name, fd.Format, fd.Location, every, fd.Name)
	return nil
}

func intelFeedsRun(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("%w: usage: rampart intel feeds run NAME", errUsage)
	}
	name, args := args[0], args[1:]
	fs, f := flags(env, "intel feeds run", false)
	c, err := load(env, fs, f, args)
	if err != nil {
		return err
	}
	h, st, err := intelHub(ctx, env, c, logger(env, c))
	if err != nil {
		return err
	}
	defer st.Close()
	run, err := h.RunFeed(ctx, auth.SystemPrincipal, name)
	printRun(env.Stdout, name, run)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no feed named %q (rampart intel feeds lists them)", name)
	}
	return err
}

// startIntel runs the hub in serve: inputs left by a stopped process,
// configured feeds when due, and owners' disputes turned into feedback.
// Imports pass through the queue's object store. stop ends the feedback
// consumer; the rest ends with ctx. The hub is also what the API and the
// console serve.
func startIntel(ctx context.Context, st store.Store, svc *findings.Service, q queue.Queue, log *slog.Logger) (h *hub.Hub, stop func(), err error) {
	// TAXII feeds read their secrets from the process's environment.
	d := hub.Deps{Store: st, Findings: svc, TAXII: &hub.TAXIIPolling{}, Logger: log}
	if o, ok := q.(queue.ObjectStore); ok {
		d.Objects = o
	}
	h = hub.New(d)
	go h.Run(ctx, time.Minute)
	c, err := h.ConsumeFeedback(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	return h, c.Stop, nil
}
