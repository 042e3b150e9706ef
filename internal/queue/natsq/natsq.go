package natsq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rampart-cert/rampart/internal/queue"
)

var _ queue.Queue = (*Queue)(nil)

// Stream limits.
const (
	// dupWindow is how long a message ID is remembered for deduplication.
	dupWindow = 2 * time.Minute
	// eventsMaxAge is how long change events are kept.
	eventsMaxAge = 7 * 24 * time.Hour
	// eventsMaxBytes caps the events stream; the oldest events go first.
	eventsMaxBytes = 1 << 30
	// sensorsMaxBytes caps the sensors' stream.
	sensorsMaxBytes = 1 << 30
)

// Timeouts.
const (
	// startupWait bounds Open when its context has no deadline: starting
	// the embedded server, the first connection and creating streams.
	startupWait = 30 * time.Second
	// requestTimeout bounds a JetStream API call whose context has no
	// deadline.
	requestTimeout = 10 * time.Second
	// closeGrace is how long Close waits for handlers after cancelling
	// their context; a handler still running after that is abandoned and
	// its message is redelivered after AckWait.
	closeGrace = 10 * time.Second
	// drainTimeout bounds draining the connection on Close.
	drainTimeout = 5 * time.Second
)

// Options configures Open.
type Options struct {
	// URL of an external NATS server or cluster; a comma-separated list is
	// allowed. Empty starts an embedded server.
	URL string
	// DataDir is where the embedded server's JetStream stores messages,
	// for example <data>/nats. Required in embedded mode.
	DataDir string
	// Name is the client connection name shown by the server.
	Name string
	// Replicas of each stream on a cluster; default 1. The embedded
	// server is a single node, so only 1 is allowed there.
	Replicas int
	// Logger receives connection and server events; nil uses slog.Default.
	Logger *slog.Logger
	// ListenHost is the embedded server's client address; default
	// 127.0.0.1.
	ListenHost string
	// ListenPort is the embedded server's client port; -1 or 0 picks a
	// random free port (the default).
	ListenPort int
	// NoListen runs the embedded server without a TCP listener: only this
	// process reaches it, and ClientURL is empty.
	NoListen bool
	// WorkerBuckets are the key-value buckets the embedded server lets
	// worker users read and write (see WorkerPermissions). The platform
	// creates them; a worker cannot.
	WorkerBuckets []string
	// WorkerRegionBuckets are buckets where a worker user may only write
	// keys under its own region, "<region>.…" (heartbeats): it cannot
	// read them or speak for another region.
	WorkerRegionBuckets []string

	// Creds authenticates to an external server: an NKEY user seed file
	// (as `rampart worker credentials` writes) or a NATS .creds file (JWT
	// and seed). A user and password, or a token, may instead be given in
	// URL. Unused in embedded mode: the embedded server makes the
	// platform's own key (PlatformSeedFile).
	Creds string
	// TLSCA is a PEM file of the CAs that sign an external server's
	// certificate, for tls:// URLs (or servers requiring TLS) whose
	// certificate the system's roots do not verify.
	TLSCA string
	// SkipStreamSetup leaves the streams alone: a worker user may not
	// create or update them (the platform does), so Open only connects.
	SkipStreamSetup bool
}

// Queue is a queue.Queue on NATS JetStream. It is safe for concurrent use.
type Queue struct {
	log      *slog.Logger
	srv      *server.Server // nil in external mode
	auth     *embeddedAuth  // the embedded server's users; nil in external mode
	unlock   func()         // releases the embedded data dir
	nc       *nats.Conn
	js       jetstream.JetStream
	url      string
	replicas int

	mu        sync.Mutex
	closed    bool
	consumers map[*consumer]struct{}
}

