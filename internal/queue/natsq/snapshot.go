package natsq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNoStream means the stream to snapshot does not exist on the server.
var ErrNoStream = errors.New("natsq: no such stream")

// ErrStreamNotEmpty means a restore found the stream already holding
// messages; a restore never merges into live data.
var ErrStreamNotEmpty = errors.New("natsq: stream exists and is not empty")

// Snapshot and restore limits.
const (
	// snapshotChunk is the chunk size asked of the server (it clamps it to
	// 1 KiB–1 MiB); restore sends chunks of the same size.
	snapshotChunk = 128 << 10
	// snapshotIdle bounds the wait for the next chunk: the server gives
	// up after five seconds without an ack, so a longer silence means it
	// is gone.
	snapshotIdle = 30 * time.Second
	// restoreFinish bounds the wait for the server to rebuild a restored
	// stream once the last chunk is in.
	restoreFinish = 5 * time.Minute
)

// StreamSnapshot describes a snapshot as the server reported it. Config
// and State are the server's JSON, kept as they are because a restore
// hands them back unchanged.
type StreamSnapshot struct {
	Stream string
	Config json.RawMessage
	State  json.RawMessage
	// Messages and Bytes are read from State, for people.
	Messages uint64
	Bytes    uint64
}

// apiError is the error part of every JetStream API answer.
type apiError struct {
	Error *struct {
		Code        int    `json:"code"`
		ErrCode     uint16 `json:"err_code"`
		Description string `json:"description"`
	} `json:"error"`
}

func (e apiError) err() error {
	if e.Error == nil {
		return nil
	}
	return fmt.Errorf("jetstream %d/%d: %s", e.Error.Code, e.Error.ErrCode, e.Error.Description)
}

// Snapshot writes a point-in-time snapshot of stream (its messages and
// its consumers' positions, as the server's own backup format: an s2
// compressed archive, opaque to us) to w. It works against a running
// server: the server freezes a consistent view and streams it while
// publishers and consumers carry on. A stream that does not exist gives
// ErrNoStream. ctx bounds the whole transfer.
func (q *Queue) Snapshot(ctx context.Context, stream string, w io.Writer) (StreamSnapshot, error) {
	out := StreamSnapshot{Stream: stream}
	if q.isClosed() {
		return out, fmt.Errorf("natsq: snapshot %s: closed", stream)
	}
	fail := func(err error) (StreamSnapshot, error) {
		return out, fmt.Errorf("natsq: snapshot %s: %w", stream, err)
	}
	inbox := q.nc.NewInbox()
	sub, err := q.nc.SubscribeSync(inbox)
	if err != nil {
		return fail(err)
	}
	defer sub.Unsubscribe()
	// The server sends a window of up to 8 MiB before waiting for acks.
	_ = sub.SetPendingLimits(-1, 64<<20)

	req, _ := json.Marshal(map[string]any{"deliver_subject": inbox, "chunk_size": snapshotChunk})
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	m, err := q.nc.RequestWithContext(rctx, "$JS.API.STREAM.SNAPSHOT."+stream, req)
	cancel()
	if err != nil {
		return fail(err)
	}
	var resp struct {
		apiError
		Config json.RawMessage `json:"config"`
		State  json.RawMessage `json:"state"`
	}
	if err := json.Unmarshal(m.Data, &resp); err != nil {
		return fail(fmt.Errorf("bad answer: %w", err))
	}
	if resp.Error != nil && resp.Error.ErrCode == uint16(jetstream.JSErrCodeStreamNotFound) {
		return out, fmt.Errorf("natsq: snapshot %s: %w", stream, ErrNoStream)
	}
	if err := resp.err(); err != nil {
		return fail(err)
	}
	out.Config, out.State = resp.Config, resp.State
	var st struct {
		Msgs  uint64 `json:"messages"`
		Bytes uint64 `json:"bytes"`
	}
	_ = json.Unmarshal(resp.State, &st)
	out.Messages, out.Bytes = st.Msgs, st.Bytes

	for {
		wctx, cancel := context.WithTimeout(ctx, snapshotIdle)
		c, err := sub.NextMsgWithContext(wctx)
		cancel()
		if err != nil {
			return fail(fmt.Errorf("waiting for a chunk: %w", err))
		}
		if len(c.Data) > 0 {
			if _, err := w.Write(c.Data); err != nil {
				return fail(err)
			}
		}
		if c.Reply != "" {
			// The ack opens the server's window for the next chunk.
			if err := c.Respond(nil); err != nil {
				return fail(err)
			}
			continue
		}
		if len(c.Data) > 0 {
			continue // the last, short chunk comes without a reply
		}
		// The end: an empty message whose status says how it went.
		if s := c.Header.Get("Status"); s != "" && s != "204" {
			return fail(fmt.Errorf("server ended the snapshot: %s %s", s, c.Header.Get("Description")))
		}
		return out, nil
	}
}

// Restore recreates a stream from a snapshot written by Snapshot: s gives
// the configuration and state it had, r the snapshot bytes. A stream of
// that name that exists empty (as Open creates them) is replaced; one
// holding messages gives ErrStreamNotEmpty, so a restore never merges
// into live data. Restoring a stream with consumers brings their
// positions back: delivered but unacknowledged messages are delivered
// again after their ack wait.
func (q *Queue) Restore(ctx context.Context, s StreamSnapshot, r io.Reader) error {
	stream := s.Stream
	fail := func(err error) error { return fmt.Errorf("natsq: restore %s: %w", stream, err) }
	if q.isClosed() {
		return fail(errors.New("closed"))
	}
	if info, err := q.js.Stream(ctx, stream); err == nil {
		st := info.CachedInfo().State
		if st.Msgs > 0 || st.Consumers > 0 {
			return fail(ErrStreamNotEmpty)
		}
		if err := q.js.DeleteStream(ctx, stream); err != nil {
			return fail(err)
		}
	} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fail(err)
	}

	req, err := json.Marshal(map[string]json.RawMessage{"config": s.Config, "state": s.State})
	if err != nil {
		return fail(err)
	}
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	m, err := q.nc.RequestWithContext(rctx, "$JS.API.STREAM.RESTORE."+stream, req)
	cancel()
	if err != nil {
		return fail(err)
	}
	var resp struct {
		apiError
		DeliverSubject string `json:"deliver_subject"`
	}
	if err := json.Unmarshal(m.Data, &resp); err != nil {
		return fail(fmt.Errorf("bad answer: %w", err))
	}
	if err := resp.err(); err != nil {
		return fail(err)
	}
	send := func(chunk []byte, wait time.Duration) error {
		cctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		a, err := q.nc.RequestWithContext(cctx, resp.DeliverSubject, chunk)
		if err != nil {
			return err
		}
		if len(a.Data) == 0 {
			return nil
		}
		var e apiError
		if err := json.Unmarshal(a.Data, &e); err != nil {
			return fmt.Errorf("bad answer: %w", err)
		}
		return e.err()
	}
	buf := make([]byte, snapshotChunk)
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if err := send(buf[:n], requestTimeout); err != nil {
				return fail(err)
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			// The server drops a restore left idle for five seconds, so
			// nothing is half-created.
			return fail(rerr)
		}
	}
	// An empty chunk says "that was all"; the answer comes when the
	// server has rebuilt the stream.
	if err := send(nil, restoreFinish); err != nil {
		return fail(err)
	}
	return nil
}
