package dns

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BlockReporter receives every blocked query. The server calls it from one
// goroutine of its own, fed through a bounded queue, so a slow reporter
// never holds up an answer; when the queue is full the report is dropped
// and counted (rampart_dns_block_reports_dropped_total). Implementations
// should still return quickly (batch, do not write per call).
type BlockReporter interface {
	Blocked(client netip.Addr, qname, list string, at time.Time)
}

// Config configures a Server. Zero values take the defaults below.
type Config struct {
	// Listen is the address of the plain DNS listeners, UDP and TCP on the
	// same port ("127.0.0.1:53"; port 0 picks one, read it from Addr).
	// Empty: no plain listener.
	Listen string
	// TLSListen is the address of the DNS-over-TLS listener (RFC 7858);
	// it needs TLSConfig or TLSCertFile and TLSKeyFile. Empty: none.
	TLSListen string
	// TLSConfig is the DoT server configuration (with its certificates).
	TLSConfig *tls.Config
	// TLSCertFile and TLSKeyFile are PEM files read at NewServer when
	// TLSConfig is nil.
	TLSCertFile, TLSKeyFile string
	// Upstreams are the resolvers queries are forwarded to, tried in turn
	// ("192.0.2.1", "192.0.2.1:5353", "[2001:db8::1]:53").
	Upstreams []string
	// UpstreamTimeout bounds one try at one upstream (default 2 s); a
	// query gives up after ForwardTimeout (default 5 s) in all.
	UpstreamTimeout time.Duration
	ForwardTimeout  time.Duration
	// CacheSize is the most answers kept (default 100,000; negative: no
	// cache).
	CacheSize int
	// MaxTTL caps the TTL of cached answers (default 1 day); NegativeMaxTTL
	// caps negative answers (default 3 hours, RFC 2308).
	MaxTTL, NegativeMaxTTL time.Duration
	// Reporter receives blocked queries (may be nil).
	Reporter BlockReporter
	// ReportQueue is the bound of the queue in front of Reporter
	// (default 65,536).
	ReportQueue int
	// Logger logs errors and the sampled queries (default: slog.Default).
	Logger *slog.Logger
	// QueryLogSample is the share of queries kept in the query log and
	// logged at debug level, 0 (none) to 1 (all).
	QueryLogSample float64
	// QueryLogSize is how many sampled queries RecentQueries keeps
	// (default 1,000).
	QueryLogSize int
	// MaxTCPConns bounds the open TCP and TLS connections together
	// (default 1,000); TCPIdleTimeout closes a quiet one (default 10 s).
	MaxTCPConns    int
	TCPIdleTimeout time.Duration
	// UDPSize is the EDNS payload size the server offers clients and
	// upstreams (default 1232).
	UDPSize uint16
}

// Defaults of Config.
const (
	DefaultUpstreamTimeout = 2 * time.Second
	DefaultForwardTimeout  = 5 * time.Second
	DefaultCacheSize       = 100_000
	DefaultMaxTTL          = 24 * time.Hour
	DefaultNegativeMaxTTL  = 3 * time.Hour
	DefaultReportQueue     = 1 << 16
	DefaultQueryLogSize    = 1000
	DefaultMaxTCPConns     = 1000
	DefaultTCPIdleTimeout  = 10 * time.Second
	DefaultUDPSize         = 1232
	// ServfailTTL is how long a SERVFAIL is kept.
	ServfailTTL = 5 * time.Second
)

// Errors of the server.
var (
	// ErrConfig is wrapped by every configuration error of NewServer.
	ErrConfig = errors.New("dns: invalid config")
	// ErrStarted is returned by a second Start.
	ErrStarted = errors.New("dns: server already started")
)

// Server is the protective resolver. Create it with NewServer, give it a
// policy with SetPolicy (before or after Start), Start it, Close it.
type Server struct {
	cfg       Config
	log       *slog.Logger
	upstreams []*upstream
	tlsConf   *tls.Config

	policy atomic.Pointer[policyState]

	mu      sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup // the reporter
	loops   sync.WaitGroup // listeners, connections, misses
	udpConn *net.UDPConn
	tcpLn   net.Listener
	tlsLn   net.Listener
	conns   map[net.Conn]struct{}

	feed atomic.Pointer[feedState]

	m        *metrics
	cache    *cache
	qlog     *queryLog
	reports  chan blockReport
	inflight inflight
	prefer   atomic.Int32 // the upstream tried first
	clock    func() time.Time
	misses   atomic.Int64 // UDP cache misses being resolved
}

type blockReport struct {
	client netip.Addr
	qname  string
	list   string
	at     time.Time
}

// policyState is the policy in force with its per-list block counters,
// swapped as one.
type policyState struct {
	p        *Policy
	loadedAt time.Time
	blocks   []*atomic.Uint64 // by list index
}

type feedState struct {
	connected bool
	version   int64
	at        time.Time
}

