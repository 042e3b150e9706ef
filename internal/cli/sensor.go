package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor/agent"
	"github.com/rampart-cert/rampart/internal/sensor/detect"
)

// sensorReady is what runSensor prints once it runs, for people and tests.
const sensorReady = "rampart sensor is running"

// runSensor is `rampart sensor`: the process at a member's gateway that
// reads Suricata, Zeek, NetFlow and syslog, detects, and reports to the
// platform with its own credential.
func runSensor(ctx context.Context, env *Env, args []string) error {
	fs, f := flags(env, "sensor", false)
	creds := fs.String("creds", "", "the sensor's credentials file from `rampart sensors add` (same as --nats-creds)")
	eve := fs.String("eve", "", "Suricata EVE JSON: a file to follow through rotation, or unix:PATH / unixgram:PATH for Suricata's socket output")
	zeek := fs.String("zeek", "", "a directory of Zeek logs to follow (conn, dns, http, ssl, ssh, notice; JSON or TSV)")
	netflowAddr := fs.String("netflow", "", "UDP host:port receiving NetFlow v5, v9 and IPFIX")
	syslogAddr := fs.String("syslog", "", "host:port receiving syslog over UDP and TCP (authentication failures)")
	internal := fs.String("internal", "", "the member's networks, comma-separated CIDRs (default: private addresses)")
	bufferDir := fs.String("buffer", "", "directory of the disk buffer of unsent reports and the indicator cache (default: the user's cache directory)")
	bufferMax := fs.String("buffer-max", "256MiB", "cap of the disk buffer; the oldest reports are dropped past it, and counted")
	httpAddr := fs.String("http", "", "host:port serving /healthz and /stats (JSON)")
	fromStart := fs.Bool("from-start", false, "read the files from their beginning (a replay) instead of only new lines")
	thresholdsFile := fs.String("thresholds", "", "YAML file of detection thresholds (window, scan_ports, scan_hosts, ssh_failures, web_failures, volume_factor, …; docs/sensors.md); defaults otherwise")
	c, err := load(env, fs, f, args)
	if err != nil {
		return err
	}
	if *creds != "" {
		c.NATSCreds = *creds
	}
	if c.NATS == "" || c.NATSCreds == "" {
		return fmt.Errorf("%w: sensor needs --nats URL and --creds FILE (from `rampart sensors add`)", errUsage)
	}
	nets, err := parseNets(*internal)
	if err != nil {
		return fmt.Errorf("%w: --internal: %v", errUsage, err)
	}
	capBytes, err := parseSize(*bufferMax)
	if err != nil {
		return fmt.Errorf("%w: --buffer-max: %v", errUsage, err)
	}
	var thresholds detect.Config
	if *thresholdsFile != "" {
		f, err := os.Open(*thresholdsFile)
		if err != nil {
			return fmt.Errorf("%w: --thresholds: %v", errUsage, err)
		}
		thresholds, err = detect.ReadThresholds(f, detect.Config{})
		f.Close()
		if err != nil {
			return fmt.Errorf("%w: --thresholds %s: %v", errUsage, *thresholdsFile, err)
		}
	}
	log := logger(env, c)
	a, err := agent.New(agent.Config{NATS: c.NATS, Creds: c.NATSCreds, EVE: *eve, Zeek: *zeek, NetFlow: *netflowAddr, Syslog: *syslogAddr,
		FromStart: *fromStart, Internal: nets, BufferDir: *bufferDir, BufferMax: capBytes, Version: Version, Logger: log, Detect: thresholds})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *httpAddr != "" {
		ln, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			return fmt.Errorf("sensor: --http: %w", err)
		}
		hs := &http.Server{Handler: sensorHTTP(a), ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 10 * time.Second}
		go func() { _ = hs.Serve(ln) }()
		defer hs.Close()
		log.Info("sensor status", "http", ln.Addr().String())
	}
	fmt.Fprintf(env.Stderr, "%s: sensor %s of organization %s\n", sensorReady, a.Name(), a.Org())
	return a.Run(ctx)
}

// sensorHTTP serves the sensor's health and counters.
func sensorHTTP(a *agent.Agent) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !a.Connected() {
			http.Error(w, "platform unreachable; reports are buffered", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		made, dets := a.Made()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"sensor": a.Name(), "org": a.Org(), "connected": a.Connected(),
			"reports_made": made, "detections_made": dets, "reports_sent": a.Sent(), "buffer": a.Buffered(), "stats": a.Stats()})
	})
	return mux
}

// parseNets reads comma-separated CIDRs (or addresses).
func parseNets(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return nil, err
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// parseSize reads a size: bytes, or with a unit (KB, MB, GB, KiB, MiB,
// GiB, case-insensitive).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1000}, {"mb", 1000_000}, {"gb", 1000_000_000}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}}
	mult := int64(1)
	low := strings.ToLower(s)
	for _, u := range units {
		if strings.HasSuffix(low, u.suffix) {
			low, mult = strings.TrimSpace(strings.TrimSuffix(low, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(low, 10, 64)
	if err != nil || n <= 0 || n > (1<<50)/mult {
		return 0, errors.New("want a positive size such as 512MiB or 1GB")
	}
	return n * mult, nil
}
