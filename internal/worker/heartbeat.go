package worker

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
)

// heartbeat tells the platform the worker is alive (scanjob.Heartbeat in
// scanjob.WorkersBucket) every scanjob.HeartbeatEvery until ctx ends or
// stop closes, then deletes its key so the platform stops counting it at
// once. Queues without buckets get no heartbeat: such a worker still
// works, the platform just cannot see it.
func (w *Worker) heartbeat(ctx context.Context, stop <-chan struct{}) {
	defer close(w.hbDone)
	st, ok := w.q.(queue.KVStore)
	if !ok {
		return
	}
	key := scanjob.HeartbeatKey(w.cfg.Region, w.cfg.Name)
	var kv queue.KV
	warned := false
	beat := func() {
		if kv == nil {
			// The platform creates the bucket; a worker that starts first
			// (or whose user may not create buckets) tries again.
			octx, cancel := context.WithTimeout(ctx, 5*time.Second)
			b, err := st.KeyValue(octx, scanjob.WorkersBucket)
			cancel()
			if err != nil {
				if !warned && ctx.Err() == nil {
					w.cfg.Logger.Warn("worker: heartbeat bucket not available yet; the platform will not list this worker until it is", "bucket", scanjob.WorkersBucket, "err", err)
					warned = true
				}
				return
			}
			kv = b
		}
		data, err := json.Marshal(w.status())
		if err != nil {
			return
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := kv.Put(pctx, key, data); err != nil && ctx.Err() == nil && !errors.Is(err, queue.ErrClosed) {
			w.cfg.Logger.Warn("worker: heartbeat", "err", err)
		}
	}
	t := time.NewTicker(scanjob.HeartbeatEvery)
	defer t.Stop()
	for alive := true; alive; {
		beat()
		select {
		case <-ctx.Done():
			alive = false
		case <-stop:
			alive = false
		case <-t.C:
		}
	}
	if kv != nil {
		dctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = kv.Delete(dctx, key)
	}
}

// status is the worker's heartbeat now.
func (w *Worker) status() scanjob.Heartbeat {
	types := w.reg.Types()
	slices.Sort(types)
	return scanjob.Heartbeat{
		Name:        w.cfg.Name,
		Region:      w.cfg.Region,
		Version:     w.cfg.Version,
		Types:       types,
		Concurrency: w.cfg.Concurrency,
		Running:     int(w.running.Load()),
		Done:        w.done.Load(),
		Started:     w.started,
		Sent:        time.Now().UTC(),
	}
}
