// Command netflow measures Rampart's NetFlow/IPFIX collector against
// nfdump's nfcapd on loopback with the same generator (issue 16: 0 flows
// lost at ≥ 1,000,000 flows/s, v5 and IPFIX, received, decoded and
// matched).
//
//	go run ./bench/netflow                          # 10M flows a run at 1M, 2M flows/s and unpaced
//	go run ./bench/netflow -flows 30000000 -rates 2000000 -rcvbuf 67108864
//
// The generator (ours, in this process) sends NetFlow v5 datagrams of 30
// flows and IPFIX messages of 37 flows (one template: addresses, ports,
// protocol, packet and octet counts, end time; resent every 4,096
// messages as exporters do) from pools built beforehand, with sendmmsg,
// 64 datagrams a call, paced to -rates flows/s (0: as fast as it can).
// Each receiver runs as a process of its own on its own 127.0.77.x
// address:
//
//   - rampart: this program as a child running netflow.Collector (its
//     default configuration but the receive buffer) whose sink looks both addresses of every
//     flow up in a matcher (internal/intel/match) loaded with -indicators
//     synthetic address indicators (1,000,000); about 1% of the generated
//     destinations are listed. It reports flows decoded and matched.
//   - nfcapd: `nfcapd -w DIR -b ADDR -p PORT -B BYTES` writing to a
//     temporary directory; flows stored are counted afterwards with
//     `nfdump -R DIR -I`.
//
// Both ask for the same receive buffer, -rcvbuf, by default
// net.core.rmem_max: nfcapd's SO_RCVBUF cannot pass it, so the default
// compares like with like. The collector may pass it (SO_RCVBUFFORCE as
// root: its default asks 64 MiB); -rcvbuf 67108864 shows what that buys.
//
// After the generator stops, each receiver reads what its sockets hold
// (their queues in /proc/net/udp empty), then gets SIGTERM. Lost = sent -
// received. Flows/s = received / sending time. The rows also say where
// losses happened: the receiver's socket drops (/proc/net/udp, both
// tools; for rampart also the collector's own count, SO_MEMINFO) and the
// kernel's input backlog drops during the run (/proc/net/softnet_stat: on
// loopback the sender's CPU delivers, and a full backlog drops datagrams
// before any socket sees them).
// CPU-ns/fl is the receiver's CPU time (user and system, from the
// kernel's accounting of the child; rampart's without loading the
// matcher) per flow received: unlike flows/s it hardly moves with the
// load of other processes. Without nfcapd (apt-get install nfdump) its
// rows are skipped.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rampart-cert/rampart/internal/intel/match"
	"github.com/rampart-cert/rampart/internal/intel/match/synth"
	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/sensor/netflow"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/netflow: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	var (
		child      = flag.Bool("child", false, "internal: run the collector, print its counts as JSON on SIGTERM")
		addr       = flag.String("addr", "127.0.77.1:0", "internal (child): listen address")
		flows      = flag.Int("flows", 10_000_000, "flows sent per run")
		rates      = flag.String("rates", "1000000,2000000,0", "send rates to run, flows/s, comma-separated (0: unpaced)")
		formats    = flag.String("formats", "v5,ipfix", "formats to run")
		indicators = flag.Int("indicators", 1_000_000, "address indicators in the matcher (0: no matching)")
		rcvbuf     = flag.Int("rcvbuf", 0, "receive buffer asked by both receivers, bytes (0: net.core.rmem_max, what nfcapd can get)")
		skipNfcapd = flag.Bool("no-nfcapd", false, "run rampart only")
	)
	flag.Parse()
	if *child {
		if err := runChild(*addr, *indicators, *rcvbuf); err != nil {
			fail("child: %v", err)
		}
		return
	}
	if *rcvbuf <= 0 {
		*rcvbuf, _ = strconv.Atoi(readTrim("/proc/sys/net/core/rmem_max"))
		if *rcvbuf <= 0 {
			*rcvbuf = 4 << 20
		}
	}
	var rs []int
	for _, s := range strings.Split(*rates, ",") {
		r, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || r < 0 {
			fail("bad rate %q", s)
		}
		rs = append(rs, r)
	}
	nfcapd, err := exec.LookPath("nfcapd")
	if err != nil && !*skipNfcapd {
		fmt.Fprintln(os.Stderr, "bench/netflow: nfcapd not found; for the comparison run: apt-get install -y nfdump")
		*skipNfcapd = true
	}
	self, err := os.Executable()
	if err != nil {
		fail("%v", err)
	}
	fmt.Printf("bench/netflow: %d flows a run, matcher of %d indicators, receive buffer asked %d bytes (net.core.rmem_max %s)\n",
		*flows, *indicators, *rcvbuf, readTrim("/proc/sys/net/core/rmem_max"))
	fmt.Printf("%-7s %-6s %10s %12s %12s %10s %14s %10s %9s\n", "tool", "format", "rate", "sent", "received", "lost", "received/s", "matched", "CPU-ns/fl")
	type key struct {
		format string
		rate   int
	}
	best := map[string]map[key]float64{"rampart": {}, "nfcapd": {}}
	for _, format := range strings.Split(*formats, ",") {
		gen, err := newGenerator(format, *flows)
		if err != nil {
			fail("%v", err)
		}
		for _, rate := range rs {
			r, err := runRampart(self, gen, rate, *indicators, *rcvbuf)
			if err != nil {
				fail("rampart %s: %v", format, err)
			}
			r.print("rampart", format, rate)
			best["rampart"][key{format, rate}] = r.perSec()
			if *skipNfcapd {
				continue
			}
			n, err := runNfcapd(nfcapd, gen, rate, *rcvbuf)
			if err != nil {
				fail("nfcapd %s: %v", format, err)
			}
			n.print("nfcapd", format, rate)
			best["nfcapd"][key{format, rate}] = n.perSec()
		}
	}
	if !*skipNfcapd {
		for _, format := range strings.Split(*formats, ",") {
			for _, rate := range rs {
				k := key{format, rate}
				if best["nfcapd"][k] > 0 {
					fmt.Printf("ratio rampart/nfcapd %s at rate %s: %.2f (flows received per second)\n",
						format, rateName(rate), best["rampart"][k]/best["nfcapd"][k])
				}
			}
		}
	}
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

