package discovery

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/rampart-cert/rampart/internal/discovery/ct"
	"github.com/rampart-cert/rampart/internal/discovery/dnsdisc"
	"github.com/rampart-cert/rampart/internal/discovery/routing"
)

// Targets are what a run starts from: the registered resources it may
// look under.
type Targets struct {
	// Domains are registered domains: CT names are matched against them,
	// their zones transferred, walked and tried with the wordlist, their
	// web sites' links followed and their certificates read.
	Domains []string
	// Prefixes are registered addresses and networks: reverse DNS and
	// certificates.
	Prefixes []netip.Prefix
	// URLs are owned web sites whose front pages' links are followed.
	URLs []string
	// ASNs are owned AS numbers: the prefixes they announce in the
	// routing data.
	ASNs []uint32
}

// ParseTargets sorts command-line targets: "AS64500" is an AS number, an
// address or network a prefix, an http(s) URL a web site, anything else a
// domain.
func ParseTargets(args []string) (Targets, error) {
	var t Targets
	for _, a := range args {
		a = strings.TrimSpace(a)
		switch {
		case a == "":
		case len(a) > 2 && strings.EqualFold(a[:2], "as") && allDigits(a[2:]):
			n, err := strconv.ParseUint(a[2:], 10, 32)
			if err != nil {
				return t, fmt.Errorf("%w: %q is not an AS number", ErrInvalid, a)
			}
			t.ASNs = append(t.ASNs, uint32(n))
		case strings.Contains(a, "://"):
			u, err := url.Parse(a)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
				return t, fmt.Errorf("%w: %q is not an http(s) URL", ErrInvalid, a)
			}
			t.URLs = append(t.URLs, a)
		case strings.Contains(a, "/"):
			p, err := netip.ParsePrefix(a)
			if err != nil {
				return t, fmt.Errorf("%w: %q: %v", ErrInvalid, a, err)
			}
			t.Prefixes = append(t.Prefixes, p.Masked())
		default:
			if ad, err := netip.ParseAddr(a); err == nil {
				t.Prefixes = append(t.Prefixes, netip.PrefixFrom(ad.Unmap(), ad.Unmap().BitLen()))
				continue
			}
			n := ct.CleanName(a)
			if n == "" {
				return t, fmt.Errorf("%w: %q is not a domain, address, network, URL or AS number", ErrInvalid, a)
			}
			t.Domains = append(t.Domains, n)
		}
	}
	return t, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// CTLog is one log a run reads, from Position.
type CTLog struct {
	Client   *ct.Client
	Position ct.Position
	Limit    uint64 // entries at most in this run; 0: up to the tree size
}

// CTFile is a file of saved CT entries.
type CTFile struct {
	Name string
	Open func() (io.ReadCloser, error)
}

// SeenCert is a certificate a scan saw: its names and where.
type SeenCert struct {
	Names []string
	Addr  string // "ip:port"
}

// Options say how a run works. Resolver is needed by every DNS source and
// to resolve the names found.
type Options struct {
	Sources  []Source // default every source
	Resolver *dnsdisc.Resolver
	Words    []string // default dnsdisc.DefaultWords()
	Brute    dnsdisc.BruteOptions
	CTLogs   []CTLog
	CTFiles  []CTFile
	Routing  *routing.Table
	// Reverse bounds reverse DNS (a wider network is skipped).
	Reverse dnsdisc.ReverseOptions
	// SeenCerts are certificates the platform's scans saw (source certs);
	// a one-shot run reads the certificates of the targets on port 443.
	SeenCerts []SeenCert
	// Dial opens TCP connections (zone transfers, TLS, web pages); tests
	// and the demo lab map ports with it.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// NoResolve leaves found names without addresses.
	NoResolve bool
	UserAgent string
	// CTDone is told where each log stands after the run read it, to
	// resume there next time.
	CTDone func(url string, pos ct.Position, st CTStats, err error)
	// Progress is told when a source finishes with a target.
	Progress func(p Progress)
}

// Progress is one step of a run.
type Progress struct {
	Source Source `json:"source"`
	Target string `json:"target"`
	Found  int    `json:"found"`
	Error  string `json:"error,omitempty"`
}

