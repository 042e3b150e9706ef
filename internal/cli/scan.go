package cli

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/check/dns"
	"github.com/rampart-cert/rampart/internal/check/mail"
	"github.com/rampart-cert/rampart/internal/check/svc"
	"github.com/rampart-cert/rampart/internal/check/vuln"
	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/engine"
	"github.com/rampart-cert/rampart/internal/probe/fingerprint"
	"github.com/rampart-cert/rampart/internal/probe/portscan"
	"github.com/rampart-cert/rampart/internal/probe/synscan"
	"github.com/rampart-cert/rampart/internal/probe/udpscan"
	"github.com/rampart-cert/rampart/internal/target"
	"github.com/rampart-cert/rampart/internal/vulndb"
)

const scanUsage = `usage: rampart scan [flags] TARGET...
A target is an IP, a CIDR (10.0.0.0/24), a range (10.0.0.1-50), a host name or a URL.`

// scanFlags are the flags of `rampart scan`.
type scanFlags struct {
	ports, format, resolver, checks, caFile, templates, fingerprints, scope string
	rate, perHost, concurrency, retries                                     int
	timeout                                                                 time.Duration
	noFingerprint                                                           bool
	// UDP: off unless --udp (one-shot scans); scheduled scans follow the
	// organization's scan policy (store.ScanPolicy.UDP).
	udp      bool
	udpPorts string
	udpRate  int
	// credentials lets svc.default-credentials try default passwords.
	credentials bool
	// syn: stateless SYN scan for the TCP port discovery (raw sockets).
	syn bool
}

// defaultUDPPorts are the ports of --udp-ports: DNS, TFTP, NTP, NetBIOS,
// SNMP, IPMI, SSDP, mDNS, CoAP, memcached.
const defaultUDPPorts = "53,69,123,137,161,623,1900,5353,5683,11211"

