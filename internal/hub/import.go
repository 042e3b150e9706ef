package hub

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/store"
)

// Bucket is the object-store bucket imports pass through.
const Bucket = "RAMPART_INTEL_INPUT"

// Run is the outcome of one import or feed run.
type Run struct {
	ID         string             `json:"id"`
	Feed       string             `json:"feed"`
	Format     string             `json:"format"`
	Started    time.Time          `json:"started"`
	Finished   time.Time          `json:"finished"`
	Records    int                `json:"records"`    // records read
	Indicators store.ApplySummary `json:"indicators"` // what they did to the indicators
	// Events are records about the constituency's own weaknesses (open
	// services, leaked accounts): routed to their owners, not kept as
	// indicators.
	Events      int               `json:"events"`
	Rejected    int               `json:"rejected"`
	Rejections  []intel.Rejection `json:"rejections,omitempty"` // the first store.MaxFeedRejections
	Hits        int               `json:"hits"`                 // early warnings reported
	NewFindings int               `json:"new_findings"`
	Reopened    int               `json:"reopened"`
	Err         string            `json:"error,omitempty"`
}

func newRunID(at time.Time) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "run-" + at.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// Import reads one input. With an object store the input is streamed into
// it while it is parsed (storeWhileParsing), so a crash mid-run leaves it
// for Resume; without one it is read in place. The input is never held
// whole in memory. A run that fails (a malformed file, a report whose
// columns changed) is recorded on its feed with the error; what was
// applied before the failure stays, and running the same input again
// changes nothing twice.
func (h *Hub) Import(ctx context.Context, req ImportRequest, r io.Reader) (Run, error) {
	id := newRunID(h.d.Now())
	if err := h.check(&req); err != nil {
		return h.refused(ctx, id, req, err)
	}
	if h.d.Objects == nil {
		return h.run(ctx, id, req, func(ctx context.Context, emit intel.Emit) (*intel.Rejections, error) {
			return h.parse(ctx, req, r, emit)
		})
	}
	return h.storeWhileParsing(ctx, id, req, r)
}

// storeWhileParsing runs an input as it streams into the object store: the
// parser reads what is written, at the store's pace, so a report is not
// first uploaded whole and then read back (which kept a large report's
// early warnings waiting for its upload, and the store's memory holding
// both). The object is complete only once all of the input is stored; a
// run whose input could not be stored fails, and one that failed for a
// reason that may pass keeps its complete input for Resume.
func (h *Hub) storeWhileParsing(ctx context.Context, id string, req ImportRequest, r io.Reader) (Run, error) {
	pr, pw := io.Pipe()
	put := make(chan error, 1)
	go func() {
		_, err := h.d.Objects.PutObject(ctx, Bucket, id, requestMeta(req), pr)
		pr.CloseWithError(cmp.Or(err, errStored)) // a writer still writing learns it failed
		put <- err
	}()
	var (
		stored  bool
		putErr  error
		waitPut = func(cause error) error {
			if !stored {
				stored = true
				pw.CloseWithError(cause)
				putErr = <-put
			}
			return putErr
		}
	)
	src := io.TeeReader(&pacedReader{r: r, rate: h.d.ObjectRate, start: time.Now()}, pw)
	outer := ctx
	run, err := h.run(ctx, id, req, func(ctx context.Context, emit intel.Emit) (*intel.Rejections, error) {
		rej, err := h.parse(ctx, req, src, emit)
		var cause error // why the stored input is incomplete; nil: it is whole
		if err == nil || (transient(err) && outer.Err() == nil) {
			// What the parser did not read is stored all the same: all of
			// it, for Resume if this run failed for a reason that passes.
			if _, cerr := io.Copy(io.Discard, src); cerr != nil {
				cause, err = cerr, cmp.Or(err, cerr)
			}
		} else {
			cause = err // a failure that would fail again: nothing to keep
		}
		if perr := waitPut(cause); perr != nil && err == nil {
			err = fmt.Errorf("hub: store the input: %w", perr)
		}
		return rej, err
	})
	if perr := waitPut(cmp.Or(err, errRunEnded)); perr != nil {
		return run, err // nothing is stored to resume or remove
	}
	if err == nil || !transient(err) {
		if derr := h.d.Objects.DeleteObject(context.WithoutCancel(ctx), Bucket, id); derr != nil {
			h.d.Logger.Warn("hub: remove a processed input", "run", id, "err", derr)
		}
	}
	return run, err
}

