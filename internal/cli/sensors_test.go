package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/queue/natsq"
)

func TestSensorsCommands(t *testing.T) {
	dir := t.TempDir()
	data := []string{"--data", filepath.Join(dir, "data")}
	cmd := func(args ...string) []string { return append(args, data...) }
	must(t, runCLI(t, nil, "", cmd("migrate")...))
	orgs := write(t, dir, "orgs.csv", "code,name,name_en,kind,parent_code\nVN,Quốc gia,National,national,\nMOH.HN,Sở Y tế,Health,agency,VN\n")
	must(t, runCLI(t, nil, "", cmd("import", "orgs", orgs)...))

	out := filepath.Join(dir, "gw1.nk")
	r := must(t, runCLI(t, nil, "", cmd("sensors", "add", "gw1", "--org", "moh.hn", "--out", out)...))
	if !strings.Contains(r.stderr, "organization MOH.HN") {
		t.Errorf("sensors add said:\n%s", r.stderr)
	}
	e, err := natsq.EdgeOfCreds(out)
	if err != nil || e.Name != "gw1" || e.Org != "MOH.HN" || e.Role != natsq.EdgeSensor {
		t.Fatalf("issued %+v, %v", e, err)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("seed file: %v", err)
	}
	r = must(t, runCLI(t, nil, "", cmd("sensors", "list")...))
	if !strings.Contains(r.stdout, "gw1") || !strings.Contains(r.stdout, "MOH.HN") || !strings.Contains(r.stdout, e.PublicKey) {
		t.Errorf("sensors list:\n%s", r.stdout)
	}
	if r := runCLI(t, nil, "", cmd("sensors", "add", "gw1", "--org", "VN")...); r.code != 1 || !strings.Contains(r.stderr, "already registered") {
		t.Errorf("a second gw1: %+v", r)
	}
	if r := runCLI(t, nil, "", cmd("sensors", "add", "gw2", "--org", "NOPE")...); r.code != 1 || !strings.Contains(r.stderr, "no organization") {
		t.Errorf("an unknown organization: %+v", r)
	}
	if r := runCLI(t, nil, "", cmd("sensors", "add", "gw2")...); r.code != 2 {
		t.Errorf("no --org: %+v", r)
	}
	if r := runCLI(t, nil, "", cmd("sensors", "add", "GW.2", "--org", "VN")...); r.code != 1 || !strings.Contains(r.stderr, "name") {
		t.Errorf("a bad name: %+v", r)
	}
	must(t, runCLI(t, nil, "", cmd("sensors", "revoke", "gw1")...))
	if r := runCLI(t, nil, "", cmd("sensors", "revoke", "gw1")...); r.code != 1 || !strings.Contains(r.stderr, "unknown edge") {
		t.Errorf("revoking twice: %+v", r)
	}
	if r := must(t, runCLI(t, nil, "", cmd("sensors", "list")...)); strings.Contains(r.stdout, "gw1") {
		t.Errorf("revoked sensor listed:\n%s", r.stdout)
	}
}

// TestSensorCommand runs `rampart sensor` against `rampart serve` with a
// key from `rampart sensors add`: it reads an EVE file, reports, and
// says so on /stats.
func TestSensorCommand(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	env := map[string]string{"RAMPART_DATA": data}
	must(t, runCLI(t, nil, "", "migrate", "--data", data))
	orgs := write(t, dir, "orgs.csv", "code,name,name_en,kind,parent_code\nA,Bộ A,Ministry A,ministry,\n")
	must(t, runCLI(t, nil, "", "import", "orgs", orgs, "--data", data))
	assets := write(t, dir, "assets.csv", "org_code,kind,value\nA,cidr,198.51.100.0/24\n")
	must(t, runCLI(t, nil, "", "import", "assets", assets, "--data", data))
	_, serveLog, stop := serve(t, env, "--no-scheduler", "--no-worker")
	defer stop()
	url := natsURLOf(t, serveLog)
	creds := filepath.Join(dir, "gw1.nk")
	must(t, runCLI(t, nil, "", "sensors", "add", "gw1", "--org", "A", "--out", creds, "--data", data))

	eve := filepath.Join(dir, "eve.json")
	var lines []string
	for i := range 3 {
		lines = append(lines, fmt.Sprintf(`{"timestamp":"%s","event_type":"alert","src_ip":"203.0.113.7","src_port":4000,"dest_ip":"198.51.100.10","dest_port":80,"proto":"TCP","alert":{"signature_id":1,"signature":"ET TEST","severity":1}}`,
			time.Now().UTC().Add(time.Duration(i)*time.Second).Format("2006-01-02T15:04:05.000000+0000")))
	}
	write(t, dir, "eve.json", strings.Join(lines, "\n")+"\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := ln.Addr().String()
	ln.Close()

	var out, errb syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"sensor", "--nats", url, "--creds", creds, "--eve", eve, "--from-start", "--http", httpAddr,
			"--buffer", filepath.Join(dir, "buffer"), "--buffer-max", "1MiB"}, &Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(""), Getenv: func(string) string { return "" }})
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("sensor exited %d: %s", code, errb.String())
		}
	}()
	var stats map[string]any
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the sensor sent nothing: %v\n%s", stats, errb.String())
		}
		resp, err := http.Get("http://" + httpAddr + "/stats")
		if err != nil {
			continue
		}
		stats = nil
		_ = json.NewDecoder(resp.Body).Decode(&stats)
		resp.Body.Close()
		if sent, _ := stats["reports_sent"].(float64); sent >= 1 {
			break
		}
	}
	if !strings.Contains(errb.String(), "rampart sensor is running: sensor gw1 of organization A") {
		t.Errorf("sensor said:\n%s", errb.String())
	}
	if ev := stats["stats"].(map[string]any)["events"].(map[string]any)["eve"]; ev != float64(3) {
		t.Errorf("events: %v", stats["stats"])
	}
	if r := runCLI(t, nil, "", "sensor", "--nats", url); r.code != 2 {
		t.Errorf("sensor without credentials: %+v", r)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"4096": 4096, "4KiB": 4096, "256MiB": 256 << 20, "1GB": 1e9, "2g": 2 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "12XB", "1e3"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}
