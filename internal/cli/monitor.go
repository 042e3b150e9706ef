package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/monitor"
	"github.com/rampart-cert/rampart/internal/store"
)

const monitorUsage = `usage: rampart monitor COMMAND
  lookalikes [--words w1,w2] DOMAIN...   print look-alikes of registered domains (JSON lines)
  check-names FILE                       judge a zone file or a name list against the registry now; look-alikes become findings
  expiry-import FILE                     store registration expiry dates (CSV domain,expiry) for the expiry detector
  run dns|expiry|lookalike|ct|exposure   run one round of a detector with the configured monitor settings
  rpki --roa FILE PREFIX ASN             RPKI origin validation of an announcement against rpki-client JSON
The detectors run continuously inside rampart serve (see the monitor: section of the configuration).`

// monitorConfig is the monitor's configuration from c: the DNS detector
// asks monitor.dns.resolver, else the scanner's resolver.
func monitorConfig(c config.Config) (monitor.Config, bool) {
	mc := c.Monitor
	if mc == nil {
		mc = &config.MonitorConfig{}
	}
	if mc.Off {
		return monitor.Config{}, false
	}
	ua := c.ScannerUserAgent(Version)
	cfg := monitor.Config{
		DNS:       monitor.DNSConfig{Resolver: mc.DNS.Resolver, Interval: mc.DNS.Interval, AdoptAfter: mc.DNS.AdoptAfter, Rate: mc.DNS.Rate},
		Expiry:    monitor.ExpiryConfig{RDAP: mc.Expiry.RDAP, File: mc.Expiry.File, Interval: mc.Expiry.Interval, Off: mc.Expiry.Off, UserAgent: ua},
		Lookalike: monitor.LookalikeConfig{Zones: mc.Lookalike.Zones, Interval: mc.Lookalike.Interval, Hold: mc.Lookalike.Hold, Words: mc.Lookalike.Words, Off: mc.Lookalike.Off},
		CT:        monitor.CTConfig{Logs: mc.CT.Logs, Interval: mc.CT.Interval, FromStart: mc.CT.FromStart, UserAgent: ua},
		BGP: monitor.BGPConfig{ASN: mc.BGP.ASN, RouterID: mc.BGP.RouterID, Listen: mc.BGP.Listen, ROAFile: mc.BGP.ROAFile,
			Refresh: mc.BGP.Refresh, Settle: mc.BGP.Settle},
		Exposure: monitor.ExposureConfig{Interval: mc.Exposure.Interval, Hold: mc.Exposure.Hold, Off: mc.Exposure.Off},
	}
	if cfg.DNS.Resolver == "" {
		cfg.DNS.Resolver = c.Scanner.Resolver
	}
	for _, p := range mc.BGP.Peers {
		cfg.BGP.Peers = append(cfg.BGP.Peers, monitor.BGPPeer{Address: p.Address, Port: p.Port, ASN: p.ASN, LocalAddress: p.LocalAddress, Passive: p.Passive, Multihop: p.Multihop})
	}
	return cfg, true
}

// newMonitor returns the monitor over st, recording through rec.
func newMonitor(st store.Store, rec monitor.Recorder, cfg monitor.Config, log *slog.Logger) (*monitor.Service, error) {
	ms, ok := st.(store.MonitorState)
	if !ok {
		return nil, fmt.Errorf("monitor: the %s store keeps no monitor state", st.Driver())
	}
	return monitor.New(monitor.Deps{Registry: st, State: ms, Findings: rec, Observations: st, Logger: log}, cfg)
}

// startMonitor runs the monitoring detectors in this process (the control
// plane) until ctx ends; a detector's failure is logged, not fatal.
func startMonitor(ctx context.Context, st store.Store, rec monitor.Recorder, c config.Config, log *slog.Logger) error {
	cfg, on := monitorConfig(c)
	if !on {
		log.Info("monitoring is off")
		return nil
	}
	m, err := newMonitor(st, rec, cfg, log)
	if err != nil {
		return err
	}
	go func() {
		if err := m.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("monitor stopped", "err", err)
		}
	}()
	return nil
}

