// Package tail delivers the lines a sensor reads: it follows a log file
// the way `tail -F` does (from a saved offset, through rotation by rename
// and re-create and through copytruncate) and reads records from the
// unix sockets Suricata writes EVE to (unix_dgram and unix_stream
// outputs). Lines are capped; a longer one is skipped and counted, never
// buffered whole.
//
// Rotation and truncation are looked for when the file is idle (at its
// end): a writer renames, then reopens, so the old file stops growing.
// Copytruncate has the race `tail -F` has: lines written between the
// copy and the truncation are lost, and a writer that refills the file
// past the reader's offset before the reader looks is read from that
// offset.
//
// Following polls (Config.Poll) rather than using inotify: it works the
// same on every file system, including network and container mounts, and
// costs one stat per poll when the file is idle. The package imports only
// the standard library.
package tail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// DefaultMaxLine is the line cap when none is given (1 MiB).
const DefaultMaxLine = 1 << 20

// Config says what to follow and how.
type Config struct {
	Path string
	// Offset is where to start in the file (what a previous run's
	// callback last saw). A file shorter than Offset was replaced while
	// nobody watched: it is read from the start. Negative: start at the
	// end (only new lines).
	Offset int64
	// MaxLine caps a line (default DefaultMaxLine); longer lines are
	// skipped.
	MaxLine int
	// Poll is how often an idle file is checked for growth, rotation and
	// truncation (default 250 ms).
	Poll time.Duration
}

// Stats counts what a Follow did.
type Stats struct {
	Lines     uint64 // lines delivered
	Skipped   uint64 // lines over MaxLine, skipped
	Rotations uint64 // times the path was replaced (rename and create)
	Truncated uint64 // times the file shrank under the reader (copytruncate)
}

// Follow reads cfg.Path line by line and calls fn with each line (without
// its newline; valid only during the call) and the offset just after it in
// the current file, until ctx is done (it then returns nil), fn returns an
// error (returned), or reading fails. A path that does not exist yet is
// waited for. st, if not nil, is updated as it goes (read it after Follow
// returns).
func Follow(ctx context.Context, cfg Config, st *Stats, fn func(line []byte, offset int64) error) error {
	if cfg.MaxLine <= 0 {
		cfg.MaxLine = DefaultMaxLine
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	if st == nil {
		st = new(Stats)
	}
	t := &follower{cfg: cfg, st: st, fn: fn, buf: make([]byte, 0, 64<<10)}
	defer t.close()
	first := true
	for {
		if t.f == nil {
			// The offset is for the file there at start; a file that
			// appears later is read from its beginning.
			_, err := t.open(first)
			first = false
			if err != nil {
				return err
			}
		}
		if t.f != nil {
			n, err := t.drain()
			if err != nil {
				return err
			}
			if n > 0 && ctx.Err() == nil {
				continue // more may be there; check rotation only when idle
			}
			if err := t.check(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(cfg.Poll):
		}
	}
}

type follower struct {
	cfg  Config
	st   *Stats
	fn   func([]byte, int64) error
	f    *os.File
	info os.FileInfo
	off  int64  // offset of buf[0] in the file + len(buf): bytes consumed from the file
	buf  []byte // an incomplete line
	skip bool   // inside a line over the cap: drop until its newline
	rd   [64 << 10]byte
}

func (t *follower) close() {
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
}

// open opens the path; first says whether cfg.Offset applies. It returns
// false, nil when the path does not exist yet.
func (t *follower) open(first bool) (bool, error) {
	f, err := os.Open(t.cfg.Path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("tail: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return false, fmt.Errorf("tail: %w", err)
	}
	var start int64
	if first {
		switch {
		case t.cfg.Offset < 0:
			start = info.Size()
		case t.cfg.Offset <= info.Size():
			start = t.cfg.Offset
		}
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		f.Close()
		return false, fmt.Errorf("tail: %w", err)
	}
	t.f, t.info, t.off, t.buf, t.skip = f, info, start, t.buf[:0], false
	return true, nil
}

// drainMax is how much drain reads before returning, so a file that
// never stops growing still lets Follow look at its context.
const drainMax = 1 << 20

// drain reads what the open file has (up to drainMax) and delivers its
// complete lines; it returns the bytes read.
func (t *follower) drain() (int, error) {
	total := 0
	for total < drainMax {
		n, err := t.f.Read(t.rd[:])
		if n > 0 {
			total += n
			if err := t.feed(t.rd[:n]); err != nil {
				return total, err
			}
		}
		if err == io.EOF || n == 0 {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("tail: read %s: %w", t.cfg.Path, err)
		}
	}
	return total, nil
}

// feed splits data into lines, keeping an incomplete last one.
func (t *follower) feed(data []byte) error {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			t.off += int64(len(data))
			if !t.skip {
				if len(t.buf)+len(data) > t.cfg.MaxLine {
					t.skip, t.buf = true, t.buf[:0]
				} else {
					t.buf = append(t.buf, data...)
				}
			}
			return nil
		}
		t.off += int64(i + 1)
		if t.skip {
			t.skip = false
			t.st.Skipped++
		} else if len(t.buf)+i > t.cfg.MaxLine {
			t.buf = t.buf[:0]
			t.st.Skipped++
		} else {
			line := data[:i]
			if len(t.buf) > 0 {
				t.buf = append(t.buf, line...)
				line = t.buf
			}
			if err := t.deliver(line); err != nil {
				return err
			}
			t.buf = t.buf[:0]
		}
		data = data[i+1:]
	}
	return nil
}

func (t *follower) deliver(line []byte) error {
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return nil
	}
	t.st.Lines++
	return t.fn(line, t.off)
}

// check looks, when the file is idle, for truncation and rotation.
func (t *follower) check() error {
	cur, err := t.f.Stat()
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	if cur.Size() < t.off {
		// copytruncate: the file was emptied (and may have grown a bit
		// since); read it again from the start.
		t.st.Truncated++
		if _, err := t.f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("tail: %w", err)
		}
		t.off, t.buf, t.skip = 0, t.buf[:0], false
		return nil
	}
	now, err := os.Stat(t.cfg.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // renamed away, the new file not created yet
	}
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	if os.SameFile(now, t.info) {
		return nil
	}
	// Rotated: finish the old file (a writer may have added to it after
	// our last read), deliver a last line without its newline, then move
	// to the new file from its start.
	for {
		n, err := t.drain()
		if err != nil {
			return err
		}
		if n < drainMax {
			break
		}
	}
	if len(t.buf) > 0 && !t.skip {
		if err := t.deliver(t.buf); err != nil {
			return err
		}
	}
	t.st.Rotations++
	t.close()
	_, err = t.open(false)
	return err
}
