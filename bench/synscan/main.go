// Command synscan measures Rampart's stateless SYN scanner against the
// connect scanner and masscan, inside network namespaces it creates.
//
//	go run ./bench/synscan                 # 10.99.0.0/16 × 8 ports, 2,000 listeners
//	go run ./bench/synscan -rate 1000000 -open 5000
//
// It needs root: it builds a scanner namespace and a targets namespace
// joined by a veth pair (internal/probe/synscan/netnslab; nothing touches
// the host's interfaces), starts listeners on -open random (address, port)
// pairs of 10.99.0.0/16 in the targets namespace (whose kernel resets
// every other SYN, as live hosts do), then runs in the scanner namespace,
// each as its own process timed the same way: Rampart's SYN scan, the
// connect scan (internal/probe/portscan), and `masscan` when it is
// installed (Debian package masscan; sent through the veth with the
// targets' MAC as router). It prints each tool's rates and checks every
// open set against the listeners.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/probe/portscan"
	"github.com/rampart-cert/rampart/internal/probe/synscan"
	"github.com/rampart-cert/rampart/internal/probe/synscan/netnslab"
	"github.com/rampart-cert/rampart/internal/target"
)

const targets = "10.99.0.0/16"

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/synscan: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	var (
		role    = flag.String("role", "", "internal: serve, syn or connect")
		open    = flag.Int("open", 2000, "listeners in the targets namespace")
		ports   = flag.String("ports", "21,22,25,80,443,3389,8080,8443", "ports to scan on every address")
		rate    = flag.Int("rate", 0, "SYNs per second for Rampart and masscan (0: unlimited; masscan gets 10,000,000)")
		wait    = flag.Duration("wait", time.Second, "wait for late answers after the last SYN (both SYN scanners)")
		seed    = flag.Uint64("seed", 11, "seed of the listener layout")
		connect = flag.Bool("connect", true, "run the connect scan too")
		batch   = flag.Int("batch", 0, "SYNs per sendmmsg (0: the package default)")
		rounds  = flag.Int("rounds", 3, "rounds of each SYN scanner (the best is kept: the machine may be shared)")
	)
	flag.Parse()
	switch *role {
	case "serve":
		serve()
		return
	case "syn", "connect":
		if err := scanRole(*role, *ports, *rate, *batch, *wait); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if os.Geteuid() != 0 {
		fail("run as root: the benchmark builds network namespaces")
	}
	bench(*open, *ports, *rate, *batch, *rounds, *wait, *seed, *connect)
}

// serve listens on the addresses given on stdin's first line, says
// "ready", and keeps them until stdin closes.
func serve() {
	in := bufio.NewReader(os.Stdin)
	line, _ := in.ReadString('\n')
	var lns []net.Listener
	for _, s := range strings.Fields(line) {
		ln, err := net.Listen("tcp4", s)
		if err != nil {
			fmt.Println("error", err)
			return
		}
		lns = append(lns, ln)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, in)
	for _, ln := range lns {
		ln.Close()
	}
}

func scanRole(role, portSpec string, rate, batch int, wait time.Duration) error {
	ports, err := target.ParsePorts(portSpec)
	if err != nil {
		return err
	}
	seq, _, err := target.Expand(context.Background(), []string{targets}, nil)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	var stats any
	if role == "syn" {
		stats, err = synscan.Scan(context.Background(), synscan.Config{Ports: ports, Rate: rate, Wait: wait, Batch: batch}, seq,
			func(o synscan.Open) { fmt.Fprintf(out, "open %s:%d\n", o.Target.Addr, o.Port) }, nil)
	} else {
		portscan.RaiseFDLimit()
		stats, err = portscan.Scan(context.Background(), portscan.Config{Ports: ports, Timeout: time.Second, Concurrency: 4000}, seq,
			func(o portscan.Open) { fmt.Fprintf(out, "open %s:%d\n", o.Target.Addr, o.Port) })
	}
	if err != nil {
		return err
	}
	b, _ := json.Marshal(stats)
	fmt.Fprintf(out, "stats %s\n", b)
	return nil
}

type result struct {
	open  []string
	wall  time.Duration
	stats json.RawMessage
}

func run(cmd *exec.Cmd) (result, error) {
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("%v: %s", err, bytes.TrimSpace(errb.Bytes()))
	}
	r := result{wall: time.Since(start)}
	for _, l := range strings.Split(out.String(), "\n") {
		if a, ok := strings.CutPrefix(l, "open "); ok {
			r.open = append(r.open, a)
		} else if s, ok := strings.CutPrefix(l, "stats "); ok {
			r.stats = json.RawMessage(s)
		}
	}
	slices.Sort(r.open)
	r.open = slices.Compact(r.open)
	return r, nil
}