func runScan(ctx context.Context, env *Env, args []string) error {
	fs, f := flags(env, "scan", false)
	var sf scanFlags
	fs.StringVar(&sf.ports, "ports", "top1000", "ports: top100, top1000, all, or a list like 22,80,1000-2000")
	fs.IntVar(&sf.rate, "rate", 5000, "connection attempts per second, in all (0: unlimited)")
	fs.IntVar(&sf.perHost, "per-host-rate", 0, "connection attempts per second to one address (0: unlimited)")
	fs.IntVar(&sf.concurrency, "concurrency", portscan.DefaultConcurrency, "connection attempts in flight")
	fs.DurationVar(&sf.timeout, "timeout", time.Second, "longest wait for one connection")
	fs.IntVar(&sf.retries, "retries", 1, "extra attempts for a silent port")
	fs.StringVar(&sf.format, "format", "", "table, json or jsonl (default: table on a terminal, jsonl otherwise)")
	fs.StringVar(&sf.resolver, "resolver", "", "DNS server ip:port for names (default: the system's)")
	fs.StringVar(&sf.checks, "checks", "all", "check families to run: all, none, or a list like tls,http")
	fs.StringVar(&sf.caFile, "ca-file", "", "PEM file of extra trusted CAs (e.g. a government CA)")
	fs.StringVar(&sf.templates, "templates", "", "directory of check templates to run as well")
	fs.StringVar(&sf.fingerprints, "fingerprints", "", "directory of extra fingerprint rules")
	fs.BoolVar(&sf.noFingerprint, "no-fingerprint", false, "do not identify services")
	fs.BoolVar(&sf.syn, "syn", false, "find open TCP ports with a stateless SYN scan (root or CAP_NET_RAW, IPv4; otherwise connect scanning, and it says so); use a high --rate for sweeps")
	fs.BoolVar(&sf.udp, "udp", false, "scan UDP ports too (--udp-ports) with protocol probes, and run the UDP checks on what answers")
	fs.StringVar(&sf.udpPorts, "udp-ports", defaultUDPPorts, "UDP ports to scan with --udp")
	fs.IntVar(&sf.udpRate, "udp-rate", 5000, "UDP probes per second with --udp, retries included (0: unlimited)")
	fs.BoolVar(&sf.credentials, "credentials", false, "try a few empty and default passwords per service (svc.default-credentials); only with the owner's consent")
	fs.StringVar(&sf.scope, "scope", "auto", "registry: refuse targets no registered asset covers; none; auto: registry when the data directory has one")
	fs.Usage = func() { fmt.Fprintln(env.Stderr, scanUsage); fs.PrintDefaults() }
	c, err := load(env, fs, f, args)
	if err != nil {
		return err
	}
	specs := fs.Args()
	if len(specs) == 0 {
		return fmt.Errorf("%w: no targets\n%s", errUsage, scanUsage)
	}
	ports, err := target.ParsePorts(sf.ports)
	if err != nil {
		return fmt.Errorf("%w: --ports: %v", errUsage, err)
	}
	for _, s := range specs {
		if _, err := target.ParseSpec(s); err != nil {
			return fmt.Errorf("%w: target %q: %v", errUsage, s, err)
		}
	}
	terminal := isTerminal(env.Stdout)
	format := sf.format
	if format == "" {
		format = "jsonl"
		if terminal {
			format = "table"
		}
	}
	if format != "table" && format != "json" && format != "jsonl" {
		return fmt.Errorf("%w: --format must be table, json or jsonl", errUsage)
	}
	if sf.rate < 0 || sf.perHost < 0 || sf.concurrency < 1 || sf.timeout <= 0 || sf.udpRate < 0 {
		return fmt.Errorf("%w: --rate, --udp-rate and --per-host-rate must be ≥ 0, --concurrency ≥ 1, --timeout > 0", errUsage)
	}
	var udpPorts []uint16
	if sf.udp {
		if udpPorts, err = target.ParsePorts(sf.udpPorts); err != nil {
			return fmt.Errorf("%w: --udp-ports: %v", errUsage, err)
		}
	}
	families := splitList(sf.checks)
	for _, fam := range families {
		if fam != "all" && fam != "none" && !contains(all.Families, fam) {
			return fmt.Errorf("%w: --checks: unknown family %q (all, none, %s)", errUsage, fam, strings.Join(all.Families, ", "))
		}
	}
	cfg, err := scanConfig(ctx, env, c, sf, ports, families, specs)
	if err != nil {
		return err
	}
	if sf.udp {
		cfg.UDPPorts = udpPorts
		cfg.UDPScan = udpscan.Config{Rate: sf.udpRate, PerHostRate: sf.perHost}
	}
	if sf.syn {
		cfg.SYN = true
		if err := synscan.Available(); err != nil {
			fmt.Fprintf(env.Stderr, "rampart scan: no SYN scan (%v): scanning with connect() instead\n", err)
		}
	}
	out := newScanOutput(env.Stdout, format)
	sink := &scanSink{out: out, stderr: env.Stderr}
	if isTerminal(env.Stderr) {
		cfg.Scan.Progress = func(s portscan.Stats) {
			fmt.Fprintf(env.Stderr, "\r\033[K%d hosts, %d probed, %d open, %.0f/s, %s", s.Hosts, s.Probed, s.Open, s.Rate, s.Elapsed.Truncate(time.Second))
		}
	}
	sum, err := engine.Run(ctx, specs, cfg, sink)
	if cfg.Scan.Progress != nil {
		fmt.Fprint(env.Stderr, "\r\033[K")
	}
	out.flush()
	summary := fmt.Sprintf("scanned %d hosts, %d ports probed, %d open, %d findings, %s elapsed, %.0f probes/s",
		sum.Hosts, sum.Probed, sum.Open, sum.Findings, sum.Elapsed.Truncate(time.Millisecond), sum.Rate)
	if sf.syn {
		summary += fmt.Sprintf(" (%s scan", sum.PortScan)
		if sum.SYN.Sent > 0 {
			summary += fmt.Sprintf(", %d SYNs at %.0f/s", sum.SYN.Sent, sum.SYN.SendRate)
		}
		summary += ")"
	}
	if sf.udp {
		u := sum.UDP
		summary += fmt.Sprintf("; UDP: %d probed, %d open, %d closed, %d filtered, %d open|filtered, %.0f probes/s",
			u.Probed, u.Open, u.Closed, u.Filtered, u.OpenFiltered, u.Rate)
	}
	if sum.Refused > 0 {
		summary += fmt.Sprintf(", %d targets refused (out of scope)", sum.Refused)
	}
	fmt.Fprintln(env.Stderr, summary)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// scanConfig builds the engine configuration from the flags.
func scanConfig(ctx context.Context, env *Env, c config.Config, sf scanFlags, ports []uint16, families, specs []string) (engine.Config, error) {
	cfg := engine.Config{Ports: ports, Scan: portscan.Config{Rate: sf.rate, PerHostRate: sf.perHost, Concurrency: sf.concurrency,
		Timeout: sf.timeout, Retries: sf.retries}}
	if sf.retries == 0 {
		cfg.Scan.Retries = -1
	}
	if _, err := portscan.RaiseFDLimit(); err != nil {
		fmt.Fprintln(env.Stderr, "rampart scan: could not raise the open-file limit:", err)
	}
	if sf.resolver != "" {
		if _, _, err := net.SplitHostPort(sf.resolver); err != nil {
			return cfg, fmt.Errorf("%w: --resolver must be ip:port", errUsage)
		}
		cfg.Resolver = target.NewResolver(sf.resolver)
	} else {
		cfg.Resolver = net.DefaultResolver
	}
	ua := c.ScannerUserAgent(Version)
	if !sf.noFingerprint {
		rules := fingerprint.DefaultRules()
		if sf.fingerprints != "" {
			extra, err := fingerprint.LoadRulesDir(sf.fingerprints)
			if err != nil {
				return cfg, err
			}
			rules = rules.Merge(extra)
		}
		cfg.Prober = fingerprint.New(rules, fingerprint.Options{UserAgent: ua})
	}
	checkEnv := &check.Env{UserAgent: ua, Timeout: 5 * time.Second, Now: time.Now, Extra: map[string]any{}}
	checkEnv.Extra[svc.Family] = svc.Options{Credentials: sf.credentials}
	if r, ok := cfg.Resolver.(*net.Resolver); ok {
		checkEnv.Resolver = r
	}
	if sf.resolver != "" {
		checkEnv.DNSServer = sf.resolver
	}
	if sf.caFile != "" {
		pem, err := os.ReadFile(sf.caFile)
		if err != nil {
			return cfg, err
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return cfg, fmt.Errorf("%w: --ca-file %s holds no PEM certificate", errUsage, sf.caFile)
		}
		checkEnv.Roots = pool
	}
	if db, err := vulndb.Load(filepath.Join(c.Data, "vulndb")); err == nil {
		checkEnv.Extra[vuln.ExtraKey] = db
	} else {
		checkEnv.Extra[vuln.ExtraKey] = vulndb.NewDB()
	}
	reg, errs := all.Registry(sf.templates)
	for _, e := range errs {
		fmt.Fprintln(env.Stderr, "rampart scan: template:", e)
	}
	cfg.Checks = reg.Select(families)
	if cfg.Prober == nil {
		// Without fingerprints, service checks have nothing to go on.
		var keep []check.Check
		for _, ch := range cfg.Checks {
			if f := ch.Meta().Family; f == "dns" || f == "web" || f == "http" {
				keep = append(keep, ch)
			}
		}
		cfg.Checks = keep
	}
	// Zone checks (SPF, DMARC...) once per zone, not once per host name.
	cfg.Names, cfg.URLs, cfg.Checks = planDomains(specs, cfg.Checks)
	cfg.CheckEnv = checkEnv
	allow, allowAddr, err := scopeFor(ctx, c, sf.scope, env)
	if err != nil {
		return cfg, err
	}
	cfg.Allow = allow
	if allowAddr != nil {
		// The zone-transfer and mail checks connect to addresses they
		// find themselves (name servers, mail hosts): only registered
		// ones (security F6).
		checkEnv.Extra[dns.Family] = dns.Options{AllowAddr: allowAddr}
		checkEnv.Extra[mail.Family] = mail.Options{AllowAddr: allowAddr}
	}
	return cfg, nil
}

// scopeFor returns the scope guard of the one-shot scan and its filter
// for addresses checks find themselves. With a registry, only targets that
// a registered asset covers are probed, and an address reached through a
// name is probed only when it is registered too (security F6): a name's
// DNS never puts an address in scope by itself. The one-shot scan serves
// the whole registry, so any organization's registered address will do;
// platform jobs are stricter (the organization's own, see internal/worker).
func scopeFor(ctx context.Context, c config.Config, mode string, env *Env) (func(target.Target) error, func(netip.Addr) bool, error) {
	switch mode {
	case "none":
		return nil, nil, nil
	case "auto":
		if c.Database == "" {
			if _, err := os.Stat(c.SQLitePath()); err != nil {
				return nil, nil, nil
			}
		}
	case "registry":
	default:
		return nil, nil, fmt.Errorf("%w: --scope must be registry, none or auto", errUsage)
	}
	st, err := openStore(ctx, c, logger(env, config.Config{LogLevel: "warn"}))
	if err != nil {
		return nil, nil, err
	}
	defer st.Close()
	b := asset.NewBuilder()
	if err := st.EachAsset(ctx, auth.SystemPrincipal, func(a asset.Asset) error {
		_ = b.Add(asset.Entry{AssetID: a.ID, OrgID: a.OrgID, Kind: a.Kind, Value: a.Value})
		return nil
	}); err != nil {
		return nil, nil, err
	}
	ix := b.Build()
	fmt.Fprintf(env.Stderr, "scope: %d registered assets; targets they do not cover are refused\n", ix.Len())
	allowAddr := func(a netip.Addr) bool {
		_, ok := ix.LookupAddr(a.Unmap())
		return ok
	}
	return func(t target.Target) error {
		if t.Addr.IsValid() {
			if _, ok := ix.LookupAddr(t.Addr); ok {
				return nil // a registered address is in scope whatever name led to it
			}
		}
		if t.Name != "" {
			m, ok := ix.LookupName(t.Name)
			if ok && !t.Addr.IsValid() {
				return nil // the name alone, before its domain or URL checks
			}
			if ok {
				return fmt.Errorf("%w: %s (%s): the name is registered (asset %d) but the address it resolves to is not",
					engine.ErrOutOfScope, t.Name, t.Addr, m.AssetID)
			}
		}
		name := t.Addr.String()
		switch {
		case t.Name != "" && t.Addr.IsValid():
			name = t.Name + " (" + name + ")"
		case t.Name != "":
			name = t.Name
		}
		return fmt.Errorf("%w: %s: no registered asset covers it", engine.ErrOutOfScope, name)
	}, allowAddr, nil
}

// scanSink writes results as they come.
type scanSink struct {
	out    *scanOutput
	stderr io.Writer
	mu     sync.Mutex
}

func (s *scanSink) Port(p engine.Port) {
	proto := "tcp"
	if p.Proto == check.ProtoUDP {
		proto = "udp"
	}
	s.out.add(portLine{Type: "port", IP: p.IP.String(), Port: p.Port, Proto: proto, Host: p.Host, Service: p.Service.Service,
		Product: p.Service.Product, Version: p.Service.Version, TLS: p.Service.TLS, Banner: p.Service.Banner, CPE: p.Service.CPE})
}

func (s *scanSink) Finding(t check.Target, r check.Result) {
	s.out.add(findingLine{Type: "finding", Check: r.Check, Severity: string(r.Severity), Target: t.String(), Subject: r.Subject,
		Title: r.Title, Evidence: r.Evidence, CVE: r.CVE, KEV: r.KEV})
}

func (s *scanSink) Covered(check.Target, []string) {}

func (s *scanSink) Problem(what string, err error) {
	if errors.Is(err, engine.ErrOutOfScope) {
		s.mu.Lock()
		fmt.Fprintln(s.stderr, "refused:", err)
		s.mu.Unlock()
	}
}

type portLine struct {
	Type    string `json:"type"`
	IP      string `json:"ip"`
	Port    uint16 `json:"port"`
	Proto   string `json:"proto"`
	Host    string `json:"host,omitempty"`
	Service string `json:"service"`
	Product string `json:"product"`
	Version string `json:"version"`
	TLS     bool   `json:"tls"`
	Banner  string `json:"banner"`
	CPE     string `json:"cpe,omitempty"`
}

type findingLine struct {
	Type     string         `json:"type"`
	Check    string         `json:"check"`
	Severity string         `json:"severity"`
	Target   string         `json:"target"`
	Subject  string         `json:"subject,omitempty"`
	Title    string         `json:"title"`
	Evidence check.Evidence `json:"evidence"`
	CVE      []string       `json:"cve"`
	KEV      bool           `json:"kev,omitempty"`
}

// scanOutput renders lines: jsonl streams, json and table collect.
type scanOutput struct {
	w      io.Writer
	format string
	mu     sync.Mutex
	items  []any
}

func newScanOutput(w io.Writer, format string) *scanOutput { return &scanOutput{w: w, format: format} }

func (o *scanOutput) add(v any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if fl, ok := v.(findingLine); ok && fl.CVE == nil {
		fl.CVE = []string{}
		v = fl
	}
	if o.format == "jsonl" {
		b, _ := json.Marshal(v)
		o.w.Write(append(b, '\n'))
		return
	}
	o.items = append(o.items, v)
}

func (o *scanOutput) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch o.format {
	case "json":
		if o.items == nil {
			o.items = []any{}
		}
		enc := json.NewEncoder(o.w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(o.items)
	case "table":
		var ports []portLine
		var finds []findingLine
		for _, it := range o.items {
			switch x := it.(type) {
			case portLine:
				ports = append(ports, x)
			case findingLine:
				finds = append(finds, x)
			}
		}
		sort.Slice(ports, func(i, j int) bool {
			ai, aj := netip.MustParseAddr(ports[i].IP), netip.MustParseAddr(ports[j].IP)
			if ai != aj {
				return ai.Less(aj)
			}
			return ports[i].Port < ports[j].Port
		})
		tw := tabwriter.NewWriter(o.w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ADDRESS\tPORT\tSERVICE\tPRODUCT\tVERSION\tTLS")
		for _, p := range ports {
			tls := ""
			if p.TLS {
				tls = "yes"
			}
			port := fmt.Sprint(p.Port)
			if p.Proto == "udp" {
				port += "/udp"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.IP, port, p.Service, p.Product, p.Version, tls)
		}
		tw.Flush()
		if len(finds) > 0 {
			sort.Slice(finds, func(i, j int) bool {
				if finds[i].Severity != finds[j].Severity {
					return sevRank(finds[i].Severity) > sevRank(finds[j].Severity)
				}
				return finds[i].Target < finds[j].Target
			})
			fmt.Fprintln(o.w)
			tw = tabwriter.NewWriter(o.w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEVERITY\tCHECK\tTARGET\tTITLE")
			for _, f := range finds {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Severity, f.Check, f.Target, f.Title)
			}
			tw.Flush()
		}
	}
}

func sevRank(s string) int {
	return map[string]int{"critical": 4, "high": 3, "medium": 2, "low": 1}[s]
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(strings.ToLower(p)); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
