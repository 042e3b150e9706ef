// Command portscan compares Rampart's port scanner with nmap on loopback.
//
//	go run ./bench/portscan            # 50 hosts × ports 1-10000, Rampart vs nmap -sT
//	go run ./bench/portscan -memtest   # 250 hosts × 65,535 ports, peak memory
//
// It listens on deterministic pseudo-random ports of 127.77.1.1-50 (5-15 per
// host, in 1-10000), runs the scanner and `nmap -sT -n -Pn -T5 --min-rate
// 5000 -p1-10000` on the same targets, checks that both open sets equal the
// listeners, and prints rates, their ratio, CPU time and peak RSS. Each tool
// runs as a child process so both are measured the same way (wall time,
// getrusage of the child); rounds alternate between the tools and the best
// round of each is compared, so a busy machine hurts both alike.
//
// Only 127.0.0.0/8 is ever touched. Nothing is installed: without nmap the
// comparison is skipped with a hint (apt-get install -y nmap).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rampart-cert/rampart/internal/probe/portscan"
	"github.com/rampart-cert/rampart/internal/target"
)

type hostPort struct {
	Addr netip.Addr
	Port uint16
}

func main() {
	var (
		child       = flag.Bool("child", false, "internal: run one scan and print results as JSON lines")
		memtest     = flag.Bool("memtest", false, "250 hosts × all 65,535 ports; report peak RSS and elapsed")
		hosts       = flag.Int("hosts", 50, "number of loopback hosts (127.77.1.1-N)")
		maxPort     = flag.Int("maxport", 10000, "scan ports 1-maxport")
		rounds      = flag.Int("rounds", 3, "rounds per tool (alternating; best round is compared)")
		seed        = flag.Uint64("seed", 7, "seed of the listener layout")
		concurrency = flag.Int("concurrency", 0, "scanner concurrency (0: package default)")
		workers     = flag.Int("workers", 0, "scanner workers (0: GOMAXPROCS)")
		rate        = flag.Int("rate", 0, "scanner global rate (0: unlimited)")
		targets     = flag.String("targets", "", "internal (child): target spec")
		ports       = flag.String("ports", "", "internal (child): port spec")
	)
	flag.Parse()
	if *child {
		if err := runChild(*targets, *ports, *concurrency, *workers, *rate); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		return
	}
	limit, err := portscan.RaiseFDLimit()
	if err != nil {
		fail("raise fd limit: %v", err)
	}
	if *memtest {
		memTest(limit, *seed, *concurrency, *workers)
		return
	}
	if *hosts < 1 || *hosts > 254 || *maxPort < 1 || *maxPort > 65535 {
		fail("hosts must be 1-254 and maxport 1-65535")
	}
	compare(limit, *hosts, *maxPort, *rounds, *seed, *concurrency, *workers, *rate)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/portscan: "+format+"\n", args...)
	os.Exit(1)
}

// lab holds the listeners, the truth the scanners must find.
type lab struct {
	truth map[hostPort]bool
	lns   []net.Listener
}

// listen opens perHost (lo..hi) listeners on each address at ports drawn
// from a PRNG seeded with seed, skipping ports something else holds.
func listen(addrs []netip.Addr, lo, hi, maxPort int, seed uint64) *lab {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	l := &lab{truth: map[hostPort]bool{}}
	for _, a := range addrs {
		want := lo + r.IntN(hi-lo+1)
		for got, tries := 0, 0; got < want && tries < 1000; tries++ {
			p := uint16(1 + r.IntN(maxPort))
			hp := hostPort{a, p}
			if l.truth[hp] {
				continue
			}
			ln, err := net.Listen("tcp", netip.AddrPortFrom(a, p).String())
			if err != nil {
				continue // in use (a wildcard listener of something else)
			}
			l.lns = append(l.lns, ln)
			l.truth[hp] = true
			got++
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
		}
	}
	return l
}

func (l *lab) close() {
	for _, ln := range l.lns {
		ln.Close()
	}
}

