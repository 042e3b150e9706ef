package portscan

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/target"
)

// hostPort is one (address, port) pair of a truth or result set.
type hostPort struct {
	addr netip.Addr
	port uint16
}

// lab is a set of loopback listeners: the truth a scan must find.
type lab struct {
	truth map[hostPort]bool
	ports []uint16 // every port some listener holds, sorted
	lns   []net.Listener
}

// newLab listens on perHost ephemeral ports and fixed ports of each of the
// given loopback addresses. Listeners accept and drop connections.
func newLab(t testing.TB, addrs []netip.Addr, perHost int, fixed []uint16) *lab {
	t.Helper()
	l := &lab{truth: map[hostPort]bool{}}
	listen := func(a netip.Addr, port uint16) bool {
		ln, err := net.Listen("tcp", netip.AddrPortFrom(a, port).String())
		if err != nil {
			return false
		}
		l.lns = append(l.lns, ln)
		p := uint16(ln.Addr().(*net.TCPAddr).Port)
		l.truth[hostPort{a, p}] = true
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		return true
	}
	for _, a := range addrs {
		for range perHost {
			if !listen(a, 0) {
				t.Fatalf("listen on %v", a)
			}
		}
		for _, p := range fixed {
			listen(a, p) // a fixed port someone else holds is just left out
		}
	}
	t.Cleanup(func() {
		for _, ln := range l.lns {
			ln.Close()
		}
	})
	seen := map[uint16]bool{}
	for hp := range l.truth {
		seen[hp.port] = true
	}
	l.ports = slices.Sorted(maps.Keys(seen))
	return l
}

func loopbacks(prefix string, from, to int) []netip.Addr {
	var out []netip.Addr
	for i := from; i <= to; i++ {
		out = append(out, netip.MustParseAddr(fmt.Sprintf("%s.%d", prefix, i)))
	}
	return out
}

func targetsOf(addrs []netip.Addr) func(func(target.Target) bool) {
	return func(yield func(target.Target) bool) {
		for _, a := range addrs {
			if !yield(target.Target{Addr: a, Spec: a.String()}) {
				return
			}
		}
	}
}

func scanSet(t testing.TB, cfg Config, addrs []netip.Addr) (map[hostPort]bool, Stats) {
	t.Helper()
	got := map[hostPort]bool{}
	st, err := Scan(context.Background(), cfg, targetsOf(addrs), func(o Open) {
		hp := hostPort{o.Target.Addr, o.Port}
		if got[hp] {
			t.Errorf("%v reported twice", hp)
		}
		got[hp] = true
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return got, st
}

func diff(t *testing.T, got, want map[hostPort]bool) {
	t.Helper()
	for hp := range want {
		if !got[hp] {
			t.Errorf("open %v:%d not found", hp.addr, hp.port)
		}
	}
	for hp := range got {
		if !want[hp] {
			t.Errorf("%v:%d reported open but nothing listens there", hp.addr, hp.port)
		}
	}
}

// fixedPorts are deterministic pseudo-random ports below the ephemeral range.
func fixedPorts(seed uint64, n int) []uint16 {
	r := rand.New(rand.NewPCG(seed, 0))
	var out []uint16
	for range n {
		out = append(out, uint16(20000+r.IntN(10000)))
	}
	return out
}

func TestScanLoopbackExact(t *testing.T) {
	hosts := loopbacks("127.0.1", 1, 10)
	l := newLab(t, hosts, 3, fixedPorts(1, 2))
	// Two more addresses with nothing listening, and every port some
	// listener holds probed on every host: most probes hit closed ports.
	scanned := append(slices.Clone(hosts), loopbacks("127.0.1", 11, 12)...)
	ports := slices.Clone(l.ports)
	for _, engine := range []string{"socket", "socket-3-workers", "dial"} {
		t.Run(engine, func(t *testing.T) {
			cfg := Config{Ports: ports, Concurrency: 64, HostBatch: 5, Workers: 1}
			if engine == "socket-3-workers" {
				cfg.Workers = 3
			}
			if engine == "dial" {
				var d net.Dialer
				cfg.Dial = d.DialContext
			}
			first, st := scanSet(t, cfg, scanned)
			diff(t, first, l.truth)
			if want := len(scanned) * len(ports); st.Probed != want || st.Open != len(l.truth) || st.Closed != want-len(l.truth) || st.TimedOut != 0 || st.Hosts != len(scanned) {
				t.Errorf("stats %+v, want %d probed, %d open", st, want, len(l.truth))
			}
			second, _ := scanSet(t, cfg, scanned)
			if !maps.Equal(first, second) {
				t.Error("second scan found a different open set")
			}
		})
	}
}

func TestScanRealTimeoutOnFullBacklog(t *testing.T) {
	// A listener whose accept queue is full drops SYNs: the one way to get
	// a truly silent port on loopback without privileges.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Skip(err)
	}
	defer syscall.Close(fd)
	addr := netip.MustParseAddr("127.0.1.30")
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: addr.As4()}); err != nil {
		t.Skip(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Skip(err)
	}
	sa, _ := syscall.Getsockname(fd)
	port := uint16(sa.(*syscall.SockaddrInet4).Port)
	// Fill the queue.
	var fill []net.Conn
	defer func() {
		for _, c := range fill {
			c.Close()
		}
	}()
	for range 4 {
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(addr, port).String(), 200*time.Millisecond)
		if err != nil {
			break
		}
		fill = append(fill, c)
	}
	cfg := Config{Ports: []uint16{port}, Timeout: 300 * time.Millisecond, Retries: 2}
	began := time.Now()
	got, st := scanSet(t, cfg, []netip.Addr{addr})
	if len(got) != 0 || st.TimedOut != 1 || st.Retried != 2 {
		t.Fatalf("open %v, stats %+v; want one silent port tried three times", got, st)
	}
	if el := time.Since(began); el < 800*time.Millisecond || el > 5*time.Second {
		t.Errorf("three attempts of 300ms took %v", el)
	}
}

