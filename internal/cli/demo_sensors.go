package cli

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	demolab "github.com/rampart-cert/rampart/internal/lab"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/sensor/agent"
)

//go:embed demodata/sensor-eve.json
var demoEVE string

// demoAttacker is the address every demo sensor sees attacking its
// member: three organizations within a minute make it a national
// decision.
const demoAttacker = "203.0.113.66"

// demoSensorOrgs are the organizations whose gateways run a demo sensor.
var demoSensorOrgs = []string{"HN-DEMO-STTTT", "HCM-DEMO-SYT", "EPAY-DEMO"}

// demoReplay is how often the demo sensors replay the sample again, so
// rates stay alive and the decision is extended.
const demoReplay = 2 * time.Minute

// startDemoSensors runs one sensor per demo organization inside serve,
// each with its own credential from the embedded NATS (as `rampart
// sensors add` issues them) and its own EVE file, replaying the embedded
// sample with fresh times against one of the organization's lab hosts.
// It returns a function that stops them.
func startDemoSensors(ctx context.Context, dataDir, natsURL string, l *demolab.Lab, log *slog.Logger) (func(), error) {
	if natsURL == "" {
		log.Warn("demo sensors need the embedded NATS's listener; none started")
		return func() {}, nil
	}
	dir := filepath.Join(dataDir, "demo", "sensors")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("demo sensors: %w", err)
	}
	hosts := map[string]netip.Addr{}
	for _, h := range l.Hosts() {
		if _, ok := hosts[h.OrgCode]; !ok && !h.Hardened {
			hosts[h.OrgCode] = h.Addr
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stop := func() { cancel(); wg.Wait() }
	for i, code := range demoSensorOrgs {
		host, ok := hosts[code]
		if !ok {
			continue
		}
		name := "demo-" + strings.ToLower(strings.ReplaceAll(code, ".", "-"))
		creds, err := demoSensorCreds(filepath.Join(dataDir, "nats"), dir, name, code)
		if err != nil {
			stop()
			return nil, err
		}
		eve := filepath.Join(dir, name+".eve.json")
		if err := os.WriteFile(eve, nil, 0o640); err != nil {
			stop()
			return nil, fmt.Errorf("demo sensors: %w", err)
		}
		a, err := agent.New(agent.Config{NATS: natsURL, Creds: creds, EVE: eve, FromStart: true, Internal: []netip.Prefix{netip.PrefixFrom(host, host.BitLen())},
			BufferDir: filepath.Join(dir, name), BufferMax: 16 << 20, Flush: 2 * time.Second, Heartbeat: 10 * time.Second, Version: Version, Logger: log})
		if err != nil {
			stop()
			return nil, fmt.Errorf("demo sensors: %w", err)
		}
		scanner := "198.18.0." + strconv.Itoa(10+i) // one scanner per member: not shared, no decision
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := a.Run(ctx); err != nil {
				log.Error("demo sensor stopped", "sensor", name, "err", err)
			}
		}()
		go func() {
			defer wg.Done()
			replayDemoEVE(ctx, eve, host, scanner, log)
		}()
	}
	log.Info("demo sensors started", "sensors", len(demoSensorOrgs), "attacker", demoAttacker)
	return stop, nil
}

// demoSensorCreds returns the seed file of a demo sensor, issuing its
// key on first start; a demo restarted on the same data reuses it.
func demoSensorCreds(natsDir, dir, name, code string) (string, error) {
	path := filepath.Join(dir, name+".nk")
	if e, err := natsq.EdgeOfCreds(path); err == nil {
		es, _ := natsq.Edges(natsDir)
		for _, x := range es {
			if x.Role == natsq.EdgeSensor && x.Name == name && x.PublicKey == e.PublicKey {
				return path, nil
			}
		}
	}
	if _, err := natsq.RevokeEdge(natsDir, natsq.EdgeSensor, name); err != nil && !errors.Is(err, natsq.ErrUnknownEdge) {
		return "", err
	}
	seed, _, err := natsq.IssueEdge(natsDir, natsq.EdgeSensor, name, code)
	if err != nil {
		return "", fmt.Errorf("demo sensors: %w", err)
	}
	if err := os.WriteFile(path, seed, 0o600); err != nil {
		return "", fmt.Errorf("demo sensors: %w", err)
	}
	return path, nil
}

// replayDemoEVE appends the sample to path with the times of now, and
// again every demoReplay, until ctx ends.
func replayDemoEVE(ctx context.Context, path string, host netip.Addr, scanner string, log *slog.Logger) {
	for {
		if err := appendDemoEVE(path, demoEVELines(time.Now(), host, scanner)); err != nil {
			log.Warn("demo sensor sample", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(demoReplay):
		}
	}
}

// demoEVELines is the sample at time t: the embedded records and a port
// scan of the host by its own scanner (flows to 40 ports).
func demoEVELines(t time.Time, host netip.Addr, scanner string) string {
	ts := func(sec int) string {
		return t.Add(time.Duration(sec) * time.Second).UTC().Format("2006-01-02T15:04:05.000000+0000")
	}
	var b strings.Builder
	r := strings.NewReplacer("{{ATTACKER}}", demoAttacker, "{{SCANNER}}", scanner, "{{HOST}}", host.String(),
		"{{T+0}}", ts(0), "{{T+2}}", ts(2), "{{T+5}}", ts(5), "{{T+6}}", ts(6), "{{T+7}}", ts(7), "{{T+8}}", ts(8))
	b.WriteString(r.Replace(demoEVE))
	for port := 1; port <= 40; port++ {
		fmt.Fprintf(&b, `{"timestamp":"%s","flow_id":%d,"event_type":"flow","src_ip":"%s","src_port":51000,"dest_ip":"%s","dest_port":%d,"proto":"TCP","flow":{"pkts_toserver":1,"pkts_toclient":1,"bytes_toserver":60,"bytes_toclient":54,"start":"%s","end":"%s","age":0,"state":"closed","reason":"timeout","alerted":false}}`+"\n",
			ts(10), 1258832998100000+port, scanner, host, port, ts(10), ts(10))
	}
	return b.String()
}

func appendDemoEVE(path, lines string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	_, err = f.WriteString(lines)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