func bench(nOpen int, portSpec string, rate, batch, rounds int, wait time.Duration, seed uint64, connect bool) {
	ports, err := target.ParsePorts(portSpec)
	if err != nil {
		fail("ports: %v", err)
	}
	lab, err := netnslab.New("bench")
	if err != nil {
		fail("%v", err)
	}
	defer lab.Close()
	self, err := os.Executable()
	if err != nil {
		fail("%v", err)
	}
	// The listeners.
	r := rand.New(rand.NewPCG(seed, 2))
	seen := map[string]bool{}
	var truth []string
	for len(truth) < nOpen {
		i := 1 + r.IntN(65534)
		a := netip.AddrFrom4([4]byte{10, 99, byte(i >> 8), byte(i)})
		s := netip.AddrPortFrom(a, ports[r.IntN(len(ports))]).String()
		if !seen[s] {
			seen[s] = true
			truth = append(truth, s)
		}
	}
	slices.Sort(truth)
	srv := lab.Command(lab.Targets, self, "-role", "serve")
	stdin, _ := srv.StdinPipe()
	stdout, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		fail("targets: %v", err)
	}
	defer func() { stdin.Close(); srv.Wait() }()
	fmt.Fprintln(stdin, strings.Join(truth, " "))
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		fail("targets: %q", line)
	}
	probes := 65536 * len(ports)
	fmt.Printf("namespaces %s → %s (veth); targets %s × ports %s: %d SYNs; %d listeners\n",
		lab.Scanner, lab.Targets, targets, portSpec, probes, len(truth))

	check := func(name string, got []string) string {
		if slices.Equal(got, truth) {
			return "open set = the listeners"
		}
		missing, extra := 0, 0
		for _, s := range truth {
			if _, ok := slices.BinarySearch(got, s); !ok {
				missing++
			}
		}
		for _, s := range got {
			if _, ok := slices.BinarySearch(truth, s); !ok {
				extra++
			}
		}
		return fmt.Sprintf("MISMATCH: %d listeners missed, %d reported where none listens", missing, extra)
	}

	var syn result
	var st synscan.Stats
	for i := 0; i < max(1, rounds); i++ {
		r, err := run(lab.Command(lab.Scanner, self, "-role", "syn", "-ports", portSpec, "-rate", strconv.Itoa(rate), "-batch", strconv.Itoa(batch), "-wait", wait.String()))
		if err != nil {
			fail("rampart syn: %v", err)
		}
		var s synscan.Stats
		_ = json.Unmarshal(r.stats, &s)
		fmt.Printf("  round %d rampart syn: send %.0f SYNs/s, wall %v, %s\n", i+1, s.SendRate, r.wall.Round(time.Millisecond), check("syn", r.open))
		if i == 0 || r.wall < syn.wall {
			syn, st = r, s
		}
	}
	fmt.Printf("rampart syn:  send %9.0f SYNs/s (best round: %d in %v), whole scan %8.0f probes/s (wall %v, wait %v)  %s\n",
		st.SendRate, st.Sent, st.SendTime.Round(time.Millisecond), float64(probes)/syn.wall.Seconds(), syn.wall.Round(time.Millisecond), wait, check("syn", syn.open))

	if connect {
		c, err := run(lab.Command(lab.Scanner, self, "-role", "connect", "-ports", portSpec))
		if err != nil {
			fail("connect: %v", err)
		}
		same := "same open set as the SYN scan"
		if !slices.Equal(c.open, syn.open) {
			same = "DIFFERENT open set from the SYN scan"
		}
		fmt.Printf("rampart connect:                          whole scan %8.0f probes/s (wall %v)  %s; %s\n",
			float64(probes)/c.wall.Seconds(), c.wall.Round(time.Millisecond), check("connect", c.open), same)
	}

	masscan, err := exec.LookPath("masscan")
	if err != nil {
		fmt.Println("masscan not found: install it with `apt-get install -y masscan` to compare")
		return
	}
	mrate := rate
	if mrate == 0 {
		mrate = 10000000
	}
	dir, _ := os.MkdirTemp("", "synbench")
	defer os.RemoveAll(dir)
	list := filepath.Join(dir, "masscan.txt")
	var m result
	for i := 0; i < max(1, rounds); i++ {
		r, err := run(lab.Command(lab.Scanner, masscan, targets, "-p"+portSpec, "--rate", strconv.Itoa(mrate),
			"--wait", strconv.Itoa(max(1, int(wait.Seconds()))), "--adapter", lab.ScannerIf, "--adapter-ip", lab.ScannerIP.String(),
			"--router-mac", lab.TargetMAC, "-oL", list))
		if err != nil {
			fmt.Println("masscan could not run here:", err)
			return
		}
		fmt.Printf("  round %d masscan: wall %v\n", i+1, r.wall.Round(time.Millisecond))
		if i == 0 || r.wall < m.wall {
			m = r
		}
	}
	data, _ := os.ReadFile(list)
	var mopen []string
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) >= 4 && f[0] == "open" && f[1] == "tcp" {
			mopen = append(mopen, f[3]+":"+f[2])
		}
	}
	slices.Sort(mopen)
	mopen = slices.Compact(mopen)
	mw := max(1, int(wait.Seconds()))
	sendWall := m.wall - time.Duration(mw)*time.Second
	fmt.Printf("masscan:      send %9.0f SYNs/s (wall minus its %ds wait), whole scan %8.0f probes/s (wall %v)  %s\n",
		float64(probes)/sendWall.Seconds(), mw, float64(probes)/m.wall.Seconds(), m.wall.Round(time.Millisecond), check("masscan", mopen))
	fmt.Printf("ratio (whole scan) rampart/masscan %.2f×\n", m.wall.Seconds()/syn.wall.Seconds())
}