func rateName(r int) string {
	if r == 0 {
		return "max"
	}
	return strconv.Itoa(r)
}

// result is one receiver's run.
type result struct {
	sent, received, matched uint64
	took                    time.Duration // sending time
	cpu                     time.Duration // the receiver's CPU time (user and system) for the run
	note                    string
}

func (r result) perSec() float64 { return float64(r.received) / r.took.Seconds() }

func (r result) print(tool, format string, rate int) {
	matched := "-"
	if tool == "rampart" {
		matched = strconv.FormatUint(r.matched, 10)
	}
	perFlow := 0.0
	if r.received > 0 {
		perFlow = float64(r.cpu.Nanoseconds()) / float64(r.received)
	}
	fmt.Printf("%-7s %-6s %10s %12d %12d %10d %14.0f %10s %9.0f  (sent at %.0f flows/s%s)\n", tool, format, rateName(rate),
		r.sent, r.received, int64(r.sent)-int64(r.received), r.perSec(), matched, perFlow, float64(r.sent)/r.took.Seconds(), r.note)
}

// childCounts is what the child prints.
type childCounts struct {
	Flows, Matched, Packets, KernelDrops, Malformed, NoTemplate uint64
	ReadBuffer                                                  int
}

func runRampart(self string, gen *generator, rate, indicators, rcvbuf int) (result, error) {
	cmd := exec.Command(self, "-child", "-addr", "127.0.77.1:0", "-indicators", strconv.Itoa(indicators), "-rcvbuf", strconv.Itoa(rcvbuf))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer cmd.Process.Kill()
	rd := bufio.NewReader(out)
	line, err := rd.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready ") {
		return result{}, fmt.Errorf("child did not start: %q %v", line, err)
	}
	f := strings.Fields(line)
	if len(f) != 3 {
		return result{}, fmt.Errorf("child said %q", line)
	}
	to, err := netip.ParseAddrPort(f[1])
	if err != nil {
		return result{}, err
	}
	setup, _ := strconv.ParseInt(f[2], 10, 64) // CPU ns spent loading the matcher
	backlog := softnetDrops()
	_, dropped, _ := udpQueue(to)
	sent, took, err := gen.send(to, rate)
	if err != nil {
		return result{}, err
	}
	dropped = drain(to, 30*time.Second) - dropped
	backlog = softnetDrops() - backlog
	cmd.Process.Signal(syscall.SIGTERM)
	var c childCounts
	if err := json.NewDecoder(rd).Decode(&c); err != nil {
		return result{}, fmt.Errorf("child counts: %w", err)
	}
	cmd.Wait()
	return result{sent: sent, received: c.Flows, matched: c.Matched, took: took, cpu: cpuOf(cmd) - time.Duration(setup),
		note: fmt.Sprintf(", socket drops %d (collector's count %d), backlog drops %d, rcvbuf %d", dropped, c.KernelDrops, backlog, c.ReadBuffer)}, nil
}

