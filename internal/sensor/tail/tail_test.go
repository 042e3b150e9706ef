package tail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// follow runs Follow in the background and returns its lines on a channel.
type run struct {
	lines  chan string
	offs   chan int64
	done   chan error
	cancel context.CancelFunc
	st     Stats
}

func start(t *testing.T, cfg Config) *run {
	t.Helper()
	if cfg.Poll == 0 {
		cfg.Poll = 5 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{lines: make(chan string, 1000), offs: make(chan int64, 1000), done: make(chan error, 1), cancel: cancel}
	go func() {
		r.done <- Follow(ctx, cfg, &r.st, func(line []byte, off int64) error {
			r.lines <- string(line)
			r.offs <- off
			return nil
		})
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *run) stop(t *testing.T) {
	r.cancel()
	if r.done != nil {
		if err := <-r.done; err != nil {
			t.Error(err)
		}
		r.done = nil
	}
}

// expect waits for the next lines.
func (r *run) expect(t *testing.T, want ...string) (lastOff int64) {
	t.Helper()
	for _, w := range want {
		select {
		case got := <-r.lines:
			lastOff = <-r.offs
			if got != w {
				t.Fatalf("line %q, want %q", got, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no line, want %q", w)
		}
	}
	return lastOff
}

// quiet checks that no line arrives for a while.
func (r *run) quiet(t *testing.T) {
	t.Helper()
	select {
	case got := <-r.lines:
		t.Fatalf("unexpected line %q", got)
	case <-time.After(100 * time.Millisecond):
	}
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestRotationByRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "eve.json")
	appendFile(t, path, "one\ntwo\n")
	r := start(t, Config{Path: path})
	r.expect(t, "one", "two")
	// A writer keeps its old descriptor for a moment after the rename
	// (Suricata reopens on SIGHUP): what it writes there is read too.
	old, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	r.quiet(t) // the new file does not exist yet
	old.WriteString("three\nfour-without-newline")
	old.Close()
	appendFile(t, path, "five\n")
	r.expect(t, "three", "four-without-newline", "five")
	appendFile(t, path, "six\n")
	r.expect(t, "six")
	r.stop(t)
	if r.st.Rotations != 1 || r.st.Lines != 6 {
		t.Errorf("stats %+v", r.st)
	}
}

func TestCopyTruncate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	appendFile(t, path, "a1\na2\na3\n")
	r := start(t, Config{Path: path})
	r.expect(t, "a1", "a2", "a3")
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	r.quiet(t)
	appendFile(t, path, "b1\n")
	r.expect(t, "b1")
	r.stop(t)
	if r.st.Truncated != 1 {
		t.Errorf("stats %+v", r.st)
	}
}

func TestResumeAndPartialLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eve.json")
	appendFile(t, path, "first\nsecond\n")
	r := start(t, Config{Path: path})
	off := r.expect(t, "first")
	r.expect(t, "second")
	r.stop(t)

	// Resume after "first": "second" again, then new lines; a line
	// written in two pieces is delivered once, whole.
	appendFile(t, path, "thi")
	r = start(t, Config{Path: path, Offset: off})
	r.expect(t, "second")
	r.quiet(t)
	appendFile(t, path, "rd\n")
	end := r.expect(t, "third")
	r.stop(t)
	if info, _ := os.Stat(path); end != info.Size() {
		t.Errorf("offset %d, file %d", end, info.Size())
	}

	// An offset past the end means the file was replaced: from the start.
	r = start(t, Config{Path: path, Offset: 1 << 30})
	r.expect(t, "first")
	r.stop(t)
	// Negative: only new lines.
	r = start(t, Config{Path: path, Offset: -1})
	r.quiet(t)
	appendFile(t, path, "fourth\n")
	r.expect(t, "fourth")
}

func TestLongLinesAndMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later.json")
	r := start(t, Config{Path: path, MaxLine: 16})
	r.quiet(t)
	long := strings.Repeat("x", 100)
	appendFile(t, path, "short\n"+long+"\nafter\n"+long[:10])
	r.expect(t, "short", "after")
	appendFile(t, path, long+"\nend\n") // a long line built from pieces
	r.expect(t, "end")
	r.stop(t)
	if r.st.Skipped != 2 || r.st.Lines != 2+1 {
		t.Errorf("stats %+v", r.st)
	}
}

func TestCallbackError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x")
	appendFile(t, path, "a\nb\n")
	stop := fmt.Errorf("stop here")
	err := Follow(context.Background(), Config{Path: path, Poll: time.Millisecond}, nil, func([]byte, int64) error { return stop })
	if err != stop {
		t.Errorf("Follow = %v", err)
	}
}

// TestStopsWhileBusy checks that a file growing without pause does not
// keep Follow from returning when its context ends.
func TestStopsWhileBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.json")
	appendFile(t, path, "x\n")
	stopWriting := make(chan struct{})
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return
		}
		defer f.Close()
		line := []byte(strings.Repeat("y", 200) + "\n")
		for {
			select {
			case <-stopWriting:
				return
			default:
				f.Write(line)
			}
		}
	}()
	defer func() { close(stopWriting); <-wrote }()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	seen := make(chan struct{}, 1)
	go func() {
		done <- Follow(ctx, Config{Path: path, Poll: time.Millisecond}, nil, func([]byte, int64) error {
			select {
			case seen <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	<-seen
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not return after its context ended")
	}
}
