package tail

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// pollInterval is how often a blocked socket read wakes to look at the
// context.
const pollInterval = 500 * time.Millisecond

// ListenUnixgram creates the datagram socket Suricata's `filetype:
// unix_dgram` output sends to (Suricata connects to an existing path). A
// stale socket file at path is removed first.
func ListenUnixgram(path string) (*net.UnixConn, error) {
	removeStale(path, "unixgram")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("tail: %w", err)
	}
	return c, nil
}

// ListenUnix creates the stream socket Suricata's `filetype: unix_stream`
// output connects to. A stale socket file at path is removed first.
func ListenUnix(path string) (*net.UnixListener, error) {
	removeStale(path, "unix")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("tail: %w", err)
	}
	return ln, nil
}

// removeStale removes path if it is a socket nobody serves (a crashed
// run's); a live one is left, and the listen that follows fails.
func removeStale(path, network string) {
	if c, err := net.DialTimeout(network, path, time.Second); err == nil {
		c.Close()
		return
	}
	_ = removeIfSocket(path)
}

// ServeUnixgram reads datagrams (each one record, or several separated by
// newlines) from conn and calls fn with each line until ctx is done (then
// it returns nil). A datagram over maxLine (0: DefaultMaxLine) is dropped
// and counted in st.Skipped. It does not close conn.
func ServeUnixgram(ctx context.Context, conn *net.UnixConn, maxLine int, st *Stats, fn func(line []byte)) error {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	if st == nil {
		st = new(Stats)
	}
	buf := make([]byte, maxLine+1)
	for {
		if ctx.Err() != nil {
			return nil
		}
		if err := conn.SetReadDeadline(time.Now().Add(pollInterval)); err != nil {
			return fmt.Errorf("tail: %w", err)
		}
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("tail: %w", err)
		}
		if n > maxLine {
			st.Skipped++
			continue
		}
		for line := range bytes.SplitSeq(buf[:n], []byte("\n")) {
			if line = bytes.TrimSuffix(line, []byte("\r")); len(line) > 0 {
				st.Lines++
				fn(line)
			}
		}
	}
}

// ServeUnixStream accepts connections on ln and reads newline-delimited
// lines from each until ctx is done (then it closes ln and the
// connections and returns nil). Calls of fn are serialized, so fn needs no
// locking. A line over maxLine (0: DefaultMaxLine) is skipped and counted.
// st is updated under the same lock; read it after the call returns.
func ServeUnixStream(ctx context.Context, ln net.Listener, maxLine int, st *Stats, fn func(line []byte)) error {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	if st == nil {
		st = new(Stats)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex // serializes fn and st
		cmu   sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		cmu.Lock()
		for c := range conns {
			c.Close()
		}
		cmu.Unlock()
	})
	defer stop()
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("tail: %w", err)
		}
		cmu.Lock()
		conns[c] = struct{}{}
		cmu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				cmu.Lock()
				delete(conns, c)
				cmu.Unlock()
				c.Close()
			}()
			streamLines(ctx, c, maxLine, func(line []byte) {
				mu.Lock()
				defer mu.Unlock()
				st.Lines++
				fn(line)
			}, func() {
				mu.Lock()
				st.Skipped++
				mu.Unlock()
			})
		}()
	}
}

// streamLines reads lines from c until it ends or ctx is done; reads wake
// every pollInterval to look at ctx (Suricata may be quiet for hours, so
// idleness does not close the connection).
func streamLines(ctx context.Context, c net.Conn, maxLine int, line func([]byte), skipped func()) {
	r := bufio.NewReaderSize(c, 64<<10)
	var buf []byte
	skip := false
	for {
		if ctx.Err() != nil {
			return
		}
		if err := c.SetReadDeadline(time.Now().Add(pollInterval)); err != nil {
			return
		}
		chunk, err := r.ReadSlice('\n')
		if len(chunk) > 0 {
			complete := chunk[len(chunk)-1] == '\n'
			if complete {
				chunk = chunk[:len(chunk)-1]
			}
			switch {
			case skip:
			case len(buf)+len(chunk) > maxLine:
				skip, buf = true, buf[:0]
			default:
				buf = append(buf, chunk...)
			}
			if complete {
				if skip {
					skipped()
				} else if l := bytes.TrimSuffix(buf, []byte("\r")); len(l) > 0 {
					line(l)
				}
				buf, skip = buf[:0], false
			}
		}
		if err != nil {
			var ne net.Error
			if errors.Is(err, bufio.ErrBufferFull) || (errors.As(err, &ne) && ne.Timeout()) {
				continue
			}
			return
		}
	}
}
