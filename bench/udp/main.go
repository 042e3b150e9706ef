// Command udp compares Rampart's UDP scanner with nmap -sU on loopback.
//
//	go run ./bench/udp                      # 1,024 hosts × the 10 UDP ports
//	go run ./bench/udp -hosts 4096 -silent 0.5
//
// It lays out fake services on 127.88.0.0/16 (deterministic, from -seed):
// on each host each of the ten listed ports (DNS 53, TFTP 69, NTP 123,
// NetBIOS 137, SNMP 161, IPMI 623, SSDP 1900, mDNS 5353, CoAP 5683,
// memcached 11211) is open (a fake of the protocol that answers, see
// internal/probe/udpscan/udptest; it answers any other datagram too, so
// nmap's own payloads find it), silent (a socket that never answers:
// open|filtered) or closed (nothing bound: ICMP port unreachable). Then it
// runs the scanner and `nmap -sU -n -Pn -T4 --max-retries 2` on the same
// targets and ports, each as a child process measured the same way (wall
// time), checks both verdicts against the layout, and prints the rates,
// their ratio and the verdict agreement. The scanner's retries are 2 as
// well; its rate limit is -rate (0: unlimited).
//
// Binding ports under 1024 needs root or CAP_NET_BIND_SERVICE. Only
// 127.0.0.0/8 is touched. Without nmap the comparison is skipped with a
// hint (apt-get install -y nmap).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/probe/udpscan"
	"github.com/rampart-cert/rampart/internal/probe/udpscan/udptest"
	"github.com/rampart-cert/rampart/internal/target"
)

type hostPort struct {
	Addr netip.Addr
	Port uint16
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/udp: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	var (
		child   = flag.Bool("child", false, "internal: run one scan and print verdicts as JSON lines")
		targets = flag.String("targets", "", "internal (child): target spec")
		hosts   = flag.Int("hosts", 1024, "loopback hosts (127.88.0.0/16)")
		openF   = flag.Float64("open", 0.15, "share of (host, port) pairs with an answering service")
		silentF = flag.Float64("silent", 0.25, "share of pairs with a socket that never answers")
		seed    = flag.Uint64("seed", 7, "seed of the layout")
		rate    = flag.Int("rate", 0, "scanner rate, probes/s (0: unlimited)")
		rounds  = flag.Int("rounds", 1, "rounds per tool (alternating; best compared)")
		timing  = flag.String("nmap-timing", "-T4", "nmap timing template")
	)
	flag.Parse()
	if *child {
		if err := runChild(*targets, *rate); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		return
	}
	if *hosts < 1 || *hosts > 65000 || *openF < 0 || *silentF < 0 || *openF+*silentF > 1 {
		fail("hosts 1-65000, open and silent shares in [0,1] with a sum ≤ 1")
	}
	compare(*hosts, *openF, *silentF, *seed, *rate, *rounds, *timing)
}

var ports = udpscan.DefaultPorts

func portList() string {
	var s []string
	for _, p := range ports {
		s = append(s, strconv.Itoa(int(p)))
	}
	return strings.Join(s, ",")
}

func hostAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 88, byte(i / 250), byte(i%250 + 1)})
}

// answering wraps a protocol fake so that a datagram it does not answer
// (another tool's payload for the port) still gets a reply: the port is
// open for any scanner that sends it something.
func answering(h udptest.Handler) udptest.Handler {
	return func(req []byte, from netip.AddrPort, w udptest.Responder) {
		r := &recorder{w: w}
		if h != nil {
			h(req, from, r)
		}
		if !r.replied {
			w.Reply([]byte("rampart-bench: hello"))
		}
	}
}

type recorder struct {
	w       udptest.Responder
	replied bool
}

func (r *recorder) Reply(b []byte)            { r.replied = true; r.w.Reply(b) }
func (r *recorder) ReplyFromNewPort(b []byte) { r.replied = true; r.w.ReplyFromNewPort(b) }

func fakeFor(port uint16) udptest.Handler {
	switch udpscan.ServiceOfPort(port) {
	case "snmp":
		return udptest.SNMP("Linux bench 6.1.0", "public")
	case "ntp":
		return udptest.NTP(udptest.NTPOptions{})
	case "ssdp":
		return udptest.SSDP("Linux UPnP/1.0 MiniUPnPd/2.3.3", 1)
	case "mdns":
		return udptest.MDNS("_http._tcp.local")
	case "memcached":
		return udptest.Memcached("1.6.18")
	case "ipmi":
		return udptest.IPMI(udptest.IPMIOptions{})
	case "netbios-ns":
		return udptest.NetBIOS("BENCH", "WORKGROUP")
	case "coap":
		return udptest.CoAP("</core>")
	case "tftp":
		return udptest.TFTP(nil)
	case "dns":
		return dnsFake
	}
	return nil
}

