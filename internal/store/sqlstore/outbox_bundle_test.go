package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/store"
)

func bundleTestMessages(n int, at time.Time) []store.OutboxMessage {
	msgs := make([]store.OutboxMessage, n)
	for i := range msgs {
		msgs[i] = store.OutboxMessage{Subject: fmt.Sprint("rampart.events.finding.", i%3), MsgID: fmt.Sprint("m", i),
			Data: fmt.Appendf(nil, `{"n":%d}`, i), CreatedAt: at}
	}
	return msgs
}

// A bundle goes into the outbox as one row and comes out as its messages,
// in order after the rows before it, as many as the limit asks for; each
// acknowledgement of some of them moves past them, and the last deletes
// the row.
func TestOutboxBundle(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)
	few := bundleTestMessages(outboxBundleMin-1, at)
	if got := bundleMessages(few); len(got) != len(few) {
		t.Fatalf("%d messages became %d", len(few), len(got))
	}
	many := bundleTestMessages(outboxBundleMin*3, at)
	b := bundleMessages(many)
	if len(b) != 1 || b[0].Subject != outboxBundleSubject || b[0].Parts != len(many) {
		t.Fatalf("a bundle of %d: %+v", len(many), b)
	}
	err := s.write(ctx, "test", func(tx *sql.Tx) error {
		if err := s.enqueue(ctx, tx, few[:2]); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, b)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := append(few[:2:2], many...)
	check := func(got []store.OutboxMessage, from int) {
		t.Helper()
		for i, m := range got {
			w := want[from+i]
			if m.Subject != w.Subject || m.MsgID != w.MsgID || string(m.Data) != string(w.Data) || !m.CreatedAt.Equal(at) {
				t.Fatalf("message %d: %+v, want %+v", from+i, m, w)
			}
		}
	}
	all, err := s.OutboxPending(ctx, 10000)
	if err != nil || len(all) != len(want) {
		t.Fatalf("pending: %d messages, %v", len(all), err)
	}
	check(all, 0)
	ids := map[int64]bool{}
	for _, m := range all {
		ids[m.ID] = true
	}
	if len(ids) != len(all) {
		t.Fatalf("%d IDs for %d messages", len(ids), len(all))
	}
	// A relay of 50 at a time: the two rows and 48 of the bundle, then 50
	// more of it, and so on.
	published := 0
	for published < len(want) {
		got, err := s.OutboxPending(ctx, 50)
		if err != nil || len(got) != min(50, len(want)-published) {
			t.Fatalf("after %d: %d pending, %v", published, len(got), err)
		}
		check(got, published)
		done := make([]int64, len(got))
		for i, m := range got {
			done[i] = m.ID
		}
		if err := s.OutboxDone(ctx, done); err != nil {
			t.Fatal(err)
		}
		// Acknowledging the same again changes nothing.
		if err := s.OutboxDone(ctx, done[:1]); err != nil {
			t.Fatal(err)
		}
		published += len(got)
	}
	var rows int
	if err := s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox").Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("%d rows left, %v", rows, err)
	}
}

func TestBundlePartID(t *testing.T) {
	for _, c := range []struct {
		row  int64
		part int
	}{{1, 0}, {1, 1<<bundlePartBits - 1}, {1 << 40, 5}} {
		row, part, ok := bundlePart(bundlePartID(c.row, c.part))
		if !ok || row != c.row || part != c.part {
			t.Errorf("%d/%d came back %d/%d %v", c.row, c.part, row, part, ok)
		}
	}
	if _, _, ok := bundlePart(42); ok {
		t.Error("a row's own ID taken for a bundle's")
	}
}

// A bundle row that is not one (cut short, not S2, an unknown version) is
// an error, never a partial list.
func TestUnbundleDamaged(t *testing.T) {
	b := bundleMessages(bundleTestMessages(outboxBundleMin, time.Now()))[0]
	if ms, err := unbundle(b); err != nil || len(ms) != outboxBundleMin {
		t.Fatalf("%d messages, %v", len(ms), err)
	}
	for name, data := range map[string][]byte{"cut": b.Data[:len(b.Data)/2], "garbage": []byte("not s2 at all"), "empty": nil} {
		if ms, err := unbundle(store.OutboxMessage{ID: 7, Data: data}); err == nil {
			t.Errorf("%s: %d messages, no error", name, len(ms))
		}
	}
}

func FuzzUnbundle(f *testing.F) {
	f.Add(bundleMessages(bundleTestMessages(outboxBundleMin, time.Now()))[0].Data)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := unbundle(store.OutboxMessage{ID: 1, Data: data})
		if err != nil && ms != nil {
			t.Fatal("messages with an error")
		}
		if err == nil {
			// What unpacks packs back to the same messages.
			if len(ms) >= outboxBundleMin {
				again, err := unbundle(bundleMessages(ms)[0])
				if err != nil || len(again) != len(ms) {
					t.Fatalf("repacked: %d of %d, %v", len(again), len(ms), err)
				}
			}
		}
	})
}
