package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// maxUpstreamUDP is the largest UDP reply read from an upstream; more is
// cut by the kernel and the reply, failing to unpack, is dropped.
const maxUpstreamUDP = 4096

// maxCachedReply is the largest reply kept in the cache, so that the
// cache's size in entries bounds its memory (an upstream sending 64 KB
// replies over TCP would otherwise fill gigabytes).
const maxCachedReply = 8192

// Errors of forwarding.
var (
	errMismatch = errors.New("dns: upstream reply does not match the query")
	errUpstream = errors.New("dns: no upstream answered")
)

// resolve returns the reply to q from the upstreams, stored in the cache
// when cacheable; concurrent askers of the same question share one
// upstream query. It always returns an entry: SERVFAIL when every
// upstream failed.
func (s *Server) resolve(ctx context.Context, q *query, pkt []byte) *cacheEntry {
	key := string(q.key)
	c, lead := s.inflight.join(key)
	if !lead {
		select {
		case <-c.done:
			return c.e
		case <-ctx.Done():
			return servfailEntry(key, pkt[12:q.qEnd], s.clock())
		}
	}
	e := s.exchange(ctx, q, pkt, key)
	if s.cache != nil && e.expires > e.storedAt && len(e.msg) <= maxCachedReply {
		s.cache.put(e)
	}
	s.inflight.done(key, c, e)
	return e
}

// exchange asks the upstreams in turn, starting with the last one that
// answered, and turns the first usable reply into a cache entry.
func (s *Server) exchange(ctx context.Context, q *query, pkt []byte, key string) *cacheEntry {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ForwardTimeout)
	defer cancel()
	req := s.upstreamQuery(q, pkt)
	first := int(s.prefer.Load())
	var lastErr error
	for i := range s.upstreams {
		if ctx.Err() != nil {
			break
		}
		ui := (first + i) % len(s.upstreams)
		u := s.upstreams[ui]
		start := time.Now()
		reply, err := s.tryUpstream(ctx, u, req, q)
		if err == nil {
			u.hist.Observe(time.Since(start).Seconds())
			var e *cacheEntry
			if e, err = s.entryFrom(reply, q, key, s.clock()); err == nil {
				u.lastOK.Store(time.Now().UnixNano())
				s.prefer.Store(int32(ui))
				return e
			}
		}
		lastErr = err
		u.errs.Inc()
		u.lastErr.Store(time.Now().UnixNano())
		msg := err.Error()
		u.errMsg.Store(&msg)
	}
	s.log.Debug("dns forward failed", "name", string(q.pres), "err", lastErr)
	return servfailEntry(key, pkt[12:q.qEnd], s.clock())
}

// upstreamQuery is the query sent upstream: a fresh random ID, RD, the
// client's CD, its question as asked, and OPT with our size and its DO.
func (s *Server) upstreamQuery(q *query, pkt []byte) []byte {
	b := make([]byte, 0, q.qEnd+11)
	fl := uint16(flagRD) | q.flags&flagCD
	b = append(b, 0, 0, byte(fl>>8), byte(fl), 0, 1, 0, 0, 0, 0, 0, 1)
	b = append(b, pkt[12:q.qEnd]...)
	var do byte
	if q.do {
		do = 0x80
	}
	size := s.cfg.UDPSize
	return append(b, 0, 0, typeOPT, byte(size>>8), byte(size), 0, 0, do, 0, 0, 0)
}

// tryUpstream sends req to u over UDP (over TCP when the reply is
// truncated) and returns a reply whose ID and question match.
func (s *Server) tryUpstream(ctx context.Context, u *upstream, req []byte, q *query) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.UpstreamTimeout)
	defer cancel()
	id := uint16(rand.Uint32())
	binary.BigEndian.PutUint16(req, id)
	reply, err := exchangeUDP(ctx, u.addr, req, q)
	if err == nil && binary.BigEndian.Uint16(reply[2:])&flagTC != 0 {
		reply, err = exchangeTCP(ctx, u.addr, req, q)
	}
	if err != nil {
		return nil, fmt.Errorf("upstream %s: %w", u.addr, err)
	}
	switch rc := reply[3] & 0xf; rc {
	case rcodeNoError, rcodeNXDomain:
		return reply, nil
	default:
		return nil, fmt.Errorf("upstream %s: %s", u.addr, rcodeName(int(rc)))
	}
}

// exchangeUDP sends req from a fresh socket (a random source port per
// query) and waits for a matching reply, ignoring others until the
// deadline.
func exchangeUDP(ctx context.Context, addr netip.AddrPort, req []byte, q *query) ([]byte, error) {
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := conn.Write(req); err != nil {
		return nil, err
	}
	buf := make([]byte, maxUpstreamUDP)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, err
		}
		if matches(buf[:n], req, q) {
			return buf[:n:n], nil
		}
	}
}

// exchangeTCP sends req over TCP and reads one reply (at most 65,535
// bytes by the length prefix), which must match.
func exchangeTCP(ctx context.Context, addr netip.AddrPort, req []byte, q *query) ([]byte, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	out := make([]byte, 2+len(req))
	binary.BigEndian.PutUint16(out, uint16(len(req)))
	copy(out[2:], req)
	if _, err := conn.Write(out); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(conn, l[:]); err != nil {
		return nil, err
	}
	reply := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(conn, reply); err != nil {
		return nil, err
	}
	if !matches(reply, req, q) {
		return nil, errMismatch
	}
	return reply, nil
}

