package dns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/store"
)

// The platform side of blocked-query reports: the stream resolvers'
// reports land in, and the ingester that turns them into findings of
// kind FindingBlockedQuery for the organization whose client network
// asked (longest prefix over the registered client networks and the
// verified address assets).

// Where reports are kept until ingested.
const (
	// ReportsStream holds the resolvers' reports (a resolver publishes on
	// core NATS; the stream stores what matches BlockedSubjects).
	ReportsStream = "RAMPART_DNS"
	// IngestDurable is the ingester's durable consumer.
	IngestDurable = "dns-ingest"
	// FindingBlockedQuery is the finding kind of a blocked query.
	// Protective DNS kinds are pdns.*: dns.* are the scanner's DNS checks.
	FindingBlockedQuery = "pdns.blocked-query"
	// FindingRef is the source reference of every protective DNS finding.
	FindingRef = "protective-dns"
)

// IngestStore is what the ingester reads and writes.
type IngestStore interface {
	store.DNS
	EachAsset(ctx context.Context, p auth.Principal, fn func(asset.Asset) error) error
	AssetsVersion(ctx context.Context) (int64, error)
}

// Recorder records findings: the findings service.
type Recorder interface {
	Record(ctx context.Context, b finding.Batch) ([]finding.Change, error)
}

// Ingest maps resolvers' reports to organizations and records them.
// Create it with NewIngest; it is safe for concurrent use.
type Ingest struct {
	st  IngestStore
	rec Recorder
	log *slog.Logger
	// Reload bounds how long a client network added through the API
	// waits to be used (the registry's version is checked on every
	// report besides).
	reload time.Duration
	now    func() time.Time

	mu    sync.Mutex
	ix    *clientIndex
	ixAt  time.Time
	ixVer int64

	unmapped uint64 // items from addresses of no organization

	reports, refused, items atomic.Uint64
}

// IngestOptions tune NewIngest.
type IngestOptions struct {
	Logger *slog.Logger
	Reload time.Duration // default 10 s
	Now    func() time.Time
}

// NewIngest returns an ingester recording into rec (may be nil: the
// totals are kept, no finding made).
func NewIngest(st IngestStore, rec Recorder, o IngestOptions) *Ingest {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	setDefault(&o.Reload, 10*time.Second)
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Ingest{st: st, rec: rec, log: o.Logger.With("component", "dns-ingest"), reload: o.Reload, now: o.Now}
}

// Invalidate makes the next report reload the client networks.
func (in *Ingest) Invalidate() {
	in.mu.Lock()
	in.ix = nil
	in.mu.Unlock()
}

// Unmapped returns how many report items came from addresses that no
// organization's client network holds.
func (in *Ingest) Unmapped() uint64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.unmapped
}

// clientIndex is a longest-prefix table of client networks.
type clientIndex struct {
	byBits [129]map[netip.Prefix]owner // by prefix length
	lens   []int                       // lengths in use, longest first
}

type owner struct{ org, asset int64 }

func (x *clientIndex) add(p netip.Prefix, o owner) {
	p = p.Masked()
	b := p.Bits()
	if p.Addr().Is4() {
		// IPv4 lives in the same table as IPv4-mapped IPv6, /96 up.
		p = netip.PrefixFrom(netip.AddrFrom16(p.Addr().As16()), b+96)
		b += 96
	}
	if x.byBits[b] == nil {
		x.byBits[b] = map[netip.Prefix]owner{}
	}
	if _, ok := x.byBits[b][p]; !ok {
		x.byBits[b][p] = o // an explicit network, added first, wins over an asset
	}
}

func (x *clientIndex) done() {
	for b := 128; b >= 0; b-- {
		if len(x.byBits[b]) > 0 {
			x.lens = append(x.lens, b)
		}
	}
}

