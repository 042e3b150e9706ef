package fingerprint

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrConnect is wrapped when the port cannot be connected to at all.
var ErrConnect = errors.New("fingerprint: connect")

// Service is what Identify learned about one open TCP port.
type Service struct {
	// Service is the protocol name: "http", "https", "ssh", "smtp",
	// "imaps", "mysql", ... "tls" when only a TLS handshake succeeded, and
	// "unknown" when nothing matched.
	Service string `json:"service"`
	Product string `json:"product,omitempty"`
	Version string `json:"version,omitempty"`
	TLS     bool   `json:"tls"`
	// Banner is the first reply bytes, printable-escaped, at most
	// BannerMax bytes.
	Banner string `json:"banner,omitempty"`
	// CPE is a cpe:2.3 name when a rule gives one.
	CPE string `json:"cpe,omitempty"`
	// Extra holds details such as http.server, http.title, tls.alpn,
	// tls.version, tls.cert.subject and whatever the matching rules add.
	Extra map[string]string `json:"extra,omitempty"`
	// Rules lists the IDs of the rules that matched, best first.
	Rules []string `json:"rules,omitempty"`
}

// BannerMax caps Service.Banner.
const BannerMax = 256

// Options tune a Prober. Zero values take the defaults.
type Options struct {
	// Timeout bounds one reply: from sending a probe (or connecting) to
	// the last byte read. Default 3s.
	Timeout time.Duration
	// MaxRead caps the bytes read for one reply. Default 16 KiB.
	MaxRead int
	// TotalTimeout bounds a whole Identify call. Default 10s.
	TotalTimeout time.Duration
	// BannerWait is how long to wait for a server-first banner on a port
	// that the port table does not know. Known server-first ports (22, 25,
	// ...) wait Timeout; known client-first ports (80, 443, 6379, ...) do
	// not wait. Default 2s; negative means do not wait. A port still
	// silent after 300ms is first asked over HTTP on a second connection;
	// a web server found that way ends the wait early.
	BannerWait time.Duration
	// IdleGap is how long to keep reading once a reply has started but
	// does not look complete yet. Default 300ms.
	IdleGap time.Duration
	// UserAgent is sent in HTTP probes. Default "Rampart-Scanner/1.0".
	UserAgent string
	// Dial opens connections; default a net.Dialer. Tests and workers
	// behind a proxy set it.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Second
	}
	if o.MaxRead <= 0 {
		o.MaxRead = 16 << 10
	}
	if o.TotalTimeout <= 0 {
		o.TotalTimeout = 10 * time.Second
	}
	if o.BannerWait == 0 {
		o.BannerWait = 2 * time.Second
	}
	if o.BannerWait > o.Timeout {
		o.BannerWait = o.Timeout
	}
	if o.IdleGap <= 0 {
		o.IdleGap = 300 * time.Millisecond
	}
	if o.IdleGap > o.Timeout {
		o.IdleGap = o.Timeout
	}
	if o.UserAgent == "" {
		o.UserAgent = "Rampart-Scanner/1.0"
	}
	if o.Dial == nil {
		var d net.Dialer
		o.Dial = d.DialContext
	}
	return o
}

// Prober identifies services. It is safe for concurrent use.
type Prober struct {
	rules *Rules
	o     Options
}

// New returns a Prober using rules (DefaultRules when nil).
func New(rules *Rules, o Options) *Prober {
	if rules == nil {
		rules = DefaultRules()
	}
	return &Prober{rules: rules, o: o.withDefaults()}
}