// Open connects to NATS (starting the embedded server when o.URL is empty)
// and makes sure the streams exist with the expected configuration.
func Open(ctx context.Context, o Options) (*Queue, error) {
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Replicas < 0 {
		return nil, fmt.Errorf("natsq: replicas %d: %w", o.Replicas, queue.ErrInvalid)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Name == "" {
		o.Name = "rampart"
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startupWait)
		defer cancel()
	}

	q := &Queue{
		log:       o.Logger.With("component", "natsq"),
		replicas:  o.Replicas,
		consumers: make(map[*consumer]struct{}),
	}
	if o.URL == "" {
		if o.DataDir == "" {
			return nil, fmt.Errorf("natsq: embedded server needs a data dir: %w", queue.ErrInvalid)
		}
		if o.Replicas != 1 {
			return nil, fmt.Errorf("natsq: replicas %d needs an external cluster: %w", o.Replicas, queue.ErrInvalid)
		}
		srv, ea, unlock, err := startEmbedded(ctx, o)
		if err != nil {
			return nil, err
		}
		q.srv, q.auth, q.unlock = srv, ea, unlock
		q.url = srv.ClientURL()
		ea.watch()
	} else {
		q.url = o.URL
	}

	nc, err := q.connect(ctx, o)
	if err != nil {
		q.stopServer()
		return nil, err
	}
	q.nc = nc
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(requestTimeout))
	if err != nil {
		q.nc.Close()
		q.stopServer()
		return nil, fmt.Errorf("natsq: jetstream: %w", err)
	}
	q.js = js
	if o.SkipStreamSetup {
		return q, nil
	}
	if err := q.ensureStreams(ctx); err != nil {
		q.nc.Close()
		q.stopServer()
		return nil, err
	}
	return q, nil
}

// ClientURL is the address other processes use to reach this queue's
// server: the embedded server's listener (empty with NoListen), or the
// configured URL. The embedded server admits only known keys: the
// platform's (PlatformCredentials) and registered workers'.
func (q *Queue) ClientURL() string {
	if q.srv != nil && q.auth.o.NoListen {
		return ""
	}
	return q.url
}

// PlatformCredentials is the seed file of the embedded server's platform
// user, for other platform processes on this host; "" in external mode.
func (q *Queue) PlatformCredentials() string {
	if q.srv == nil {
		return ""
	}
	return PlatformCredentials(q.auth.o.DataDir)
}

// Embedded reports whether this queue runs its own server.
func (q *Queue) Embedded() bool { return q.srv != nil }

func (q *Queue) connect(ctx context.Context, o Options) (*nats.Conn, error) {
	log := q.log
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.Timeout(5 * time.Second),
		nats.PingInterval(20 * time.Second),
		nats.MaxPingsOutstanding(3),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ReconnectJitter(500*time.Millisecond, 2*time.Second),
		nats.DrainTimeout(drainTimeout),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Warn("async error", "subject", subj, "err", err)
		}),
	}
	if q.srv != nil {
		// Talk to our own server without a socket, as the platform user;
		// other processes use the TCP listener.
		opts = append(opts, nats.InProcessServer(q.srv), nats.CustomInboxPrefix(inboxPrefix(q.auth.pub)), nkeyOption(q.auth.platform, q.auth.pub))
	} else {
		if o.Creds != "" {
			co, err := credsOptions(o.Creds)
			if err != nil {
				return nil, err
			}
			opts = append(opts, co...)
		}
		if o.TLSCA != "" {
			opts = append(opts, nats.RootCAs(o.TLSCA))
		}
	}
	// The first connection is retried until ctx ends so a worker started
	// before its server waits for it; later drops reconnect forever.
	for {
		nc, err := nats.Connect(q.url, opts...)
		if err == nil {
			return nc, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("natsq: connect %s: %w", redactURL(q.url), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// redactURL drops user info from a server list for error messages.
func redactURL(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		if at := strings.LastIndex(p, "@"); at >= 0 {
			scheme := ""
			if s := strings.Index(p, "://"); s >= 0 && s < at {
				scheme = p[:s+3]
			}
			parts[i] = scheme + "redacted@" + p[at+1:]
		}
	}
	return strings.Join(parts, ",")
}

// streamConfigs are the streams described in package queue.
func (q *Queue) streamConfigs() []jetstream.StreamConfig {
	return []jetstream.StreamConfig{
		{
			Name:        queue.StreamJobs,
			Description: "Rampart jobs: rampart.jobs.<region>.<type>, each to one worker",
			Subjects:    []string{queue.SubjectJobs + ".>"},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    q.replicas,
			Duplicates:  dupWindow,
			Discard:     jetstream.DiscardOld,
		},
		{
			Name:        queue.StreamResults,
			Description: "Rampart results: rampart.results.<type>, to the ingester",
			Subjects:    []string{queue.SubjectResults + ".>"},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    q.replicas,
			Duplicates:  dupWindow,
			Discard:     jetstream.DiscardOld,
		},
		{
			Name:        queue.StreamEvents,
			Description: "Rampart change events: rampart.events.<type>, read by many",
			Subjects:    []string{queue.SubjectEvents + ".>"},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    q.replicas,
			Duplicates:  dupWindow,
			MaxAge:      eventsMaxAge,
			MaxBytes:    eventsMaxBytes,
			Discard:     jetstream.DiscardOld,
		},
		{
			// Sensors publish here with their own credentials
			// (EdgePermissions); a sensor keeps what the platform has
			// not acknowledged on its own disk, so the stream is bounded.
			Name:        queue.StreamSensors,
			Description: "Rampart sensors' reports: rampart.sensor.<org>.<name>.<what>, to the ingester",
			Subjects:    []string{queue.SubjectSensors + ".>"},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    q.replicas,
			Duplicates:  dupWindow,
			MaxAge:      eventsMaxAge,
			MaxBytes:    sensorsMaxBytes,
			Discard:     jetstream.DiscardOld,
		},
	}
}

// ensureStreams creates or updates the streams. Several processes may do
// this at once: a lost creation race is retried as an update, and a server
// still electing a leader or enabling JetStream is waited for until ctx
// ends.
func (q *Queue) ensureStreams(ctx context.Context) error {
	for _, cfg := range q.streamConfigs() {
		for attempt := 1; ; attempt++ {
			err := q.ensureStream(ctx, cfg)
			if err == nil {
				break
			}
			// Two processes creating a stream at once: the loser may hear
			// "subjects overlap" from the winner's stream rather than
			// "name in use"; a few retries turn it into an update. A
			// lasting overlap is someone else's stream.
			if !retryableSetup(err) && !(isAPIError(err, jsErrCodeSubjectsOverlap) && attempt < 5) {
				return fmt.Errorf("natsq: stream %s: %w", cfg.Name, err)
			}
			q.log.Debug("stream setup retry", "stream", cfg.Name, "attempt", attempt, "err", err)
			select {
			case <-ctx.Done():
				return fmt.Errorf("natsq: stream %s: %w (last error: %v)", cfg.Name, ctx.Err(), err)
			case <-time.After(time.Duration(min(attempt, 10)) * 100 * time.Millisecond):
			}
		}
	}
	return nil
}

func (q *Queue) ensureStream(ctx context.Context, cfg jetstream.StreamConfig) error {
	_, err := q.js.UpdateStream(ctx, cfg)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return err
	}
	_, err = q.js.CreateStream(ctx, cfg)
	return err
}

// jsErrCodeSubjectsOverlap is the server's "subjects overlap with an
// existing stream" error.
const jsErrCodeSubjectsOverlap jetstream.ErrorCode = 10065

func isAPIError(err error, code jetstream.ErrorCode) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == code
}