// foreign returns ports that processes other than this one listen on for
// every address (0.0.0.0, ::) or on one of ours, from /proc/net/tcp*: they
// are open for both scanners and not part of the truth.
func foreign(l *lab, addrs []netip.Addr) map[hostPort]bool {
	out := map[hostPort]bool{}
	ours := map[netip.Addr]bool{}
	for _, a := range addrs {
		ours[a] = true
	}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 4 || fs[3] != "0A" { // LISTEN
				continue
			}
			hexAddr, hexPort, _ := strings.Cut(fs[1], ":")
			port, _ := strconv.ParseUint(hexPort, 16, 16)
			a, ok := procAddr(hexAddr)
			if !ok {
				continue
			}
			for _, h := range addrs {
				hp := hostPort{h, uint16(port)}
				if (a.IsUnspecified() || a == h) && !l.truth[hp] && ours[h] {
					out[hp] = true
				}
			}
		}
	}
	return out
}

// procAddr decodes an address of /proc/net/tcp (little-endian words).
func procAddr(h string) (netip.Addr, bool) {
	b := make([]byte, len(h)/2)
	for i := range b {
		v, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			return netip.Addr{}, false
		}
		b[i] = byte(v)
	}
	for i := 0; i+4 <= len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	a, ok := netip.AddrFromSlice(b)
	return a.Unmap(), ok
}

// run is one measured child process.
type run struct {
	open     map[hostPort]bool
	wall     time.Duration
	cpu      time.Duration // user + system of the child
	maxRSSKB int64         // getrusage ru_maxrss of the child
	hwmKB    int64         // VmHWM the child reported (ours only)
	inner    time.Duration // scan time the child reported (ours only)
}