// dnsFake answers version.bind like a server that hides its version.
func dnsFake(req []byte, _ netip.AddrPort, w udptest.Responder) {
	if len(req) < 12 {
		return
	}
	b := append([]byte(nil), req...)
	b[2] |= 0x80 // QR
	b[3] = b[3]&0xf0 | 5
	w.Reply(b)
}

// layout binds the fakes and returns the expected verdict of every pair.
func layout(n int, openF, silentF float64, seed uint64) (map[hostPort]string, []*udptest.Server) {
	r := rand.New(rand.NewPCG(seed, 0x75647021))
	truth := map[hostPort]string{}
	var servers []*udptest.Server
	for i := 0; i < n; i++ {
		a := hostAddr(i)
		for _, p := range ports {
			hp := hostPort{a, p}
			x := r.Float64()
			switch {
			case x < openF:
				s, err := udptest.Listen(a.String(), int(p), answering(fakeFor(p)))
				if err != nil {
					fail("bind %s:%d: %v (run as root, or give CAP_NET_BIND_SERVICE)", a, p, err)
				}
				servers = append(servers, s)
				truth[hp] = "open"
			case x < openF+silentF:
				s, err := udptest.Listen(a.String(), int(p), nil)
				if err != nil {
					fail("bind %s:%d: %v", a, p, err)
				}
				servers = append(servers, s)
				truth[hp] = "open|filtered"
			default:
				truth[hp] = "closed"
			}
		}
	}
	return truth, servers
}

type run struct {
	verdicts map[hostPort]string
	wall     time.Duration
	stats    udpscan.Stats
}

func runChild(spec string, rate int) error {
	seq, _, err := target.Expand(context.Background(), []string{spec}, nil)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	st, err := udpscan.Scan(context.Background(), udpscan.Config{Ports: ports, Rate: rate, All: true}, seq, func(r udpscan.Result) {
		enc.Encode(map[string]any{"ip": r.Target.Addr.String(), "port": r.Port, "state": r.State.String(), "service": r.Info.Service})
	})
	if err != nil {
		return err
	}
	return enc.Encode(map[string]any{"stats": st})
}

