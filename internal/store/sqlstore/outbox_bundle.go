package sqlstore

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/klauspost/compress/s2"

	"github.com/rampart-cert/rampart/internal/store"
)

// A report of thousands of new findings has thousands of events, each a
// whole finding with its evidence: as outbox rows they were the largest
// part of what the transaction wrote (a third more than the findings
// themselves). The events of one batch are much alike, so they go as one
// row, a bundle: the messages framed one after another and compressed
// with S2 (some twelve times smaller). OutboxPending unpacks a bundle into
// its messages, and OutboxDone records how many of them the relay has
// published (a queue that fails now and then still sees a large bundle
// through, a relay batch at a time) and deletes it once all are. The
// messages keep their subjects and message IDs, so consumers see no
// difference.

// outboxBundleSubject marks a bundle row; it is never published.
const outboxBundleSubject = "rampart.outbox.bundle"

// outboxBundleMin is the fewest messages worth a bundle.
const outboxBundleMin = 64

// bundleVersion leads a bundle's framing.
const bundleVersion = 1

// maxBundle bounds an unpacked bundle (a batch of 5,000 new findings has
// some 9 MiB of events).
const maxBundle = 64 << 20

// bundleMessages packs msgs (at least outboxBundleMin, else it returns them
// as they are) into one message for the outbox.
func bundleMessages(msgs []store.OutboxMessage) []store.OutboxMessage {
	if len(msgs) < outboxBundleMin {
		return msgs
	}
	size := 1
	for _, m := range msgs {
		size += 3*binary.MaxVarintLen32 + len(m.Subject) + len(m.MsgID) + len(m.Data)
	}
	if size > maxBundle || len(msgs) >= 1<<bundlePartBits {
		return msgs
	}
	raw := make([]byte, 1, size)
	raw[0] = bundleVersion
	for _, m := range msgs {
		for _, f := range [][]byte{[]byte(m.Subject), []byte(m.MsgID), m.Data} {
			raw = binary.AppendUvarint(raw, uint64(len(f)))
			raw = append(raw, f...)
		}
	}
	return []store.OutboxMessage{{
		Subject:   outboxBundleSubject,
		MsgID:     "bundle:" + msgs[0].MsgID,
		Data:      s2.Encode(nil, raw),
		CreatedAt: msgs[0].CreatedAt,
		Parts:     len(msgs),
	}}
}

// A bundle's message is named to OutboxDone by its row and its place in
// the bundle: -(row << bundlePartBits | place). A row of its own keeps its
// row ID, which is positive.
const bundlePartBits = 20

func bundlePartID(row int64, part int) int64 { return -(row<<bundlePartBits | int64(part)) }

// bundlePart undoes bundlePartID; ok is false for a row's own ID.
func bundlePart(id int64) (row int64, part int, ok bool) {
	if id >= 0 {
		return 0, 0, false
	}
	return -id >> bundlePartBits, int(-id & (1<<bundlePartBits - 1)), true
}

// unbundle returns the messages of a bundle row, each with the row's ID
// and time.
func unbundle(row store.OutboxMessage) ([]store.OutboxMessage, error) {
	n, err := s2.DecodedLen(row.Data)
	if err != nil {
		return nil, fmt.Errorf("outbox bundle %d: %w", row.ID, err)
	}
	if n > maxBundle {
		return nil, fmt.Errorf("outbox bundle %d: %d bytes unpacked (at most %d)", row.ID, n, maxBundle)
	}
	raw, err := s2.Decode(nil, row.Data)
	if err != nil {
		return nil, fmt.Errorf("outbox bundle %d: %w", row.ID, err)
	}
	if len(raw) == 0 || raw[0] != bundleVersion {
		return nil, fmt.Errorf("outbox bundle %d: unknown version", row.ID)
	}
	raw = raw[1:]
	var out []store.OutboxMessage
	for len(raw) > 0 {
		var f [3][]byte
		for i := range f {
			l, k := binary.Uvarint(raw)
			if k <= 0 || l > uint64(len(raw)-k) {
				return nil, fmt.Errorf("outbox bundle %d: %w", row.ID, errBundleTruncated)
			}
			f[i], raw = raw[k:k+int(l):k+int(l)], raw[k+int(l):]
		}
		out = append(out, store.OutboxMessage{ID: row.ID, Subject: string(f[0]), MsgID: string(f[1]), Data: f[2], CreatedAt: row.CreatedAt})
	}
	if row.Parts != 0 && len(out) != row.Parts {
		return nil, fmt.Errorf("outbox bundle %d: %d messages, not %d", row.ID, len(out), row.Parts)
	}
	return out, nil
}

var errBundleTruncated = errors.New("a message is cut short")