// runChild is the rampart receiver: the collector, its sink matching
// both addresses of every flow.
func runChild(addr string, indicators, rcvbuf int) error {
	m := match.New()
	if indicators > 0 {
		if err := m.Apply(synth.New(1).Addrs(indicators)); err != nil {
			return err
		}
	}
	if path := os.Getenv("NETFLOW_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	snap := m.Snapshot()
	var matched atomic.Uint64
	sink := func(evs []sensor.Event) {
		var n uint64
		for i := range evs {
			if _, ok := snap.LookupAddr(evs[i].Src); ok {
				n++
			}
			if _, ok := snap.LookupAddr(evs[i].Dst); ok {
				n++
			}
		}
		matched.Add(n)
	}
	c, err := netflow.New(netflow.Config{Addr: addr, ReadBuffer: rcvbuf}, sink)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	fmt.Printf("ready %s %d\n", c.Addr(), selfCPU())
	if err := c.Run(ctx); err != nil {
		return err
	}
	s := c.Stats()
	return json.NewEncoder(os.Stdout).Encode(childCounts{Flows: s.Flows, Matched: matched.Load(), Packets: s.Packets,
		KernelDrops: s.KernelDrops, Malformed: s.Malformed, NoTemplate: s.NoTemplate, ReadBuffer: c.ReadBuffer()})
}

var flowsLine = regexp.MustCompile(`(?m)^Flows: (\d+)`)

func runNfcapd(nfcapd string, gen *generator, rate, rcvbuf int) (result, error) {
	dir, err := os.MkdirTemp("", "bench-nfcapd-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	port, err := freePort("127.0.77.2")
	if err != nil {
		return result{}, err
	}
	var stderr bytes.Buffer
	cmd := exec.Command(nfcapd, "-w", dir, "-b", "127.0.77.2", "-p", strconv.Itoa(port), "-B", strconv.Itoa(rcvbuf), "-t", "3600")
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer cmd.Process.Kill()
	if err := waitFile(filepath.Join(dir, "nfcapd.current.*"), 10*time.Second); err != nil {
		return result{}, fmt.Errorf("%w\n%s", err, stderr.String())
	}
	backlog := softnetDrops()
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.77.2"), uint16(port))
	_, dropped, _ := udpQueue(to)
	sent, took, err := gen.send(to, rate)
	if err != nil {
		return result{}, err
	}
	dropped = drain(to, 30*time.Second) - dropped
	time.Sleep(200 * time.Millisecond) // what it read, written
	backlog = softnetDrops() - backlog
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	cpu := cpuOf(cmd)
	out, err := exec.Command(filepath.Join(filepath.Dir(nfcapd), "nfdump"), "-R", dir, "-I").CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("nfdump -I: %v\n%s", err, out)
	}
	m := flowsLine.FindSubmatch(out)
	if m == nil {
		return result{}, fmt.Errorf("nfdump -I: no flow count in\n%s", out)
	}
	n, _ := strconv.ParseUint(string(m[1]), 10, 64)
	return result{sent: sent, received: n, took: took, cpu: cpu, note: fmt.Sprintf(", socket drops %d, backlog drops %d", dropped, backlog)}, nil
}

// softnetDrops sums the packets the kernel dropped because a CPU's input
// backlog (net.core.netdev_max_backlog) was full: on loopback, datagrams
// lost before any socket sees them (/proc/net/softnet_stat, 2nd column).
func softnetDrops() uint64 {
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		return 0
	}
	var n uint64
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 {
			v, _ := strconv.ParseUint(f[1], 16, 64)
			n += v
		}
	}
	return n
}

// cpuOf is the CPU time of an ended child.
func cpuOf(cmd *exec.Cmd) time.Duration {
	if cmd.ProcessState == nil {
		return 0
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// selfCPU is this process's CPU time so far, ns.
func selfCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func freePort(host string) (int, error) {
	pc, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port, nil
}

func waitFile(pattern string, limit time.Duration) error {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			time.Sleep(200 * time.Millisecond) // it binds before it opens the file; a little margin
			return nil
		}
	}
	return errors.New("nfcapd did not start")
}
