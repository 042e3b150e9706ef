// Command dns benchmarks Rampart's protective resolver (internal/dns)
// against Unbound with the same block list, side by side on one core each,
// with dnsperf as the client:
//
//	1,000,000 blocked names (an RPZ zone for Unbound: "name CNAME ." and
//	"*.name CNAME ."), 20,000 allowed names (local-data for Unbound; for
//	Rampart an upstream Unbound serving the same local-data), queries half
//	blocked (a third of those subdomains of a listed name), half allowed.
//
// It prints QPS, resident memory (VmRSS, VmHWM) and list load and reload
// times for both, and the ratios. Everything binds 127.77.0.x only.
//
//	go run ./bench/dns                       # or bench/dns/run.sh
//	go run ./bench/dns -blocked 100000 -d 5s # a quick look
//
// `dns serve` is the measured Rampart process (started by the bench).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	mdns "github.com/miekg/dns"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		fs := flag.NewFlagSet("serve", flag.ExitOnError)
		listen := fs.String("listen", "127.77.0.3:5393", "address")
		upstream := fs.String("upstream", "127.77.0.1:5391", "upstream resolver")
		list := fs.String("list", "", "blocked names, one a line")
		prof := fs.String("cpuprofile", "", "write a CPU profile here until stopped")
		_ = fs.Parse(os.Args[2:])
		if *prof != "" {
			f, err := os.Create(*prof)
			if err == nil && pprof.StartCPUProfile(f) == nil {
				defer pprof.StopCPUProfile()
			}
		}
		if err := serve(*listen, *upstream, *list); err != nil {
			fmt.Fprintln(os.Stderr, "dns serve:", err)
			pprof.StopCPUProfile()
			os.Exit(1)
		}
		return
	}
	o := opts{}
	flag.StringVar(&o.dir, "dir", filepath.Join(os.TempDir(), "rampart-dns-bench"), "data directory (generated once, reused)")
	flag.IntVar(&o.blocked, "blocked", 1_000_000, "blocked names")
	flag.IntVar(&o.allowed, "allowed", 20_000, "allowed local names")
	flag.DurationVar(&o.dur, "d", 20*time.Second, "dnsperf run length")
	flag.IntVar(&o.rounds, "rounds", 2, "dnsperf runs per server (alternating)")
	flag.StringVar(&o.serverCPU, "server-cpu", "1", "CPU the measured servers are pinned to")
	flag.StringVar(&o.clientCPU, "client-cpu", "0", "CPU of dnsperf and the upstream")
	flag.StringVar(&o.unbound, "unbound", "/usr/sbin/unbound", "unbound binary")
	flag.IntVar(&o.clients, "c", 20, "dnsperf clients (-c)")
	flag.IntVar(&o.outstanding, "q", 500, "dnsperf outstanding queries (-q)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/dns:", err)
		os.Exit(1)
	}
}

type opts struct {
	dir                  string
	blocked, allowed     int
	dur                  time.Duration
	rounds               int
	serverCPU, clientCPU string
	unbound              string
	clients, outstanding int
}

const (
	upstreamAddr = "127.77.0.1:5391"
	unboundAddr  = "127.77.0.2:5392"
	rampartAddr  = "127.77.0.3:5393"
	marker       = "reload-marker.rampart-bench.com"
)

// result is one server's figures.
type result struct {
	name             string
	load, reload     time.Duration
	loadCPU          time.Duration // CPU time of the process when the list was loaded
	reloadCPU        time.Duration
	qps              []float64
	rss, hwm         int64 // kB
	codes            string
	proc             *exec.Cmd
	addr, dir, ctlTo string
}

