package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rampart-cert/rampart/internal/hub/snapshot"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/sensor/detect"
)

// Config is what a sensor runs with.
type Config struct {
	// NATS is the platform's NATS URL; Creds the seed file `rampart
	// sensors add` wrote (it names the sensor and its organization).
	NATS  string
	Creds string

	// Inputs; at least one.
	EVE     string // Suricata EVE JSON: a file to follow, or "unix:PATH" / "unixgram:PATH" for Suricata's socket output
	Zeek    string // a directory of Zeek logs (conn, dns, http, ssl, ssh, notice; JSON or TSV)
	NetFlow string // UDP address for NetFlow v5, v9 and IPFIX
	Syslog  string // UDP and TCP address for syslog (authentication failures)
	// FromStart reads the files from their beginning instead of only
	// what is written from now on (a replay).
	FromStart bool

	// Internal are the member's networks (detect.Config.Member).
	Internal []netip.Prefix
	// Detect tunes the detectors; Member is taken from Internal.
	Detect detect.Config

	// BufferDir keeps unsent reports (and the indicator cache);
	// BufferMax caps it in bytes (default 256 MiB).
	BufferDir string
	BufferMax int64

	// Flush is how often detections are reported (default 5 s);
	// Heartbeat how often the counters are (default 15 s).
	Flush     time.Duration
	Heartbeat time.Duration

	Version string
	Logger  *slog.Logger
}

// Inputs the counters name.
var inputNames = []string{"eve", "zeek", "netflow", "syslog"}

// Agent is one running sensor.
type Agent struct {
	cfg    Config
	log    *slog.Logger
	edge   natsq.Edge
	prefix string // rampart.sensor.<org>.<name>

	buf   *buffer
	intel *intelTable

	mu  sync.Mutex // guards det
	det *detect.Detector

	started time.Time
	events  map[string]*atomic.Uint64
	errs    map[string]*atomic.Uint64
	rateMu  sync.Mutex
	lastN   map[string]uint64
	lastAt  time.Time
	rates   map[string]float64

	nc        *nats.Conn
	js        jetstream.JetStream
	up        chan struct{} // signalled on (re)connection
	sent      atomic.Uint64
	made      atomic.Uint64 // reports buffered
	madeDets  atomic.Uint64 // detections in them
	connected atomic.Bool
}

// New checks cfg and opens the buffer; Run starts the sensor.
func New(cfg Config) (*Agent, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NATS == "" || cfg.Creds == "" {
		return nil, errors.New("agent: the platform's NATS URL and the sensor's credentials are required")
	}
	if cfg.EVE == "" && cfg.Zeek == "" && cfg.NetFlow == "" && cfg.Syslog == "" {
		return nil, errors.New("agent: no input: give at least one of --eve, --zeek, --netflow, --syslog")
	}
	e, err := natsq.EdgeOfCreds(cfg.Creds)
	if err != nil {
		return nil, err
	}
	if e.Role != natsq.EdgeSensor {
		return nil, fmt.Errorf("agent: %s was issued to a %s, not a sensor", cfg.Creds, e.Role)
	}
	if cfg.BufferMax <= 0 {
		cfg.BufferMax = 256 << 20
	}
	if cfg.Flush <= 0 {
		cfg.Flush = 5 * time.Second
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	if cfg.BufferDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("agent: no --buffer directory and no cache directory: %w", err)
		}
		cfg.BufferDir = filepath.Join(dir, "rampart-sensor", e.Name)
	}
	log := cfg.Logger.With("component", "sensor", "sensor", e.Name, "org", e.Org)
	buf, err := openBuffer(filepath.Join(cfg.BufferDir, "reports"), cfg.BufferMax)
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, log: log, edge: e, prefix: e.Subject(), buf: buf, intel: newIntelTable(log),
		started: time.Now().UTC(), events: map[string]*atomic.Uint64{}, errs: map[string]*atomic.Uint64{},
		lastN: map[string]uint64{}, rates: map[string]float64{}, up: make(chan struct{}, 1)}
	for _, n := range inputNames {
		a.events[n], a.errs[n] = new(atomic.Uint64), new(atomic.Uint64)
	}
	dc := cfg.Detect
	dc.Member = cfg.Internal
	dc.Describe = a.intel.describe
	a.det, err = detect.New(dc, a.intel)
	if err != nil {
		buf.close()
		return nil, err
	}
	return a, nil
}