func runRampart(spec string, rate int) (run, error) {
	self, err := os.Executable()
	if err != nil {
		return run{}, err
	}
	cmd := exec.Command(self, "-child", "-targets", spec, "-rate", strconv.Itoa(rate))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return run{}, fmt.Errorf("%v: %s", err, errb.String())
	}
	r := run{wall: time.Since(start), verdicts: map[hostPort]string{}}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var line struct {
			IP    string         `json:"ip"`
			Port  uint16         `json:"port"`
			State string         `json:"state"`
			Stats *udpscan.Stats `json:"stats"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return r, err
		}
		if line.Stats != nil {
			r.stats = *line.Stats
			continue
		}
		r.verdicts[hostPort{netip.MustParseAddr(line.IP), line.Port}] = line.State
	}
	return r, nil
}

func runNmap(nmap, hostFile, timing string) (run, error) {
	cmd := exec.Command(nmap, "-sU", "-n", "-Pn", timing, "--max-retries", "2", "-p", portList(), "-oX", "-", "-iL", hostFile)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return run{}, fmt.Errorf("%v: %s", err, errb.String())
	}
	r := run{wall: time.Since(start), verdicts: map[hostPort]string{}}
	var doc struct {
		Hosts []struct {
			Address []struct {
				Addr string `xml:"addr,attr"`
			} `xml:"address"`
			Extra []struct {
				State string `xml:"state,attr"`
			} `xml:"ports>extraports"`
			Ports []struct {
				ID    uint16 `xml:"portid,attr"`
				State struct {
					State string `xml:"state,attr"`
				} `xml:"state"`
			} `xml:"ports>port"`
		} `xml:"host"`
	}
	if err := xml.Unmarshal(out.Bytes(), &doc); err != nil {
		return r, fmt.Errorf("nmap XML: %v", err)
	}
	for _, h := range doc.Hosts {
		if len(h.Address) == 0 {
			continue
		}
		a := netip.MustParseAddr(h.Address[0].Addr)
		listed := map[uint16]bool{}
		for _, p := range h.Ports {
			r.verdicts[hostPort{a, p.ID}] = p.State.State
			listed[p.ID] = true
		}
		if len(h.Extra) == 1 { // the ports nmap did not list share one state
			for _, p := range ports {
				if !listed[p] {
					r.verdicts[hostPort{a, p}] = h.Extra[0].State
				}
			}
		}
	}
	return r, nil
}

// agree counts the verdicts equal to the layout's.
func agree(got, truth map[hostPort]string) (int, []string) {
	n := 0
	var bad []string
	for hp, want := range truth {
		if got[hp] == want {
			n++
		} else if len(bad) < 10 {
			bad = append(bad, fmt.Sprintf("%s:%d %q (want %q)", hp.Addr, hp.Port, got[hp], want))
		}
	}
	slices.Sort(bad)
	return n, bad
}

func compare(n int, openF, silentF float64, seed uint64, rate, rounds int, timing string) {
	truth, servers := layout(n, openF, silentF, seed)
	defer func() {
		for _, s := range servers {
			s.Close()
		}
	}()
	last := hostAddr(n - 1)
	spec := fmt.Sprintf("%s-%s", hostAddr(0), last)
	counts := map[string]int{}
	for _, v := range truth {
		counts[v]++
	}
	probes := len(truth)
	fmt.Printf("targets %s (%d hosts) × ports %s: %d probes; layout: %d open, %d open|filtered (silent), %d closed\n",
		spec, n, portList(), probes, counts["open"], counts["open|filtered"], counts["closed"])
	nmap, nmapErr := exec.LookPath("nmap")
	if nmapErr != nil {
		fmt.Println("nmap not found: install it with `apt-get install -y nmap` to compare; measuring Rampart alone")
	}
	hf, err := os.CreateTemp("", "udpbench-hosts-*")
	if err != nil {
		fail("%v", err)
	}
	defer os.Remove(hf.Name())
	for i := 0; i < n; i++ {
		fmt.Fprintln(hf, hostAddr(i))
	}
	hf.Close()
	var ours, theirs []run
	ok := true
	for i := 0; i < rounds; i++ {
		r, err := runRampart(spec, rate)
		if err != nil {
			fail("rampart: %v", err)
		}
		good, bad := agree(r.verdicts, truth)
		ok = ok && good == probes
		ours = append(ours, r)
		fmt.Printf("round %d rampart: %8.0f probes/s  wall %-8v verdicts %d/%d as laid out (retries sent %d)\n",
			i+1, float64(probes)/r.wall.Seconds(), r.wall.Round(time.Millisecond), good, probes, r.stats.Retried)
		for _, b := range bad {
			fmt.Println("  rampart differs:", b)
		}
		if nmapErr != nil {
			continue
		}
		m, err := runNmap(nmap, hf.Name(), timing)
		if err != nil {
			fail("nmap: %v", err)
		}
		good, bad = agree(m.verdicts, truth)
		theirs = append(theirs, m)
		fmt.Printf("round %d nmap:    %8.0f probes/s  wall %-8v verdicts %d/%d as laid out\n",
			i+1, float64(probes)/m.wall.Seconds(), m.wall.Round(time.Millisecond), good, probes)
		for _, b := range bad {
			fmt.Println("  nmap differs:", b)
		}
	}
	best := func(rs []run) run { return slices.MinFunc(rs, func(a, b run) int { return int(a.wall - b.wall) }) }
	o := best(ours)
	oRate := float64(probes) / o.wall.Seconds()
	fmt.Println()
	fmt.Printf("rampart  %9.0f probes/s (best of %d; goal ≥ 5,000)\n", oRate, len(ours))
	// The line above counts each host-port once over the whole wall time,
	// start-up and the final wait for silent ports included (as nmap's
	// below); this one counts every datagram sent, retries too.
	fmt.Printf("         %9.0f datagrams/s sent with %d retries, over the same wall time\n",
		float64(probes+o.stats.Retried)/o.wall.Seconds(), o.stats.Retried)
	if len(theirs) > 0 {
		m := best(theirs)
		mRate := float64(probes) / m.wall.Seconds()
		same := 0
		for hp, v := range o.verdicts {
			if m.verdicts[hp] == v {
				same++
			}
		}
		fmt.Printf("nmap     %9.0f probes/s (best of %d, %s --max-retries 2)\n", mRate, len(theirs), timing)
		fmt.Printf("ratio    %.1f× (goal ≥ 5×); verdicts agree on %d of %d pairs\n", oRate/mRate, same, probes)
	}
	if !ok {
		fmt.Println("MISMATCH: Rampart's verdicts differ from the layout")
		os.Exit(1)
	}
}