func run(o opts) error {
	for _, bin := range []string{o.unbound, "dnsperf", "taskset"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s not found: apt-get install -y unbound dnsperf util-linux", bin)
		}
	}
	d := dataset{dir: o.dir, blocked: o.blocked, allowed: o.allowed}
	t := time.Now()
	if err := d.generate(); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	fmt.Printf("data: %d blocked, %d allowed names in %s (%v)\n", o.blocked, o.allowed, o.dir, time.Since(t).Round(time.Millisecond))
	self, err := os.Executable()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "rampart-dns-run")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	// The upstream for Rampart: Unbound with the allowed names only.
	up, err := startUnbound(o, work, "upstream", upstreamAddr, d, false, o.clientCPU)
	if err != nil {
		return err
	}
	defer stop(up.proc)
	if _, err := waitReady(up.proc, upstreamAddr, "", allowedName(1), time.Now(), 60*time.Second); err != nil {
		return fmt.Errorf("upstream unbound: %w", err)
	}

	blockedProbe := firstLine(d.blockedFile())
	ub, err := startUnbound(o, work, "unbound", unboundAddr, d, true, o.serverCPU)
	if err != nil {
		return err
	}
	defer stop(ub.proc)
	if ub.load, err = waitReady(ub.proc, unboundAddr, blockedProbe, allowedName(1), ub.startedAt(), 300*time.Second); err != nil {
		return fmt.Errorf("unbound: %w", err)
	}
	ub.loadCPU = procCPU(ub.proc.Process.Pid)
	fmt.Printf("unbound: loaded in %v (CPU %v)\n", ub.load.Round(time.Millisecond), ub.loadCPU)

	ra := &result{name: "rampart", addr: rampartAddr}
	ra.proc = exec.Command("taskset", "-c", o.serverCPU, self, "serve", "-listen", rampartAddr, "-upstream", upstreamAddr, "-list", d.blockedFile())
	ra.proc.Stderr = os.Stderr
	dieWithParent(ra.proc)
	if err := free(rampartAddr); err != nil {
		return err
	}
	start := time.Now()
	if err := ra.proc.Start(); err != nil {
		return err
	}
	defer stop(ra.proc)
	if ra.load, err = waitReady(ra.proc, rampartAddr, blockedProbe, allowedName(1), start, 120*time.Second); err != nil {
		return fmt.Errorf("rampart: %w", err)
	}
	ra.loadCPU = procCPU(ra.proc.Process.Pid)
	fmt.Printf("rampart: loaded in %v (CPU %v)\n", ra.load.Round(time.Millisecond), ra.loadCPU)

	for _, r := range []*result{ub.result, ra} {
		if err := check(r.addr, blockedProbe); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		if _, err := dnsperf(o, r.addr, d.warmFile(), 60*time.Second, "-n", "1"); err != nil { // warm up
			return err
		}
		if _, err := dnsperf(o, r.addr, d.queryFile(), 2*time.Second); err != nil {
			return err
		}
	}
	for i := 0; i < o.rounds; i++ {
		for _, r := range []*result{ub.result, ra} {
			out, err := dnsperf(o, r.addr, d.queryFile(), o.dur)
			if err != nil {
				return err
			}
			q := parseQPS(out)
			r.qps = append(r.qps, q)
			r.codes = parseCodes(out)
			fmt.Printf("%s round %d: %.0f QPS (%s; %s)\n", r.name, i+1, q, r.codes, parseLost(out))
		}
	}
	for _, r := range []*result{ub.result, ra} {
		r.rss, r.hwm = procMem(r.proc.Process.Pid)
	}

	// Reload: one more name in the list; timed until it is blocked.
	if err := appendMarker(d); err != nil {
		return err
	}
	defer removeMarker(d)
	cpu0 := procCPU(ub.proc.Process.Pid)
	t = time.Now()
	ctl := exec.Command("unbound-control", "-c", ub.conf, "reload")
	if out, err := ctl.CombinedOutput(); err != nil {
		return fmt.Errorf("unbound-control reload: %v: %s", err, out)
	}
	if ub.reload, err = waitReady(ub.proc, unboundAddr, marker, "", t, 300*time.Second); err != nil {
		return fmt.Errorf("unbound reload: %w", err)
	}
	ub.reloadCPU = procCPU(ub.proc.Process.Pid) - cpu0
	cpu0 = procCPU(ra.proc.Process.Pid)
	t = time.Now()
	_ = ra.proc.Process.Signal(syscall.SIGHUP)
	if ra.reload, err = waitReady(ra.proc, rampartAddr, marker, "", t, 120*time.Second); err != nil {
		return fmt.Errorf("rampart reload: %w", err)
	}
	ra.reloadCPU = procCPU(ra.proc.Process.Pid) - cpu0
	time.Sleep(500 * time.Millisecond)
	var rssAfter [2]int64
	for i, r := range []*result{ub.result, ra} {
		rssAfter[i], r.hwm = procMem(r.proc.Process.Pid)
	}
	report(o, ub.result, ra, rssAfter)
	return nil
}