// refused is what a dial to a closed port returns.
func refused() error {
	return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}

// fakeNet answers dials without the network: open ports get a pipe,
// silent ones block until the deadline, the rest are refused after delay.
type fakeNet struct {
	open, silent map[string]bool
	delay        time.Duration

	mu        sync.Mutex
	calls     []string
	deadlines []time.Duration // remaining time at each dial of a silent port
	inflight  int
	peak      int
}

func (f *fakeNet) dial(ctx context.Context, network, address string) (net.Conn, error) {
	f.mu.Lock()
	f.calls = append(f.calls, address)
	f.inflight++
	f.peak = max(f.peak, f.inflight)
	if dl, ok := ctx.Deadline(); ok && f.silent[address] {
		f.deadlines = append(f.deadlines, time.Until(dl))
	}
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.inflight--; f.mu.Unlock() }()
	if f.silent[address] {
		<-ctx.Done()
		return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.open[address] {
		c1, c2 := net.Pipe()
		c2.Close()
		return c1, nil
	}
	return nil, refused()
}

func TestScanRetriesAndAdaptiveTimeout(t *testing.T) {
	h := netip.MustParseAddr("127.0.1.40")
	f := &fakeNet{
		open:   map[string]bool{"127.0.1.40:22": true},
		silent: map[string]bool{"127.0.1.40:81": true, "127.0.1.40:82": true},
		delay:  time.Millisecond,
	}
	ports := []uint16{22, 23, 24, 25, 26, 27, 28, 29, 30, 81, 82}
	// The probe order is fixed (see permute): a closed port comes first,
	// so the host has an RTT sample before any silent port is tried.
	cfg := Config{Ports: ports, Dial: f.dial, Concurrency: 1, Timeout: 10 * time.Second, MinTimeout: 50 * time.Millisecond, Retries: 2}
	began := time.Now()
	got, st := scanSet(t, cfg, []netip.Addr{h})
	el := time.Since(began)
	if len(got) != 1 || !got[hostPort{h, 22}] {
		t.Errorf("open set %v", got)
	}
	if st.TimedOut != 2 || st.Retried != 4 || st.Probed != len(ports) || st.Closed != 8 {
		t.Errorf("stats %+v, want 2 timed out after 2 retries each", st)
	}
	// 2 silent ports × (t + 2t + 4t) with t near MinTimeout (more on a
	// loaded machine), far below one full 10s Timeout.
	if el > 8*time.Second {
		t.Errorf("scan took %v: silent ports did not get the adaptive timeout", el)
	}
	slices.Sort(f.deadlines)
	if len(f.deadlines) != 6 {
		t.Fatalf("%d dials of silent ports, want 6", len(f.deadlines))
	}
	if d := f.deadlines[0]; d > 2*time.Second || d < 30*time.Millisecond {
		t.Errorf("first silent timeout %v, want about MinTimeout (50ms), far below Timeout", d)
	}
	if lo, hi := f.deadlines[0], f.deadlines[5]; hi < 3*lo {
		t.Errorf("retry timeouts %v: not doubled per retry", f.deadlines)
	}
}