var (
	errStored   = errors.New("hub: the input is stored")
	errRunEnded = errors.New("hub: the run ended before its input was read")
)

// ImportRecords applies records already read and normalized (a member's
// or partner's JSON push) through the same path as an input: matched for
// early warnings, merged, recorded on req.Feed as one run. Every field
// travels: the detail and the external ID reach the early warnings'
// evidence and the indicator's source, the recipients of a TLP:RED
// record the indicator. It does not pass through the object store: the
// records are in memory already, and their number is bounded by the
// caller.
func (h *Hub) ImportRecords(ctx context.Context, req ImportRequest, recs []intel.Record) (Run, error) {
	id := newRunID(h.d.Now())
	if req.Feed == "" {
		return Run{}, fmt.Errorf("%w: records need a feed name", ErrFormat)
	}
	return h.run(ctx, id, req, func(ctx context.Context, emit intel.Emit) (*intel.Rejections, error) {
		for i := range recs {
			if err := emit(recs[i]); err != nil {
				return nil, err
			}
		}
		return &intel.Rejections{}, nil
	})
}

// ImportFile reads a local file in place, or a MISP feed directory.
func (h *Hub) ImportFile(ctx context.Context, req ImportRequest, path string) (Run, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Run{}, fmt.Errorf("hub: %w", err)
	}
	if fi.IsDir() {
		return h.ImportDir(ctx, req, os.DirFS(path))
	}
	f, err := os.Open(path)
	if err != nil {
		return Run{}, fmt.Errorf("hub: %w", err)
	}
	defer f.Close()
	if req.Name == "" {
		req.Name = filepath.Base(path)
	}
	id := newRunID(h.d.Now())
	if err := h.check(&req); err != nil {
		return h.refused(ctx, id, req, err)
	}
	return h.run(ctx, id, req, func(ctx context.Context, emit intel.Emit) (*intel.Rejections, error) {
		return h.parse(ctx, req, f, emit)
	})
}

// ImportDir reads a MISP feed laid out as files (manifest.json and one
// file per event).
func (h *Hub) ImportDir(ctx context.Context, req ImportRequest, fsys fs.FS) (Run, error) {
	id := newRunID(h.d.Now())
	if err := h.check(&req); err != nil {
		return h.refused(ctx, id, req, err)
	}
	return h.run(ctx, id, req, func(ctx context.Context, emit intel.Emit) (*intel.Rejections, error) {
		return h.parseDir(ctx, req, fsys, emit)
	})
}

// refused answers a request the hub cannot read: recorded on the feed
// when the request names one (a configured feed's run), so its page says
// why.
func (h *Hub) refused(ctx context.Context, id string, req ImportRequest, err error) (Run, error) {
	if req.Feed == "" {
		return Run{}, err
	}
	return h.failed(ctx, id, req, err)
}

