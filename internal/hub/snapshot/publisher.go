package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/intel"
)

// Options configure a Publisher. Conn and Store are required.
type Options struct {
	// Conn is the platform's NATS connection (it may create the bucket).
	Conn  *nats.Conn
	Store Store
	// MaxTLP is the most restricted marking that leaves to the edges:
	// TLP:GREEN when empty. RED never leaves.
	MaxTLP intel.TLP
	// Allow are names resolvers never block (with their subdomains).
	Allow []string
	// DNS is the protective DNS policy sent with the entries.
	DNS Policy
	// Guard carries the guard's limits and public suffixes (its Registry
	// is ignored: the publisher indexes the registry itself).
	Guard blocklist.Guard
	// Reviews, when set, is called after each build so the indicators
	// the guard holds reach the analysts' review queue (the hub's
	// Blocklists.List does that).
	Reviews func(ctx context.Context) error
	// Poll is how often the store's change stamps are read (default
	// 200 ms); Quiet how long they must stay still before a build
	// (default 100 ms, so a burst of changes is one delta); Refresh how
	// often the snapshot is rebuilt when nothing seems to change, for
	// indicators that expire (default 1 minute).
	Poll, Quiet, Refresh time.Duration
	// Replicas of the bucket on a cluster (default 1).
	Replicas int
	Now      func() time.Time
	Logger   *slog.Logger
}

// Publisher keeps the snapshot in the object store and sends its
// changes to the edges. Create it with NewPublisher and call Run.
type Publisher struct {
	o  Options
	b  builder
	js jetstream.JetStream

	wake chan struct{}

	mu  sync.Mutex
	cur *Snapshot
	gen int64

	putNext *Snapshot     // the snapshot putLoop stores next
	putWake chan struct{} // wakes putLoop
}

