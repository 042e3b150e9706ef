package dns

import (
	"context"
	"encoding/binary"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// worker holds the buffers of one goroutine that answers queries.
type worker struct {
	q   query
	out []byte
}

var workers = sync.Pool{New: func() any { return &worker{out: make([]byte, 0, 4096)} }}

// transport limits the reply size: UDP by the client's EDNS size, TCP and
// TLS by the 16-bit length prefix.
type transport uint8

const (
	overUDP transport = iota
	overTCP
	overTLS
)

// answerLocal answers pkt from the policy or the cache. It returns the
// reply (in w.out, nil when the packet is dropped) or forward=true when the
// query must go upstream (then w.q holds the parsed query).
func (s *Server) answerLocal(w *worker, pkt []byte, client netip.Addr, tr transport, now time.Time) (reply []byte, forward bool) {
	q := &w.q
	if err := q.parse(pkt); err != nil {
		s.m.malformed.Add(1)
		pe, ok := err.(parseError)
		if !ok {
			return nil, false
		}
		w.out = errorReply(w.out, pkt, q, pe.rcode, s.cfg.UDPSize)
		s.count(q, pe.rcode, client, now, false, "", false)
		return w.out, false
	}
	if q.qclass != classIN || q.qtype == typeAXFR || q.qtype == typeIXFR || q.qtype == typeOPT {
		w.out = errorReply(w.out, pkt, q, rcodeRefused, s.cfg.UDPSize)
		s.count(q, rcodeRefused, client, now, false, "", false)
		return w.out, false
	}
	st := s.policy.Load()
	if st != nil && st.p != nil {
		if m := lookup(st.p, q.pres); m.blocked {
			w.out = s.blockedReply(w.out, pkt, q, st.p, m)
			w.out = truncate(w.out, pkt, q, tr, s.cfg.UDPSize)
			rcode := int(w.out[3] & 0xf)
			list := st.p.lists[m.list].name
			if int(m.list) < len(st.blocks) {
				st.blocks[m.list].Add(1)
			}
			s.report(client, q, list, now)
			s.count(q, rcode, client, now, true, list, false)
			return w.out, false
		}
	}
	if s.cache != nil {
		if e := s.cache.get(q.key, now.UnixNano()); e != nil {
			s.m.hits.Add(1)
			return s.entryReply(w, pkt, q, e, st, client, now, now, tr, true), false
		}
		s.m.misses.Add(1)
	}
	return nil, true
}

// answerForward resolves the query parsed in w.q upstream and returns the
// reply in w.out.
func (s *Server) answerForward(ctx context.Context, w *worker, pkt []byte, client netip.Addr, tr transport, start time.Time) []byte {
	q := &w.q
	e := s.resolve(ctx, q, pkt)
	return s.entryReply(w, pkt, q, e, s.policy.Load(), client, start, s.clock(), tr, false)
}

// entryReply answers q with e, unless a name e's answer points to (a
// CNAME target) is blocked: then the policy answers as for a blocked name
// and the target is reported.
func (s *Server) entryReply(w *worker, pkt []byte, q *query, e *cacheEntry, st *policyState, client netip.Addr, start, now time.Time, tr transport, cached bool) []byte {
	if len(e.chain) > 0 && st != nil && st.p != nil {
		for _, target := range e.chain {
			m := lookup(st.p, target)
			if !m.blocked {
				continue
			}
			m.suffix = len(q.pres) // the SOA is owned by the name asked
			w.out = s.blockedReply(w.out, pkt, q, st.p, m)
			w.out = truncate(w.out, pkt, q, tr, s.cfg.UDPSize)
			list := st.p.lists[m.list].name
			if int(m.list) < len(st.blocks) {
				st.blocks[m.list].Add(1)
			}
			s.reportName(client, strings.TrimSuffix(target, "."), list, now)
			s.count(q, int(w.out[3]&0xf), client, start, true, list, cached)
			return w.out
		}
	}
	w.out = s.cachedReply(w.out, pkt, q, e, now, tr)
	s.count(q, int(w.out[3]&0xf), client, start, false, "", cached)
	return w.out
}

// cachedReply writes e as the answer to q: the asker's ID, flags and
// question, the TTLs less the seconds since e was stored, the server's OPT.
func (s *Server) cachedReply(b []byte, pkt []byte, q *query, e *cacheEntry, now time.Time, tr transport) []byte {
	b = append(b[:0], e.msg...)
	binary.BigEndian.PutUint16(b, q.id)
	fl := binary.BigEndian.Uint16(b[2:])
	keep := uint16(0xf) // the rcode; a forwarder's answer is not authoritative (AA)
	if q.do || q.flags&flagAD != 0 {
		keep |= flagAD
	}
	fl = fl&keep | flagQR | flagRA | q.flags&(flagRD|flagCD)
	binary.BigEndian.PutUint16(b[2:], fl)
	copy(b[12:], pkt[12:q.qEnd])
	if len(e.ttlAt) > 0 {
		elapsed := uint32(0)
		if d := now.UnixNano() - e.storedAt; d > 0 {
			elapsed = uint32(d / int64(time.Second))
		}
		for _, off := range e.ttlAt {
			ttl := binary.BigEndian.Uint32(e.msg[off:])
			if ttl > elapsed {
				ttl -= elapsed
			} else {
				ttl = 0
			}
			binary.BigEndian.PutUint32(b[off:], ttl)
		}
	}
	if q.edns {
		binary.BigEndian.PutUint16(b[10:], binary.BigEndian.Uint16(b[10:])+1)
		b = appendOPT(b, q, s.cfg.UDPSize, 0)
	}
	return truncate(b, pkt, q, tr, s.cfg.UDPSize)
}

// truncate replaces a reply too big for UDP by a header and question with
// TC set, so the client asks again over TCP.
func truncate(b []byte, pkt []byte, q *query, tr transport, ours uint16) []byte {
	limit := 65535
	if tr == overUDP {
		limit = 512
		if q.edns {
			limit = int(max(min(q.ednsSize, ours), 512))
		}
	}
	if len(b) <= limit {
		return b
	}
	rcode := int(b[3] & 0xf)
	var ar uint16
	if q.edns {
		ar = 1
	}
	b = appendHeader(b[:0], q, rcode, false, 0, 0, ar)
	b[2] |= flagTC >> 8
	b = append(b, pkt[12:q.qEnd]...)
	if q.edns {
		b = appendOPT(b, q, ours, 0)
	}
	return b
}

// blockedReply is the local answer to a blocked query: NXDOMAIN or NODATA
// with a SOA owned by the listed name, or the walled-garden address.
func (s *Server) blockedReply(b []byte, pkt []byte, q *query, p *Policy, m match) []byte {
	act := p.lists[m.list].action
	var addr netip.Addr
	if act == ActionRedirect {
		switch {
		case q.qtype == typeA && p.redirA.IsValid():
			addr = p.redirA
		case q.qtype == typeAAAA && p.redirA6.IsValid():
			addr = p.redirA6
		}
	}
	rcode := rcodeNoError
	if act == ActionNXDomain {
		rcode = rcodeNXDomain
	}
	var ar uint16
	if q.edns {
		ar = 1
	}
	if addr.IsValid() {
		b = appendHeader(b[:0], q, rcode, true, 1, 0, ar)
		b = append(b, pkt[12:q.qEnd]...)
		b = append(b, 0xc0, 12, byte(q.qtype>>8), byte(q.qtype), 0, classIN)
		b = put32(b, p.ttl)
		if addr.Is4() {
			a := addr.As4()
			b = append(b, 0, 4)
			b = append(b, a[:]...)
		} else {
			a := addr.As16()
			b = append(b, 0, 16)
			b = append(b, a[:]...)
		}
	} else {
		b = appendHeader(b[:0], q, rcode, true, 0, 1, ar)
		b = append(b, pkt[12:q.qEnd]...)
		b = appendPolicySOA(b, q, p, m)
	}
	if q.edns {
		b = appendOPT(b, q, s.cfg.UDPSize, 0)
	}
	return b
}

// policySOA is the MNAME and RNAME of the SOA of local answers:
// rampart.invalid. and blocked.rampart.invalid. (the second compressed
// to the first, which the caller places at offset base).
var policySOAName = []byte("\x07rampart\x07invalid\x00")

// appendPolicySOA writes the SOA of a local negative answer. Its owner is
// the listed name that matched (a compression pointer into the question),
// its serial the policy version, its TTL and minimum the policy TTL, so
// that clients cache the negative answer as long as the policy says.
func appendPolicySOA(b []byte, q *query, p *Policy, m match) []byte {
	start := len(q.pres) - m.suffix
	owner := 0
	for i := 0; i < q.labels; i++ {
		if int(q.labelPres[i]) == start {
			owner = int(q.labelWire[i])
			break
		}
	}
	owner += 12
	b = append(b, 0xc0|byte(owner>>8), byte(owner), 0, typeSOA, 0, classIN)
	b = put32(b, p.ttl)
	rdlen := len(policySOAName) + 8 + 2 + 20
	b = append(b, byte(rdlen>>8), byte(rdlen))
	mname := len(b)
	b = append(b, policySOAName...)
	b = append(b, 7, 'b', 'l', 'o', 'c', 'k', 'e', 'd', 0xc0|byte(mname>>8), byte(mname))
	b = put32(b, uint32(p.version))
	b = put32(b, 3600)
	b = put32(b, 600)
	b = put32(b, 86400)
	return put32(b, p.ttl)
}

// count records a query in the metrics and, when sampled, the query log.
func (s *Server) count(q *query, rcode int, client netip.Addr, start time.Time, blocked bool, list string, cached bool) {
	s.m.query(q.qtype, rcode)
	if s.qlog == nil || !s.qlog.sample() {
		return
	}
	e := QueryLogEntry{
		At: start.UTC(), Client: client, Name: string(q.pres) + ".", Type: typeName(q.qtype),
		Rcode: rcodeName(rcode), Blocked: blocked, List: list, Cached: cached, Duration: time.Since(start),
	}
	s.qlog.add(e)
	s.log.Debug("dns query", "client", client, "name", e.Name, "type", e.Type, "rcode", e.Rcode,
		"blocked", blocked, "list", list, "cached", cached)
}

// report hands a blocked query to the reporter's queue, dropping it when
// the queue is full.
func (s *Server) report(client netip.Addr, q *query, list string, at time.Time) {
	if s.reports != nil {
		s.reportName(client, string(q.pres), list, at)
	}
}

func (s *Server) reportName(client netip.Addr, name, list string, at time.Time) {
	if s.reports == nil {
		return
	}
	select {
	case s.reports <- blockReport{client: client, qname: name, list: list, at: at}:
	default:
		s.m.dropped.Add(1)
	}
}

// runReporter delivers queued reports until the queue is closed.
func (s *Server) runReporter() {
	defer s.wg.Done()
	for r := range s.reports {
		s.cfg.Reporter.Blocked(r.client, r.qname, r.list, r.at)
	}
}