func requestMeta(req ImportRequest) map[string]string {
	m := map[string]string{"format": req.Format, "feed": req.Feed}
	for k, v := range map[string]string{"preset": req.Preset, "options": req.Options, "name": req.Name, "tlp": string(req.TLP)} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

func requestOf(m map[string]string) ImportRequest {
	return ImportRequest{Format: m["format"], Feed: m["feed"], Preset: m["preset"], Options: m["options"], Name: m["name"], TLP: intel.TLP(m["tlp"])}
}

// processObject runs a stored input and removes it, unless the run failed
// for a reason that may pass (the database or queue away, the process
// stopping): then Resume takes it up again.
func (h *Hub) processObject(ctx context.Context, id string, req ImportRequest) (Run, error) {
	rc, _, err := h.d.Objects.GetObject(ctx, Bucket, id)
	if err != nil {
		return Run{}, fmt.Errorf("hub: read the stored input: %w", err)
	}
	paced := &pacedReader{r: rc, rate: h.d.ObjectRate, start: time.Now()}
	run, err := h.run(ctx, id, req, func(ctx context.Context, emit intel.Emit) (*intel.Rejections, error) {
		return h.parse(ctx, req, paced, emit)
	})
	rc.Close()
	if err == nil || !transient(err) {
		if derr := h.d.Objects.DeleteObject(context.WithoutCancel(ctx), Bucket, id); derr != nil {
			h.d.Logger.Warn("hub: remove a processed input", "run", id, "err", derr)
		}
	}
	return run, err
}

// pacedReader reads at most rate bytes a second on average.
type pacedReader struct {
	r     io.Reader
	rate  int64
	start time.Time
	n     int64
}

func (p *pacedReader) Read(b []byte) (int, error) {
	if ahead := time.Duration(float64(p.n)/float64(p.rate)*float64(time.Second)) - time.Since(p.start); ahead > 0 {
		time.Sleep(ahead)
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	return n, err
}

func transient(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, store.ErrUnavailable) || errors.Is(err, queue.ErrClosed)
}

// Resume runs the inputs a stopped process left in the object store, oldest
// first, and returns how many it ran.
func (h *Hub) Resume(ctx context.Context) (int, error) {
	if h.d.Objects == nil {
		return 0, nil
	}
	list, err := h.d.Objects.ListObjects(ctx, Bucket)
	if err != nil {
		return 0, fmt.Errorf("hub: list stored inputs: %w", err)
	}
	n := 0
	for _, o := range list {
		req := requestOf(o.Meta)
		if err := h.check(&req); err != nil {
			h.d.Logger.Warn("hub: drop a stored input that cannot be read", "run", o.Name, "err", err)
			_ = h.d.Objects.DeleteObject(ctx, Bucket, o.Name)
			continue
		}
		run, err := h.processObject(ctx, o.Name, req)
		if err != nil && transient(err) {
			return n, err
		}
		n++
		h.d.Logger.Info("hub: resumed an import", "run", o.Name, "feed", run.Feed, "records", run.Records, "err", run.Err)
	}
	return n, nil
}

// maxHitBatch bounds the early warnings recorded at once: the findings
// store does best with a few thousand findings a transaction, and each
// carries its evidence.
const maxHitBatch = 5000

// batch is what one transaction applies: the records kept as indicators
// and the early warnings of every record read with them.
type batch struct {
	recs []intel.Record
	hits []finding.Finding
	// concerns link the owners warned to the indicators kept (not the
	// report rows, which are routed and not kept).
	concerns []store.Concern
	// prep is recs made ready to apply on the reading side, when the
	// store prepares batches (store.IndicatorPreparer); prepErr is why it
	// could not.
	prep    store.PreparedIndicators
	prepErr error
}

// tally is what the writer counts.
type tally struct {
	sum      store.ApplySummary
	hits     int
	newF     int
	reopened int
}

// run parses with read and applies what it emits in batches: the parser
// matches and emits while the previous batch is written.
func (h *Hub) run(ctx context.Context, id string, req ImportRequest, read func(context.Context, intel.Emit) (*intel.Rejections, error)) (Run, error) {
	run := Run{ID: id, Feed: req.Feed, Format: req.Format, Started: h.d.Now().UTC().Truncate(time.Microsecond)}
	reg, err := h.registry(ctx)
	if err != nil {
		return h.finish(ctx, run, err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	batches := make(chan *batch, 1)
	// Written batches go back to the parser to be filled again: a batch's
	// records are megabytes, and allocating them anew for every batch
	// makes the collector run more often on both cores.
	spare := make(chan *batch, 2)
	var (
		t    tally
		werr error
	)
	done := make(chan struct{})
	// A store that prepares batches has the next one grouped and merged
	// while it writes the last: the writer is the import's bottleneck.
	preparer, _ := h.d.Store.(store.IndicatorPreparer)
	rr := runRef{id: run.ID, feed: run.Feed, started: run.Started, preparer: preparer}
	go func() {
		defer close(done)
		for b := range batches {
			if werr != nil {
				continue
			}
			if err := h.write(ctx, rr, b, &t); err != nil {
				werr = err
				cancel(err)
			}
			clear(b.recs) // the store keeps none of them
			b.recs, b.hits, b.concerns, b.prep, b.prepErr = b.recs[:0], nil, nil, nil, nil
			select {
			case spare <- b:
			default:
			}
		}
	}()

	var (
		lk     leaks
		events int
	)
	newBatch := func() *batch {
		select {
		case b := <-spare:
			return b
		default:
			return &batch{recs: make([]intel.Record, 0, h.d.BatchSize)}
		}
	}
	cur := newBatch()
	send := func() error {
		if preparer != nil && len(cur.recs) > 0 {
			cur.prep, cur.prepErr = preparer.PrepareIndicators(sys, cur.recs)
		}
		select {
		case batches <- cur:
			cur = newBatch()
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	emit := func(r intel.Record) error {
		r.Feed = req.Feed
		run.Records++
		kept := r.Category != intel.CategoryExposed && r.Category != intel.CategoryLeak
		for _, hh := range reg.match(&r) {
			if r.Category == intel.CategoryLeak {
				lk.add(&r, hh)
				continue
			}
			cur.hits = append(cur.hits, warning(&r, hh))
			if kept {
				cur.concerns = append(cur.concerns, store.Concern{OrgID: hh.m.OrgID, Key: store.IndicatorKey{Kind: r.Kind, Value: r.Value}})
			}
		}
		if !kept {
			events++
		} else {
			// The store keeps neither the row nor its detail.
			r.Raw, r.Detail = "", nil
			cur.recs = append(cur.recs, r)
		}
		if len(cur.recs) >= h.d.BatchSize || len(cur.hits) >= maxHitBatch {
			return send()
		}
		return nil
	}
	rej, perr := read(ctx, emit)
	if perr == nil || context.Cause(ctx) == nil {
		// What was read before a parse error is sound: apply it.
		cur.hits = append(cur.hits, lk.findings()...)
		if err := send(); err != nil && perr == nil {
			perr = err
		}
	}
	close(batches)
	<-done

	run.Events = events
	run.Indicators = t.sum
	run.Hits, run.NewFindings, run.Reopened = t.hits, t.newF, t.reopened
	if rej != nil {
		run.Rejected = rej.Count
		run.Rejections = rej.List[:min(len(rej.List), store.MaxFeedRejections)]
	}
	switch {
	case werr != nil:
		err = werr
	case perr != nil:
		err = perr
	}
	return h.finish(ctx, run, err)
}

// runRef is what the writer needs of its run.
type runRef struct {
	id, feed string
	started  time.Time
	preparer store.IndicatorPreparer // nil: the store applies records as they are
}

// write applies one batch and records its early warnings.
func (h *Hub) write(ctx context.Context, run runRef, b *batch, t *tally) error {
	if len(b.recs) > 0 {
		var (
			sum store.ApplySummary
			err error
		)
		switch {
		case b.prepErr != nil:
			err = b.prepErr
		case b.prep != nil:
			sum, err = run.preparer.ApplyPreparedIndicators(ctx, sys, b.prep)
		default:
			sum, err = h.d.Store.ApplyIndicators(ctx, sys, b.recs)
		}
		if err != nil {
			return fmt.Errorf("hub: apply indicators: %w", err)
		}
		t.sum.Add(sum)
	}
	if len(b.concerns) > 0 {
		// After the batch's indicators are stored, so every key is found.
		if _, err := h.d.Store.AddConcerns(ctx, sys, b.concerns); err != nil {
			return fmt.Errorf("hub: record what concerns the owners warned: %w", err)
		}
	}
	if len(b.hits) == 0 || h.d.Findings == nil {
		return nil
	}
	changes, err := h.d.Findings.Record(ctx, finding.Batch{Source: finding.SourceIntel, Ref: run.feed, JobID: run.id, At: run.started, Seen: b.hits,
		EncodedEvidence: true}) // warningEvidence.appendJSON
	if err != nil {
		return fmt.Errorf("hub: record early warnings: %w", err)
	}
	t.hits += len(b.hits)
	for _, c := range changes {
		switch c.Kind {
		case finding.ChangeNew:
			t.newF++
		case finding.ChangeReopened:
			t.reopened++
		}
	}
	return nil
}

// finish records the run on its feed and returns it with err.
func (h *Hub) finish(ctx context.Context, run Run, err error) (Run, error) {
	run.Finished = h.d.Now().UTC()
	fr := store.FeedRun{At: run.Finished, Records: run.Records, New: run.Indicators.New, Updated: run.Indicators.Updated,
		Rejected: run.Rejected, Hits: run.Hits, Rejections: run.Rejections}
	if err != nil {
		run.Err = err.Error()
		fr.Err = run.Err
	}
	if _, rerr := h.d.Store.RecordFeedRun(context.WithoutCancel(ctx), sys, run.Feed, fr); rerr != nil {
		h.d.Logger.Warn("hub: record the run on its feed", "feed", run.Feed, "err", rerr)
		if err == nil {
			err = rerr
		}
	}
	if err != nil {
		h.d.Logger.Warn("hub: run failed", "run", run.ID, "feed", run.Feed, "records", run.Records, "err", err)
	} else {
		h.d.Logger.Info("hub: run", "run", run.ID, "feed", run.Feed, "records", run.Records, "new", run.Indicators.New,
			"updated", run.Indicators.Updated, "events", run.Events, "rejected", run.Rejected, "hits", run.Hits, "took", run.Finished.Sub(run.Started))
	}
	return run, err
}
