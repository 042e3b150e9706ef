package natsq

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rampart-cert/rampart/internal/queue"
)

var _ queue.BatchPublisher = (*Queue)(nil)

// batchWindow is how many asynchronous publishes PublishBatch keeps in
// flight at once; the client's own limit is 4,000.
const batchWindow = 1000

// PublishBatch publishes msgs asynchronously, in order on one connection,
// and waits for the server to acknowledge every one. It is Publish for many
// messages at once: a round trip per window of messages instead of per
// message. On the first error it stops and returns it; the messages before
// it may be stored, the rest not, so callers republish the whole batch
// (message IDs make that safe).
func (q *Queue) PublishBatch(ctx context.Context, msgs []queue.Outgoing) error {
	if q.isClosed() {
		return fmt.Errorf("natsq: publish batch: %w", queue.ErrClosed)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, requestTimeout)
		defer cancel()
	}
	ms := make([]*nats.Msg, len(msgs))
	for i, o := range msgs {
		m, err := newMsg(o.Subject, o.Data, o.Header)
		if err != nil {
			return err
		}
		ms[i] = m
	}
	for start := 0; start < len(ms); start += batchWindow {
		end := min(start+batchWindow, len(ms))
		futs := make([]jetstream.PubAckFuture, 0, end-start)
		for i := start; i < end; i++ {
			var opts []jetstream.PublishOpt
			if msgs[i].MsgID != "" {
				opts = append(opts, jetstream.WithMsgID(msgs[i].MsgID))
			}
			f, err := q.js.PublishMsgAsync(ms[i], opts...)
			if err != nil {
				return q.batchErr(msgs[i].Subject, err)
			}
			futs = append(futs, f)
		}
		for i, f := range futs {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return q.batchErr(msgs[start+i].Subject, err)
			case <-ctx.Done():
				return fmt.Errorf("natsq: publish batch: %w", ctx.Err())
			}
		}
	}
	return nil
}

func (q *Queue) batchErr(subject string, err error) error {
	if errors.Is(err, nats.ErrConnectionClosed) && q.isClosed() {
		return fmt.Errorf("natsq: publish batch %s: %w", subject, queue.ErrClosed)
	}
	return fmt.Errorf("natsq: publish batch %s: %w", subject, err)
}

// newMsg builds a message after checking its subject and headers as
// Publish does.
func newMsg(subject string, data []byte, header map[string]string) (*nats.Msg, error) {
	if subject == "" || strings.ContainsAny(subject, "*> \t\r\n") {
		return nil, fmt.Errorf("natsq: publish %q: bad subject: %w", subject, queue.ErrInvalid)
	}
	m := nats.NewMsg(subject)
	m.Data = data
	for k, v := range header {
		if k == "" || strings.HasPrefix(strings.ToLower(k), "nats-") {
			return nil, fmt.Errorf("natsq: publish %s: reserved header %q: %w", subject, k, queue.ErrInvalid)
		}
		m.Header.Set(k, v)
	}
	return m, nil
}
