package cli

import (
	"context"
	"fmt"

	"github.com/rampart-cert/rampart/internal/check/website"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/worker/baselinekv"
)

// platformBaselines is where a worker keeps the defacement check's page
// baselines: in the platform's queue bucket when the queue has buckets,
// so a restarted worker and the other workers of the region judge a page
// against the same baseline. A queue without buckets gives nil (baselines
// in the process's memory, as for a one-shot `rampart scan`).
func platformBaselines(ctx context.Context, q queue.Queue) (website.Baselines, error) {
	st, ok := q.(queue.KVStore)
	if !ok {
		return nil, nil
	}
	b, err := baselinekv.Open(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("cli: defacement baselines: %w", err)
	}
	return b, nil
}

// baselines is o.Baselines, or a store in this process's memory.
func (o workerOptions) baselines() website.Baselines {
	if o.Baselines != nil {
		return o.Baselines
	}
	return website.NewMemoryBaselines()
}
