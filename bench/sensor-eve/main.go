// Command sensor-eve measures the sensor's Suricata EVE path against the
// speed goal of issue 16: at least 100,000 events/s on one core, parsed
// and matched against 1,000,000 indicators (CrowdSec publishes about 250
// events/s per vCPU for its agent).
//
//	bench/sensor-eve/run.sh                  # pinned to one CPU with taskset
//	go run ./bench/sensor-eve -events 5000000 -hit 5
//
// It loads n indicators (half addresses and networks, half domains, from
// internal/intel/match/synth), generates 2^16 EVE lines shaped like a
// gateway's Suricata 7 output (35% flow, 30% dns, 15% tls, 10% http,
// 10% alert, with the fields and sizes real records carry: ja3 strings,
// alert metadata, flow counters), of which -hit percent name a listed
// address or domain, and runs on one goroutine with GOMAXPROCS 1:
//
//   - parse: eve.Parser alone;
//   - parse+match: parse, then look the event's source, destination and
//     name up in the matcher (the goal's figure);
//   - parse+detect: parse, then detect.Detector.Observe (matching plus
//     every detection rule), with a Flush every 100,000 events;
//   - encoding/json: the same lines decoded into a struct with the
//     standard library, for scale.
//
// It prints events per second of wall time and of the measuring thread's
// CPU time (the machine may be shared), the bytes/s, allocations per event
// and the ratio to the goal.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/intel/match"
	"github.com/rampart-cert/rampart/internal/intel/match/synth"
	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/sensor/detect"
	"github.com/rampart-cert/rampart/internal/sensor/eve"
)

const goal = 100_000

func main() {
	n := flag.Int("n", 1_000_000, "indicators in all (half addresses, half domains)")
	events := flag.Int("events", 3_000_000, "events per measurement")
	hit := flag.Int("hit", 2, "percent of lines naming a listed address or domain")
	seed := flag.Uint64("seed", 1, "random seed")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the parse+match run to this file")
	flag.Parse()
	log.SetFlags(0)
	runtime.GOMAXPROCS(1)

	g := synth.New(*seed)
	addrs, names := g.Addrs(*n/2), g.Names(*n-*n/2)
	m := match.New()
	t := time.Now()
	if err := m.Apply(addrs); err != nil {
		log.Fatal(err)
	}
	if err := m.Apply(names); err != nil {
		log.Fatal(err)
	}
	c := m.Snapshot().Counts()
	lines, size := generate(g, addrs, names, 1<<16, *hit, *seed)
	fmt.Printf("loaded %d addresses and networks and %d domains in %v; %d distinct EVE lines, %.0f bytes on average (GOMAXPROCS 1)\n\n",
		c.Addrs, c.Names, time.Since(t).Round(time.Millisecond), len(lines), size)

	s := m.Snapshot()
	p := eve.NewParser()
	var ev sensor.Event
	mask := len(lines) - 1
	fmt.Printf("%-14s %14s %14s %9s %12s %7s %5s\n", "", "events/s wall", "events/s cpu", "MB/s cpu", "allocs/event", "ratio", "hits")

	r := measure(*events, func(i int) bool {
		ok, err := p.Parse(lines[i&mask], &ev)
		if err != nil {
			log.Fatal(err)
		}
		return ok && false
	})
	row("parse", r, size)

	stopProfile := startProfile(*cpuprofile)
	r = measure(*events, func(i int) bool {
		if ok, _ := p.Parse(lines[i&mask], &ev); !ok {
			return false
		}
		_, h1 := s.LookupAddr(ev.Src)
		_, h2 := s.LookupAddr(ev.Dst)
		h3 := false
		if ev.Name != "" {
			_, h3 = s.LookupName(ev.Name)
		}
		return h1 || h2 || h3
	})
	stopProfile()
	row("parse+match", r, size)
	matched := r

	d, err := detect.New(detect.Config{Member: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("203.0.113.0/24")}}, m)
	if err != nil {
		log.Fatal(err)
	}
	detections := 0
	r = measure(*events, func(i int) bool {
		if ok, _ := p.Parse(lines[i&mask], &ev); ok {
			d.Observe(&ev)
		}
		if i%100_000 == 99_999 {
			detections += len(d.Flush(time.Time{}))
		}
		return false
	})
	st := d.Stats()
	r.hits = float64(st.Hits) / float64(st.Events)
	row("parse+detect", r, size)

	var v jsonEvent
	r = measure(*events/10, func(i int) bool {
		v = jsonEvent{}
		if err := json.Unmarshal(lines[i&mask], &v); err != nil {
			log.Fatal(err)
		}
		return false
	})
	row("encoding/json", r, size)

	fmt.Printf("\nhits: share of events with a listed source, destination or name. ratio: events per CPU second of\n")
	fmt.Printf("the measuring thread (per wall second where CPU time is not available) over the goal of %d/s;\n", goal)
	fmt.Printf("1 or more is met. parse+detect reported %d detections in %d flushes.\n", detections, *events/100_000)
	if best(matched) < goal {
		log.Fatal("goal missed")
	}
}

