package natsq

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/queue"
)

// TestPublishBatch publishes more than one window of messages, publishes
// them again (stored once: the message IDs deduplicate), and reads them
// back in order, on the embedded server and on the external one.
func TestPublishBatch(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		q := openEmbedded(t, t.TempDir())
		t.Cleanup(func() { q.Close() })
		testPublishBatch(t, q)
	})
	t.Run("external", func(t *testing.T) {
		url := externalURL()
		if c, err := net.DialTimeout("tcp", url[len("nats://"):], time.Second); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("external NATS %s unreachable in CI: %v", url, err)
			}
			t.Skipf("external NATS %s unreachable: %v", url, err)
		} else {
			c.Close()
		}
		q := openURL(t, url)
		t.Cleanup(func() { q.Close() })
		testPublishBatch(t, q)
	})
}

func testPublishBatch(t *testing.T, q *Queue) {
	ctx := testCtx(t)
	// A subject of its own, so runs against a shared server do not mix.
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	subject := queue.SubjectEvents + ".batchtest." + run
	const n = 2500
	msgs := make([]queue.Outgoing, n)
	for i := range msgs {
		msgs[i] = queue.Outgoing{Subject: subject, Data: []byte(strconv.Itoa(i)), MsgID: run + "-" + strconv.Itoa(i), Header: map[string]string{"Seq": strconv.Itoa(i)}}
	}
	if err := q.PublishBatch(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	if err := q.PublishBatch(ctx, msgs[:1200]); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		got  []string
		done = make(chan struct{})
	)
	c, err := q.Consume(ctx, queue.ConsumerConfig{Stream: queue.StreamEvents, Durable: "batchtest-" + run, FilterSubject: subject},
		func(_ context.Context, m *queue.Message) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, string(m.Data))
			if m.ID != run+"-"+string(m.Data) || m.Header["Seq"] != string(m.Data) {
				t.Errorf("message %s: id %q header %v", m.Data, m.ID, m.Header)
			}
			if len(got) == n {
				close(done)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.DeleteConsumer(context.Background(), queue.StreamEvents, "batchtest-"+run) })
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("got %d of %d messages", len(got), n)
	}
	time.Sleep(200 * time.Millisecond) // a duplicate would arrive now
	c.Stop()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != n {
		t.Fatalf("%d messages stored, want %d (duplicates were not dropped)", len(got), n)
	}
	for i, s := range got {
		if s != strconv.Itoa(i) {
			t.Fatalf("message %d is %s: out of order", i, s)
		}
	}

	bad := []queue.Outgoing{{Subject: subject, Data: []byte("x")}, {Subject: "rampart.events.>", Data: []byte("y")}}
	if err := q.PublishBatch(ctx, bad); !errors.Is(err, queue.ErrInvalid) {
		t.Fatalf("bad subject: %v", err)
	}
	if err := q.PublishBatch(ctx, []queue.Outgoing{{Subject: subject, Header: map[string]string{"Nats-Expected-Stream": "x"}}}); !errors.Is(err, queue.ErrInvalid) {
		t.Fatalf("reserved header: %v", err)
	}
	q.Close()
	if err := q.PublishBatch(ctx, msgs[:1]); !errors.Is(err, queue.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}
