package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/discovery"
	"github.com/rampart-cert/rampart/internal/discovery/ct"
	"github.com/rampart-cert/rampart/internal/discovery/dnsdisc"
	"github.com/rampart-cert/rampart/internal/discovery/routing"
)

const discoverUsage = `usage: rampart discover [flags] TARGET...
A target is a registered domain (hn.gov.vn), an address or network
(203.0.113.0/24), a web site (https://portal.hn.gov.vn/) or an AS number
(AS64500). Candidates are printed as JSON lines:
{"type":"candidate","name":"vpn.hn.gov.vn","source":"wordlist","addresses":["203.0.113.7"],...}`

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func runDiscover(ctx context.Context, env *Env, args []string) error {
	fs, f := flags(env, "discover", false)
	var (
		sources, resolver, wordlist string
		ctLogs, ctFiles, routes     listFlag
		ctFrom                      int64
		ctLimit                     uint64
		rate                        float64
		maxRev                      int
		timeout                     time.Duration
	)
	fs.StringVar(&sources, "sources", "ct,axfr,wordlist,nsec,rdns,certs,links,routing", "comma-separated sources: ct, axfr, wordlist, nsec, rdns, certs, links, routing, or all")
	fs.StringVar(&resolver, "resolver", "", "DNS server ip:port that every query goes to (default: the first nameserver of /etc/resolv.conf)")
	fs.Var(&ctLogs, "ct-log", "CT log base URL (https://ct.example/2026/); repeatable")
	fs.Var(&ctFiles, "ct-file", "file of saved CT entries (a get-entries response or JSON lines); repeatable")
	fs.Int64Var(&ctFrom, "ct-from", -1, "first log entry to read (-1: the last --ct-limit entries)")
	fs.Uint64Var(&ctLimit, "ct-limit", 10000, "entries at most to read from each log (0: up to the tree size)")
	fs.StringVar(&wordlist, "wordlist", "", "file of labels to try, one a line (default: the shipped list)")
	fs.Var(&routes, "routing", "routing data for AS targets: an MRT file (RIB dump or updates) or CAIDA pfx2as text, plain or compressed; repeatable")
	fs.Float64Var(&rate, "rate", 200, "DNS queries per second at most to the resolver (0: unlimited)")
	fs.IntVar(&maxRev, "max-reverse", 65536, "skip reverse DNS of a network with more addresses than this")
	fs.DurationVar(&timeout, "timeout", 3*time.Second, "longest wait for one DNS answer")
	fs.Usage = func() { fmt.Fprintln(env.Stderr, discoverUsage); fs.PrintDefaults() }
	c, err := load(env, fs, f, args)
	if err != nil {
		return err
	}
	targets, err := discovery.ParseTargets(fs.Args())
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if len(fs.Args()) == 0 {
		return fmt.Errorf("%w: no targets\n%s", errUsage, discoverUsage)
	}
	srcs, err := discovery.ParseSources(sources)
	if err != nil {
		return fmt.Errorf("%w: --sources: %v", errUsage, err)
	}
	if resolver == "" {
		if cc, err := mdns.ClientConfigFromFile("/etc/resolv.conf"); err == nil && len(cc.Servers) > 0 {
			resolver = net.JoinHostPort(cc.Servers[0], cc.Port)
		} else {
			return fmt.Errorf("%w: no --resolver and none in /etc/resolv.conf", errUsage)
		}
	}
	o := discovery.Options{
		Sources:   srcs,
		Resolver:  &dnsdisc.Resolver{Server: resolver, Timeout: timeout, Limiter: dnsdisc.NewLimiter(rate, max(1, int(rate/10)))},
		Reverse:   dnsdisc.ReverseOptions{MaxHosts: maxRev},
		UserAgent: c.ScannerUserAgent(Version),
	}
	if wordlist != "" {
		b, err := os.ReadFile(wordlist)
		if err != nil {
			return fmt.Errorf("discover: wordlist: %w", err)
		}
		if o.Words = dnsdisc.ParseWords(string(b)); len(o.Words) == 0 {
			return fmt.Errorf("%w: wordlist %s has no labels", errUsage, wordlist)
		}
	}
	for _, u := range ctLogs {
		cl := &ct.Client{URL: u, UserAgent: o.UserAgent}
		pos := ct.Position{}
		if ctFrom >= 0 {
			pos.Next = uint64(ctFrom)
		} else {
			sth, err := cl.GetSTH(ctx)
			if err != nil {
				return fmt.Errorf("discover: %w", err)
			}
			if sth.TreeSize > ctLimit && ctLimit > 0 {
				pos.Next = sth.TreeSize - ctLimit
			}
		}
		o.CTLogs = append(o.CTLogs, discovery.CTLog{Client: cl, Position: pos, Limit: ctLimit})
	}
	for _, p := range ctFiles {
		o.CTFiles = append(o.CTFiles, discovery.CTFile{Name: p, Open: func() (io.ReadCloser, error) { return os.Open(p) }})
	}
	if len(routes) > 0 {
		o.Routing = routing.NewTable()
		for _, p := range routes {
			if err := loadRouting(p, o.Routing); err != nil {
				return err
			}
		}
	}
	out := bufio.NewWriter(env.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	type line struct {
		Type string `json:"type"`
		discovery.Candidate
	}
	st, err := discovery.Run(ctx, targets, o, func(cd discovery.Candidate) {
		_ = enc.Encode(line{Type: "candidate", Candidate: cd})
	})
	if err != nil {
		return fmt.Errorf("discover: %w", err)
	}
	names := make([]string, 0, len(st.Sources))
	for s := range st.Sources {
		names = append(names, string(s))
	}
	sort.Strings(names)
	fmt.Fprintf(env.Stderr, "discover: %d candidates\n", st.Candidates)
	for _, n := range names {
		ss := st.Sources[discovery.Source(n)]
		fmt.Fprintf(env.Stderr, "  %-8s %d targets, %d found", n, ss.Targets, ss.Found)
		if len(ss.Errors) > 0 {
			fmt.Fprintf(env.Stderr, ", %d errors (first: %s)", len(ss.Errors), ss.Errors[0])
		}
		fmt.Fprintln(env.Stderr)
	}
	return nil
}

// loadRouting reads one routing file into t: MRT when it is binary,
// pfx2as when it reads as text.
func loadRouting(path string, t *routing.Table) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("discover: routing: %w", err)
	}
	defer f.Close()
	r, err := routing.Decompress(f)
	if err != nil {
		return fmt.Errorf("discover: routing %s: %w", path, err)
	}
	br := bufio.NewReader(r)
	head, _ := br.Peek(1)
	if len(head) == 1 && (head[0] == '#' || head[0] >= '0' && head[0] <= '9' && isText(br)) {
		_, err = routing.ReadPfx2as(br, t.Add)
	} else {
		_, err = routing.ReadMRT(br, t.Add)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("discover: routing %s: %w", path, err)
	}
	return nil
}

// isText reports whether the first bytes of br are printable text (a
// pfx2as line), not an MRT header (which starts with a binary timestamp).
func isText(br *bufio.Reader) bool {
	b, _ := br.Peek(16)
	for _, c := range b {
		if c != '\t' && c != '\n' && c != '\r' && (c < ' ' || c > '~') {
			return false
		}
	}
	return true
}
