package netflow

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
)

// Errors of Decode. A datagram that fails part way keeps the events
// decoded before the fault.
var (
	// ErrShort is a datagram shorter than its header or than a length it
	// announces.
	ErrShort = errors.New("netflow: datagram too short")
	// ErrVersion is a datagram that is not NetFlow v5, v9 or IPFIX.
	ErrVersion = errors.New("netflow: unsupported version")
	// ErrMalformed is a datagram whose sets, templates or records do not
	// add up.
	ErrMalformed = errors.New("netflow: malformed datagram")
)

// Defaults of a Decoder.
const (
	DefaultTemplateTTL  = 30 * time.Minute
	DefaultMaxTemplates = 16384
	maxTemplateFields   = 256 // real templates have well under 100
)

// DecoderStats are a Decoder's counters since it was made.
type DecoderStats struct {
	Flows      uint64 // flow records decoded into events
	Templates  uint64 // templates learned or changed (refreshes of the same template not counted)
	NoTemplate uint64 // data sets that arrived before their template (dropped)
	Refused    uint64 // templates refused: too many fields, or the cache full
	Malformed  uint64 // datagrams with a fault (ErrShort, ErrVersion, ErrMalformed)
}

// Decoder decodes NetFlow v5, v9 and IPFIX datagrams and keeps the v9 and
// IPFIX templates of every exporter. It is safe for concurrent use.
type Decoder struct {
	ttl          time.Duration
	maxTemplates int

	mu        sync.RWMutex
	templates map[templateKey]*template
	domains   map[domainKey]domainInfo

	flows, learned, noTemplate, refused, malformed atomic.Uint64
}

// domainKey names one exporter's observation domain (v9: source ID).
type domainKey struct {
	exporter netip.AddrPort
	version  uint16
	domain   uint32
}

type templateKey struct {
	domainKey
	id uint16
}

// NewDecoder returns a Decoder that forgets a template not refreshed
// within ttl (0: DefaultTemplateTTL) and keeps at most maxTemplates (0:
// DefaultMaxTemplates).
func NewDecoder(ttl time.Duration, maxTemplates int) *Decoder {
	if ttl <= 0 {
		ttl = DefaultTemplateTTL
	}
	if maxTemplates <= 0 {
		maxTemplates = DefaultMaxTemplates
	}
	return &Decoder{
		ttl:          ttl,
		maxTemplates: maxTemplates,
		templates:    make(map[templateKey]*template),
		domains:      make(map[domainKey]domainInfo),
	}
}

// Stats returns the decoder's counters.
func (d *Decoder) Stats() DecoderStats {
	return DecoderStats{
		Flows:      d.flows.Load(),
		Templates:  d.learned.Load(),
		NoTemplate: d.noTemplate.Load(),
		Refused:    d.refused.Load(),
		Malformed:  d.malformed.Load(),
	}
}

// Templates returns how many templates the decoder holds now.
func (d *Decoder) Templates() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.templates)
}

// Decode decodes one datagram from exporter, received at now, appending
// its flows to out, and returns the extended slice. The events hold no
// reference to pkt. On a fault it returns the flows decoded before it and
// an error wrapping ErrShort, ErrVersion or ErrMalformed.
func (d *Decoder) Decode(exporter netip.AddrPort, pkt []byte, now time.Time, out []sensor.Event) ([]sensor.Event, error) {
	out, err := d.decode(modeAll, exporter, pkt, now, out)
	if err != nil {
		d.malformed.Add(1)
	}
	return out, err
}

// What a pass over a datagram does. The collector learns a datagram's
// templates and options in its reader, in arrival order (modeLearn), and
// decodes its flows in a worker (modeFlows), so flows of one exporter
// decode on several cores and still never miss a template that came
// before them.
const (
	modeAll   uint8 = iota // templates, options data and flows
	modeLearn              // templates (and withdrawals) and options data only
	modeFlows              // flows only: the templates were learned by a modeLearn pass
)

// learn is the reader's pass: templates and options data. It returns the
// datagram's fault, counted.
func (d *Decoder) learn(exporter netip.AddrPort, pkt []byte, now time.Time) error {
	_, err := d.decode(modeLearn, exporter, pkt, now, nil)
	if err != nil {
		d.malformed.Add(1)
	}
	return err
}

// flowsOf is the worker's pass over a datagram learn has seen: its flows,
// appended to out. A fault learn did not see (inside a flow record) is
// counted.
func (d *Decoder) flowsOf(exporter netip.AddrPort, pkt []byte, now time.Time, out []sensor.Event, learnErr error) []sensor.Event {
	out, err := d.decode(modeFlows, exporter, pkt, now, out)
	if err != nil && learnErr == nil {
		d.malformed.Add(1)
	}
	return out
}

func (d *Decoder) decode(mode uint8, exporter netip.AddrPort, pkt []byte, now time.Time, out []sensor.Event) ([]sensor.Event, error) {
	n := len(out)
	var err error
	if len(pkt) < 2 {
		err = ErrShort
	} else {
		switch binary.BigEndian.Uint16(pkt) {
		case 5:
			if mode != modeLearn {
				out, err = d.decodeV5(pkt, out)
			} else if len(pkt) < v5Header {
				err = ErrShort
			}
		case 9:
			out, err = d.decodeV9(mode, exporter, pkt, now, out)
		case 10:
			out, err = d.decodeIPFIX(mode, exporter, pkt, now, out)
		default:
			err = ErrVersion
		}
	}
	d.flows.Add(uint64(len(out) - n))
	return out, err
}