// jsonEvent is what a reflection-based decoder of the same fields reads.
type jsonEvent struct {
	Timestamp string `json:"timestamp"`
	EventType string `json:"event_type"`
	SrcIP     string `json:"src_ip"`
	DestIP    string `json:"dest_ip"`
	SrcPort   int    `json:"src_port"`
	DestPort  int    `json:"dest_port"`
	Proto     string `json:"proto"`
	Alert     *struct {
		Signature string `json:"signature"`
		Severity  int    `json:"severity"`
	} `json:"alert"`
	DNS *struct {
		RRName string `json:"rrname"`
	} `json:"dns"`
	HTTP *struct {
		Hostname string `json:"hostname"`
		URL      string `json:"url"`
		Method   string `json:"http_method"`
		Status   int    `json:"status"`
	} `json:"http"`
	TLS *struct {
		SNI string `json:"sni"`
	} `json:"tls"`
	Flow *struct {
		BytesToServer uint64 `json:"bytes_toserver"`
		BytesToClient uint64 `json:"bytes_toclient"`
		PktsToServer  uint64 `json:"pkts_toserver"`
		PktsToClient  uint64 `json:"pkts_toclient"`
	} `json:"flow"`
}

var signatures = [...]string{
	"ET SCAN Potential SSH Scan",
	"ET COMPROMISED Known Compromised or Hostile Host Traffic group 3",
	"ET EXPLOIT Apache HTTP Server 2.4.49 - Path Traversal Attempt (CVE-2021-41773) M2",
	"ET POLICY Observed DNS Query to .cloud TLD",
	"ET MALWARE Win32/Emotet CnC Activity (POST) M11",
	"ET SCAN Suspicious inbound to MSSQL port 1433",
	"ET DROP Spamhaus DROP Listed Traffic Inbound group 12",
	"ET INFO Observed Cloudflare DNS over HTTPS Domain (cloudflare-dns .com in TLS SNI)",
}