func (x *clientIndex) lookup(a netip.Addr) (owner, bool) {
	a = netip.AddrFrom16(a.Unmap().As16())
	for _, b := range x.lens {
		p, _ := a.Prefix(b)
		if o, ok := x.byBits[b][p]; ok {
			return o, true
		}
	}
	return owner{}, false
}

// index returns the client index, reloading it when the registry changed
// or it is older than reload.
func (in *Ingest) index(ctx context.Context) (*clientIndex, error) {
	ver, err := in.st.AssetsVersion(ctx)
	if err != nil {
		return nil, err
	}
	in.mu.Lock()
	if in.ix != nil && in.ixVer == ver && in.now().Sub(in.ixAt) < in.reload {
		ix := in.ix
		in.mu.Unlock()
		return ix, nil
	}
	in.mu.Unlock()
	ix := &clientIndex{}
	nets, err := in.st.ListDNSClientNetworks(ctx, auth.SystemPrincipal)
	if err != nil {
		return nil, err
	}
	for _, n := range nets {
		if p, err := netip.ParsePrefix(n.Prefix); err == nil {
			ix.add(p, owner{n.OrgID, n.AssetID})
		}
	}
	err = in.st.EachAsset(ctx, auth.SystemPrincipal, func(a asset.Asset) error {
		if !a.Verified() {
			return nil
		}
		switch a.Kind {
		case asset.KindIPv4, asset.KindIPv6, asset.KindCIDR:
			p, err := netip.ParsePrefix(a.Value)
			if err != nil {
				ad, aerr := netip.ParseAddr(a.Value)
				if aerr != nil {
					return nil
				}
				p = netip.PrefixFrom(ad, ad.BitLen())
			}
			ix.add(p, owner{a.OrgID, a.ID})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ix.done()
	in.mu.Lock()
	in.ix, in.ixAt, in.ixVer = ix, in.now(), ver
	in.mu.Unlock()
	return ix, nil
}

// blockedEvidence is what the owner reads on a blocked-query finding.
type blockedEvidence struct {
	Client   string `json:"client"`
	Name     string `json:"name"`
	List     string `json:"list"`
	Count    int64  `json:"count"`
	First    string `json:"first"`
	Last     string `json:"last"`
	Resolver string `json:"resolver"`
}

// Handle applies one report of resolver: the totals per organization,
// client and name, and one finding for each (its evidence carrying the
// count so far). A report delivered again changes no count but records
// the findings again, which is idempotent.
func (in *Ingest) Handle(ctx context.Context, resolver string, r *BlockedReport) error {
	ix, err := in.index(ctx)
	if err != nil {
		return fmt.Errorf("dns: ingest: client networks: %w", err)
	}
	in.reports.Add(1)
	in.items.Add(uint64(len(r.Items)))
	rep := store.DNSBlockedReport{Resolver: resolver, ReportID: r.ID, At: in.now()}
	var lost uint64
	for _, it := range r.Items {
		o, ok := ix.lookup(it.Client)
		if !ok {
			lost++
			continue
		}
		rep.Items = append(rep.Items, store.DNSBlocked{OrgID: o.org, AssetID: o.asset, Client: it.Client.String(), Name: it.Name, List: it.List,
			Count: it.Count, First: it.First, Last: it.Last})
	}
	if lost > 0 {
		in.mu.Lock()
		in.unmapped += lost
		in.mu.Unlock()
		in.log.Debug("blocked queries from addresses of no organization", "resolver", resolver, "items", lost)
	}
	if len(rep.Items) == 0 {
		return nil
	}
	totals, _, err := in.st.RecordDNSBlocked(ctx, rep)
	if err != nil {
		return fmt.Errorf("dns: ingest: %w", err)
	}
	if in.rec == nil || len(totals) == 0 {
		return nil
	}
	b := finding.Batch{Source: finding.SourceDNS, Ref: FindingRef, JobID: "dns-" + resolver + "-" + r.ID, At: rep.At}
	for _, t := range totals {
		ev, _ := json.Marshal(blockedEvidence{Client: t.Client, Name: t.Name, List: t.List, Count: t.Count,
			First: t.First.Format(time.RFC3339), Last: t.Last.Format(time.RFC3339), Resolver: t.Resolver})
		b.Seen = append(b.Seen, finding.Finding{OrgID: t.OrgID, AssetID: t.AssetID, Check: FindingBlockedQuery, Family: "pdns", Severity: finding.High,
			Target: t.Client, Subject: t.Name, Evidence: ev,
			Title: cutTitle(t.Client + " asked for " + t.Name + " (list " + t.List + "), " + strconv.FormatInt(t.Count, 10) + " times")})
	}
	if _, err := in.rec.Record(ctx, b); err != nil {
		return fmt.Errorf("dns: ingest: record findings: %w", err)
	}
	return nil
}

func cutTitle(s string) string {
	if len(s) > 300 {
		return s[:300]
	}
	return s
}

// EnsureStream creates (or updates) the stream resolvers' reports land
// in: a work queue kept at most a day and 256 MiB, so resolvers that
// report while the platform is down are read when it returns.
func EnsureStream(ctx context.Context, nc *nats.Conn, replicas int) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("dns: jetstream: %w", err)
	}
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: ReportsStream, Description: "Rampart protective DNS resolvers' blocked-query reports: rampart.dns.<name>.blocked",
		Subjects: []string{BlockedSubjects}, Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
		Replicas: max(replicas, 1), MaxAge: 24 * time.Hour, MaxBytes: 256 << 20, Discard: jetstream.DiscardOld,
		MaxMsgSize: MaxReportBytes + 4096,
	})
	if err != nil {
		return fmt.Errorf("dns: stream %s: %w", ReportsStream, err)
	}
	return nil
}