// NewPublisher returns a publisher.
func NewPublisher(o Options) (*Publisher, error) {
	if o.Conn == nil || o.Store == nil {
		return nil, errors.New("snapshot: publisher needs a NATS connection and a store")
	}
	if o.MaxTLP == "" {
		o.MaxTLP = intel.TLPGreen
	}
	t, err := intel.ParseTLP(string(o.MaxTLP))
	if err != nil {
		return nil, fmt.Errorf("snapshot: max TLP: %w", err)
	}
	if t == intel.TLPRed {
		t = intel.TLPAmberStrict
	}
	o.MaxTLP = t
	if err := o.DNS.Validate(); err != nil {
		return nil, err
	}
	if err := validAllow(o.Allow); err != nil {
		return nil, err
	}
	o.Allow = slices.Clone(o.Allow)
	slices.Sort(o.Allow)
	o.Allow = slices.Compact(o.Allow)
	if o.Poll <= 0 {
		o.Poll = 200 * time.Millisecond
	}
	if o.Quiet <= 0 {
		o.Quiet = 100 * time.Millisecond
	}
	if o.Refresh <= 0 {
		o.Refresh = time.Minute
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	js, err := jetstream.New(o.Conn)
	if err != nil {
		return nil, fmt.Errorf("snapshot: jetstream: %w", err)
	}
	p := &Publisher{o: o, js: js, wake: make(chan struct{}, 1), putWake: make(chan struct{}, 1),
		b: builder{st: o.Store, maxTLP: o.MaxTLP, guardO: o.Guard, guardAt: -1}}
	p.o.Logger = o.Logger.With("component", "intel-snapshot")
	return p, nil
}

// Invalidate makes the publisher rebuild soon: call it after a change
// the store's stamps do not show (a review decided).
func (p *Publisher) Invalidate() {
	p.mu.Lock()
	p.gen++
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Current returns the snapshot last published, nil before the first.
// The caller must not modify it.
func (p *Publisher) Current() *Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

type stamp struct{ seq, assets, gen int64 }

func (p *Publisher) stamp(ctx context.Context) (stamp, error) {
	seq, err := p.o.Store.IntelSeq(ctx)
	if err != nil {
		return stamp{}, err
	}
	av, err := p.o.Store.AssetsVersion(ctx)
	if err != nil {
		return stamp{}, err
	}
	p.mu.Lock()
	g := p.gen
	p.mu.Unlock()
	return stamp{seq, av, g}, nil
}

// Run publishes the snapshot at start and every change until ctx ends.
// A failed build or publish is logged and tried again.
func (p *Publisher) Run(ctx context.Context) error {
	obs, err := p.bucket(ctx)
	if err != nil {
		return err
	}
	go p.putLoop(ctx, obs)
	var last stamp
	var built time.Time
	tick := time.NewTicker(p.o.Poll)
	defer tick.Stop()
	failures := 0
	for {
		st, err := p.stamp(ctx)
		refresh := p.o.Now().Sub(built) >= p.o.Refresh
		if err == nil && (p.Current() == nil || st != last || refresh) {
			if p.Current() != nil {
				st, err = p.settle(ctx, st)
			}
			// A change of the registry or a review decision may hold
			// back or release any indicator: read them all; otherwise
			// only those stamped since.
			full := p.Current() == nil || refresh || st.assets != last.assets || st.gen != last.gen
			if err == nil {
				err = p.publish(ctx, obs, st, full)
			}
			if err == nil {
				last = st
				if full {
					built = p.o.Now()
				}
				failures = 0
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			failures++
			p.o.Logger.Warn("intel snapshot: publish failed", "err", err, "failures", failures)
			if !sleep(ctx, time.Duration(min(failures, 20))*p.o.Poll) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-p.wake:
		}
	}
}

// settle waits until the stamps stay still for Quiet (at most five
// times Quiet), so a burst of imports is one build.
func (p *Publisher) settle(ctx context.Context, st stamp) (stamp, error) {
	deadline := p.o.Now().Add(5 * p.o.Quiet)
	for p.o.Now().Before(deadline) {
		if !sleep(ctx, p.o.Quiet) {
			return st, ctx.Err()
		}
		next, err := p.stamp(ctx)
		if err != nil {
			return st, err
		}
		if next == st {
			break
		}
		st = next
	}
	return st, nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// bucket opens the snapshot's bucket, creating it.
func (p *Publisher) bucket(ctx context.Context) (jetstream.ObjectStore, error) {
	for attempt := 1; ; attempt++ {
		obs, err := p.js.ObjectStore(ctx, Bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			obs, err = p.js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: Bucket,
				Description: "Rampart intel snapshot for resolvers and sensors", Storage: jetstream.FileStorage, Replicas: p.o.Replicas})
		}
		if err == nil {
			return obs, nil
		}
		if attempt >= 20 || ctx.Err() != nil {
			return nil, fmt.Errorf("snapshot: bucket %s: %w", Bucket, err)
		}
		if !sleep(ctx, time.Duration(attempt)*100*time.Millisecond) {
			return nil, ctx.Err()
		}
	}
}

// storedVersion is the version of the snapshot in the bucket, 0 when none.
func storedVersion(ctx context.Context, obs jetstream.ObjectStore) (int64, error) {
	info, err := obs.GetInfo(ctx, ObjectName)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	v, _ := strconv.ParseInt(info.Metadata[metaVersion], 10, 64)
	return v, nil
}

// publish sends what changed since the last snapshot and stores the
// whole: from every indicator when full, else from those stamped since.
func (p *Publisher) publish(ctx context.Context, obs jetstream.ObjectStore, st stamp, full bool) error {
	now := p.o.Now()
	prev := p.Current()
	next := &Snapshot{Built: now.UTC(), Allow: p.o.Allow, DNS: p.o.DNS}
	var d *Delta
	if full {
		entries, err := p.b.build(ctx, st.assets, st.seq, now)
		if err != nil {
			return err
		}
		if p.o.Reviews != nil {
			if err := p.o.Reviews(ctx); err != nil {
				p.o.Logger.Warn("intel snapshot: review queue", "err", err)
			}
		}
		next.Entries = entries
	}
	if prev == nil {
		// The first build of this process: continue the numbering of
		// what the bucket holds, and tell followers to fetch it whole.
		stored, err := storedVersion(ctx, obs)
		if err != nil {
			return fmt.Errorf("snapshot: read stored version: %w", err)
		}
		next.Version = max(stored+1, now.UnixMilli())
		if err := p.put(ctx, obs, next); err != nil {
			return err
		}
		p.setCurrent(next)
		p.o.Logger.Info("intel snapshot published", "version", next.Version, "entries", len(next.Entries))
		return p.send(&Delta{Version: next.Version, Prev: stored, Built: next.Built, Full: true})
	}
	next.Version = max(prev.Version+1, now.UnixMilli())
	if full {
		d = Diff(prev, next)
	} else {
		add, remove, err := p.b.changes(ctx, st.assets, st.seq, now)
		if err != nil {
			return err
		}
		d = &Delta{Version: next.Version, Prev: prev.Version, Built: next.Built, Add: add, Remove: remove}
		next.Entries = slices.Clone(prev.Entries)
		cur := *next
		cur.Version = prev.Version
		if err := cur.Apply(d); err != nil {
			return err
		}
		next = &cur
	}
	if d.Empty() {
		return nil
	}
	// The delta first, so followers change within the second; the whole
	// snapshot after, in the background, for those that missed it or
	// start later.
	if err := p.send(d); err != nil {
		return err
	}
	p.setCurrent(next)
	p.schedulePut(next)
	p.o.Logger.Debug("intel snapshot changed", "version", next.Version, "added", len(d.Add), "removed", len(d.Remove), "full", full)
	return nil
}

// schedulePut hands s to putLoop, replacing a snapshot still waiting.
func (p *Publisher) schedulePut(s *Snapshot) {
	p.mu.Lock()
	p.putNext = s
	p.mu.Unlock()
	select {
	case p.putWake <- struct{}{}:
	default:
	}
}

// putLoop stores the latest snapshot scheduled, retrying a failure
// unless a newer one came meanwhile.
func (p *Publisher) putLoop(ctx context.Context, obs jetstream.ObjectStore) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.putWake:
		}
		p.mu.Lock()
		s := p.putNext
		p.putNext = nil
		p.mu.Unlock()
		if s == nil {
			continue
		}
		if err := p.put(ctx, obs, s); err != nil {
			if ctx.Err() != nil {
				return
			}
			p.o.Logger.Warn("intel snapshot: store failed", "version", s.Version, "err", err)
			p.mu.Lock()
			if p.putNext == nil {
				p.putNext = s
			}
			p.mu.Unlock()
			go func() {
				if sleep(ctx, time.Second) {
					select {
					case p.putWake <- struct{}{}:
					default:
					}
				}
			}()
		}
	}
}

