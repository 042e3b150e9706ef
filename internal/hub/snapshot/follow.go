package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Handler receives what a follower learns, from one goroutine at a time.
type Handler interface {
	// Apply gives the whole snapshot: at start (from the cache, then
	// from the platform) and after a gap. s is the follower's: the
	// handler reads it during the call and keeps no reference.
	Apply(s *Snapshot)
	// ApplyDelta gives a change that follows the last snapshot or delta
	// given. d is the handler's to keep.
	ApplyDelta(d *Delta)
	// State says whether the follower is in touch with the platform,
	// the version it holds (0: none) and when it last knew that version
	// to be the platform's latest.
	State(connected bool, version int64, at time.Time)
}

// CacheFile is the snapshot's file in a follower's cache directory.
const CacheFile = "intel-snapshot.json.gz"

// Follow timing.
const (
	followTick    = 100 * time.Millisecond
	followCheck   = 30 * time.Second // how often the bucket's version is compared while quiet
	followSave    = 5 * time.Second  // how often deltas are written to the cache
	fetchTimeout  = 2 * time.Minute
	maxFetchDelay = 5 * time.Second
	maxWant       = 30 * time.Second // how long a fetch waits for the bucket to reach a delta's version
)

// FollowOptions tune Follow; the zero value is the default.
type FollowOptions struct {
	Logger *slog.Logger
	// Initial is the snapshot the handler already has (the caller read
	// the cache with LoadCache and applied it before serving): Follow
	// starts from it instead of reading the cache again.
	Initial *Snapshot
}

// LoadCache reads the snapshot kept in cacheDir; an error wrapping
// os.ErrNotExist when there is none.
func LoadCache(cacheDir string) (*Snapshot, error) {
	fh, err := os.Open(filepath.Join(cacheDir, CacheFile))
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return ReadSnapshot(fh)
}

// Follow keeps h up to date with the platform's snapshot until ctx ends
// (then it returns nil). It starts from the cache in cacheDir when there
// is one, fetches the snapshot from the object store, and applies the
// deltas published on DeltaSubject; a gap, a reconnection or a newer
// version in the bucket makes it fetch the whole snapshot again. It
// keeps the cache up to date.
func Follow(ctx context.Context, nc *nats.Conn, cacheDir string, h Handler) error {
	return FollowWith(ctx, nc, cacheDir, h, FollowOptions{})
}

// FollowWith is Follow with options.
func FollowWith(ctx context.Context, nc *nats.Conn, cacheDir string, h Handler, o FollowOptions) error {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if err := os.MkdirAll(cacheDir, 0o750); err != nil {
		return fmt.Errorf("snapshot: cache directory: %w", err)
	}
	f := &follower{nc: nc, dir: cacheDir, h: h, log: o.Logger.With("component", "intel-follow")}
	if o.Initial != nil {
		f.cur = o.Initial
	} else if s, err := LoadCache(cacheDir); err == nil {
		f.cur = s
		h.Apply(s)
		f.log.Info("intel snapshot from cache", "version", s.Version, "entries", len(s.Entries))
	} else if !errors.Is(err, os.ErrNotExist) {
		f.log.Warn("intel snapshot cache unreadable", "err", err)
	}
	h.State(false, f.version(), time.Time{})

	msgs := make(chan *nats.Msg, 4096)
	sub, err := nc.ChanSubscribe(DeltaSubject, msgs)
	if err != nil {
		return fmt.Errorf("snapshot: subscribe %s: %w", DeltaSubject, err)
	}
	defer sub.Unsubscribe()
	_ = sub.SetPendingLimits(4096, 64<<20)
	return f.loop(ctx, msgs)
}

type follower struct {
	nc  *nats.Conn
	dir string
	h   Handler
	log *slog.Logger

	cur       *Snapshot
	dirty     bool
	savedAt   time.Time
	up        bool // the NATS link, as last seen
	connected bool // as last reported to the handler
	syncedAt  time.Time

	needFetch bool
	want      int64     // a version a delta named that a fetch must reach
	wantUntil time.Time // when to stop waiting for want (a lying delta)
	nextFetch time.Time
	fetchWait time.Duration
	checkedAt time.Time
}

func (f *follower) version() int64 {
	if f.cur == nil {
		return 0
	}
	return f.cur.Version
}

func (f *follower) loop(ctx context.Context, msgs <-chan *nats.Msg) error {
	f.needFetch = true
	tick := time.NewTicker(followTick)
	defer tick.Stop()
	defer f.save(true)
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-msgs:
			f.delta(m.Data)
		case <-tick.C:
		}
		f.poll(ctx)
	}
}