// matches reports whether reply answers req: same ID, QR set, one
// question equal to the query's (names compared without case).
func matches(reply, req []byte, q *query) bool {
	if len(reply) < 12 || reply[0] != req[0] || reply[1] != req[1] || reply[2]&0x80 == 0 {
		return false
	}
	if binary.BigEndian.Uint16(reply[4:]) != 1 {
		return false
	}
	n := len(q.qname)
	if len(reply) < 12+n+4 {
		return false
	}
	for i := 0; i < n; i++ {
		if lower(reply[12+i]) != lower(q.qname[i]) {
			return false
		}
	}
	return binary.BigEndian.Uint16(reply[12+n:]) == q.qtype && binary.BigEndian.Uint16(reply[12+n+2:]) == q.qclass
}

// entryFrom checks and cleans an upstream reply and makes it a cache
// entry: records outside the CNAME chain of the question (answer) or not
// at or above it (authority) are dropped, and so is the additional
// section; positive replies live for their smallest TTL, negative ones for
// the SOA's (RFC 2308), capped by MaxTTL and NegativeMaxTTL.
func (s *Server) entryFrom(reply []byte, q *query, key string, now time.Time) (*cacheEntry, error) {
	var m mdns.Msg
	if err := m.Unpack(reply); err != nil {
		return nil, fmt.Errorf("upstream reply: %w", err)
	}
	if len(m.Question) != 1 {
		return nil, errMismatch
	}
	chain := []string{strings.ToLower(m.Question[0].Name)}
	inChain := func(n string) bool {
		n = strings.ToLower(n)
		for _, c := range chain {
			if c == n {
				return true
			}
		}
		return false
	}
	under := func(n string) bool {
		n = strings.ToLower(n)
		for _, c := range chain {
			if mdns.IsSubDomain(n, c) {
				return true
			}
		}
		return false
	}
	answers := m.Answer[:0]
	for _, rr := range m.Answer {
		h := rr.Header()
		switch {
		case h.Class != classIN && h.Rrtype != mdns.TypeRRSIG || h.Rdlength == 0:
			continue
		case inChain(h.Name):
			if c, ok := rr.(*mdns.CNAME); ok && len(chain) < 16 {
				chain = append(chain, strings.ToLower(c.Target))
			}
		case h.Rrtype == mdns.TypeDNAME && under(h.Name):
		default:
			continue
		}
		answers = append(answers, rr)
	}
	m.Answer = answers
	var soa *mdns.SOA
	auth := m.Ns[:0]
	for _, rr := range m.Ns {
		h := rr.Header()
		if !under(h.Name) || h.Class != classIN && h.Rrtype != mdns.TypeRRSIG || h.Rdlength == 0 {
			continue
		}
		switch v := rr.(type) {
		case *mdns.SOA:
			soa = v
		case *mdns.NS, *mdns.NSEC, *mdns.NSEC3, *mdns.RRSIG:
		default:
			continue
		}
		auth = append(auth, rr)
	}
	m.Ns = auth
	m.Extra = nil
	m.Id = 0
	m.Response = true
	m.Truncated = false

	negative := m.Rcode == mdns.RcodeNameError || len(m.Answer) == 0
	var ttl uint32
	switch {
	case negative && soa != nil:
		ttl = min(soa.Hdr.Ttl, soa.Minttl, uint32(s.cfg.NegativeMaxTTL/time.Second))
		for _, rr := range m.Ns {
			rr.Header().Ttl = min(rr.Header().Ttl, ttl)
		}
	case negative:
		ttl = 0 // RFC 2308 5: no SOA, no caching
	default:
		ttl = uint32(s.cfg.MaxTTL / time.Second)
		for _, rr := range m.Answer {
			ttl = min(ttl, rr.Header().Ttl)
		}
		for _, rr := range m.Ns {
			ttl = min(ttl, rr.Header().Ttl)
		}
		for _, rr := range append(m.Answer, m.Ns...) {
			rr.Header().Ttl = min(rr.Header().Ttl, uint32(s.cfg.MaxTTL/time.Second))
		}
	}
	m.Compress = true
	wire, err := m.Pack()
	if err != nil {
		return nil, fmt.Errorf("repack reply: %w", err)
	}
	// What was unpacked must pack back into what unpacks: a record that
	// does not (miekg/dns packs some empty rdata wrongly) is not served.
	if err := new(mdns.Msg).Unpack(wire); err != nil {
		return nil, fmt.Errorf("repacked reply: %w", err)
	}
	offs, err := ttlOffsets(wire)
	if err != nil {
		return nil, fmt.Errorf("repacked reply: %w", err)
	}
	// The cached question must be as long as the key's: a reply whose
	// question was re-encoded differently (escapes) is not kept.
	if len(wire) < 12+len(q.qname)+4 {
		return nil, errMismatch
	}
	e := &cacheEntry{key: key, msg: wire, ttlAt: offs, storedAt: now.UnixNano()}
	e.expires = e.storedAt + int64(ttl)*int64(time.Second)
	if len(chain) > 1 {
		e.chain = chain[1:]
	}
	return e, nil
}

// servfailEntry is the answer when no upstream answered: kept ServfailTTL.
func servfailEntry(key string, question []byte, now time.Time) *cacheEntry {
	msg := make([]byte, 0, 12+len(question))
	msg = append(msg, 0, 0, flagQR>>8, rcodeServFail, 0, 1, 0, 0, 0, 0, 0, 0)
	msg = append(msg, question...)
	e := &cacheEntry{key: key, msg: msg, storedAt: now.UnixNano()}
	e.expires = e.storedAt + int64(ServfailTTL)
	return e
}

func typeName(t uint16) string {
	if n, ok := mdns.TypeToString[t]; ok {
		return n
	}
	return fmt.Sprintf("TYPE%d", t)
}
