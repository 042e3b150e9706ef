package portscan

import (
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/target"
)

// shared is what the workers of one scan have in common: the target
// iterator and the dealer that spreads its hosts, the global rate limit,
// the open-port callback and the totals.
type shared struct {
	cfg   Config
	order []uint16 // cfg.Ports in probe order

	mu      sync.Mutex // guards the dealer
	pull    func() (target.Target, bool)
	queues  [][]target.Target
	drained bool

	rateMu sync.Mutex
	global bucket

	openMu sync.Mutex
	onOpen func(Open)

	statMu       sync.Mutex
	began        time.Time
	lastProgress time.Time
	per          []Stats
}

func newShared(cfg Config, workers int, pull func() (target.Target, bool), onOpen func(Open)) *shared {
	now := time.Now()
	return &shared{
		cfg: cfg, order: permute(cfg.Ports), pull: pull, queues: make([][]target.Target, workers),
		global: newBucket(cfg.Rate, float64(cfg.Rate)/100, now), onOpen: onOpen,
		began: now, lastProgress: now, per: make([]Stats, workers),
	}
}

// take returns worker id's next batch of hosts, dealing a new round of
// cfg.HostBatch targets round-robin to every worker when its queue is
// empty; nil when the targets are exhausted.
func (sh *shared) take(id int) []target.Target {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if len(sh.queues[id]) == 0 && !sh.drained {
		n := len(sh.queues)
		for i := 0; i < sh.cfg.HostBatch || i%n != 0; i++ {
			t, ok := sh.pull()
			if !ok {
				sh.drained = true
				break
			}
			sh.queues[(id+i)%n] = append(sh.queues[(id+i)%n], t)
		}
	}
	q := sh.queues[id]
	sh.queues[id] = nil
	return q
}

func (sh *shared) allow(now time.Time) (bool, time.Duration) {
	if sh.cfg.Rate <= 0 {
		return true, 0
	}
	sh.rateMu.Lock()
	defer sh.rateMu.Unlock()
	return sh.global.Allow(now)
}

func (sh *shared) open(o Open) {
	if sh.onOpen == nil {
		return
	}
	sh.openMu.Lock()
	defer sh.openMu.Unlock()
	sh.onOpen(o)
}

func (sh *shared) publish(id int, st Stats, now time.Time) {
	sh.statMu.Lock()
	defer sh.statMu.Unlock()
	sh.per[id] = st
	if sh.cfg.Progress != nil && now.Sub(sh.lastProgress) >= sh.cfg.ProgressInterval {
		sh.lastProgress = now
		sh.cfg.Progress(sh.total(now))
	}
}

func (sh *shared) total(now time.Time) Stats {
	var t Stats
	for _, s := range sh.per {
		t.Hosts += s.Hosts
		t.Probed += s.Probed
		t.Open += s.Open
		t.Closed += s.Closed
		t.TimedOut += s.TimedOut
		t.Unreachable += s.Unreachable
		t.Retried += s.Retried
		t.InFlight += s.InFlight
		t.Concurrency += s.Concurrency
	}
	t.Elapsed = now.Sub(sh.began)
	if sec := t.Elapsed.Seconds(); sec > 0 {
		t.Rate = float64(t.Probed) / sec
	}
	return t
}

// final returns the totals once every worker has stopped, and reports
// them to Progress one last time.
func (sh *shared) final() Stats {
	sh.statMu.Lock()
	defer sh.statMu.Unlock()
	t := sh.total(time.Now())
	if sh.cfg.Progress != nil {
		sh.cfg.Progress(t)
	}
	return t
}
