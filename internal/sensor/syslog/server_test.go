package syslog

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
)

// collector gathers the events a server hands on.
type collector struct {
	mu  sync.Mutex
	evs []sensor.Event
}

func (c *collector) handle(ev *sensor.Event) {
	c.mu.Lock()
	c.evs = append(c.evs, *ev)
	c.mu.Unlock()
}

func (c *collector) wait(t *testing.T, n int) []sensor.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		got := len(c.evs)
		c.mu.Unlock()
		if got >= n {
			c.mu.Lock()
			defer c.mu.Unlock()
			return append([]sensor.Event(nil), c.evs...)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("got %d events, want %d", len(c.evs), n)
	return nil
}

func TestServerUDP(t *testing.T) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var col collector
	s := &Server{Parser: Parser{Location: time.UTC}, Handle: col.handle, MaxMessage: 512}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeUDP(ctx, conn) }()

	c, err := net.Dial("udp", conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send := func(msg string) {
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	send("<38>Dec  7 10:00:00 gw sshd[1]: Failed password for root from 198.51.100.7 port 4000 ssh2")
	send("<38>Dec  7 10:00:01 gw sshd[1]: Accepted password for root from 198.51.100.8 port 4001 ssh2")
	send("<38>Dec  7 10:00:02 gw sshd[1]: Invalid user " + strings.Repeat("x", 600) + " from 198.51.100.9")                                      // over the cap
	send("<38>Dec  7 10:00:03 gw sshd[1]: Invalid user a from 198.51.100.10\n<38>Dec  7 10:00:03 gw sshd[1]: Invalid user b from 198.51.100.11") // two in one datagram
	evs := col.wait(t, 3)
	if evs[0].Src.String() != "198.51.100.7" || evs[1].User != "a" || evs[2].User != "b" {
		t.Errorf("%+v", evs)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c := s.Counts(); c.Messages != 4 || c.Events != 3 || c.Dropped != 1 {
		t.Errorf("counts %+v", c)
	}
}

func TestServerTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var col collector
	s := &Server{Parser: Parser{Location: time.UTC}, Handle: col.handle, MaxMessage: 1024, IdleTimeout: 300 * time.Millisecond, MaxConns: 4}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeTCP(ctx, ln) }()

	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Newline framing, then octet counting on the same connection, then
	// a raw access-log line (starts with digits, is not a count).
	c := dial()
	msg := "<38>1 2026-12-07T10:00:00Z gw sshd 1 - - Invalid user octet from 203.0.113.1 port 1"
	fmt.Fprintf(c, "<38>Dec  7 10:00:00 gw sshd[1]: Invalid user nl from 203.0.113.2 port 2\n")
	fmt.Fprintf(c, "%d %s", len(msg), msg)
	fmt.Fprintf(c, "203.0.113.3 - bob [07/Dec/2026:10:00:00 +0000] \"POST /login HTTP/1.1\" 401 1 \"-\" \"-\"\n")
	evs := col.wait(t, 3)
	if evs[0].User != "nl" || evs[1].User != "octet" || evs[2].User != "bob" {
		t.Errorf("%+v", evs)
	}
	// The idle connection is closed by the server.
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("idle connection left open")
	}
	c.Close()

	// A frame over the cap closes its connection; an octet count over
	// the cap too.
	for _, big := range []string{strings.Repeat("y", 2000) + "\n", "99999 <38>1 x"} {
		c = dial()
		fmt.Fprint(c, big)
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("oversized frame: connection left open")
		}
		c.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c := s.Counts(); c.Events != 3 || c.Dropped != 2 {
		t.Errorf("counts %+v", c)
	}
}

func TestServerTCPMaxConns(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{MaxConns: 2, IdleTimeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeTCP(ctx, ln) }()
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// Connections are accepted in order: when the third is, the first two
	// are being served.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("third connection served")
	}
	c.Close()
	// Cancelling closes the open connections and returns.
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("connection open after shutdown")
		}
		c.Close()
	}
}
