package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/worker"
)

// TestWorkerHeartbeat: a started worker is listed in the workers bucket
// under its name and region at once, and a stopped one is gone (F6).
func TestWorkerHeartbeat(t *testing.T) {
	for mode, q := range openQueues(t) {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			st := q.(queue.KVStore)
			kv, err := st.KeyValue(ctx, scanjob.WorkersBucket)
			if err != nil {
				t.Fatal(err)
			}
			region := fmt.Sprintf("hb%d", time.Now().UnixNano()%1e9)
			key := scanjob.HeartbeatKey(region, "host-1/serve")
			w, err := worker.Start(ctx, q, worker.NewRegistry(), worker.Config{Name: "host-1/serve", Region: region, Version: "test", Concurrency: 3})
			if err != nil {
				t.Fatal(err)
			}
			var hb scanjob.Heartbeat
			for deadline := time.Now().Add(5 * time.Second); ; {
				v, found, err := kv.Get(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				if found {
					if err := json.Unmarshal(v, &hb); err != nil {
						t.Fatal(err)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no heartbeat under %s", key)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if hb.Name != "host-1/serve" || hb.Region != region || hb.Version != "test" || hb.Concurrency != 3 || hb.Started.IsZero() || len(hb.Types) == 0 {
				t.Errorf("heartbeat = %+v", hb)
			}
			w.Stop()
			if _, found, err := kv.Get(ctx, key); err != nil || found {
				t.Errorf("after Stop: found %v, err %v; want the key deleted", found, err)
			}
		})
	}
}
