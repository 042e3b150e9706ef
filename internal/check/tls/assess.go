package tls

import (
	"context"
	gotls "crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/probe/tlsprobe"
)

// Assessor runs the network side of the family: one crypto/tls handshake
// for the certificate checks and a run of raw probes for the protocol and
// cipher checks, each at most once per scan and target however many of the
// family's checks ask. Results are cached per (Env, address, host) for a
// while; the cache is bounded. Safe for concurrent use.
type Assessor struct {
	mu      sync.Mutex
	entries map[cacheKey]*entry
	max     int
	ttl     time.Duration
}

// NewAssessor returns an Assessor keeping at most max results (per part)
// for ttl; zero values pick 4096 and 10 minutes.
func NewAssessor(max int, ttl time.Duration) *Assessor {
	if max <= 0 {
		max = 4096
	}
	if ttl <= 0 {
		ttl = 10 * time.Minute
	}
	return &Assessor{entries: map[cacheKey]*entry{}, max: max, ttl: ttl}
}

type part uint8

const (
	partCerts part = iota
	partProtocols
)

// cacheKey includes the Env: a new scan (a new Env, perhaps other roots)
// never sees an old scan's results, and a verification rescan is fresh.
type cacheKey struct {
	env  *check.Env
	addr netip.AddrPort
	host string
	part part
}

type entry struct {
	done    chan struct{}
	val     any
	err     error
	created time.Time
	// dropped is set (before done closes) when the computing caller gave
	// up: its error says nothing about the target, and waiters retry.
	dropped bool
}

// get returns the cached value for k, computing it once.
func (a *Assessor) get(ctx context.Context, k cacheKey, compute func(context.Context) (any, error)) (any, error) {
	for {
		a.mu.Lock()
		e, ok := a.entries[k]
		if ok && time.Since(e.created) > a.ttl {
			select {
			case <-e.done:
				delete(a.entries, k)
				ok = false
			default: // still running: share it
			}
		}
		if !ok {
			a.evictLocked()
			e = &entry{done: make(chan struct{}), created: time.Now()}
			a.entries[k] = e
			a.mu.Unlock()
			e.val, e.err = compute(ctx)
			if e.err != nil && ctx.Err() != nil {
				// Our caller gave up; do not keep that as the answer.
				a.mu.Lock()
				if a.entries[k] == e {
					delete(a.entries, k)
				}
				e.dropped = true
				a.mu.Unlock()
			}
			close(e.done)
			return e.val, e.err
		}
		a.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.dropped {
			continue // the computing caller gave up; try ourselves
		}
		return e.val, e.err
	}
}

// evictLocked makes room: expired entries first, then the oldest.
func (a *Assessor) evictLocked() {
	if len(a.entries) < a.max {
		return
	}
	var oldest cacheKey
	var oldestAt time.Time
	for k, e := range a.entries {
		select {
		case <-e.done:
		default:
			continue // running; its callers hold it
		}
		if time.Since(e.created) > a.ttl {
			delete(a.entries, k)
			continue
		}
		if oldestAt.IsZero() || e.created.Before(oldestAt) {
			oldest, oldestAt = k, e.created
		}
	}
	if len(a.entries) >= a.max && !oldestAt.IsZero() {
		delete(a.entries, oldest)
	}
}

// Report is everything the family learned about one target.
type Report struct {
	Target check.Target
	Certs  *CertReport
	// Protocols is nil when only the certificate part ran.
	Protocols *ProtocolReport
}

// Assess runs both parts for t (from cache when already done) and
// returns the report. The error wraps check.ErrUnreachable when t could
// not be reached.
func (a *Assessor) Assess(ctx context.Context, env *check.Env, t check.Target) (*Report, error) {
	c, err := a.certs(ctx, env, t)
	if err != nil {
		return nil, err
	}
	p, err := a.protocols(ctx, env, t)
	if err != nil {
		return nil, err
	}
	return &Report{Target: t, Certs: c, Protocols: p}, nil
}