func report(o opts, ub, ra *result, rssAfter [2]int64) {
	best := func(r *result) float64 {
		b := 0.0
		for _, q := range r.qps {
			b = max(b, q)
		}
		return b
	}
	mb := func(kb int64) string { return fmt.Sprintf("%.0f MB", float64(kb)/1024) }
	fmt.Printf("\n%d blocked + %d allowed names, half the queries blocked, servers on CPU %s, dnsperf on CPU %s, load average %s\n",
		o.blocked, o.allowed, o.serverCPU, o.clientCPU, loadAvg())
	fmt.Printf("%-22s %14s %14s %10s\n", "", "unbound", "rampart", "ratio")
	fmt.Printf("%-22s %14.0f %14.0f %9.2fx\n", "QPS (best run)", best(ub), best(ra), best(ra)/best(ub))
	fmt.Printf("%-22s %14s %14s %9.2fx\n", "VmRSS after the runs", mb(ub.rss), mb(ra.rss), float64(ra.rss)/float64(ub.rss))
	fmt.Printf("%-22s %14s %14s %9.2fx\n", "VmRSS after reload", mb(rssAfter[0]), mb(rssAfter[1]), float64(rssAfter[1])/float64(rssAfter[0]))
	fmt.Printf("%-22s %14s %14s %9.2fx\n", "VmHWM (peak)", mb(ub.hwm), mb(ra.hwm), float64(ra.hwm)/float64(ub.hwm))
	fmt.Printf("%-22s %14v %14v %9.2fx\n", "list load (start)", ub.load.Round(time.Millisecond), ra.load.Round(time.Millisecond), ra.load.Seconds()/ub.load.Seconds())
	fmt.Printf("%-22s %14v %14v %9.2fx\n", "list load CPU time", ub.loadCPU, ra.loadCPU, ra.loadCPU.Seconds()/ub.loadCPU.Seconds())
	fmt.Printf("%-22s %14v %14v %9.2fx\n", "list reload", ub.reload.Round(time.Millisecond), ra.reload.Round(time.Millisecond), ra.reload.Seconds()/ub.reload.Seconds())
	fmt.Printf("%-22s %14v %14v %9.2fx\n", "list reload CPU time", ub.reloadCPU, ra.reloadCPU, ra.reloadCPU.Seconds()/ub.reloadCPU.Seconds())
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	fmt.Printf("goals: QPS >= unbound's %s; RSS <= half of unbound's %s; load <= 2 s %s, reload <= 2 s %s\n",
		verdict(best(ra) >= best(ub)), verdict(2*ra.rss <= ub.rss), verdict(ra.load <= 2*time.Second), verdict(ra.reload <= 2*time.Second))
	fmt.Println("(times are wall clock: on a crowded machine compare the CPU times)")
}

type unboundProc struct {
	*result
	conf    string
	started time.Time
}

func (u *unboundProc) startedAt() time.Time { return u.started }

func startUnbound(o opts, work, name, addr string, d dataset, rpz bool, cpu string) (*unboundProc, error) {
	dir := filepath.Join(work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	host, port, _ := strings.Cut(addr, ":")
	var b strings.Builder
	fmt.Fprintf(&b, `server:
  interface: %s@%s
  port: %s
  num-threads: 1
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "%s"
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 0
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  so-reuseport: no
  so-rcvbuf: 4m
  so-sndbuf: 4m
  module-config: "respip iterator"
include: "%s"
remote-control:
  control-enable: yes
  control-interface: "%s"
  control-use-cert: no
`, host, port, port, dir, d.localData(), filepath.Join(dir, "ctl.sock"))
	if rpz {
		fmt.Fprintf(&b, "rpz:\n  name: rpz.rampart.bench.\n  zonefile: \"%s\"\n", d.rpzFile())
	}
	conf := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	if err := free(addr); err != nil {
		return nil, err
	}
	cmd := exec.Command("taskset", "-c", cpu, o.unbound, "-d", "-c", conf)
	cmd.Stderr = os.Stderr
	dieWithParent(cmd)
	u := &unboundProc{result: &result{name: "unbound", addr: addr, proc: cmd}, conf: conf, started: time.Now()}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start unbound: %w", err)
	}
	return u, nil
}

// free fails when something already answers DNS on addr (a server left
// over from an earlier run would be measured instead of ours).
func free(addr string) error {
	m := new(mdns.Msg)
	m.SetQuestion("probe.rampart-bench.com.", mdns.TypeA)
	if _, _, err := (&mdns.Client{Timeout: 300 * time.Millisecond}).Exchange(m, addr); err == nil {
		return fmt.Errorf("something already answers on %s: stop it first", addr)
	}
	return nil
}