func TestTimeoutBeforeAnySample(t *testing.T) {
	var e rttEstimator
	if got := e.Timeout(10*time.Millisecond, time.Second); got != time.Second {
		t.Errorf("no samples: %v", got)
	}
	e.Sample(2 * time.Millisecond)
	if got := e.Timeout(10*time.Millisecond, time.Second); got != 10*time.Millisecond {
		t.Errorf("fast host: %v, want the floor", got)
	}
	for range 20 {
		e.Sample(100 * time.Millisecond)
	}
	if got := e.Timeout(10*time.Millisecond, time.Second); got < 100*time.Millisecond || got > 400*time.Millisecond {
		t.Errorf("100ms host: %v", got)
	}
	e.Sample(5 * time.Second)
	if got := e.Timeout(10*time.Millisecond, time.Second); got != time.Second {
		t.Errorf("cap: %v", got)
	}
}

func TestScanRateLimit(t *testing.T) {
	f := &fakeNet{}
	hosts := loopbacks("127.0.1", 50, 53)
	ports := make([]uint16, 100)
	for i := range ports {
		ports[i] = uint16(1000 + i)
	}
	began := time.Now()
	_, st := scanSet(t, Config{Ports: ports, Dial: f.dial, Rate: 200}, hosts)
	el := time.Since(began)
	if st.Probed != 400 {
		t.Fatalf("probed %d", st.Probed)
	}
	if el < 1500*time.Millisecond || el > 10*time.Second {
		t.Errorf("400 probes at 200/s took %v, want about 2s", el)
	}
}

func TestScanPerHostRate(t *testing.T) {
	f := &fakeNet{}
	ports := make([]uint16, 60)
	for i := range ports {
		ports[i] = uint16(2000 + i)
	}
	// One host limited to 50/s: 60 probes take about a second (after a
	// burst of 5); the other hosts are not slowed by it beyond their own
	// share.
	began := time.Now()
	_, st := scanSet(t, Config{Ports: ports, Dial: f.dial, PerHostRate: 50}, loopbacks("127.0.1", 60, 62))
	el := time.Since(began)
	if st.Probed != 180 {
		t.Fatalf("probed %d", st.Probed)
	}
	if el < 800*time.Millisecond || el > 8*time.Second {
		t.Errorf("60 probes per host at 50/s took %v", el)
	}
}

func TestScanConcurrencyBound(t *testing.T) {
	f := &fakeNet{delay: 3 * time.Millisecond}
	ports := make([]uint16, 200)
	for i := range ports {
		ports[i] = uint16(3000 + i)
	}
	_, st := scanSet(t, Config{Ports: ports, Dial: f.dial, Concurrency: 7}, loopbacks("127.0.1", 70, 72))
	if st.Probed != 600 {
		t.Fatalf("probed %d", st.Probed)
	}
	if f.peak > 7 || f.peak < 5 {
		t.Errorf("peak in flight %d, want at most (and close to) 7", f.peak)
	}
}

func TestScanSpreadsAcrossHosts(t *testing.T) {
	f := &fakeNet{}
	hosts := loopbacks("127.0.1", 80, 84)
	ports := []uint16{1, 2, 3, 4, 5, 6, 7, 8}
	scanSet(t, Config{Ports: ports, Dial: f.dial, Concurrency: 1}, hosts)
	if len(f.calls) != 40 {
		t.Fatalf("%d calls", len(f.calls))
	}
	for i := 1; i < len(f.calls); i++ {
		a, _ := netip.ParseAddrPort(f.calls[i-1])
		b, _ := netip.ParseAddrPort(f.calls[i])
		if a.Addr() == b.Addr() {
			t.Fatalf("probes %d and %d both went to %v: %v", i-1, i, a.Addr(), f.calls)
		}
	}
	// ports are not probed in ascending order
	var order []uint16
	for _, c := range f.calls[:40:40] {
		if ap, _ := netip.ParseAddrPort(c); ap.Addr() == hosts[0] {
			order = append(order, ap.Port())
		}
	}
	if slices.IsSorted(order) {
		t.Errorf("ports probed in order %v", order)
	}
}