// retryableSetup tells a passing condition (a race with another process, a
// server still starting) from a configuration error.
func retryableSetup(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case jetstream.JSErrCodeStreamNameInUse, jetstream.JSErrCodeStreamNotFound,
			jetstream.JSErrCodeJetStreamNotEnabled, jetstream.JSErrCodeJetStreamNotEnabledForAccount:
			return true
		}
		// 503 and 500 are a cluster without a leader or quorum yet.
		return apiErr.Code == 503 || apiErr.Code == 500
	}
	return errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) ||
		errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrConnectionReconnecting)
}

// Publish stores a message in the stream bound to subject and waits for the
// server's acknowledgement. A non-empty msgID deduplicates republishes
// within two minutes. Header keys must not start with "Nats-".
func (q *Queue) Publish(ctx context.Context, subject string, data []byte, msgID string, header map[string]string) error {
	if q.isClosed() {
		return fmt.Errorf("natsq: publish %s: %w", subject, queue.ErrClosed)
	}
	if subject == "" || strings.ContainsAny(subject, "*> \t\r\n") {
		return fmt.Errorf("natsq: publish %q: bad subject: %w", subject, queue.ErrInvalid)
	}
	m := nats.NewMsg(subject)
	m.Data = data
	for k, v := range header {
		if k == "" || strings.HasPrefix(strings.ToLower(k), "nats-") {
			return fmt.Errorf("natsq: publish %s: reserved header %q: %w", subject, k, queue.ErrInvalid)
		}
		m.Header.Set(k, v)
	}
	// The client retries "no responders" (a stream leader moving);
	// republishing is safe: the message ID makes it a no-op.
	opts := []jetstream.PublishOpt{jetstream.WithRetryAttempts(5), jetstream.WithRetryWait(200 * time.Millisecond)}
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	// A reconnecting connection is waited for here.
	for attempt := 1; ; attempt++ {
		_, err := q.js.PublishMsg(ctx, m, opts...)
		if err == nil {
			return nil
		}
		if errors.Is(err, nats.ErrConnectionClosed) && q.isClosed() {
			return fmt.Errorf("natsq: publish %s: %w", subject, queue.ErrClosed)
		}
		if attempt >= 5 || ctx.Err() != nil || !retryablePublish(err) {
			return fmt.Errorf("natsq: publish %s: %w", subject, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("natsq: publish %s: %w", subject, ctx.Err())
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
}

func retryablePublish(err error) bool {
	return errors.Is(err, nats.ErrConnectionReconnecting)
}

// Pending reports how many messages of stream wait under filter ("" for
// every subject of the stream).
//
// On the work-queue streams (jobs, results) a message leaves the stream when
// it is acknowledged, so Pending counts the stored messages whose subject
// matches filter: not yet delivered, in flight, waiting for redelivery, or
// past MaxDeliver.
//
// On the events stream messages stay until they age out, so Pending looks
// at consumers instead: the largest pending-plus-unacknowledged count among
// the durable consumers whose filter subject equals filter (any consumer
// when filter is ""). With no such consumer it counts the stored messages
// matching filter.
func (q *Queue) Pending(ctx context.Context, stream, filter string) (uint64, error) {
	if q.isClosed() {
		return 0, fmt.Errorf("natsq: pending %s: %w", stream, queue.ErrClosed)
	}
	if stream == "" {
		return 0, fmt.Errorf("natsq: pending: no stream: %w", queue.ErrInvalid)
	}
	s, err := q.js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("natsq: pending %s: %w", stream, err)
	}
	info := s.CachedInfo()
	if info.Config.Retention != jetstream.WorkQueuePolicy {
		n, found, err := consumerPending(ctx, s, filter)
		if err != nil {
			return 0, fmt.Errorf("natsq: pending %s: %w", stream, err)
		}
		if found {
			return n, nil
		}
	}
	if filter == "" {
		info, err = s.Info(ctx)
		if err != nil {
			return 0, fmt.Errorf("natsq: pending %s: %w", stream, err)
		}
		return info.State.Msgs, nil
	}
	info, err = s.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return 0, fmt.Errorf("natsq: pending %s %s: %w", stream, filter, err)
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return n, nil
}

func consumerPending(ctx context.Context, s jetstream.Stream, filter string) (n uint64, found bool, err error) {
	l := s.ListConsumers(ctx)
	for ci := range l.Info() {
		if filter != "" && ci.Config.FilterSubject != filter {
			continue
		}
		found = true
		n = max(n, ci.NumPending+uint64(ci.NumAckPending))
	}
	return n, found, l.Err()
}

// DeleteConsumer removes a durable consumer, for retiring a worker group
// and for tests. Messages on a work-queue stream stay for the next
// consumer.
func (q *Queue) DeleteConsumer(ctx context.Context, stream, durable string) error {
	if q.isClosed() {
		return fmt.Errorf("natsq: delete consumer %s: %w", durable, queue.ErrClosed)
	}
	if err := q.js.DeleteConsumer(ctx, stream, durable); err != nil {
		return fmt.Errorf("natsq: delete consumer %s/%s: %w", stream, durable, err)
	}
	return nil
}

// Ping checks that the connection is up and JetStream answers.
func (q *Queue) Ping(ctx context.Context) error {
	if q.isClosed() {
		return fmt.Errorf("natsq: ping: %w", queue.ErrClosed)
	}
	if st := q.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("natsq: ping: connection %s", st)
	}
	if _, err := q.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("natsq: ping: %w", err)
	}
	return nil
}

