package queuetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/queue"
)

// testKeyValueEntries checks queue.KVLister: every key's latest value, in
// key order, deleted keys left out, stored times from the server.
func testKeyValueEntries(t *testing.T, e *env) {
	q := e.open(t)
	st, ok := q.(queue.KVStore)
	if !ok {
		t.Skip("queue is not a queue.KVStore")
	}
	bucket := e.tok + "-kvl"
	t.Cleanup(func() {
		if d, ok := q.(KVDeleter); ok {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := d.DeleteKeyValue(ctx, bucket); err != nil && !errors.Is(err, queue.ErrClosed) {
				t.Logf("delete bucket %s: %v", bucket, err)
			}
		}
	})
	kv, err := st.KeyValue(e.ctx, bucket)
	if err != nil {
		t.Fatalf("KeyValue: %v", err)
	}
	l, ok := kv.(queue.KVLister)
	if !ok {
		t.Skip("KV is not a queue.KVLister")
	}
	if got, err := l.Entries(e.ctx); err != nil || len(got) != 0 {
		t.Fatalf("Entries of an empty bucket = %v, %v", got, err)
	}
	before := time.Now().Add(-time.Minute)
	for _, p := range []struct{ k, v string }{{"hcm.w2", "a"}, {"hanoi.w1", "b"}, {"hanoi.w1", "c"}, {"gone", "d"}} {
		if err := kv.Put(e.ctx, p.k, []byte(p.v)); err != nil {
			t.Fatalf("Put %s: %v", p.k, err)
		}
	}
	if err := kv.Delete(e.ctx, "gone"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	got, err := l.Entries(e.ctx)
	if err != nil {
		t.Fatalf("Entries: %v", err)
	}
	want := []struct{ k, v string }{{"hanoi.w1", "c"}, {"hcm.w2", "a"}}
	if len(got) != len(want) {
		t.Fatalf("Entries = %+v, want %v", got, want)
	}
	for i, w := range want {
		if got[i].Key != w.k || string(got[i].Value) != w.v || got[i].Stored.Before(before) || got[i].Stored.After(time.Now().Add(time.Minute)) {
			t.Errorf("entry %d = %s=%q at %v, want %s=%q now", i, got[i].Key, got[i].Value, got[i].Stored, w.k, w.v)
		}
	}
}