func measure(cmd *exec.Cmd) (out []byte, r run, err error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	err = cmd.Run()
	r.wall = time.Since(began)
	if err != nil {
		return nil, r, fmt.Errorf("%s: %v: %s", cmd.Path, err, bytes.TrimSpace(stderr.Bytes()))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSSKB = ru.Maxrss
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return stdout.Bytes(), r, nil
}

func runRampart(spec, ports string, concurrency, workers, rate int) (run, error) {
	self, err := os.Executable()
	if err != nil {
		return run{}, err
	}
	cmd := exec.Command(self, "-child", "-targets", spec, "-ports", ports,
		"-concurrency", strconv.Itoa(concurrency), "-workers", strconv.Itoa(workers), "-rate", strconv.Itoa(rate))
	out, r, err := measure(cmd)
	if err != nil {
		return r, err
	}
	r.open = map[hostPort]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var line struct {
			IP        string `json:"ip"`
			Port      uint16 `json:"port"`
			HWMKB     int64  `json:"vmhwm_kb"`
			ElapsedNS int64  `json:"elapsed_ns"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return r, fmt.Errorf("child output %q: %v", sc.Text(), err)
		}
		if line.IP != "" {
			r.open[hostPort{netip.MustParseAddr(line.IP), line.Port}] = true
		} else {
			r.hwmKB, r.inner = line.HWMKB, time.Duration(line.ElapsedNS)
		}
	}
	return r, nil
}

func runNmap(nmap, hostsSpec string, maxPort int) (run, error) {
	cmd := exec.Command(nmap, "-sT", "-n", "-Pn", "-T5", "--min-rate", "5000", "-p1-"+strconv.Itoa(maxPort), "-oX", "-", hostsSpec)
	out, r, err := measure(cmd)
	if err != nil {
		return r, err
	}
	var doc struct {
		Hosts []struct {
			Address []struct {
				Addr string `xml:"addr,attr"`
			} `xml:"address"`
			Ports []struct {
				ID    uint16 `xml:"portid,attr"`
				Proto string `xml:"protocol,attr"`
				State struct {
					State string `xml:"state,attr"`
				} `xml:"state"`
			} `xml:"ports>port"`
		} `xml:"host"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil {
		return r, fmt.Errorf("nmap XML: %v", err)
	}
	r.open = map[hostPort]bool{}
	for _, h := range doc.Hosts {
		if len(h.Address) == 0 {
			continue
		}
		a, err := netip.ParseAddr(h.Address[0].Addr)
		if err != nil {
			return r, fmt.Errorf("nmap XML address %q", h.Address[0].Addr)
		}
		for _, p := range h.Ports {
			if p.Proto == "tcp" && p.State.State == "open" {
				r.open[hostPort{a, p.ID}] = true
			}
		}
	}
	return r, nil
}

// check compares a tool's open set with the truth, ignoring foreign
// listeners, and returns a description of the differences.
func check(name string, got, truth, foreignPorts map[hostPort]bool) []string {
	var bad []string
	for hp := range truth {
		if !got[hp] {
			bad = append(bad, fmt.Sprintf("%s missed %v:%d", name, hp.Addr, hp.Port))
		}
	}
	for hp := range got {
		if !truth[hp] && !foreignPorts[hp] {
			bad = append(bad, fmt.Sprintf("%s reported %v:%d, where nothing listens", name, hp.Addr, hp.Port))
		}
	}
	slices.Sort(bad)
	return bad
}

func compare(limit uint64, nHosts, maxPort, rounds int, seed uint64, concurrency, workers, rate int) {
	addrs := make([]netip.Addr, nHosts)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{127, 77, 1, byte(i + 1)})
	}
	spec := fmt.Sprintf("127.77.1.1-%d", nHosts)
	l := listen(addrs, 5, 15, maxPort, seed)
	defer l.close()
	probes := nHosts * maxPort
	fmt.Printf("targets %s, ports 1-%d: %d probes; %d listeners; fd limit %d\n", spec, maxPort, probes, len(l.truth), limit)

	nmap, nmapErr := exec.LookPath("nmap")
	if nmapErr != nil {
		fmt.Println("nmap not found: install it with `apt-get install -y nmap` to compare; measuring Rampart alone")
	}
	var ours, theirs []run
	var problems []string
	for i := range rounds {
		fp := foreign(l, addrs)
		r, err := runRampart(spec, "1-"+strconv.Itoa(maxPort), concurrency, workers, rate)
		if err != nil {
			fail("rampart: %v", err)
		}
		maps(fp, foreign(l, addrs))
		problems = append(problems, check("rampart", r.open, l.truth, fp)...)
		ours = append(ours, r)
		fmt.Printf("round %d rampart: %8.0f ports/s  wall %-8v cpu %-8v peak RSS %5.1f MB  (open %d, foreign %d)\n",
			i+1, float64(probes)/r.wall.Seconds(), r.wall.Round(time.Millisecond), r.cpu.Round(time.Millisecond), float64(r.maxRSSKB)/1024, len(r.open), len(fp))
		if nmapErr != nil {
			continue
		}
		fp = foreign(l, addrs)
		n, err := runNmap(nmap, spec, maxPort)
		if err != nil {
			fail("nmap: %v", err)
		}
		maps(fp, foreign(l, addrs))
		problems = append(problems, check("nmap", n.open, l.truth, fp)...)
		theirs = append(theirs, n)
		fmt.Printf("round %d nmap:    %8.0f ports/s  wall %-8v cpu %-8v peak RSS %5.1f MB  (open %d, foreign %d)\n",
			i+1, float64(probes)/n.wall.Seconds(), n.wall.Round(time.Millisecond), n.cpu.Round(time.Millisecond), float64(n.maxRSSKB)/1024, len(n.open), len(fp))
	}
	best := func(rs []run) run {
		return slices.MinFunc(rs, func(a, b run) int { return int(a.wall - b.wall) })
	}
	o := best(ours)
	oRate := float64(probes) / o.wall.Seconds()
	fmt.Println()
	fmt.Printf("rampart  %9.0f ports/s (best of %d; in-scan %.0f/s)  cpu %v  peak RSS %.1f MB (VmHWM %.1f MB)\n",
		oRate, len(ours), float64(probes)/o.inner.Seconds(), o.cpu.Round(time.Millisecond), float64(o.maxRSSKB)/1024, float64(o.hwmKB)/1024)
	if len(theirs) > 0 {
		n := best(theirs)
		nRate := float64(probes) / n.wall.Seconds()
		fmt.Printf("nmap     %9.0f ports/s (best of %d)  cpu %v  peak RSS %.1f MB\n", nRate, len(theirs), n.cpu.Round(time.Millisecond), float64(n.maxRSSKB)/1024)
		fmt.Printf("ratio    %.2f× (goal ≥ 2×); cpu per port: rampart %.1f µs, nmap %.1f µs\n",
			oRate/nRate, float64(o.cpu.Microseconds())/float64(probes), float64(n.cpu.Microseconds())/float64(probes))
	}
	if len(problems) > 0 {
		for _, p := range slices.Compact(problems) {
			fmt.Println("MISMATCH", p)
		}
		os.Exit(1)
	}
	fmt.Printf("open sets: identical to the %d listeners for every run\n", len(l.truth))
}