// Close stops every consumer, drains the connection and shuts down the
// embedded server, waiting for it, so its DataDir can be opened again.
// Calling Close again returns nil.
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	cs := make([]*consumer, 0, len(q.consumers))
	for c := range q.consumers {
		cs = append(cs, c)
	}
	q.mu.Unlock()

	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() { c.shutdown(true) })
	}
	wg.Wait()

	var errs []error
	if !q.nc.IsClosed() {
		done := make(chan struct{})
		q.nc.SetClosedHandler(func(*nats.Conn) { close(done) })
		if err := q.nc.Drain(); err != nil {
			q.nc.Close()
		} else {
			select {
			case <-done:
			case <-time.After(drainTimeout + time.Second):
				q.nc.Close()
			}
		}
		if err := q.nc.LastError(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, err)
		}
	}
	q.stopServer()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("natsq: close: %w", err)
	}
	return nil
}

func (q *Queue) stopServer() {
	if q.srv == nil {
		return
	}
	q.auth.close()
	q.srv.Shutdown()
	q.srv.WaitForShutdown()
	q.unlock()
}

func (q *Queue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

func (q *Queue) addConsumer(c *consumer) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.consumers[c] = struct{}{}
	return true
}

func (q *Queue) removeConsumer(c *consumer) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.consumers, c)
}
