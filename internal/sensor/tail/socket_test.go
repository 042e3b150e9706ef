package tail

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sockDir returns a short directory for sockets (paths are limited to 108
// bytes).
func sockDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestUnixgram(t *testing.T) {
	path := filepath.Join(sockDir(t), "eve.sock")
	// A stale socket file from a crashed run is replaced.
	stale, err := ListenUnixgram(path)
	if err != nil {
		t.Fatal(err)
	}
	stale.Close()
	conn, err := ListenUnixgram(path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	got := make(chan string, 10)
	var st Stats
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeUnixgram(ctx, conn, 64, &st, func(l []byte) { got <- string(l) }) }()

	c, err := net.Dial("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{`{"event_type":"dns"}` + "\n", strings.Repeat("x", 100), `{"a":1}` + "\n" + `{"b":2}`} {
		if _, err := c.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	for _, want := range []string{`{"event_type":"dns"}`, `{"a":1}`, `{"b":2}`} {
		select {
		case l := <-got:
			if l != want {
				t.Errorf("got %q, want %q", l, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no datagram, want %q", want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 1 || st.Lines != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestUnixStream(t *testing.T) {
	path := filepath.Join(sockDir(t), "eve.sock")
	ln, err := ListenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	// A live socket is not taken over.
	if _, err := ListenUnix(path); err == nil {
		t.Error("second listener on a live socket")
	}
	got := make(chan string, 10)
	var st Stats
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeUnixStream(ctx, ln, 32, &st, func(l []byte) { got <- string(l) }) }()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte(`{"n":1}` + "\n" + strings.Repeat("y", 50) + "\n" + `{"n":`))
	time.Sleep(600 * time.Millisecond) // past a read deadline, mid-line
	c.Write([]byte("2}\n"))
	for _, want := range []string{`{"n":1}`, `{"n":2}`} {
		select {
		case l := <-got:
			if l != want {
				t.Errorf("got %q, want %q", l, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no line, want %q", want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection open after shutdown")
	}
	c.Close()
	if st.Skipped != 1 || st.Lines != 2 {
		t.Errorf("stats %+v", st)
	}
}