// CertReport is what one crypto/tls handshake (or, when crypto/tls cannot
// talk to the server at all, one raw probe) showed of the certificate.
type CertReport struct {
	// Chain is what the server sent, leaf first; empty for a server that
	// only accepts anonymous suites.
	Chain []*x509.Certificate
	// Source says how the chain was obtained, for evidence.
	Source string
	// Version and Suite were negotiated by crypto/tls (0 when it failed).
	Version tlsprobe.Version
	Suite   uint16
	// HandshakeError is why crypto/tls failed, if it did.
	HandshakeError string
	// NotTLS is set when neither crypto/tls nor a raw ClientHello got a
	// TLS answer (silence or non-TLS bytes): protocol enumeration is then
	// skipped rather than waiting out a timeout per version.
	NotTLS      bool
	Connections int
}

func (a *Assessor) certs(ctx context.Context, env *check.Env, t check.Target) (*CertReport, error) {
	v, err := a.get(ctx, cacheKey{env, t.Addr, t.Host, partCerts}, func(ctx context.Context) (any, error) {
		return grabCerts(ctx, env, t)
	})
	if err != nil {
		return nil, err
	}
	return v.(*CertReport), nil
}

func (a *Assessor) protocols(ctx context.Context, env *check.Env, t check.Target) (*ProtocolReport, error) {
	v, err := a.get(ctx, cacheKey{env, t.Addr, t.Host, partProtocols}, func(ctx context.Context) (any, error) {
		c, err := a.certs(ctx, env, t)
		if err != nil {
			return nil, err
		}
		return enumerate(ctx, env, t, c)
	})
	if err != nil {
		return nil, err
	}
	return v.(*ProtocolReport), nil
}

func timeout(env *check.Env) time.Duration {
	if env != nil && env.Timeout > 0 {
		return env.Timeout
	}
	return 5 * time.Second
}

func maxRead(env *check.Env) int64 {
	if env != nil && env.MaxRead > 0 {
		return env.MaxRead
	}
	return 1 << 20
}

func dialer(env *check.Env) tlsprobe.Dialer {
	if env != nil && env.Dial != nil {
		return env.Dial
	}
	var d net.Dialer
	return d.DialContext
}

func unreachable(t check.Target, err error) error {
	return fmt.Errorf("%w: tls %s: %w", check.ErrUnreachable, t.Addr, err)
}

// goSuites are all the suites crypto/tls implements, insecure ones too: the
// certificate handshake should succeed with as many servers as it can.
var goSuites = sync.OnceValue(func() []uint16 {
	var ids []uint16
	for _, s := range append(gotls.CipherSuites(), gotls.InsecureCipherSuites()...) {
		ids = append(ids, s.ID)
	}
	return ids
})