// Stats sums a run up per source.
type Stats struct {
	Candidates int                     `json:"candidates"`
	Sources    map[Source]*SourceStats `json:"sources"`
	CT         map[string]CTStats      `json:"ct,omitempty"`
}

// SourceStats is what one source did.
type SourceStats struct {
	Targets int      `json:"targets"`
	Found   int      `json:"found"`
	Errors  []string `json:"errors,omitempty"`
}

// run is one discovery run in progress.
type run struct {
	t       Targets
	o       Options
	doms    *Domains
	emit    func(Candidate)
	http    *http.Client
	mu      sync.Mutex
	seen    map[string]bool
	st      Stats
	resolve chan Candidate
}

// Run discovers candidates under t with the sources of o, calling emit
// for each (from one goroutine at a time; a name found by two sources is
// emitted once per source). Sources run side by side; a source that fails
// on a target is recorded in the stats and the run goes on. Run returns
// when every source is done, or when ctx ends.
func Run(ctx context.Context, t Targets, o Options, emit func(Candidate)) (Stats, error) {
	if len(o.Sources) == 0 {
		o.Sources = Sources
	}
	if o.Words == nil {
		o.Words = dnsdisc.DefaultWords()
	}
	r := &run{t: t, o: o, doms: NewDomains(t.Domains), emit: emit, seen: map[string]bool{},
		st: Stats{Sources: map[Source]*SourceStats{}, CT: map[string]CTStats{}}}
	r.http = o.httpClient()
	for _, s := range o.Sources {
		r.st.Sources[s] = &SourceStats{}
	}
	// Names without addresses are resolved by a pool before they are
	// emitted.
	r.resolve = make(chan Candidate, 256)
	var rw sync.WaitGroup
	for range 16 {
		rw.Add(1)
		go func() {
			defer rw.Done()
			for c := range r.resolve {
				if c.Name != "" && len(c.Addresses) == 0 && o.Resolver != nil && !o.NoResolve && ctx.Err() == nil {
					if a, err := o.Resolver.Lookup(ctx, c.Name); err == nil {
						c.Addresses = addrStrings(a.Addrs)
						if len(a.CNAMEs) > 0 {
							c.CNAMEs = a.CNAMEs
						}
					}
				}
				r.mu.Lock()
				r.st.Candidates++
				r.emit(c)
				r.mu.Unlock()
			}
		}()
	}
	var wg sync.WaitGroup
	for _, s := range o.Sources {
		fn := r.source(s)
		if fn == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(ctx)
		}()
	}
	wg.Wait()
	close(r.resolve)
	rw.Wait()
	return r.st, ctx.Err()
}

// add passes a candidate on once per (source, value).
func (r *run) add(c Candidate) {
	r.mu.Lock()
	k := c.key()
	dup := r.seen[k]
	r.seen[k] = true
	if !dup {
		r.st.Sources[c.Source].Found++
	}
	r.mu.Unlock()
	if !dup {
		r.resolve <- c
	}
}

// done records a source's work on one target.
func (r *run) done(s Source, target string, found int, err error) {
	r.mu.Lock()
	st := r.st.Sources[s]
	st.Targets++
	p := Progress{Source: s, Target: target, Found: found}
	if err != nil {
		p.Error = err.Error()
		if len(st.Errors) < 20 {
			st.Errors = append(st.Errors, target+": "+err.Error())
		}
	}
	r.mu.Unlock()
	if r.o.Progress != nil {
		r.o.Progress(p)
	}
}

func (r *run) source(s Source) func(context.Context) {
	switch s {
	case SourceCT:
		return r.ct
	case SourceAXFR:
		return r.axfr
	case SourceWordlist:
		return r.wordlist
	case SourceNSEC:
		return r.nsec
	case SourceRDNS:
		return r.rdns
	case SourceCerts:
		return r.certs
	case SourceLinks:
		return r.links
	case SourceRouting:
		return r.routing
	}
	return nil
}

