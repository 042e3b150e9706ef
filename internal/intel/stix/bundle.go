package stix

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

// Options tune Parse. The zero value is ready to use.
type Options struct {
	// Now is the time of records that state none; zero: time.Now().
	Now time.Time
	// DefaultTLP marks indicators that carry no TLP marking; empty leaves
	// them to intel.Record.Normalize (AMBER).
	DefaultTLP intel.TLP
	// MaxObject bounds one STIX object (and any other value of the
	// bundle) in bytes; default DefaultMaxObject.
	MaxObject int
	// MaxPending bounds the indicators held back when the input cannot
	// seek (see doc.go); default DefaultMaxPending. A bundle with more
	// fails with ErrTooManyPending and emits nothing.
	MaxPending int
}

// Defaults of Options.
const (
	DefaultMaxObject  = 4 << 20
	DefaultMaxPending = 50_000
)

// ErrTooManyPending is returned when a bundle read from a stream that
// cannot seek holds more indicators than Options.MaxPending.
var ErrTooManyPending = errors.New("stix: too many indicators to hold back from a stream that cannot seek; read the bundle from a file")

// Result counts what a parse read.
type Result struct {
	Objects    int // STIX objects in the bundle
	Indicators int // of them, indicators
	Records    int // records emitted
	Rejections intel.Rejections
}

// Parse reads a STIX 2.1 bundle (or a TAXII 2.1 envelope: any JSON object
// with an "objects" array) and emits one record per value of each
// indicator it can read, in file order. See ParseWith.
func Parse(ctx context.Context, r io.Reader, feed string, emit intel.Emit) (*intel.Rejections, error) {
	res, err := ParseWith(ctx, r, feed, emit, Options{})
	if res == nil {
		return nil, err
	}
	return &res.Rejections, err
}

// ParseWith is Parse with options and counts. An indicator that cannot be
// read in full (an unsupported pattern, a bad value, a revoked indicator,
// another pattern language) is rejected with its reason, and nothing of it
// is emitted. A malformed bundle is an error; when r can seek, the whole
// bundle is checked before the first record is emitted, so a malformed
// bundle emits nothing. An error from emit stops the parse and is
// returned as is.
func ParseWith(ctx context.Context, r io.Reader, feed string, emit intel.Emit, opt Options) (*Result, error) {
	if feed == "" {
		return nil, errors.New("stix: no feed name")
	}
	if opt.MaxObject <= 0 {
		opt.MaxObject = DefaultMaxObject
	}
	if opt.MaxPending <= 0 {
		opt.MaxPending = DefaultMaxPending
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	p := &parser{opt: opt, feed: feed, emit: emit, g: newGraph()}
	if rs, ok := r.(io.ReadSeeker); ok {
		if start, err := rs.Seek(0, io.SeekCurrent); err == nil {
			// First pass: the small objects (names, markings,
			// relationships); second pass: the indicators.
			if err := p.read(ctx, rs, p.collect); err != nil {
				return &p.res, err
			}
			if _, err := rs.Seek(start, io.SeekStart); err != nil {
				return &p.res, fmt.Errorf("stix: rewind for the second pass: %w", err)
			}
			p.res.Objects = 0
			err := p.read(ctx, rs, p.indicatorPass)
			return &p.res, err
		}
	}
	// One pass: indicators are held back until the relationships that
	// may follow them have been read.
	if err := p.read(ctx, r, p.collectAndHold); err != nil {
		return &p.res, err
	}
	for i := range p.held {
		if err := p.finish(&p.held[i]); err != nil {
			return &p.res, err
		}
		p.held[i] = indicator{}
	}
	return &p.res, nil
}

type parser struct {
	opt  Options
	feed string
	emit intel.Emit
	g    *graph
	res  Result
	held []indicator
	recs []intel.Record // records' buffer
	// patterns and members are reused for every object.
	patterns patternParser
	members  []member
	labels   map[string]readLabelResult // readLabel's answers

}

// read walks the top-level object of the input and calls fn for each
// element of its "objects" array.
func (p *parser) read(ctx context.Context, r io.Reader, fn func(obj []byte, ms []member, index int) error) error {
	s := newStream(r, p.opt.MaxObject)
	if c, err := s.peek(); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return errors.New("stix: empty input")
		}
		return err
	} else if c != '{' {
		return fmt.Errorf("stix: input is not a JSON object (a STIX bundle or TAXII envelope); it starts with %q", c)
	}
	s.pos++
	found := false
	for first := true; ; first = false {
		c, err := s.peek()
		if err != nil {
			return err
		}
		if c == '}' {
			s.pos++
			break
		}
		if !first {
			if err := s.expect(',', "',' or '}'"); err != nil {
				return err
			}
		}
		kv, err := s.value()
		if err != nil {
			return err
		}
		key, ok := str(kv)
		if !ok {
			return fmt.Errorf("stix: object key at byte %d is not a string", s.offset()-int64(len(kv)))
		}
		if err := s.expect(':', "':'"); err != nil {
			return err
		}
		if key != "objects" {
			if _, err := s.value(); err != nil {
				return err
			}
			continue
		}
		found = true
		if err := s.expect('[', `the "objects" array`); err != nil {
			return err
		}
		for i := 0; ; i++ {
			c, err := s.peek()
			if err != nil {
				return err
			}
			if c == ']' {
				s.pos++
				break
			}
			if i > 0 {
				if err := s.expect(',', "',' or ']' in the objects array"); err != nil {
					return err
				}
			}
			at := s.offset()
			obj, ms, err := s.valueMembers(p.members)
			p.members = ms
			if err != nil {
				return err
			}
			if obj[0] != '{' {
				return fmt.Errorf("stix: objects[%d] at byte %d is not a JSON object", i, at)
			}
			if i&255 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			p.res.Objects++
			if err := fn(obj, ms, i); err != nil {
				return err
			}
		}
	}
	if end, err := s.atEOF(); err != nil {
		return err
	} else if !end {
		return fmt.Errorf("stix: data after the end of the bundle at byte %d", s.offset())
	}
	if !found {
		return errors.New(`stix: the JSON object has no "objects" array`)
	}
	return nil
}