// grabCerts does one crypto/tls handshake without verification and keeps
// what the server sent; verification is the checks' business.
func grabCerts(parent context.Context, env *check.Env, t check.Target) (*CertReport, error) {
	ctx, cancel := context.WithTimeout(parent, timeout(env))
	defer cancel()
	conn, err := dialerFor(env, t)(ctx, "tcp", t.Addr.String())
	if err != nil {
		if e := callerErr(parent); e != nil {
			return nil, e
		}
		return nil, unreachable(t, err)
	}
	defer conn.Close()
	rep := &CertReport{Connections: 1, Source: "crypto/tls handshake"}
	var raw [][]byte
	cfg := &gotls.Config{
		ServerName:         sni(t.Host),
		InsecureSkipVerify: true, // verified below, against env.Roots, per check
		MinVersion:         gotls.VersionTLS10,
		MaxVersion:         gotls.VersionTLS13,
		CipherSuites:       goSuites(),
		CurvePreferences:   []gotls.CurveID{gotls.X25519, gotls.CurveP256, gotls.CurveP384, gotls.CurveP521},
		// Keep the chain even when the handshake fails later (a server
		// asking for a client certificate).
		VerifyPeerCertificate: func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
			raw = rawCerts
			return nil
		},
	}
	tc := gotls.Client(&limitConn{Conn: conn, left: maxRead(env)}, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		if e := callerErr(parent); e != nil {
			return nil, e
		}
		rep.HandshakeError = err.Error()
	} else {
		st := tc.ConnectionState()
		rep.Version, rep.Suite = tlsprobe.Version(st.Version), st.CipherSuite
	}
	if len(raw) == 0 && rep.Version == 0 {
		// crypto/tls could not talk to it (SSLv3 only, NULL or export
		// suites only): a raw hello offering everything shows the chain in
		// the clear.
		// A fresh deadline: the handshake may have spent its own.
		ctx := parent
		res, err := tlsprobe.Probe(ctx, dialerFor(env, t), t.Addr.String(), &tlsprobe.Hello{
			Version: tlsprobe.TLS12, Suites: tlsprobe.Suites(0), ServerName: t.Host,
		}, tlsprobe.Options{Timeout: timeout(env), MaxRead: maxRead(env), Certificates: true})
		if err != nil {
			if e := callerErr(parent); e != nil {
				return nil, e
			}
			return nil, unreachable(t, err)
		}
		rep.Connections++
		switch res.Outcome {
		case tlsprobe.OutcomeHello:
			raw = res.Certificates
			rep.Source = "raw " + res.ServerHello.Summary()
		case tlsprobe.OutcomeTimeout, tlsprobe.OutcomeGarbage:
			rep.NotTLS = true
			rep.HandshakeError += "; raw ClientHello: " + res.Summary()
		}
	}
	for i, der := range raw {
		if i == 10 {
			break
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			rep.HandshakeError = strings.TrimSpace(rep.HandshakeError + "; certificate " + fmt.Sprint(i) + ": " + err.Error())
			break
		}
		rep.Chain = append(rep.Chain, c)
	}
	return rep, nil
}

// callerErr reports that the caller's context (never one with our own
// per-operation timeout) ended: that is no fact about the target.
func callerErr(parent context.Context) error { return parent.Err() }

// sni returns host for the server_name extension, or "" for an address.
func sni(host string) string {
	host = strings.TrimSuffix(host, ".")
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	return host
}

// limitConn caps what crypto/tls may read from a hostile server.
type limitConn struct {
	net.Conn
	left int64
}

func (c *limitConn) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errors.New("tls: read cap reached")
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.Conn.Read(p)
	c.left -= int64(n)
	return n, err
}

// ProtocolVerdict is whether one protocol version is accepted, and why we
// think so.
type ProtocolVerdict struct {
	Version  tlsprobe.Version
	Accepted bool
	Request  string // the ClientHello offered (or how it was inferred)
	Response string // the answer
}

// WeakSuite is a weak suite the server accepted.
type WeakSuite struct {
	Suite    tlsprobe.Suite
	Versions []tlsprobe.Version
	Request  string
	Response string
}

// ProtocolReport is the outcome of protocol and weak-suite enumeration.
type ProtocolReport struct {
	Verdicts    []ProtocolVerdict // SSLv3 … TLS 1.3, oldest first
	Weak        []WeakSuite       // in the order found
	Connections int
}

// Accepted reports the verdict for v.
func (p *ProtocolReport) Accepted(v tlsprobe.Version) bool {
	for _, x := range p.Verdicts {
		if x.Version == v {
			return x.Accepted
		}
	}
	return false
}