// Expire forgets the templates not refreshed within the TTL before now,
// and what options data said of domains left without templates.
func (d *Decoder) Expire(now time.Time) {
	limit := now.Add(-d.ttl).UnixNano()
	d.mu.Lock()
	defer d.mu.Unlock()
	live := make(map[domainKey]bool)
	for k, t := range d.templates {
		if t.seen.Load() < limit {
			delete(d.templates, k)
			continue
		}
		live[k.domainKey] = true
	}
	for k := range d.domains {
		if !live[k] {
			delete(d.domains, k)
		}
	}
}

// decodeV9 walks a NetFlow v9 export packet (RFC 3954 §5): a 20-byte
// header, then FlowSets (ID 0 templates, 1 options templates, ≥ 256 data)
// to the end of the datagram.
func (d *Decoder) decodeV9(mode uint8, exporter netip.AddrPort, pkt []byte, now time.Time, out []sensor.Event) ([]sensor.Event, error) {
	if len(pkt) < 20 {
		return out, ErrShort
	}
	h := header{
		dom:      domainKey{exporter: exporter, version: 9, domain: binary.BigEndian.Uint32(pkt[16:])},
		uptimeMs: binary.BigEndian.Uint32(pkt[4:]),
		export:   time.Unix(int64(binary.BigEndian.Uint32(pkt[8:])), 0),
		recvd:    now,
		input:    "netflow",
		mode:     mode,
	}
	return d.walkSets(&h, pkt[20:], out)
}

// decodeIPFIX walks an IPFIX message (RFC 7011 §3): a 16-byte header whose
// length covers the message, then Sets (ID 2 templates, 3 options
// templates, ≥ 256 data).
func (d *Decoder) decodeIPFIX(mode uint8, exporter netip.AddrPort, pkt []byte, now time.Time, out []sensor.Event) ([]sensor.Event, error) {
	if len(pkt) < 16 {
		return out, ErrShort
	}
	l := int(binary.BigEndian.Uint16(pkt[2:]))
	if l < 16 || l > len(pkt) {
		return out, ErrShort
	}
	h := header{
		dom:    domainKey{exporter: exporter, version: 10, domain: binary.BigEndian.Uint32(pkt[12:])},
		export: time.Unix(int64(binary.BigEndian.Uint32(pkt[4:])), 0),
		recvd:  now,
		input:  "ipfix",
		mode:   mode,
	}
	return d.walkSets(&h, pkt[16:l], out)
}

// header is what the records of one datagram share.
type header struct {
	dom      domainKey
	uptimeMs uint32 // v9: the exporter's uptime at export (sysUpTime times are relative to it)
	export   time.Time
	recvd    time.Time
	input    string
	mode     uint8 // modeAll, modeLearn or modeFlows
}

func (d *Decoder) walkSets(h *header, b []byte, out []sensor.Event) ([]sensor.Event, error) {
	v9 := h.dom.version == 9
	for len(b) >= 4 {
		id := binary.BigEndian.Uint16(b)
		l := int(binary.BigEndian.Uint16(b[2:]))
		if l < 4 || l > len(b) {
			return out, ErrMalformed
		}
		body := b[4:l]
		b = b[l:]
		var err error
		switch {
		case h.mode == modeFlows && (id < 256):
			// Templates were learned by the modeLearn pass.
		case v9 && id == 0, !v9 && id == 2:
			err = d.learnTemplates(h.dom, body, false, h.recvd)
		case v9 && id == 1, !v9 && id == 3:
			err = d.learnTemplates(h.dom, body, true, h.recvd)
		case id >= 256:
			out, err = d.decodeData(h, id, body, out)
		default:
			// IDs 2-255 (v9) and 0, 1, 4-255 (IPFIX) are reserved: skip.
		}
		if err != nil {
			return out, err
		}
	}
	// Fewer than 4 bytes left: v9 packets may end in padding.
	return out, nil
}

// lookup returns the live template id of dom, or nil.
func (d *Decoder) lookup(dom domainKey, id uint16, now time.Time) *template {
	d.mu.RLock()
	t := d.templates[templateKey{dom, id}]
	d.mu.RUnlock()
	if t == nil || t.seen.Load() < now.Add(-d.ttl).UnixNano() {
		return nil
	}
	return t
}

// domainInfo is what an exporter's options data said of a domain.
type domainInfo struct {
	rate   uint32 // sampling: one packet of rate counted (0, 1: all)
	initMs uint64 // systemInitTimeMilliseconds: when its sysUpTime was 0
}

func (d *Decoder) domain(dom domainKey) domainInfo {
	d.mu.RLock()
	i := d.domains[dom]
	d.mu.RUnlock()
	return i
}

// setDomain records what options data said of dom. Options data for
// domains without templates is refused once the cache is full.
func (d *Decoder) setDomain(dom domainKey, i domainInfo) {
	if d.domain(dom) == i {
		return
	}
	d.mu.Lock()
	if _, ok := d.domains[dom]; ok || len(d.domains) < d.maxTemplates {
		d.domains[dom] = i
	}
	d.mu.Unlock()
}