// Start creates the stream and consumes the reports with q until ctx
// ends or the consumer is stopped.
func (in *Ingest) Start(ctx context.Context, nc *nats.Conn, q queue.Queue) (queue.Consumer, error) {
	if err := EnsureStream(ctx, nc, 1); err != nil {
		return nil, err
	}
	c, err := q.Consume(ctx, queue.ConsumerConfig{Stream: ReportsStream, Durable: IngestDurable, FilterSubject: BlockedSubjects,
		AckWait: 30 * time.Second, Concurrency: 2, RetryMax: 5 * time.Second}, in.handleMessage)
	if err != nil {
		return nil, fmt.Errorf("dns: consume the resolvers' reports: %w", err)
	}
	return c, nil
}

// handleMessage reads one message; one that does not decode is logged
// and dropped (a redelivery would not mend it).
func (in *Ingest) handleMessage(ctx context.Context, m *queue.Message) error {
	name, ok := ResolverOf(m.Subject)
	if !ok {
		in.log.Warn("blocked-query report on an unexpected subject", "subject", m.Subject)
		return nil
	}
	r, err := DecodeBlockedReport(m.Data)
	if err != nil {
		in.refused.Add(1)
		in.log.Warn("blocked-query report refused", "resolver", name, "err", err)
		return nil
	}
	err = in.Handle(ctx, name, r)
	if errors.Is(err, store.ErrInvalid) {
		in.log.Warn("blocked-query report refused by the store", "resolver", name, "err", err)
		return nil
	}
	return err
}

// Collectors are the ingester's metrics: reports and items received,
// reports refused, items from addresses of no organization.
func (in *Ingest) Collectors() []prometheus.Collector {
	counter := func(name, help string, f func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f()) })
	}
	return []prometheus.Collector{
		counter("rampart_dns_ingest_reports_total", "Blocked-query reports of resolvers ingested.", in.reports.Load),
		counter("rampart_dns_ingest_items_total", "Items (client, name, list) of the reports ingested.", in.items.Load),
		counter("rampart_dns_ingest_refused_total", "Blocked-query reports refused as malformed.", in.refused.Load),
		counter("rampart_dns_ingest_unmapped_total", "Report items from addresses no organization's client network holds.", in.Unmapped),
	}
}
