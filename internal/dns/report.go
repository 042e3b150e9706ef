package dns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Blocked-query reports: the resolver gathers its blocked queries by
// client address, name and list (a host asking a thousand times is one
// item with a count) and publishes them every few seconds on
// BlockedSubject(name); the platform ingests them (Ingest).

// Report limits.
const (
	// MaxReportBytes bounds one report message.
	MaxReportBytes = 512 << 10
	// MaxReportItems bounds the items of one report.
	MaxReportItems = 2000
	// DefaultFlush is how often a Batcher publishes.
	DefaultFlush = 5 * time.Second
	// DefaultMaxPending bounds the distinct items a Batcher holds between
	// flushes (or while the platform is unreachable); beyond it new
	// (client, name, list) triples are dropped and counted.
	DefaultMaxPending = 100_000
)

// ErrReport is wrapped by every error about a report refused.
var ErrReport = errors.New("dns: invalid blocked-query report")

// BlockedSubject is the subject resolver name publishes its reports on.
func BlockedSubject(name string) string { return "rampart.dns." + name + ".blocked" }

// BlockedSubjects is the platform's subscription to every resolver's
// reports; ResolverOf reads the name back from a subject.
const BlockedSubjects = "rampart.dns.*.blocked"

// ResolverOf returns the resolver name of a report subject.
func ResolverOf(subject string) (string, bool) {
	rest, ok := strings.CutPrefix(subject, "rampart.dns.")
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, ".blocked")
	if !ok || !ValidResolverName(name) {
		return "", false
	}
	return name, true
}

// ValidResolverName reports whether name can name a resolver on the wire
// and in credentials: 1 to 64 of a-z, 0-9, '-' and '_'.
func ValidResolverName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// BlockedReport is what a resolver publishes.
type BlockedReport struct {
	// ID is random per report, so a report delivered twice counts once.
	ID    string        `json:"id"`
	Sent  time.Time     `json:"sent"`
	Items []BlockedItem `json:"items"`
	// Dropped counts blocked queries not reported since the last report
	// (more distinct items than the batcher holds).
	Dropped int64 `json:"dropped,omitempty"`
}

// BlockedItem is one client's queries for one name of one list.
type BlockedItem struct {
	Client netip.Addr `json:"client"`
	Name   string     `json:"name"`
	List   string     `json:"list"`
	Count  int64      `json:"count"`
	First  time.Time  `json:"first"`
	Last   time.Time  `json:"last"`
}

// DecodeBlockedReport reads a report message, refusing what is too large
// or does not validate.
func DecodeBlockedReport(b []byte) (*BlockedReport, error) {
	if len(b) > MaxReportBytes {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrReport, len(b), MaxReportBytes)
	}
	var r BlockedReport
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrReport, err)
	}
	if r.ID == "" || len(r.ID) > 64 {
		return nil, fmt.Errorf("%w: an ID of 1-64 bytes is required", ErrReport)
	}
	if len(r.Items) > MaxReportItems {
		return nil, fmt.Errorf("%w: %d items (at most %d)", ErrReport, len(r.Items), MaxReportItems)
	}
	if r.Dropped < 0 {
		return nil, fmt.Errorf("%w: negative dropped count", ErrReport)
	}
	for i := range r.Items {
		it := &r.Items[i]
		switch {
		case !it.Client.IsValid():
			return nil, fmt.Errorf("%w: item %d: no client address", ErrReport, i)
		case it.Count <= 0:
			return nil, fmt.Errorf("%w: item %d: count %d", ErrReport, i, it.Count)
		case it.First.IsZero() || it.Last.Before(it.First):
			return nil, fmt.Errorf("%w: item %d: first and last seen out of order", ErrReport, i)
		case len(it.List) == 0 || len(it.List) > 64:
			return nil, fmt.Errorf("%w: item %d: list name of %d bytes", ErrReport, i, len(it.List))
		}
		n, ok := canonicalName(it.Name)
		if !ok {
			return nil, fmt.Errorf("%w: item %d: name %q", ErrReport, i, it.Name)
		}
		it.Name = n
		it.Client = it.Client.Unmap()
	}
	return &r, nil
}

// canonicalName lower-cases a query name and drops its trailing dot;
// false when it cannot be a host name.
func canonicalName(s string) (string, bool) {
	s = strings.TrimSuffix(strings.ToLower(s), ".")
	if s == "" || len(s) > 253 {
		return "", false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 {
			return "", false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if c <= ' ' || c >= 0x7f || c == '\\' || c == '"' {
				return "", false
			}
		}
	}
	return s, true
}