// upstream is one forwarding target and what the server knows of it.
type upstream struct {
	addr    netip.AddrPort
	lastOK  atomic.Int64 // unix nanoseconds
	lastErr atomic.Int64
	errMsg  atomic.Pointer[string]
	hist    prometheus.Observer
	errs    prometheus.Counter
}

// NewServer checks cfg, fills in defaults and loads the TLS certificate;
// it opens no socket (Start does).
func NewServer(cfg Config) (*Server, error) {
	if cfg.Listen == "" && cfg.TLSListen == "" {
		return nil, fmt.Errorf("%w: neither Listen nor TLSListen is set", ErrConfig)
	}
	if len(cfg.Upstreams) == 0 {
		return nil, fmt.Errorf("%w: no upstream resolver", ErrConfig)
	}
	if cfg.QueryLogSample < 0 || cfg.QueryLogSample > 1 {
		return nil, fmt.Errorf("%w: query log sample %v is not between 0 and 1", ErrConfig, cfg.QueryLogSample)
	}
	setDefault(&cfg.UpstreamTimeout, DefaultUpstreamTimeout)
	setDefault(&cfg.ForwardTimeout, DefaultForwardTimeout)
	setDefault(&cfg.CacheSize, DefaultCacheSize)
	setDefault(&cfg.MaxTTL, DefaultMaxTTL)
	setDefault(&cfg.NegativeMaxTTL, DefaultNegativeMaxTTL)
	setDefault(&cfg.ReportQueue, DefaultReportQueue)
	setDefault(&cfg.QueryLogSize, DefaultQueryLogSize)
	setDefault(&cfg.MaxTCPConns, DefaultMaxTCPConns)
	setDefault(&cfg.TCPIdleTimeout, DefaultTCPIdleTimeout)
	setDefault(&cfg.UDPSize, DefaultUDPSize)
	if cfg.UDPSize < 512 {
		cfg.UDPSize = 512
	}
	s := &Server{cfg: cfg, log: cfg.Logger, conns: map[net.Conn]struct{}{}, m: newMetrics(), clock: time.Now}
	if cfg.CacheSize > 0 {
		s.cache = newCache(cfg.CacheSize)
	}
	if cfg.QueryLogSample > 0 {
		s.qlog = newQueryLog(cfg.QueryLogSample, cfg.QueryLogSize)
	}
	if cfg.Reporter != nil {
		s.reports = make(chan blockReport, cfg.ReportQueue)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, u := range cfg.Upstreams {
		addr, err := upstreamAddr(u)
		if err != nil {
			return nil, fmt.Errorf("%w: upstream %q: %v", ErrConfig, u, err)
		}
		s.upstreams = append(s.upstreams, &upstream{addr: addr,
			hist: s.m.upstream.WithLabelValues(addr.String()), errs: s.m.upstreamErrs.WithLabelValues(addr.String())})
	}
	if cfg.TLSListen != "" {
		switch {
		case cfg.TLSConfig != nil:
			s.tlsConf = cfg.TLSConfig.Clone()
		case cfg.TLSCertFile != "" && cfg.TLSKeyFile != "":
			cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
			if err != nil {
				return nil, fmt.Errorf("%w: DoT certificate: %v", ErrConfig, err)
			}
			s.tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}}
		default:
			return nil, fmt.Errorf("%w: TLSListen needs TLSConfig or TLSCertFile and TLSKeyFile", ErrConfig)
		}
		if s.tlsConf.MinVersion == 0 {
			s.tlsConf.MinVersion = tls.VersionTLS12
		}
		s.tlsConf.NextProtos = []string{"dot"}
	}
	return s, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// upstreamAddr reads "IP", "IP:port" or "[IPv6]:port" (port 53 by
// default). Upstreams are addresses, not names: a resolver that needs a
// resolver to find its upstream has nowhere to ask.
func upstreamAddr(u string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(u); err == nil {
		return ap, nil
	}
	if a, err := netip.ParseAddr(strings.Trim(u, "[]")); err == nil {
		return netip.AddrPortFrom(a.Unmap(), 53), nil
	}
	return netip.AddrPort{}, errors.New("want IP or IP:port")
}

// SetPolicy makes p the policy of every query from now on, atomically;
// queries already answered are not touched. A nil p blocks nothing.
func (s *Server) SetPolicy(p *Policy) {
	s.policy.Store(&policyState{p: p, loadedAt: time.Now(), blocks: s.m.blockCounters(p)})
}

// Policy returns the policy in force (nil if none).
func (s *Server) Policy() *Policy {
	if st := s.policy.Load(); st != nil {
		return st.p
	}
	return nil
}

// SetFeedState records the state of the policy feed (for health and
// metrics): whether it is connected, the newest version it announced and
// when it last changed. A resolver that lost its feed keeps serving the
// last policy and says so.
func (s *Server) SetFeedState(connected bool, version int64, at time.Time) {
	s.feed.Store(&feedState{connected: connected, version: version, at: at})
}

// Serve starts the server and blocks until ctx ends, then closes it.
func (s *Server) Serve(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return s.Close()
}