func (r *run) found(src Source, under string) func(dnsdisc.Found) {
	return func(f dnsdisc.Found) {
		r.add(Candidate{Name: f.Name, Source: src, Addresses: addrStrings(f.Addrs), CNAMEs: f.CNAMEs, Evidence: f.Evidence, Under: under})
	}
}

func (r *run) needResolver(s Source, target string) bool {
	if r.o.Resolver == nil {
		r.done(s, target, 0, fmt.Errorf("%w: %s needs a resolver", ErrInvalid, s))
		return false
	}
	return true
}

func (r *run) ct(ctx context.Context) {
	if r.doms.Len() == 0 {
		return
	}
	for _, l := range r.o.CTLogs {
		pos, st, err := ScanLog(ctx, l.Client, l.Position, l.Limit, r.doms, r.add)
		r.mu.Lock()
		r.st.CT[l.Client.URL] = st
		r.mu.Unlock()
		if r.o.CTDone != nil {
			r.o.CTDone(l.Client.URL, pos, st, err)
		}
		r.done(SourceCT, l.Client.URL, st.Matched, err)
	}
	for _, f := range r.o.CTFiles {
		rc, err := f.Open()
		var st CTStats
		if err == nil {
			st, err = ReadCTFile(rc, f.Name, r.doms, r.add)
			rc.Close()
		}
		r.mu.Lock()
		r.st.CT[f.Name] = st
		r.mu.Unlock()
		r.done(SourceCT, f.Name, st.Matched, err)
	}
}

func (r *run) axfr(ctx context.Context) {
	for _, d := range r.t.Domains {
		if !r.needResolver(SourceAXFR, d) {
			return
		}
		servers, err := dnsdisc.NameServers(ctx, r.o.Resolver, d)
		if err != nil {
			r.done(SourceAXFR, d, 0, err)
			continue
		}
		total := 0
		var errs []string
		for _, ns := range servers {
			n, err := dnsdisc.Transfer(ctx, ns, d, 0, r.o.Dial, r.found(SourceAXFR, d))
			total += n
			if err != nil {
				errs = append(errs, err.Error())
			}
			if n > 0 {
				break // one server's copy of the zone is enough
			}
		}
		var err2 error
		if total == 0 && len(errs) > 0 {
			err2 = fmt.Errorf("%s", strings.Join(errs, "; "))
		}
		r.done(SourceAXFR, d, total, err2)
	}
}

func (r *run) wordlist(ctx context.Context) {
	for _, d := range r.t.Domains {
		if !r.needResolver(SourceWordlist, d) {
			return
		}
		var mu sync.Mutex
		n := 0
		f := r.found(SourceWordlist, d)
		_, err := dnsdisc.Brute(ctx, r.o.Resolver, d, r.o.Words, r.o.Brute, func(x dnsdisc.Found) {
			mu.Lock()
			n++
			mu.Unlock()
			f(x)
		})
		r.done(SourceWordlist, d, n, err)
	}
}

func (r *run) nsec(ctx context.Context) {
	for _, d := range r.t.Domains {
		if !r.needResolver(SourceNSEC, d) {
			return
		}
		n, err := dnsdisc.WalkNSEC(ctx, r.o.Resolver, d, r.found(SourceNSEC, d))
		r.done(SourceNSEC, d, n, err)
	}
}

func (r *run) rdns(ctx context.Context) {
	for _, p := range r.t.Prefixes {
		if !r.needResolver(SourceRDNS, p.String()) {
			return
		}
		n := 0
		var mu sync.Mutex
		f := r.found(SourceRDNS, p.String())
		_, err := dnsdisc.Reverse(ctx, r.o.Resolver, p, r.o.Reverse, func(x dnsdisc.Found) {
			mu.Lock()
			n++
			mu.Unlock()
			f(x)
		})
		r.done(SourceRDNS, p.String(), n, err)
	}
}

// maxCertHosts bounds the addresses of one network whose certificates a
// one-shot run reads.
const maxCertHosts = 256