// Publish sends one message; the NATS connection's Publish fits.
type Publish func(subject string, data []byte) error

// Batcher is a BlockReporter that gathers blocked queries and publishes
// them as BlockedReports. Create it with NewBatcher and Run it.
type Batcher struct {
	subject    string
	publish    Publish
	flush      time.Duration
	maxPending int
	log        *slog.Logger

	mu      sync.Mutex
	pending map[itemKey]*BlockedItem
	dropped int64
}

type itemKey struct {
	client netip.Addr
	name   string
	list   string
}

var _ BlockReporter = (*Batcher)(nil)

// BatcherOptions tune a Batcher; zero values are the defaults.
type BatcherOptions struct {
	Flush      time.Duration
	MaxPending int
	Logger     *slog.Logger
}

// NewBatcher returns a batcher publishing resolver name's reports.
func NewBatcher(name string, publish Publish, o BatcherOptions) (*Batcher, error) {
	if !ValidResolverName(name) {
		return nil, fmt.Errorf("%w: resolver name %q (1-64 of a-z, 0-9, - and _)", ErrConfig, name)
	}
	setDefault(&o.Flush, DefaultFlush)
	setDefault(&o.MaxPending, DefaultMaxPending)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Batcher{subject: BlockedSubject(name), publish: publish, flush: o.Flush, maxPending: o.MaxPending, log: o.Logger,
		pending: map[itemKey]*BlockedItem{}}, nil
}

// Blocked counts one blocked query.
func (b *Batcher) Blocked(client netip.Addr, qname, list string, at time.Time) {
	name, ok := canonicalName(qname)
	if !ok || !client.IsValid() {
		return
	}
	k := itemKey{client.Unmap(), name, list}
	b.mu.Lock()
	defer b.mu.Unlock()
	if it := b.pending[k]; it != nil {
		it.Count++
		if at.After(it.Last) {
			it.Last = at
		}
		if at.Before(it.First) {
			it.First = at
		}
		return
	}
	if len(b.pending) >= b.maxPending {
		b.dropped++
		return
	}
	b.pending[k] = &BlockedItem{Client: k.client, Name: name, List: list, Count: 1, First: at.UTC(), Last: at.UTC()}
}

// Flush publishes what is pending now, in reports of at most
// MaxReportItems; what fails to go stays for the next flush.
func (b *Batcher) Flush() error {
	b.mu.Lock()
	items := make([]BlockedItem, 0, len(b.pending))
	for _, it := range b.pending {
		items = append(items, *it)
	}
	dropped := b.dropped
	b.pending, b.dropped = map[itemKey]*BlockedItem{}, 0
	b.mu.Unlock()
	if len(items) == 0 && dropped == 0 {
		return nil
	}
	for start := 0; start < len(items) || (start == 0 && dropped > 0); start += MaxReportItems {
		part := items[start:min(start+MaxReportItems, len(items))]
		r := BlockedReport{ID: newReportID(), Sent: time.Now().UTC(), Items: part}
		if start == 0 {
			r.Dropped = dropped
		}
		data, err := json.Marshal(r)
		if err == nil {
			err = b.publish(b.subject, data)
		}
		if err != nil {
			b.restore(items[start:], r.Dropped)
			return fmt.Errorf("dns: publish blocked-query report: %w", err)
		}
		if len(items) == 0 {
			break
		}
	}
	return nil
}

// restore puts items that were not published back.
func (b *Batcher) restore(items []BlockedItem, dropped int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dropped += dropped
	for _, it := range items {
		k := itemKey{it.Client, it.Name, it.List}
		if cur := b.pending[k]; cur != nil {
			cur.Count += it.Count
			cur.First = minTime(cur.First, it.First)
			cur.Last = maxTime(cur.Last, it.Last)
			continue
		}
		if len(b.pending) >= b.maxPending {
			b.dropped += it.Count
			continue
		}
		it := it
		b.pending[k] = &it
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Run flushes every Flush interval until ctx ends, then once more.
func (b *Batcher) Run(ctx context.Context) {
	t := time.NewTicker(b.flush)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := b.Flush(); err != nil {
				b.log.Warn("blocked-query report", "err", err)
			}
			return
		case <-t.C:
		}
		if err := b.Flush(); err != nil {
			b.log.Warn("blocked-query report", "err", err)
		}
	}
}

func newReportID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