// maps adds b to a.
func maps(a, b map[hostPort]bool) {
	for k := range b {
		a[k] = true
	}
}

func memTest(limit uint64, seed uint64, concurrency, workers int) {
	addrs := make([]netip.Addr, 250)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{127, 77, 2, byte(i + 1)})
	}
	l := listen(addrs[:10], 2, 4, 65535, seed)
	defer l.close()
	probes := 250 * 65535
	fmt.Printf("memtest: 127.77.2.1-250 × ports 1-65535 = %d probes; %d listeners; fd limit %d\n", probes, len(l.truth), limit)
	fp := foreign(l, addrs)
	r, err := runRampart("127.77.2.1-250", "all", concurrency, workers, 0)
	if err != nil {
		fail("rampart: %v", err)
	}
	maps(fp, foreign(l, addrs))
	fmt.Printf("rampart: elapsed %v (%.0f ports/s), cpu %v, peak RSS %.1f MB (VmHWM %.1f MB; goal < 200 MB)\n",
		r.wall.Round(time.Millisecond), float64(probes)/r.wall.Seconds(), r.cpu.Round(time.Millisecond), float64(r.maxRSSKB)/1024, float64(r.hwmKB)/1024)
	if bad := check("rampart", r.open, l.truth, fp); len(bad) > 0 {
		for _, b := range bad {
			fmt.Println("MISMATCH", b)
		}
		os.Exit(1)
	}
	fmt.Printf("open set: identical to the %d listeners (%d foreign wildcard listeners ignored)\n", len(l.truth), len(fp))
	if r.maxRSSKB > 200*1024 {
		os.Exit(1)
	}
}

// runChild scans and prints one JSON line per open port, then a line with
// the scan time and VmHWM.
func runChild(spec, ports string, concurrency, workers, rate int) error {
	ps, err := target.ParsePorts(ports)
	if err != nil {
		return err
	}
	seq, _, err := target.Expand(context.Background(), []string{spec}, nil)
	if err != nil {
		return err
	}
	for t := range seq {
		if !t.Addr.IsLoopback() {
			return errors.New("refusing a non-loopback target")
		}
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	st, err := portscan.Scan(context.Background(), portscan.Config{Ports: ps, Concurrency: concurrency, Workers: workers, Rate: rate}, seq, func(o portscan.Open) {
		_ = enc.Encode(map[string]any{"ip": o.Target.Addr.String(), "port": o.Port})
	})
	if err != nil {
		return err
	}
	return enc.Encode(map[string]any{"elapsed_ns": st.Elapsed.Nanoseconds(), "vmhwm_kb": vmHWM()})
}

func vmHWM() int64 {
	data, err := os.ReadFile(filepath.Join("/proc", "self", "status"))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