// enumerate finds which versions the server accepts and which weak suites
// it accepts with each. It costs one connection per version not already
// known from the certificate handshake, plus one per accepted weak suite
// and one per accepted version below TLS 1.3 to end the weak-suite run.
func enumerate(ctx context.Context, env *check.Env, t check.Target, certs *CertReport) (*ProtocolReport, error) {
	rep := &ProtocolReport{}
	verdicts := map[tlsprobe.Version]*ProtocolVerdict{}
	if certs.NotTLS {
		for _, v := range tlsprobe.Versions {
			rep.Verdicts = append(rep.Verdicts, ProtocolVerdict{Version: v,
				Request: "crypto/tls and raw ClientHello", Response: certs.HandshakeError})
		}
		return rep, nil
	}
	if certs.Version.Known() {
		// crypto/tls offered TLS 1.0 to 1.3; the server picked its best.
		for _, v := range tlsprobe.Versions {
			switch {
			case v == certs.Version:
				verdicts[v] = &ProtocolVerdict{Version: v, Accepted: true,
					Request:  "crypto/tls ClientHello TLSv1.0-TLSv1.3",
					Response: fmt.Sprintf("ServerHello %s %s", v, tlsprobe.SuiteName(certs.Suite))}
			case v > certs.Version:
				verdicts[v] = &ProtocolVerdict{Version: v,
					Request:  "crypto/tls ClientHello TLSv1.0-TLSv1.3",
					Response: fmt.Sprintf("server chose %s, so it does not accept %s", certs.Version, v)}
			}
		}
	}
	probe := func(h *tlsprobe.Hello) (*tlsprobe.Result, error) {
		res, err := tlsprobe.Probe(ctx, dialerFor(env, t), t.Addr.String(), h,
			tlsprobe.Options{Timeout: timeout(env), MaxRead: maxRead(env)})
		if err != nil {
			if e := callerErr(ctx); e != nil {
				return nil, e
			}
			return nil, unreachable(t, err)
		}
		rep.Connections++
		return res, nil
	}
	for _, v := range slices.Backward(tlsprobe.Versions) {
		if verdicts[v] != nil {
			continue
		}
		suites := tlsprobe.Suites(0)
		if v == tlsprobe.TLS13 {
			suites = tlsprobe.Suites(tlsprobe.ClassTLS13)
		}
		h := &tlsprobe.Hello{Version: v, Suites: suites, ServerName: t.Host}
		res, err := probe(h)
		if err != nil {
			return nil, err
		}
		verdicts[v] = &ProtocolVerdict{Version: v, Accepted: res.Accepted(), Request: h.Summary(), Response: res.Summary()}
		// A server answering a TLS 1.1 offer with TLS 1.0 accepts TLS 1.0.
		if sh := res.ServerHello; sh != nil && sh.Version < v && sh.Version.Known() && verdicts[sh.Version] == nil &&
			slices.Contains(suites, sh.Suite) {
			verdicts[sh.Version] = &ProtocolVerdict{Version: sh.Version, Accepted: true, Request: h.Summary(), Response: res.Summary()}
		}
	}
	for _, v := range tlsprobe.Versions {
		rep.Verdicts = append(rep.Verdicts, *verdicts[v])
	}

	found := map[uint16]*WeakSuite{}
	for _, v := range tlsprobe.Versions {
		if v == tlsprobe.TLS13 || !verdicts[v].Accepted {
			continue
		}
		// Offer every weak suite; take out the one the server picks and
		// offer the rest again, until it refuses.
		offer := tlsprobe.Suites(tlsprobe.WeakClasses)
		for len(offer) > 0 {
			h := &tlsprobe.Hello{Version: v, Suites: offer, ServerName: t.Host}
			res, err := probe(h)
			if err != nil {
				return nil, err
			}
			if !res.Accepted() {
				break
			}
			id := res.ServerHello.Suite
			offer = slices.DeleteFunc(offer, func(s uint16) bool { return s == id })
			if w := found[id]; w != nil {
				w.Versions = append(w.Versions, v)
				continue
			}
			s, _ := tlsprobe.LookupSuite(id)
			w := &WeakSuite{Suite: s, Versions: []tlsprobe.Version{v}, Request: h.Summary(), Response: res.Summary()}
			found[id] = w
			rep.Weak = append(rep.Weak, *w)
		}
	}
	for i := range rep.Weak {
		rep.Weak[i].Versions = found[rep.Weak[i].Suite.ID].Versions
	}
	return rep, nil
}

// Connections is how many connections the report cost.
func (r *Report) Connections() int {
	n := r.Certs.Connections
	if r.Protocols != nil {
		n += r.Protocols.Connections
	}
	return n
}