// Identify connects to addr and works out which service listens there.
// hostname, when not empty, is sent as TLS SNI and HTTP Host.
//
// The error is non-nil only when nothing could be learned: the connection
// failed (ErrConnect) or ctx ended first. A port that answers but matches
// no rule gives Service "unknown" (or "tls") with its Banner and a nil
// error; running out of TotalTimeout returns what was learned so far.
func (p *Prober) Identify(ctx context.Context, addr netip.AddrPort, hostname string) (Service, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, p.o.TotalTimeout)
	defer cancel()
	s := &session{p: p, ctx: ctx, addr: addr, host: hostname, ran: map[string]bool{}}

	hint := hintFor(addr.Port())
	c, err := s.dial()
	if err != nil {
		if perr := parent.Err(); perr != nil {
			return Service{}, fmt.Errorf("fingerprint %s: %w", addr, perr)
		}
		return Service{}, fmt.Errorf("%w %s: %v", ErrConnect, addr, err)
	}
	wait := p.o.BannerWait
	switch hint.banner {
	case bannerYes:
		wait = p.o.Timeout
	case bannerNo:
		wait = 0
	}
	var reuse net.Conn
	if wait > 0 {
		raw := s.awaitBanner(c, wait, hint.banner == bannerMaybe)
		if len(raw) > 0 {
			s.banner(c, raw)
			c.Close()
		} else {
			reuse = c
		}
	} else {
		reuse = c
	}

	queue := append(append([]string(nil), hint.probes...), genericProbes...)
	for len(queue) > 0 && !s.found && !expired(ctx) {
		name := queue[0]
		queue = queue[1:]
		if s.ran[name] {
			continue
		}
		s.ran[name] = true
		pr := probes()[name]
		wasTLS := s.tls
		conn := reuse
		reuse = nil
		if conn == nil {
			if conn, err = s.dial(); err != nil {
				break
			}
		}
		next := pr.run(s, conn)
		if s.pending != nil {
			// conn lives on inside the pending TLS connection.
			reuse, s.pending = s.pending, nil
		} else {
			conn.Close()
		}
		if next != nil {
			// The probe redirected the search: the TLS probe succeeded and
			// everything after it runs inside TLS, or an HTTP error page
			// said the port wants TLS.
			queue = next
			if s.tls && !wasTLS {
				clear(s.ran)
			}
		}
	}
	if reuse != nil {
		reuse.Close()
	}
	// Follow-up: a service that a dedicated probe can put a version on.
	if s.found && s.res.Version == "" && !expired(ctx) {
		if name, ok := followup(s.res.Service); ok && !s.ran[name] {
			if conn, err := s.dial(); err == nil {
				s.ran[name] = true
				probes()[name].run(s, conn)
				conn.Close()
			}
		}
	}
	if expired(parent) && !s.found && s.firstRaw == nil && !s.tls {
		perr := parent.Err()
		if perr == nil {
			perr = context.DeadlineExceeded
		}
		return Service{}, fmt.Errorf("fingerprint %s: %w", addr, perr)
	}
	return s.result(), nil
}

// earlyHTTP is how long a port the port table does not know may stay
// silent before an HTTP probe is tried on a second connection, while the
// first keeps waiting for a banner. Most such ports are web servers, which
// speak only when spoken to: they should not cost the whole BannerWait.
const earlyHTTP = 300 * time.Millisecond

// awaitBanner waits up to wait for a server-first banner on c. On a port
// the table does not know (tryHTTP), a port still silent after earlyHTTP
// is asked over HTTP on a fresh connection first (see tryHTTP); when that
// does not identify it, the banner wait goes on until wait has passed
// since c was opened, and whatever arrived meanwhile is read.
func (s *session) awaitBanner(c net.Conn, wait time.Duration, tryHTTP bool) []byte {
	if !tryHTTP || wait <= earlyHTTP {
		raw, _ := s.read(c, wait, bannerComplete)
		return raw
	}
	start := time.Now()
	if raw, _ := s.read(c, earlyHTTP, bannerComplete); len(raw) > 0 {
		return raw
	}
	if s.tryHTTP() {
		return nil
	}
	// A banner that came during the HTTP probe waits in the socket; a
	// short read still collects it once wait is spent.
	raw, _ := s.read(c, max(wait-time.Since(start), 50*time.Millisecond), bannerComplete)
	return raw
}

// tryHTTP runs the HTTP probe on a fresh connection in a scratch session.
// It keeps the outcome, and reports true, only when the port answered
// HTTP and a rule identified it; a port that answered nothing at all is
// not asked over HTTP again. Any other answer (a late banner, an error
// page that asks for TLS) is dropped, so that the usual order of banner
// and probes decides as it would have without the early probe.
func (s *session) tryHTTP() bool {
	if expired(s.ctx) {
		return false
	}
	sub := &session{p: s.p, ctx: s.ctx, addr: s.addr, host: s.host, ran: map[string]bool{}}
	conn, err := sub.dial()
	if err != nil {
		return false
	}
	next := probes()["http"].run(sub, conn)
	conn.Close()
	switch {
	case sub.found && next == nil && sub.extra["http.status"] != "":
		sub.ran = s.ran
		sub.ran["http"] = true
		*s = *sub
		return true
	case next == nil && sub.firstRaw == nil && len(sub.extra) == 0:
		s.ran["http"] = true
	}
	return false
}