func runMonitor(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, monitorUsage)
	}
	sub, rest := args[0], args[1:]
	fs, f := flags(env, "monitor "+sub, false)
	words := fs.String("words", "", "lookalikes: words added to names, comma-separated (default: login, secure, gov …)")
	roa := fs.String("roa", "", "rpki: rpki-client JSON file")
	pos, flagArgs := positional(rest)
	c, err := load(env, fs, f, flagArgs)
	if err != nil {
		return err
	}
	out := json.NewEncoder(env.Stdout)
	switch {
	case sub == "lookalikes" && len(pos) > 0:
		var o monitor.GenOptions
		if *words != "" {
			o.Words = strings.Split(*words, ",")
		}
		for _, d := range pos {
			for _, v := range monitor.Generate(strings.ToLower(strings.TrimSpace(d)), o) {
				if err := out.Encode(map[string]string{"type": "lookalike", "of": d, "name": v.Name, "technique": string(v.Technique)}); err != nil {
					return err
				}
			}
		}
		return nil
	case sub == "rpki" && len(pos) == 2 && *roa != "":
		return monitorRPKI(env, *roa, pos[0], pos[1])
	case sub == "check-names" && len(pos) == 1, sub == "expiry-import" && len(pos) == 1, sub == "run" && len(pos) == 1:
	default:
		return fmt.Errorf("%w: %s", errUsage, monitorUsage)
	}
	log := logger(env, c)
	st, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer st.Close()
	cfg, _ := monitorConfig(c)
	kinds, _ := c.ExpiryKindDays() // validated by load
	m, err := newMonitor(st, findings.New(findings.Deps{Store: st, KindExpiry: kinds, Logger: log}), cfg, log)
	if err != nil {
		return err
	}
	switch sub {
	case "check-names":
		return monitorCheckNames(ctx, env, m, pos[0])
	case "expiry-import":
		fh, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer fh.Close()
		rows, err := monitor.ParseExpiryCSV(fh)
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		if err := m.ImportExpiry(ctx, rows, "import"); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%d expiry dates stored\n", len(rows))
		return nil
	}
	rounds := map[string]func(context.Context) error{"dns": m.DNSRound, "expiry": m.ExpiryRound, "lookalike": m.LookalikeRound, "ct": m.CTRound, "exposure": m.ExposureRound}
	round, ok := rounds[pos[0]]
	if !ok {
		return fmt.Errorf("%w: %s", errUsage, monitorUsage)
	}
	if err := round(ctx); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "monitor %s: round done\n", pos[0])
	return nil
}

// monitorCheckNames judges the names of a file in batches and prints the
// look-alikes found.
func monitorCheckNames(ctx context.Context, env *Env, m *monitor.Service, path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	var batch []string
	total, found := 0, 0
	flush := func() error {
		n, err := m.CheckNames(ctx, batch, monitor.NameSource{Kind: "zone", Ref: path})
		found += n
		batch = batch[:0]
		return err
	}
	err = monitor.ReadNames(bufio.NewReader(fh), func(n string) error {
		total++
		batch = append(batch, n)
		if len(batch) == 10_000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	fmt.Fprintf(env.Stdout, "%d names read, %d look-alikes of registered domains reported\n", total, found)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func monitorRPKI(env *Env, roaFile, prefix, asn string) error {
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		return fmt.Errorf("%w: %q is not a prefix", errUsage, prefix)
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(asn), "AS"), 10, 32)
	if err != nil {
		return fmt.Errorf("%w: %q is not an AS number", errUsage, asn)
	}
	fh, err := os.Open(roaFile)
	if err != nil {
		return err
	}
	defer fh.Close()
	set, err := monitor.ReadROAs(fh)
	if err != nil {
		return fmt.Errorf("%s: %w", roaFile, err)
	}
	st, vrps := set.Validate(p, uint32(n))
	return json.NewEncoder(env.Stdout).Encode(map[string]any{"prefix": p.String(), "origin": n, "rpki": st, "vrps": vrps, "roas": set.Len()})
}