// waitReady polls addr until blocked (if any) gets NXDOMAIN and allowed
// (if any) an address, and returns the time since start.
func waitReady(cmd *exec.Cmd, addr, blocked, allowed string, start time.Time, limit time.Duration) (time.Duration, error) {
	c := &mdns.Client{Timeout: 200 * time.Millisecond}
	ok := func(name string, rcode int) bool {
		if name == "" {
			return true
		}
		m := new(mdns.Msg)
		m.SetQuestion(mdns.Fqdn(name), mdns.TypeA)
		r, _, err := c.Exchange(m, addr)
		return err == nil && r.Rcode == rcode && (rcode != mdns.RcodeSuccess || len(r.Answer) > 0)
	}
	for time.Since(start) < limit {
		if ok(blocked, mdns.RcodeNameError) && ok(allowed, mdns.RcodeSuccess) {
			return time.Since(start), nil
		}
		if exited(cmd.Process.Pid) {
			return 0, fmt.Errorf("%s exited (see its messages above; where AppArmor confines unbound to /etc/unbound, run aa-complain /usr/sbin/unbound or -dir under /etc/unbound)", cmd.Args[min(3, len(cmd.Args)-1)])
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s not ready after %v", addr, limit)
}

// check asks what the bench counts on: blocked names and their subdomains
// NXDOMAIN, allowed names answered.
func check(addr, blocked string) error {
	c := &mdns.Client{Timeout: time.Second}
	for _, q := range []struct {
		name  string
		rcode int
	}{{blocked, mdns.RcodeNameError}, {"www." + blocked, mdns.RcodeNameError}, {allowedName(7), mdns.RcodeSuccess}} {
		m := new(mdns.Msg)
		m.SetQuestion(mdns.Fqdn(q.name), mdns.TypeA)
		r, _, err := c.Exchange(m, addr)
		if err != nil || r.Rcode != q.rcode {
			return fmt.Errorf("%s: got %v %v, want %s", q.name, r, err, mdns.RcodeToString[q.rcode])
		}
	}
	return nil
}

func dnsperf(o opts, addr, file string, d time.Duration, extra ...string) (string, error) {
	host, port, _ := strings.Cut(addr, ":")
	args := []string{"-c", o.clientCPU, "dnsperf", "-s", host, "-p", port, "-d", file,
		"-l", strconv.Itoa(int(d.Seconds())), "-c", strconv.Itoa(o.clients), "-q", strconv.Itoa(o.outstanding), "-T", "1", "-t", "2"}
	cmd := exec.Command("taskset", append(args, extra...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("dnsperf: %v: %s", err, out)
	}
	return string(out), nil
}

var (
	reQPS   = regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)
	reLost  = regexp.MustCompile(`Queries lost:\s+(.*)`)
	reCodes = regexp.MustCompile(`Response codes:\s+(.*)`)
)

func parseQPS(out string) float64 {
	if m := reQPS.FindStringSubmatch(out); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	return 0
}

func parseLost(out string) string {
	if m := reLost.FindStringSubmatch(out); m != nil {
		return "lost " + strings.TrimSpace(m[1])
	}
	return ""
}

func parseCodes(out string) string {
	if m := reCodes.FindStringSubmatch(out); m != nil {
		return strings.TrimSpace(m[1])
	}
	return ""
}

// procMem reads VmRSS and VmHWM (kB) of pid. The measured processes run
// under taskset, which execs them: the pid is theirs.
func procMem(pid int) (rss, hwm int64) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v
		case "VmHWM:":
			hwm = v
		}
	}
	return rss, hwm
}

// procCPU is the user and system CPU time pid has used (clock ticks of
// 10 ms: fields 14 and 15 of /proc/PID/stat).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * 10 * time.Millisecond
}

// exited reports whether pid is gone or a zombie (nobody waits for the
// servers before stop).
func exited(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z' || s[i+2] == 'X'
	}
	return false
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func firstLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Scan()
	return s.Text()
}

// appendMarker adds one name to both lists; removeMarker takes it out.
func appendMarker(d dataset) error {
	for _, f := range []struct{ path, line string }{
		{d.blockedFile(), marker + "\n"},
		{d.rpzFile(), marker + " CNAME .\n*." + marker + " CNAME .\n"},
	} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(marker)) {
			continue
		}
		fh, err := os.OpenFile(f.path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, err = fh.WriteString(f.line)
		if err2 := fh.Close(); err == nil {
			err = err2
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func removeMarker(d dataset) {
	for _, p := range []string{d.blockedFile(), d.rpzFile()} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if i := bytes.Index(b, []byte(marker)); i >= 0 {
			if i >= 2 && b[i-1] == '.' && b[i-2] == '*' { // "*.marker" comes after "marker"
				i -= 2
			}
			_ = os.Truncate(p, int64(bytes.LastIndexByte(b[:i], '\n')+1))
		}
	}
}

func stop(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}