func TestScanCancel(t *testing.T) {
	t.Run("dial", func(t *testing.T) {
		f := &fakeNet{silent: map[string]bool{}}
		for p := 1; p <= 100; p++ {
			f.silent[fmt.Sprintf("127.0.1.90:%d", p)] = true
		}
		ports := make([]uint16, 100)
		for i := range ports {
			ports[i] = uint16(i + 1)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		began := time.Now()
		_, err := Scan(ctx, Config{Ports: ports, Dial: f.dial, Timeout: 30 * time.Second}, targetsOf([]netip.Addr{netip.MustParseAddr("127.0.1.90")}), nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v", err)
		}
		if el := time.Since(began); el > time.Second {
			t.Errorf("cancel took %v", el)
		}
	})
	t.Run("socket", func(t *testing.T) {
		ports, _ := target.ParsePorts("all")
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		began := time.Now()
		st, err := Scan(ctx, Config{Ports: ports}, targetsOf(loopbacks("127.0.1", 91, 99)), nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v", err)
		}
		if el := time.Since(began); el > time.Second {
			t.Errorf("cancel took %v", el)
		}
		if st.Probed == 0 || st.Probed >= 9*65535 {
			t.Errorf("probed %d before cancel", st.Probed)
		}
	})
}

func TestScanProgressAndConfig(t *testing.T) {
	f := &fakeNet{delay: time.Millisecond}
	ports := make([]uint16, 300)
	for i := range ports {
		ports[i] = uint16(4000 + i)
	}
	var calls atomic.Int32
	var last Stats
	_, st := scanSet(t, Config{Ports: ports, Dial: f.dial, Concurrency: 10, ProgressInterval: 20 * time.Millisecond,
		Progress: func(s Stats) { calls.Add(1); last = s }}, loopbacks("127.0.1", 100, 101))
	if calls.Load() < 2 || last.Probed != st.Probed {
		t.Errorf("%d progress calls, last %+v, final %+v", calls.Load(), last, st)
	}
	for _, bad := range []Config{{}, {Ports: []uint16{0}}, {Ports: []uint16{1}, Rate: -1}} {
		if _, err := Scan(context.Background(), bad, targetsOf(nil), nil); !errors.Is(err, ErrConfig) {
			t.Errorf("Scan(%+v) = %v, want ErrConfig", bad, err)
		}
	}
	// no targets: nothing to do
	if st, err := Scan(context.Background(), Config{Ports: []uint16{1}}, targetsOf(nil), nil); err != nil || st.Probed != 0 {
		t.Errorf("empty scan: %+v %v", st, err)
	}
}

func TestRaiseFDLimit(t *testing.T) {
	n, err := RaiseFDLimit()
	if err != nil || n < 64 {
		t.Fatalf("RaiseFDLimit = %d, %v", n, err)
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur != n {
		t.Errorf("limit now %+v, reported %d", rl, n)
	}
}

func TestBucket(t *testing.T) {
	now := time.Now()
	b := newBucket(10, 2, now)
	for range 2 {
		if ok, _ := b.Allow(now); !ok {
			t.Fatal("burst refused")
		}
	}
	ok, d := b.Allow(now)
	if ok || d < 90*time.Millisecond || d > 110*time.Millisecond {
		t.Fatalf("after burst: %v %v", ok, d)
	}
	if ok, _ := b.Allow(now.Add(100 * time.Millisecond)); !ok {
		t.Fatal("refill refused")
	}
	// reservations queue up
	r := newBucket(10, 1, now)
	if d := r.Reserve(now); d != 0 {
		t.Errorf("first reservation waits %v", d)
	}
	if d := r.Reserve(now); d < 99*time.Millisecond || d > 101*time.Millisecond {
		t.Errorf("second %v", d)
	}
	if d := r.Reserve(now); d < 199*time.Millisecond || d > 201*time.Millisecond {
		t.Errorf("third %v", d)
	}
}

func TestPermute(t *testing.T) {
	for n := 1; n < 300; n++ {
		ports := make([]uint16, n)
		for i := range ports {
			ports[i] = uint16(i + 1)
		}
		got := permute(ports)
		s := slices.Clone(got)
		slices.Sort(s)
		if !slices.Equal(s, ports) {
			t.Fatalf("n=%d: not a permutation", n)
		}
	}
}

func BenchmarkScanLoopback(b *testing.B) {
	hosts := loopbacks("127.0.1", 110, 119)
	l := newLab(b, hosts, 5, nil)
	ports := make([]uint16, 0, 2000)
	for p := 1; p <= 2000; p++ {
		ports = append(ports, uint16(p))
	}
	ports = append(ports, l.ports...)
	slices.Sort(ports)
	ports = slices.Compact(ports)
	b.ResetTimer()
	var probed int
	for b.Loop() {
		got := 0
		st, err := Scan(context.Background(), Config{Ports: ports, Concurrency: 2000}, targetsOf(hosts), func(Open) { got++ })
		if err != nil {
			b.Fatal(err)
		}
		if got < len(l.truth) {
			b.Fatalf("found %d of %d open ports", got, len(l.truth))
		}
		probed += st.Probed
	}
	b.ReportMetric(float64(probed)/b.Elapsed().Seconds(), "probes/s")
}