// poll follows the connection and fetches when needed.
func (f *follower) poll(ctx context.Context) {
	now := time.Now()
	up := f.nc.IsConnected()
	if up != f.up {
		f.up = up
		if up {
			// Deltas sent while away are lost: fetch.
			f.needFetch, f.nextFetch, f.fetchWait = true, time.Time{}, 0
		} else if f.connected {
			f.log.Warn("intel snapshot: platform unreachable, keeping the last list", "version", f.version())
			f.connected = false
			f.h.State(false, f.version(), f.syncedAt)
		}
	}
	if f.want > 0 && now.After(f.wantUntil) {
		f.want = 0 // the bucket never reached it: take what it has
	}
	if up && !f.needFetch && now.Sub(f.checkedAt) >= followCheck {
		f.needFetch = true
	}
	if up && f.needFetch && !now.Before(f.nextFetch) {
		fctx, cancel := context.WithTimeout(ctx, fetchTimeout)
		err := f.fetch(fctx)
		cancel()
		f.checkedAt = time.Now()
		switch {
		case err == nil && f.version() >= f.want:
			f.needFetch, f.fetchWait = false, 0
			f.syncedAt = time.Now()
			if !f.connected {
				f.log.Info("intel snapshot: in touch with the platform", "version", f.version())
			}
			f.connected = true
			f.h.State(true, f.version(), f.syncedAt)
		default:
			if err != nil && ctx.Err() == nil {
				f.log.Warn("intel snapshot: fetch failed", "err", err)
			}
			// The bucket may lag the delta that showed the gap: try
			// again soon, then less often.
			f.fetchWait = min(max(2*f.fetchWait, 200*time.Millisecond), maxFetchDelay)
			f.nextFetch = time.Now().Add(f.fetchWait)
			if err != nil && f.connected {
				f.connected = false
				f.h.State(false, f.version(), f.syncedAt)
			}
		}
	}
	f.save(false)
}

// delta handles one message.
func (f *follower) delta(b []byte) {
	d, err := DecodeDelta(b)
	if err != nil {
		f.log.Warn("intel snapshot: delta refused", "err", err)
		return
	}
	switch {
	case f.cur != nil && d.Version <= f.cur.Version:
		return // already have it
	case f.cur != nil && !d.Full && d.Prev == f.cur.Version:
		if err := f.cur.Apply(d); err != nil {
			f.needFetch = true
			return
		}
		f.dirty = true
		f.h.ApplyDelta(d)
		f.syncedAt = time.Now()
		f.h.State(f.connected, f.cur.Version, f.syncedAt)
	default:
		f.needFetch = true
		if d.Version > f.want {
			f.want, f.wantUntil = d.Version, time.Now().Add(maxWant)
		}
		f.nextFetch = time.Time{}
	}
}

// fetch reads the bucket's snapshot when it is newer than ours.
func (f *follower) fetch(ctx context.Context) error {
	js, err := jetstream.New(f.nc)
	if err != nil {
		return err
	}
	obs, err := js.ObjectStore(ctx, Bucket)
	if err != nil {
		return fmt.Errorf("snapshot: bucket %s: %w", Bucket, err)
	}
	info, err := obs.GetInfo(ctx, ObjectName)
	if err != nil {
		return fmt.Errorf("snapshot: %s/%s: %w", Bucket, ObjectName, err)
	}
	v, _ := strconv.ParseInt(info.Metadata[metaVersion], 10, 64)
	if v <= f.version() {
		return nil
	}
	if info.Size > MaxSnapshotBytes {
		return fmt.Errorf("%w: snapshot object of %d bytes", ErrInvalid, info.Size)
	}
	r, err := obs.Get(ctx, ObjectName)
	if err != nil {
		return fmt.Errorf("snapshot: get: %w", err)
	}
	defer r.Close()
	tmp, err := os.CreateTemp(f.dir, CacheFile+".*")
	if err != nil {
		return fmt.Errorf("snapshot: cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, io.LimitReader(r, MaxSnapshotBytes)); err != nil {
		return fmt.Errorf("snapshot: download: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	s, err := ReadSnapshot(tmp)
	if err != nil {
		return err
	}
	if s.Version <= f.version() {
		return nil
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(f.dir, CacheFile)); err != nil {
		return fmt.Errorf("snapshot: cache: %w", err)
	}
	f.cur, f.dirty, f.savedAt = s, false, time.Now()
	f.h.Apply(s)
	f.log.Info("intel snapshot fetched", "version", s.Version, "entries", len(s.Entries))
	return nil
}

// save writes the snapshot to the cache after deltas, at most every
// followSave unless now.
func (f *follower) save(now bool) {
	if !f.dirty || f.cur == nil || (!now && time.Since(f.savedAt) < followSave) {
		return
	}
	if err := SaveFile(filepath.Join(f.dir, CacheFile), f.cur); err != nil {
		f.log.Warn("intel snapshot: cache", "err", err)
		return
	}
	f.dirty, f.savedAt = false, time.Now()
}

// SaveFile writes s to path atomically (a temporary file renamed).
func SaveFile(path string, s *Snapshot) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("snapshot: save: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := WriteSnapshot(tmp, s); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("snapshot: save: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("snapshot: save: %w", err)
	}
	return nil
}
