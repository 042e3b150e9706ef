// Command intel-import measures the threat-intelligence hub's imports
// against the speed goals of issue 12:
//
//   - 1,000,000 indicators imported from STIX or from CSV into SQLite in
//     at most 10 s end to end (parse and store);
//
//   - a 1,000,000-row Shadowserver report routed to its owners in at most
//     30 s, with the server's memory under 500 MB.
//
//     go run ./bench/intel-import
//     go run ./bench/intel-import -n 200000 -only csv
//     go run ./bench/intel-import -owned 1     # every report row an early warning
//
// Each scenario runs in a child process of its own, so its peak resident
// memory is its own. The feeds are generated first (internal/hub/synth:
// a STIX bundle and a URLhaus-style CSV of n values, a Shadowserver
// scan_snmp report of n rows) into a temporary directory; what is timed
// is the hub's run over a fresh SQLite store, exactly as `rampart intel
// import` and a configured feed run it:
//
//   - stix, csv: ImportFile of the local file (read in place);
//   - shadowserver: Import through the embedded JetStream object store
//     (the path of an upload or a URL feed, paced at the hub's default
//     rate), with a registry of organizations owning one /24 in every
//     -owned of the report's networks (20: 5% of the rows, the share of a
//     country's report a constituency's registry typically covers).
//
// It prints the wall time, the process's CPU time (on a shared machine
// the CPU figure says what the work costs), rows per second, the peak Go
// heap and resident memory, and the ratio to each goal (1 or more: met).
// No peer tool runs side by side: none is installed on this machine.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/hub"
	"github.com/rampart-cert/rampart/internal/hub/synth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