// generate returns count EVE lines (count a power of two) and their mean
// length.
func generate(g *synth.Gen, addrs, names []match.Change, count, hit int, seed uint64) ([][]byte, float64) {
	r := rand.New(rand.NewPCG(seed, 77))
	ext := g.AddrQueries(addrs, count, hit)
	hosts := g.NameQueries(names, count, hit)
	out := make([][]byte, count)
	total := 0
	base := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for i := range out {
		ts := base.Add(time.Duration(i) * 997 * time.Microsecond).Format("2006-01-02T15:04:05.000000-0700")
		client := fmt.Sprintf("10.%d.%d.%d", r.IntN(4), r.IntN(256), 1+r.IntN(254))
		remote := ext[i].String()
		name := hosts[i]
		flowID := r.Uint64() >> 14
		sport := 1024 + r.IntN(64000)
		head := fmt.Sprintf(`{"timestamp":"%s","flow_id":%d,"in_iface":"ens18","event_type":`, ts, flowID)
		var line string
		switch k := r.IntN(100); {
		case k < 35:
			dport := [...]int{443, 80, 53, 22, 25, 123, 8080, 3389}[r.IntN(8)]
			line = head + fmt.Sprintf(`"flow","src_ip":"%s","src_port":%d,"dest_ip":"%s","dest_port":%d,"proto":"TCP","app_proto":"tls",`+
				`"flow":{"pkts_toserver":%d,"pkts_toclient":%d,"bytes_toserver":%d,"bytes_toclient":%d,"start":"%s","end":"%s","age":%d,"state":"closed","reason":"timeout","alerted":false},`+
				`"community_id":"1:jGKBbrn9EsH+6OJZKavLzgMQfNY=","tcp":{"tcp_flags":"1b","tcp_flags_ts":"1b","tcp_flags_tc":"1b","syn":true,"fin":true,"psh":true,"ack":true,"state":"closed"}}`,
				client, sport, remote, dport, 1+r.IntN(40), r.IntN(60), 60+r.IntN(20000), r.IntN(90000), ts, ts, r.IntN(30))
		case k < 65:
			line = head + fmt.Sprintf(`"dns","src_ip":"%s","src_port":%d,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","pkt_src":"wire/pcap",`+
				`"dns":{"type":"query","id":%d,"rrname":"%s","rrtype":"A","tx_id":0,"opcode":0}}`, client, sport, r.IntN(65536), name)
		case k < 80:
			line = head + fmt.Sprintf(`"tls","src_ip":"%s","src_port":%d,"dest_ip":"%s","dest_port":443,"proto":"TCP","pkt_src":"wire/pcap",`+
				`"tls":{"subject":"CN=%s","issuerdn":"C=US, O=Let's Encrypt, CN=R3","serial":"04:D2:9A:1E:55:6B:0C:8F:31:AA","fingerprint":"a8:4b:0a:38:cf:a4:37:f4:ec:17:48:c0:6a:18:82:ce:b5:3b:c9:a9",`+
				`"sni":"%s","version":"TLS 1.2","notbefore":"2026-10-22T01:34:07","notafter":"2027-01-20T01:34:07",`+
				`"ja3":{"hash":"6271f898ce5be7dd52b0fc260d0662b3","string":"771,49196-49195-49200-49199-49188-49187-49192-49191-49162-49161-49172-49171-157-156-61-60-53-47-10,0-10-11-13-35-16-23-65281,29-23-24,0"},`+
				`"ja3s":{"hash":"fbe594b39bb5d9c53aa4f6caf8d2950c","string":"771,49199,65281-0-11-16-23"}}}`, client, sport, remote, name, name)
		case k < 90:
			line = head + fmt.Sprintf(`"http","src_ip":"%s","src_port":%d,"dest_ip":"%s","dest_port":80,"proto":"TCP","tx_id":0,`+
				`"http":{"hostname":"%s","url":"/wp-content/uploads/%d/img.png?v=%d","http_user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",`+
				`"http_content_type":"image/png","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":%d}}`, client, sport, remote, name, r.IntN(2030), r.IntN(1e6), r.IntN(1e6))
		default:
			sig := signatures[r.IntN(len(signatures))]
			line = head + fmt.Sprintf(`"alert","src_ip":"%s","src_port":%d,"dest_ip":"203.0.113.%d","dest_port":22,"proto":"TCP","community_id":"1:f3UfE5ZOkAox+0bzGv6De+3LsnU=",`+
				`"alert":{"action":"allowed","gid":1,"signature_id":%d,"rev":3,"signature":"%s","category":"Attempted Information Leak","severity":%d,`+
				`"metadata":{"affected_product":["Any"],"attack_target":["Any"],"created_at":["2011_04_28"],"deployment":["Perimeter"],"signature_severity":["Major"],"updated_at":["2026_08_30"]}},`+
				`"flow":{"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":74,"bytes_toclient":0,"start":"%s"}}`,
				remote, sport, 1+r.IntN(254), 2000000+r.IntN(100000), sig, 1+r.IntN(3), ts)
		}
		out[i] = []byte(line)
		total += len(line)
	}
	if strings.Contains(string(out[0]), "\n") {
		log.Fatal("newline in a generated line")
	}
	return out, float64(total) / float64(count)
}

// startProfile starts a CPU profile into path ("" for none) and returns
// what stops it.
func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

type result struct {
	wall, cpu float64 // events per second
	allocs    float64 // per event
	hits      float64 // fraction that hit
}

func best(r result) float64 {
	if r.cpu > 0 {
		return r.cpu
	}
	return r.wall
}

// measure runs f for 0..n-1 after a warm-up pass, on a locked OS thread
// so the thread's CPU time is the work's own.
func measure(n int, f func(int) bool) result {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for i := range 1 << 16 {
		f(i)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	found := 0
	c0, cpuOK := threadCPU()
	t := time.Now()
	for i := range n {
		if f(i) {
			found++
		}
	}
	wall := time.Since(t)
	c1, _ := threadCPU()
	runtime.ReadMemStats(&after)
	r := result{
		wall:   float64(n) / wall.Seconds(),
		allocs: float64(after.Mallocs-before.Mallocs) / float64(n),
		hits:   float64(found) / float64(n),
	}
	if cpuOK && c1 > c0 {
		r.cpu = float64(n) / (c1 - c0).Seconds()
	}
	return r
}

func row(what string, r result, lineSize float64) {
	cpu := fmt.Sprintf("%.0f", r.cpu)
	if r.cpu == 0 {
		cpu = "n/a"
	}
	fmt.Printf("%-14s %14.0f %14s %9.1f %12.2f %7.1f %4.1f%%\n", what, r.wall, cpu, best(r)*lineSize/1e6, r.allocs, best(r)/goal, 100*r.hits)
}