// objectType returns the "type" of a checked object.
func objectType(ms []member) string {
	for i := range ms {
		if string(ms[i].name()) == "type" {
			if b, ok := plain(ms[i].val); ok && string(b) == "indicator" {
				return "indicator"
			}
			t, _ := str(ms[i].val)
			return t
		}
	}
	return ""
}

// collect is the first pass: it keeps what labels and marks indicators.
func (p *parser) collect(obj []byte, ms []member, _ int) error {
	if t := objectType(ms); t != "indicator" {
		p.g.add(t, obj)
	}
	return nil
}

// indicatorPass is the second pass: it reads and emits the indicators.
func (p *parser) indicatorPass(obj []byte, ms []member, index int) error {
	if objectType(ms) != "indicator" {
		return nil
	}
	in := decodeIndicator(obj, ms, index, p.g)
	return p.finish(&in)
}

// collectAndHold is the single pass of a stream that cannot seek.
func (p *parser) collectAndHold(obj []byte, ms []member, index int) error {
	t := objectType(ms)
	if t != "indicator" {
		p.g.add(t, obj)
		return nil
	}
	if len(p.held) >= p.opt.MaxPending {
		return fmt.Errorf("%w (more than %d)", ErrTooManyPending, p.opt.MaxPending)
	}
	p.held = append(p.held, decodeIndicator(obj, ms, index, p.g))
	return nil
}

// finish turns one indicator into records and emits them, or rejects it.
func (p *parser) finish(in *indicator) error {
	p.res.Indicators++
	recs, reason := p.records(in)
	if reason != "" {
		p.res.Rejections.Add(in.where(), reason)
		return nil
	}
	for _, r := range recs {
		if err := p.emit(r); err != nil {
			return err
		}
		p.res.Records++
	}
	return nil
}