// expired reports that ctx is done or its deadline has passed (the
// context's own timer may fire a moment after a read deadline did).
func expired(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// session is the state of one Identify call.
type session struct {
	p        *Prober
	ctx      context.Context
	addr     netip.AddrPort
	host     string
	tls      bool
	tlsMatch *Match // what the TLS rules said, used when nothing inside matched
	ran      map[string]bool
	found    bool
	res      Service
	firstRaw []byte
	extra    map[string]string
	pending  net.Conn // a connection the next probe should use
}

// dial connects, bounded by the session context, and (once TLS is known)
// performs the TLS handshake.
func (s *session) dial() (net.Conn, error) {
	dctx, cancel := context.WithTimeout(s.ctx, s.p.o.Timeout)
	defer cancel()
	raw, err := s.p.o.Dial(dctx, "tcp", s.addr.String())
	if err != nil {
		return nil, err
	}
	c := &guardConn{Conn: raw}
	// Cancelling the session (TotalTimeout or the caller) unblocks any read.
	c.stop = context.AfterFunc(s.ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	if !s.tls {
		return c, nil
	}
	tc, _, err := s.handshake(c, []string{"http/1.1"})
	if err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}

type guardConn struct {
	net.Conn
	stop func() bool
}

func (g *guardConn) Close() error {
	g.stop()
	return g.Conn.Close()
}

// deadline is now+d, but never after the session's own deadline.
func (s *session) deadline(d time.Duration) time.Time {
	t := time.Now().Add(d)
	if dl, ok := s.ctx.Deadline(); ok && dl.Before(t) {
		return dl
	}
	return t
}

// read collects one reply: it waits up to wait for the first byte, keeps
// reading while bytes keep coming (IdleGap apart) until complete says the
// reply is whole, the peer closes, MaxRead bytes arrived, or wait is
// spent in total.
func (s *session) read(c net.Conn, wait time.Duration, complete func([]byte) bool) ([]byte, error) {
	limit := s.deadline(wait)
	max := s.p.o.MaxRead
	buf := make([]byte, 0, min(max, 4096))
	tmp := make([]byte, min(max, 4096))
	for len(buf) < max {
		if expired(s.ctx) {
			break
		}
		dl := limit
		if len(buf) > 0 {
			if idle := time.Now().Add(s.p.o.IdleGap); idle.Before(dl) {
				dl = idle
			}
		}
		c.SetReadDeadline(dl)
		n, err := c.Read(tmp[:min(len(tmp), max-len(buf))])
		buf = append(buf, tmp[:n]...)
		if len(buf) > 0 && complete != nil && complete(buf) {
			return buf, nil
		}
		if err != nil {
			if len(buf) > 0 {
				return buf, nil
			}
			return nil, err
		}
	}
	if len(buf) == 0 {
		return nil, context.Cause(s.ctx)
	}
	return buf, nil
}

// write sends a probe within Timeout.
func (s *session) write(c net.Conn, b []byte) error {
	c.SetWriteDeadline(s.deadline(s.p.o.Timeout))
	_, err := c.Write(b)
	return err
}

// exchange writes req and reads one reply.
func (s *session) exchange(c net.Conn, req []byte, complete func([]byte) bool) []byte {
	if err := s.write(c, req); err != nil {
		return nil
	}
	b, _ := s.read(c, s.p.o.Timeout, complete)
	return b
}

// evaluate runs the rules for kind over f, falling back to the banner
// rules over the raw bytes, and adopts the result.
func (s *session) evaluate(kind string, raw []byte, f facts) {
	if len(raw) > 0 && s.firstRaw == nil {
		s.firstRaw = raw
	}
	if f == nil && len(raw) == 0 {
		return
	}
	if f == nil {
		f = textFacts(raw)
	} else if _, ok := f["raw"]; !ok && len(raw) > 0 {
		for k, v := range textFacts(raw) {
			f[k] = v
		}
	}
	port := strconv.Itoa(int(s.addr.Port()))
	f["port"] = port
	m, ok := s.p.rules.Match(kind, f)
	if !ok && kind != KindBanner && len(raw) > 0 {
		bf := parseBanner(raw)
		bf["port"] = port
		m, ok = s.p.rules.Match(KindBanner, bf)
	}
	if kind == KindHTTP {
		s.addExtra("http.server", f["header.server"])
		s.addExtra("http.title", f["title"])
		s.addExtra("http.status", f["status"])
	}
	if !ok {
		return
	}
	s.adopt(m)
}

func (s *session) adopt(m Match) {
	if s.found {
		if m.Service != s.res.Service {
			return
		}
		if s.res.Version == "" && m.Version != "" {
			// A refining probe knows more than the first one did.
			if m.Product != "" {
				s.res.Product = m.Product
			}
			s.res.Version = m.Version
			if m.CPE != "" {
				s.res.CPE = m.CPE
			}
		}
	} else {
		s.found = true
		s.res.Service = m.Service
	}
	if s.res.Product == "" {
		s.res.Product = m.Product
	}
	if s.res.Version == "" {
		s.res.Version = m.Version
	}
	if s.res.CPE == "" {
		s.res.CPE = m.CPE
	}
	s.res.Rules = append(s.res.Rules, m.RuleIDs...)
	for k, v := range m.Extra {
		s.addExtra(k, v)
	}
}

func (s *session) addExtra(k, v string) {
	if v == "" {
		return
	}
	if s.extra == nil {
		s.extra = map[string]string{}
	}
	if _, ok := s.extra[k]; !ok {
		s.extra[k] = clip(v, 256)
	}
}

func (s *session) result() Service {
	if !s.found && s.tlsMatch != nil {
		s.adopt(*s.tlsMatch)
	}
	r := s.res
	r.TLS = s.tls
	switch {
	case !s.found && s.tls:
		r.Service = "tls"
	case !s.found:
		r.Service = "unknown"
	case s.tls:
		if n, ok := tlsNames()[r.Service]; ok {
			r.Service = n
		}
	}
	r.Banner = EscapeBanner(s.firstRaw, BannerMax)
	r.Extra = s.extra
	return r
}

// tlsNames renames a service found inside TLS.
var tlsNames = sync.OnceValue(func() map[string]string {
	return map[string]string{
		"http": "https", "smtp": "smtps", "imap": "imaps", "pop3": "pop3s",
		"ftp": "ftps", "ldap": "ldaps", "mqtt": "mqtts", "telnet": "telnets",
		"irc": "ircs", "nntp": "nntps",
	}
})

// banner handles a server-first banner on c, with the follow-ups some
// protocols need (telnet refusals, the VNC version reply).
func (s *session) banner(c net.Conn, raw []byte) {
	switch {
	case raw[0] == iac:
		// Refuse every option the server asks about, until it shows text
		// (its banner or login prompt) or stops negotiating.
		all, chunk := raw, raw
		for round := 0; round < 3 && len(all) < s.p.o.MaxRead; round++ {
			tf, reply := parseTelnet(chunk)
			if len(reply) == 0 || (round > 0 && strings.TrimSpace(tf["telnet.text"]) != "") {
				break
			}
			if s.write(c, reply) != nil {
				break
			}
			more, _ := s.read(c, min(s.p.o.Timeout, 1500*time.Millisecond), nil)
			if len(more) == 0 {
				break
			}
			all = append(all, more...)
			chunk = more
		}
		s.evaluate(KindBanner, all, parseBanner(all))
		return
	case len(raw) >= 12 && string(raw[:4]) == "RFB ":
		f := parseBanner(raw)
		if v, ok := f["vnc.protocol"]; ok {
			legacy := v == "3.3" || strings.HasPrefix(v, "3.") && v < "3.7"
			answer := "RFB 003.008\n"
			if legacy {
				answer = "RFB 003.003\n"
			}
			if more := s.exchange(c, []byte(answer), nil); len(more) > 0 {
				if sf, err := parseVNCSecurity(more, legacy); err == nil {
					for k, v := range sf {
						f[k] = v
					}
				}
			}
		}
		s.evaluate(KindBanner, raw, f)
		return
	}
	s.evaluate(KindBanner, raw, parseBanner(raw))
}

// bannerComplete: a MySQL packet of its declared length, a 12-byte RFB
// version, or text ending in a newline that is not an SMTP/FTP-style
// continuation line ("220-...").
func bannerComplete(b []byte) bool {
	if len(b) >= 4 {
		n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
		if b[3] == 0 && n > 0 && n+4 == len(b) {
			return true
		}
	}
	if len(b) == 12 && string(b[:4]) == "RFB " {
		return true
	}
	if b[0] == iac || b[len(b)-1] != '\n' {
		return false
	}
	lines := strings.Split(strings.TrimRight(string(b), "\r\n"), "\n")
	last := strings.TrimRight(lines[len(lines)-1], "\r")
	if len(last) >= 4 && last[3] == '-' {
		if _, err := strconv.Atoi(last[:3]); err == nil {
			return false
		}
	}
	return true
}

// ---- TLS ----

// handshake runs a TLS client handshake on c, recording what it read so
// that a server which is not TLS can still be recognised by its bytes.
func (s *session) handshake(c net.Conn, alpn []string) (*tls.Conn, []byte, error) {
	rec := &recordConn{Conn: c, max: s.p.o.MaxRead}
	cfg := &tls.Config{
		InsecureSkipVerify: true, // we identify, we do not trust
		NextProtos:         alpn,
		MinVersion:         tls.VersionTLS10,
		CipherSuites:       allSuites(),
	}
	if s.host != "" && net.ParseIP(s.host) == nil {
		cfg.ServerName = s.host
	}
	tc := tls.Client(rec, cfg)
	hctx, cancel := context.WithDeadline(s.ctx, s.deadline(s.p.o.Timeout))
	defer cancel()
	c.SetDeadline(s.deadline(s.p.o.Timeout))
	err := tc.HandshakeContext(hctx)
	c.SetDeadline(time.Time{})
	if err != nil {
		return nil, rec.buf, err
	}
	rec.buf = nil
	rec.max = 0
	return tc, nil, nil
}

func allSuites() []uint16 {
	var ids []uint16
	for _, cs := range tls.CipherSuites() {
		ids = append(ids, cs.ID)
	}
	for _, cs := range tls.InsecureCipherSuites() {
		ids = append(ids, cs.ID)
	}
	return ids
}

type recordConn struct {
	net.Conn
	buf []byte
	max int
}

func (r *recordConn) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	if room := r.max - len(r.buf); room > 0 && n > 0 {
		r.buf = append(r.buf, p[:min(n, room)]...)
	}
	return n, err
}

// tlsFacts describes a finished handshake.
func tlsFacts(st tls.ConnectionState) facts {
	f := facts{}
	f.set("tls.version", tls.VersionName(st.Version))
	f.set("tls.cipher", tls.CipherSuiteName(st.CipherSuite))
	if st.NegotiatedProtocol != "" {
		f.set("tls.alpn", st.NegotiatedProtocol)
	}
	if len(st.PeerCertificates) > 0 {
		certFacts(st.PeerCertificates[0], f)
	}
	return f
}

func certFacts(c *x509.Certificate, f facts) {
	f.set("tls.cert.subject", c.Subject.String())
	f.set("tls.cert.subject.cn", c.Subject.CommonName)
	f.set("tls.cert.issuer", c.Issuer.String())
	f.set("tls.cert.issuer.cn", c.Issuer.CommonName)
	if len(c.Issuer.Organization) > 0 {
		f.set("tls.cert.issuer.o", c.Issuer.Organization[0])
	}
	if len(c.DNSNames) > 0 {
		f.set("tls.cert.sans", strings.Join(c.DNSNames, ","))
	}
	f.set("tls.cert.not_after", c.NotAfter.UTC().Format(time.RFC3339))
	if c.Subject.String() == c.Issuer.String() {
		f.set("tls.cert.self_signed", "true")
	}
}