func main() {
	n := flag.Int("n", 1_000_000, "indicators or report rows")
	only := flag.String("only", "stix,csv,shadowserver", "scenarios to run")
	owned := flag.Int("owned", 20, "the registry owns one /24 in every this many of the report's")
	dir := flag.String("dir", "", "where to write the feeds and stores (default: a temporary directory)")
	one := flag.String("one", "", "run one scenario in this process (used by the parent)")
	cpuprof := flag.String("cpuprofile", "", "write each scenario's CPU profile to this path with the scenario's name appended")
	flag.BoolVar(&keep, "keep", false, "keep each scenario's store under -dir for a look afterwards")
	flag.Parse()
	log.SetFlags(0)
	if *one != "" {
		if err := runOne(*one, *dir, *n, *owned, *cpuprof); err != nil {
			log.Fatal(err)
		}
		return
	}
	work := *dir
	if work == "" {
		d, err := os.MkdirTemp("", "intel-import-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		work = d
	}
	fmt.Printf("intel-import: n=%d, GOMAXPROCS=%d, %s\n", *n, runtime.GOMAXPROCS(0), runtime.Version())
	for _, sc := range strings.Split(*only, ",") {
		sc = strings.TrimSpace(sc)
		if err := generate(sc, work, *n); err != nil {
			log.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-one", sc, "-dir", work, "-n", fmt.Sprint(*n), "-owned", fmt.Sprint(*owned), "-cpuprofile", *cpuprof, fmt.Sprintf("-keep=%t", keep))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			log.Fatalf("%s: %v", sc, err)
		}
	}
}

func feedPath(dir, sc string) string {
	switch sc {
	case "stix":
		return filepath.Join(dir, "bundle.json")
	case "csv":
		return filepath.Join(dir, "urlhaus.csv")
	}
	return filepath.Join(dir, "2026-12-01-scan_snmp-vn.csv")
}

// keep leaves each scenario's store in place (-keep).
var keep bool

var firstAddr = netip.MustParseAddr("10.64.0.0")

// generate writes a scenario's feed unless it is there.
func generate(sc, dir string, n int) error {
	path := feedPath(dir, sc)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	switch sc {
	case "stix":
		err = synth.STIX(f, n)
	case "csv":
		err = synth.CSV(f, n)
	case "shadowserver":
		err = synth.Shadowserver(f, firstAddr, n)
	default:
		return fmt.Errorf("unknown scenario %q (stix, csv, shadowserver)", sc)
	}
	if err != nil {
		return err
	}
	return f.Close()
}

func runOne(sc, dir string, n, every int, cpuprof string) error {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	tmp, err := os.MkdirTemp(dir, sc+"-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("store:", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(tmp, "rampart.db"), quiet)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	nets := 0
	if sc == "shadowserver" {
		nets = (n + 255) / 256
	}
	owners, err := register(ctx, st, nets, every)
	if err != nil {
		return err
	}
	d := hub.Deps{Store: st, Findings: findings.New(findings.Deps{Store: st, Logger: quiet}), Logger: quiet}
	var q *natsq.Queue
	if sc == "shadowserver" {
		q, err = natsq.Open(ctx, natsq.Options{DataDir: filepath.Join(tmp, "nats"), NoListen: true, Logger: quiet})
		if err != nil {
			return err
		}
		defer q.Close()
		d.Objects = q
	}
	h := hub.New(d)
	path := feedPath(dir, sc)
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if cpuprof != "" {
		pf, err := os.Create(cpuprof + "." + sc)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
	}
	peak := watchHeap()
	start, cpu0, w0 := time.Now(), cpuTime(), written()
	var run hub.Run
	switch sc {
	case "stix":
		run, err = h.ImportFile(ctx, hub.ImportRequest{Format: "stix", Feed: "bench-stix"}, path)
	case "csv":
		run, err = h.ImportFile(ctx, hub.ImportRequest{Format: "csv", Preset: "urlhaus", Feed: "bench-csv"}, path)
	default:
		var f *os.File
		if f, err = os.Open(path); err != nil {
			return err
		}
		run, err = h.Import(ctx, hub.ImportRequest{Format: "shadowserver", Name: filepath.Base(path)}, struct{ io.Reader }{f})
		f.Close()
	}
	took, cpu, wrote := time.Since(start), cpuTime()-cpu0, written()-w0
	pprof.StopCPUProfile()
	heap := peak()
	if err != nil {
		return fmt.Errorf("%s: %w", sc, err)
	}
	rss := peakRSS()
	mb := func(b uint64) float64 { return float64(b) / (1 << 20) }
	switch sc {
	case "stix", "csv":
		fmt.Printf("%-12s %7d indicators (%5.0f MB) in %6.2f s (CPU %6.2f s): %8.0f/s; %d new; peak heap %4.0f MB, RSS %4.0f MB; wrote %5.0f MB; goal ≤ 10 s: ratio %.2f\n",
			sc, run.Records, mb(uint64(fi.Size())), took.Seconds(), cpu.Seconds(), float64(run.Records)/took.Seconds(),
			run.Indicators.New, mb(heap), mb(rss), mb(wrote), 10/took.Seconds())
	default:
		fmt.Printf("%-12s %7d rows (%5.0f MB) to %d owners in %6.2f s (CPU %6.2f s): %8.0f rows/s; %d early warnings; peak heap %4.0f MB, RSS %4.0f MB; wrote %5.0f MB; goals ≤ 30 s: ratio %.2f, < 500 MB: ratio %.2f\n",
			sc, run.Records, mb(uint64(fi.Size())), owners, took.Seconds(), cpu.Seconds(), float64(run.Records)/took.Seconds(),
			run.Hits, mb(heap), mb(rss), mb(wrote), 30/took.Seconds(), 500/mb(rss))
	}
	return nil
}

// register makes organizations that own one /24 of every every of the
// first nets /24s from firstAddr, and returns how many.
func register(ctx context.Context, st *sqlstore.Store, nets, every int) (int, error) {
	sys := auth.SystemPrincipal
	root := org.Organization{Code: "VN", Name: "Việt Nam", NameEN: "Vietnam", Kind: org.KindNational}
	if err := st.CreateOrg(ctx, sys, &root); err != nil {
		return 0, err
	}
	base := firstAddr.As4()
	n := 0
	for i := 0; i < nets; i += every {
		o := org.Organization{ParentID: root.ID, Code: fmt.Sprintf("ORG%05d", i), Name: fmt.Sprintf("Đơn vị %d", i), Kind: org.KindAgency}
		if err := st.CreateOrg(ctx, sys, &o); err != nil {
			return n, err
		}
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{base[0], base[1] + byte(i>>8), byte(i), 0}), 24)
		a := asset.Asset{OrgID: o.ID, Kind: asset.KindCIDR, Value: p.String()}
		if err := st.CreateAsset(ctx, sys, &a); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// watchHeap samples the Go heap in use every 10 ms until the returned
// func is called, which returns the largest seen. It reads runtime/metrics,
// which does not stop the world as runtime.ReadMemStats does: a hundred
// stops a second cost the import itself a sixth of its CPU time.
func watchHeap() func() uint64 {
	stop, res := make(chan struct{}), make(chan uint64)
	go func() {
		var peak uint64
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			var inuse uint64
			for _, s := range sample {
				if s.Value.Kind() == metrics.KindUint64 {
					inuse += s.Value.Uint64()
				}
			}
			peak = max(peak, inuse)
			select {
			case <-stop:
				res <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(stop); return <-res }
}
