// Package baselinekv keeps the defacement check's page baselines
// (website.Baselines) in a key-value bucket on the platform's queue
// server, so every worker of a region, and a worker after a restart,
// judges a page against the same baseline. A baseline kept in one
// worker's memory is lost on restart and unknown to the other workers:
// the next scan would take the defaced page as the new baseline and the
// open web.defacement finding would be marked fixed.
//
// It imports the queue contract (queue.KV) and the check family's types
// only, never a queue driver; the process that owns the queue wires it:
//
//	if st, ok := q.(queue.KVStore); ok {
//		b, err := baselinekv.Open(ctx, st)
//		...
//		env.Extra[website.ExtraKey] = b
//	}
package baselinekv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/rampart-cert/rampart/internal/check/website"
	"github.com/rampart-cert/rampart/internal/queue"
)

// Bucket is the key-value bucket holding the baselines.
const Bucket = "RAMPART_WEB_BASELINES"

// Store is a website.Baselines on a queue.KV. It is safe for concurrent
// use as the KV is.
type Store struct {
	kv queue.KV
}

var _ website.Baselines = (*Store)(nil)

// New returns a Store on kv.
func New(kv queue.KV) *Store { return &Store{kv: kv} }

// Open opens (creating on first use) Bucket on st and returns a Store on it.
func Open(ctx context.Context, st queue.KVStore) (*Store, error) {
	kv, err := st.KeyValue(ctx, Bucket)
	if err != nil {
		return nil, fmt.Errorf("baselinekv: open: %w", err)
	}
	return New(kv), nil
}

// Key is the bucket key of a baseline key: the check's keys hold a URL,
// whose characters the bucket does not all allow, so they are hashed.
func Key(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "web/" + hex.EncodeToString(sum[:])
}

// Get returns the baseline stored under key.
func (s *Store) Get(ctx context.Context, key string) (website.Baseline, bool, error) {
	val, found, err := s.kv.Get(ctx, Key(key))
	if err != nil || !found {
		if err != nil {
			err = fmt.Errorf("baselinekv: get: %w", err)
		}
		return website.Baseline{}, false, err
	}
	var b website.Baseline
	if err := json.Unmarshal(val, &b); err != nil {
		return website.Baseline{}, false, fmt.Errorf("baselinekv: get %s: decode: %w", Key(key), err)
	}
	return b, true, nil
}

// Put stores b under key, replacing the baseline there.
func (s *Store) Put(ctx context.Context, key string, b website.Baseline) error {
	val, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("baselinekv: put: encode: %w", err)
	}
	if err := s.kv.Put(ctx, Key(key), val); err != nil {
		return fmt.Errorf("baselinekv: put: %w", err)
	}
	return nil
}
