package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The lab: identical weak hosts on loopback addresses, each with an
// unauthenticated Redis on 6379 and an HTTP server on 8080 that names its
// version, both in the top 1,000 ports the platform scans. Every host
// gives the same observations and findings, so a result applied twice or
// lost shows as a host that differs from the others. The lab lives in
// this process: it survives every kill of the platform.

// labPorts are the ports the lab opens on every host.
var labPorts = []int{6379, 8080}

// lab is the running set of hosts.
type lab struct {
	hosts []string
	lns   []net.Listener
	srvs  []*http.Server
	wg    sync.WaitGroup
}

// startLab opens n hosts at 127.B.C.1 … 127.B.C.n, B and C chosen at
// random (B in 200–249) so another run or test on this machine is not in
// the way; it tries a few ranges.
func startLab(n int) (*lab, error) {
	var last error
	for try := 0; try < 8; try++ {
		b, c := 200+rand.IntN(50), rand.IntN(256)
		l := &lab{}
		if last = l.open(b, c, n); last == nil {
			return l, nil
		}
		l.close()
	}
	return nil, fmt.Errorf("faults: lab: %w", last)
}

func (l *lab) open(b, c, n int) error {
	for i := 1; i <= n; i++ {
		ip := netip.AddrFrom4([4]byte{127, byte(b), byte(c), byte(i)}).String()
		rl, err := net.Listen("tcp", net.JoinHostPort(ip, "6379"))
		if err != nil {
			return err
		}
		l.lns = append(l.lns, rl)
		hl, err := net.Listen("tcp", net.JoinHostPort(ip, "8080"))
		if err != nil {
			return err
		}
		l.lns = append(l.lns, hl)
		l.hosts = append(l.hosts, ip)
		l.wg.Add(1)
		go func() { defer l.wg.Done(); serveRedis(rl) }()
		srv := &http.Server{Handler: http.HandlerFunc(weakWeb), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
			WriteTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10}
		l.srvs = append(l.srvs, srv)
		l.wg.Add(1)
		go func() { defer l.wg.Done(); _ = srv.Serve(hl) }()
	}
	return nil
}

func (l *lab) close() {
	for _, s := range l.srvs {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = s.Shutdown(ctx)
		cancel()
	}
	for _, ln := range l.lns {
		ln.Close()
	}
	l.wg.Wait()
}

// weakWeb is an old Apache that names itself and sets no security header.
func weakWeb(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Server", "Apache/2.4.49 (Unix)")
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, "<!doctype html><html><head><title>Cổng thông tin thử nghiệm</title></head><body><h1>Faults lab</h1></body></html>\n")
}

// serveRedis answers like a Redis 6.0 without a password, enough for a
// fingerprint and the unauthenticated-Redis check.
func serveRedis(ln net.Listener) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			redisSession(c)
		}()
	}
}

const redisInfo = "# Server\r\nredis_version:6.0.16\r\nredis_mode:standalone\r\nos:Linux 5.15.0 x86_64\r\ntcp_port:6379\r\n" +
	"# Clients\r\nconnected_clients:1\r\n# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\n"

func redisSession(c net.Conn) {
	r := bufio.NewReaderSize(io.LimitReader(c, 64<<10), 4096)
	for i := 0; i < 32; i++ {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		args, err := readRedisCommand(r)
		if err != nil {
			return
		}
		var reply string
		switch strings.ToUpper(args[0]) {
		case "PING":
			reply = "+PONG\r\n"
		case "INFO":
			reply = "$" + strconv.Itoa(len(redisInfo)) + "\r\n" + redisInfo + "\r\n"
		case "AUTH":
			reply = "-ERR AUTH <password> called without any password configured for the default user.\r\n"
		case "QUIT":
			_, _ = io.WriteString(c, "+OK\r\n")
			return
		case "DBSIZE":
			reply = ":3\r\n"
		default:
			reply = "-ERR unknown command '" + strings.ToLower(args[0]) + "'\r\n"
		}
		if _, err := io.WriteString(c, reply); err != nil {
			return
		}
	}
}

// readRedisCommand reads one RESP array of bulk strings, or an inline
// command; bounded in count and size.
func readRedisCommand(r *bufio.Reader) ([]string, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(line, "*") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "GET") && strings.Contains(line, "HTTP/") {
			return nil, errors.New("not redis")
		}
		return f, nil
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n < 1 || n > 16 {
		return nil, errors.New("bad array")
	}
	args := make([]string, 0, n)
	for i := 0; i < n; i++ {
		h, err := readLine(r)
		if err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimPrefix(h, "$"))
		if !strings.HasPrefix(h, "$") || err != nil || size < 0 || size > 4096 {
			return nil, errors.New("bad bulk")
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		args = append(args, string(buf[:size]))
	}
	return args, nil
}

func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if len(line) > 1024 {
		return "", errors.New("line too long")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