// Name and Org are the sensor's, from its credentials.
func (a *Agent) Name() string { return a.edge.Name }

// Org is the organization the sensor reports for.
func (a *Agent) Org() string { return a.edge.Org }

// Run runs the sensor until ctx ends: the inputs, the detectors, the
// indicator follower and the sender. It returns the first input's
// failure, or nil when ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	defer a.buf.close()
	nc, err := natsq.ConnectEdge(a.cfg.NATS, a.cfg.Creds,
		nats.Name("rampart-sensor-"+a.edge.Name),
		// A publish while disconnected fails at once: the report stays
		// in the disk buffer instead of the client's memory.
		nats.ReconnectBufSize(-1),
		nats.RetryOnFailedConnect(true),
		// A sensor started before the platform admitted its new key
		// (within seconds) keeps trying rather than giving up.
		nats.IgnoreAuthErrorAbort(),
		nats.ConnectHandler(func(*nats.Conn) { a.setUp(true) }),
		nats.ReconnectHandler(func(*nats.Conn) { a.setUp(true) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			a.setUp(false)
			if err != nil {
				a.log.Warn("platform lost; reports go to the disk buffer", "err", err)
			}
		}))
	if err != nil {
		return err
	}
	defer nc.Close()
	a.nc = nc
	a.setUp(nc.IsConnected())
	a.js, err = jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("agent: jetstream: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	goRun := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("agent: %s: %w", name, err)
			}
		}()
	}
	goRun("intel", func(ctx context.Context) error {
		return snapshot.FollowWith(ctx, nc, filepath.Join(a.cfg.BufferDir, "intel"), a.intel, snapshot.FollowOptions{Logger: a.log})
	})
	for name, run := range a.inputs() {
		goRun(name, run)
	}
	goRun("sender", a.send)
	a.log.Info("sensor running", "subject", a.prefix+".>", "buffer", a.cfg.BufferDir)

	flush := time.NewTicker(a.cfg.Flush)
	defer flush.Stop()
	beat := time.NewTicker(a.cfg.Heartbeat)
	defer beat.Stop()
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-errc:
			runErr = err
			break loop
		case <-flush.C:
			a.flush(time.Time{})
		case <-beat.C:
			a.heartbeat(ctx)
		}
	}
	cancel()
	wg.Wait()
	// What was seen but not yet reported goes to the buffer for the
	// next run.
	a.flush(time.Time{})
	return runErr
}

func (a *Agent) setUp(up bool) {
	a.connected.Store(up)
	if up {
		select {
		case a.up <- struct{}{}:
		default:
		}
	}
}

// observe takes events from an input into the detectors.
func (a *Agent) observe(input string, evs ...*sensor.Event) {
	a.events[input].Add(uint64(len(evs)))
	a.mu.Lock()
	for _, ev := range evs {
		a.det.Observe(ev)
	}
	a.mu.Unlock()
}

// flush turns what the detectors closed into reports in the buffer. now
// is event time (zero: the latest event seen), so a replay gives what
// live traffic would.
func (a *Agent) flush(now time.Time) {
	a.mu.Lock()
	dets := a.det.Flush(now)
	a.mu.Unlock()
	// A report stays under a quarter of the buffer's cap (a detection
	// takes some 400 bytes), so dropping past the cap loses whole old
	// reports, never the newest.
	per := int(min(max(a.cfg.BufferMax/4/400, 1), sensor.MaxReportDetections/2))
	for len(dets) > 0 {
		n := min(len(dets), per)
		if err := a.enqueue(dets[:n]); err != nil {
			a.log.Error("report not buffered", "detections", n, "err", err)
		}
		dets = dets[n:]
	}
}

