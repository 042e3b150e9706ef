package dns

import (
	"sync"
	"sync/atomic"

	mdns "github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are counted with plain atomics on the query path and turned into
// Prometheus samples only when scraped.
type metrics struct {
	queries   [len(metricTypes) + 1][24]atomic.Uint64 // [type][rcode], extended rcodes up to 23
	hits      atomic.Uint64
	misses    atomic.Uint64
	malformed atomic.Uint64
	dropped   atomic.Uint64 // block reports dropped

	mu     sync.Mutex
	blocks map[string]*atomic.Uint64 // by list name, kept across policies

	upstream     *prometheus.HistogramVec
	upstreamErrs *prometheus.CounterVec
}

// metricTypes are the query types counted by name; the rest are "other".
var metricTypes = [...]uint16{
	mdns.TypeA, mdns.TypeAAAA, mdns.TypeCNAME, mdns.TypeMX, mdns.TypeTXT,
	mdns.TypeNS, mdns.TypeSOA, mdns.TypePTR, mdns.TypeSRV, mdns.TypeHTTPS,
	mdns.TypeSVCB, mdns.TypeANY, mdns.TypeDS, mdns.TypeDNSKEY, mdns.TypeCAA,
}

func typeIndex(t uint16) int {
	for i, m := range metricTypes {
		if m == t {
			return i
		}
	}
	return len(metricTypes)
}

func newMetrics() *metrics {
	return &metrics{
		blocks: map[string]*atomic.Uint64{},
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rampart_dns_upstream_duration_seconds",
			Help:    "Time for an upstream resolver to answer one forwarded query.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"upstream"}),
		upstreamErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_dns_upstream_errors_total",
			Help: "Forwarded queries an upstream did not answer usefully (timeout, error, SERVFAIL, REFUSED, a mismatched reply).",
		}, []string{"upstream"}),
	}
}

func (m *metrics) query(qtype uint16, rcode int) {
	m.queries[typeIndex(qtype)][min(max(rcode, 0), 23)].Add(1)
}

// blockCounters returns the counters of a policy's lists, by list index.
func (m *metrics) blockCounters(p *Policy) []*atomic.Uint64 {
	if p == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*atomic.Uint64, len(p.lists))
	for i, l := range p.lists {
		c := m.blocks[l.name]
		if c == nil {
			c = new(atomic.Uint64)
			m.blocks[l.name] = c
		}
		out[i] = c
	}
	return out
}

var (
	descQueries = prometheus.NewDesc("rampart_dns_queries_total",
		"Queries answered, by query type and response code.", []string{"type", "rcode"}, nil)
	descBlocks = prometheus.NewDesc("rampart_dns_blocked_total",
		"Queries blocked, by list.", []string{"list"}, nil)
	descHits = prometheus.NewDesc("rampart_dns_cache_hits_total",
		"Queries answered from the cache.", nil, nil)
	descMisses = prometheus.NewDesc("rampart_dns_cache_misses_total",
		"Queries not in the cache (forwarded).", nil, nil)
	descEntries = prometheus.NewDesc("rampart_dns_cache_entries",
		"Answers in the cache.", nil, nil)
	descMalformed = prometheus.NewDesc("rampart_dns_malformed_total",
		"Packets dropped or answered FORMERR because they were not a well-formed query.", nil, nil)
	descDropped = prometheus.NewDesc("rampart_dns_block_reports_dropped_total",
		"Blocked queries not reported because the reporter's queue was full.", nil, nil)
	descPolicyVersion = prometheus.NewDesc("rampart_dns_policy_version",
		"Version of the policy in force (0: none).", nil, nil)
	descPolicyNames = prometheus.NewDesc("rampart_dns_policy_names",
		"Names in the policy in force.", []string{"kind"}, nil)
	descFeedConnected = prometheus.NewDesc("rampart_dns_feed_connected",
		"1 when the policy feed is connected.", nil, nil)
	descFeedVersion = prometheus.NewDesc("rampart_dns_feed_version",
		"Newest policy version the feed announced.", nil, nil)
	descFeedStale = prometheus.NewDesc("rampart_dns_feed_stale",
		"1 when the feed is lost or the server runs an older policy than the feed announced.", nil, nil)
)

// collector is the Server's prometheus.Collector.
type collector struct{ s *Server }

// Metrics returns the server's Prometheus collector: register it on the
// registry of the metrics endpoint.
func (s *Server) Metrics() prometheus.Collector { return collector{s} }

// Describe implements prometheus.Collector.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueries, descBlocks, descHits, descMisses, descEntries,
		descMalformed, descDropped, descPolicyVersion, descPolicyNames, descFeedConnected, descFeedVersion, descFeedStale} {
		ch <- d
	}
	c.s.m.upstream.Describe(ch)
	c.s.m.upstreamErrs.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	s, m := c.s, c.s.m
	for ti := range m.queries {
		tname := "other"
		if ti < len(metricTypes) {
			tname = mdns.TypeToString[metricTypes[ti]]
		}
		for rc := range m.queries[ti] {
			if v := m.queries[ti][rc].Load(); v > 0 {
				ch <- prometheus.MustNewConstMetric(descQueries, prometheus.CounterValue, float64(v), tname, rcodeName(rc))
			}
		}
	}
	m.mu.Lock()
	for name, v := range m.blocks {
		ch <- prometheus.MustNewConstMetric(descBlocks, prometheus.CounterValue, float64(v.Load()), name)
	}
	m.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(descHits, prometheus.CounterValue, float64(m.hits.Load()))
	ch <- prometheus.MustNewConstMetric(descMisses, prometheus.CounterValue, float64(m.misses.Load()))
	entries := 0
	if s.cache != nil {
		entries = s.cache.len()
	}
	ch <- prometheus.MustNewConstMetric(descEntries, prometheus.GaugeValue, float64(entries))
	ch <- prometheus.MustNewConstMetric(descMalformed, prometheus.CounterValue, float64(m.malformed.Load()))
	ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(m.dropped.Load()))
	h := s.Health()
	ch <- prometheus.MustNewConstMetric(descPolicyVersion, prometheus.GaugeValue, float64(h.PolicyVersion))
	ch <- prometheus.MustNewConstMetric(descPolicyNames, prometheus.GaugeValue, float64(h.PolicyNames), "blocked")
	ch <- prometheus.MustNewConstMetric(descPolicyNames, prometheus.GaugeValue, float64(h.PolicyAllowed), "allowed")
	ch <- prometheus.MustNewConstMetric(descFeedConnected, prometheus.GaugeValue, b2f(h.Feed.Connected))
	ch <- prometheus.MustNewConstMetric(descFeedVersion, prometheus.GaugeValue, float64(h.Feed.Version))
	ch <- prometheus.MustNewConstMetric(descFeedStale, prometheus.GaugeValue, b2f(h.Feed.Stale))
	m.upstream.Collect(ch)
	m.upstreamErrs.Collect(ch)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func rcodeName(rc int) string {
	if rc == rcodeBadVers {
		return "BADVERS" // miekg/dns names 16 BADSIG (TSIG); in an OPT it is BADVERS
	}
	if n, ok := mdns.RcodeToString[rc]; ok {
		return n
	}
	return "RCODE" + itoa(rc)
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return string(rune('0'+i/10)) + string(rune('0'+i%10))
}