func (r *run) certs(ctx context.Context) {
	owned := func(n string) (string, bool) { return r.doms.Match(n) }
	for _, sc := range r.o.SeenCerts {
		k := 0
		for _, n := range sc.Names {
			if dom, ok := owned(n); ok {
				k++
				r.add(Candidate{Name: n, Source: SourceCerts, Under: dom, Evidence: "certificate seen by a scan at " + sc.Addr})
			}
		}
		r.done(SourceCerts, sc.Addr, k, nil)
	}
	if r.o.SeenCerts != nil {
		return // the platform's run reads what its scans saw, and connects nowhere
	}
	read := func(addr, sni, target string) {
		names, err := PeerNames(ctx, r.o.Dial, addr, sni)
		k := 0
		for _, n := range names {
			if dom, ok := owned(n); ok {
				k++
				r.add(Candidate{Name: n, Source: SourceCerts, Under: dom, Evidence: "certificate presented at " + addr})
			}
		}
		r.done(SourceCerts, target, k, err)
	}
	for _, d := range r.t.Domains {
		if r.o.Resolver == nil {
			break
		}
		a, err := r.o.Resolver.Lookup(ctx, d)
		if err != nil || len(a.Addrs) == 0 {
			r.done(SourceCerts, d, 0, err)
			continue
		}
		read(net.JoinHostPort(a.Addrs[0].String(), "443"), d, d)
	}
	for _, p := range r.t.Prefixes {
		if host := p.Addr().BitLen() - p.Bits(); host > 8 {
			r.done(SourceCerts, p.String(), 0, fmt.Errorf("%w: more than %d addresses", ErrInvalid, maxCertHosts))
			continue
		}
		for a := p.Addr(); p.Contains(a) && ctx.Err() == nil; a = a.Next() {
			read(net.JoinHostPort(a.String(), "443"), "", a.String())
		}
	}
}

func (r *run) links(ctx context.Context) {
	pages := append([]string(nil), r.t.URLs...)
	for _, d := range r.t.Domains {
		pages = append(pages, "https://"+d+"/", "http://"+d+"/")
	}
	for _, pg := range pages {
		hosts, err := FetchLinks(ctx, r.http, pg, r.o.UserAgent)
		k := 0
		for _, h := range hosts {
			if dom, ok := r.doms.Match(h); ok {
				k++
				r.add(Candidate{Name: h, Source: SourceLinks, Under: dom, Evidence: "linked from " + pg})
			}
		}
		r.done(SourceLinks, pg, k, err)
	}
}

func (r *run) routing(ctx context.Context) {
	if r.o.Routing == nil {
		if len(r.t.ASNs) > 0 {
			r.done(SourceRouting, "routing data", 0, fmt.Errorf("%w: no routing data loaded", ErrInvalid))
		}
		return
	}
	for _, as := range r.t.ASNs {
		under := "AS" + strconv.FormatUint(uint64(as), 10)
		ps := r.o.Routing.Prefixes(as)
		for _, p := range ps {
			r.add(Candidate{Prefix: p.String(), Source: SourceRouting, Under: under, Evidence: "announced by " + under + " in the routing data"})
		}
		r.done(SourceRouting, under, len(ps), ctx.Err())
	}
}

// httpClient is the client of the links source: names resolve through
// the run's resolver, connections go through its Dial, certificates are
// not checked (the page's links matter, not its certificate), every read
// is bounded.
func (o Options) httpClient() *http.Client {
	dial := o.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	res := o.Resolver
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if _, err := netip.ParseAddr(host); err != nil && res != nil {
				a, err := res.Lookup(ctx, host)
				if err != nil {
					return nil, err
				}
				if len(a.Addrs) == 0 {
					return nil, fmt.Errorf("%w: %s does not resolve", ErrSource, host)
				}
				addr = net.JoinHostPort(a.Addrs[0].String(), port)
			}
			return dial(ctx, network, addr)
		},
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: true}, // #nosec G402: links are read, nothing is trusted
		TLSHandshakeTimeout:    TLSTimeout,
		ResponseHeaderTimeout:  PageTimeout,
		MaxResponseHeaderBytes: 64 << 10,
		DisableKeepAlives:      true,
	}
	return &http.Client{Transport: tr, Timeout: PageTimeout}
}