func (p *Publisher) setCurrent(s *Snapshot) {
	p.mu.Lock()
	p.cur = s
	p.mu.Unlock()
}

// send publishes a delta; one too large goes as a Full notice.
func (p *Publisher) send(d *Delta) error {
	b, err := EncodeDelta(d)
	if err != nil {
		return fmt.Errorf("snapshot: encode delta: %w", err)
	}
	if len(b) > MaxDeltaBytes || int64(len(b)) > p.o.Conn.MaxPayload() {
		b, _ = EncodeDelta(&Delta{Version: d.Version, Prev: d.Prev, Built: d.Built, Full: true})
	}
	if err := p.o.Conn.Publish(DeltaSubject, b); err != nil {
		return fmt.Errorf("snapshot: publish delta: %w", err)
	}
	return p.o.Conn.Flush()
}

// put stores the whole snapshot.
func (p *Publisher) put(ctx context.Context, obs jetstream.ObjectStore, s *Snapshot) error {
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, s); err != nil {
		return err
	}
	meta := jetstream.ObjectMeta{Name: ObjectName, Metadata: map[string]string{metaVersion: strconv.FormatInt(s.Version, 10)},
		Opts: &jetstream.ObjectMetaOptions{ChunkSize: 256 << 10}}
	if _, err := obs.Put(ctx, meta, io.Reader(&buf)); err != nil {
		return fmt.Errorf("snapshot: store version %d: %w", s.Version, err)
	}
	return nil
}