// enqueue buffers one report of detections.
func (a *Agent) enqueue(dets []sensor.Detection) error {
	r := &sensor.Report{ID: newID(), Sent: time.Now().UTC(), Stats: a.Stats()}
	for _, d := range dets {
		r.Detections = append(r.Detections, sensor.Wire(d))
	}
	data, err := sensor.EncodeReport(r)
	if err != nil {
		return err
	}
	if err := a.buf.append(record{Subject: sensor.SubjectDetections, ID: r.ID, Data: data, Detections: len(dets)}); err != nil {
		return err
	}
	a.made.Add(1)
	a.madeDets.Add(uint64(len(dets)))
	return nil
}

// heartbeat sends the counters now, when connected; a heartbeat is not
// buffered (the next one says the same, newer).
func (a *Agent) heartbeat(ctx context.Context) {
	if !a.connected.Load() {
		return
	}
	r := &sensor.Report{ID: newID(), Sent: time.Now().UTC(), Stats: a.Stats()}
	data, err := sensor.EncodeReport(r)
	if err != nil {
		a.log.Error("heartbeat", "err", err)
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := a.js.Publish(pctx, a.prefix+"."+sensor.SubjectStats, data, jetstream.WithMsgID(r.ID)); err != nil {
		a.log.Debug("heartbeat not sent", "err", err)
	}
}

// send publishes the buffered reports in order, each acknowledged by
// the platform's stream before the next, waiting out losses of the
// platform.
func (a *Agent) send(ctx context.Context) error {
	wait := time.Second
	for {
		r, at, ok, err := a.buf.next()
		if err != nil {
			return err
		}
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-a.buf.notify:
			case <-time.After(time.Second):
			}
			continue
		}
		if !a.connected.Load() {
			select {
			case <-ctx.Done():
				return nil
			case <-a.up:
				a.heartbeat(ctx) // say at once what was dropped meanwhile
			case <-time.After(time.Second):
			}
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = a.js.Publish(pctx, a.prefix+"."+r.Subject, r.Data, jetstream.WithMsgID(r.ID))
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			a.log.Warn("report not accepted yet", "id", r.ID, "err", err, "retry_in", wait)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			wait = min(2*wait, 30*time.Second)
			continue
		}
		wait = time.Second
		a.buf.ack(at)
		a.sent.Add(1)
	}
}

// Stats are the sensor's counters now.
func (a *Agent) Stats() sensor.Stats {
	s := sensor.Stats{Started: a.started, Version: a.cfg.Version, Events: map[string]uint64{}, Errors: map[string]uint64{}, Indicators: a.intel.count()}
	for _, n := range inputNames {
		if v := a.events[n].Load(); v > 0 {
			s.Events[n] = v
		}
		if v := a.errs[n].Load(); v > 0 {
			s.Errors[n] = v
		}
	}
	a.rateMu.Lock()
	now := time.Now()
	if el := now.Sub(a.lastAt).Seconds(); a.lastAt.IsZero() || el >= 1 {
		for n, v := range s.Events {
			if !a.lastAt.IsZero() {
				a.rates[n] = float64(v-a.lastN[n]) / el
			}
			a.lastN[n] = v
		}
		a.lastAt = now
	}
	if len(a.rates) > 0 {
		s.Rates = make(map[string]float64, len(a.rates))
		for n, r := range a.rates {
			s.Rates[n] = r
		}
	}
	a.rateMu.Unlock()
	b := a.buf.Stats()
	s.DroppedReports, s.DroppedDetections, s.DroppedBytes, s.BufferedBytes = b.DroppedReports, b.DroppedDetections, b.DroppedBytes, uint64(max(b.Bytes, 0))
	return s
}

// Made is how many reports of detections the sensor made, and how many
// detections they held: sent, waiting in the buffer or dropped.
func (a *Agent) Made() (reports, detections uint64) { return a.made.Load(), a.madeDets.Load() }

// Sent is how many reports the platform acknowledged.
func (a *Agent) Sent() uint64 { return a.sent.Load() }

// Connected reports whether the sensor is in touch with the platform.
func (a *Agent) Connected() bool { return a.connected.Load() }

// Buffered is what waits in the disk buffer.
func (a *Agent) Buffered() BufferStats { return a.buf.Stats() }

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
