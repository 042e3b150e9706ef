package netflow

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
)

const softflowd = "/usr/sbin/softflowd"

func needSoftflowd(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(softflowd); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("softflowd missing on CI: %v", err)
		}
		t.Skip("softflowd not installed (apt-get install softflowd)")
	}
}

// collect runs a collector on a loopback address of its own and returns
// it with a function that returns the events received so far.
func collect(t *testing.T, addr string) (*Collector, func() []sensor.Event) {
	t.Helper()
	var (
		mu  sync.Mutex
		got []sensor.Event
	)
	c, err := New(Config{Addr: addr, Readers: 2}, func(evs []sensor.Event) {
		mu.Lock()
		got = append(got, evs...)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return c, func() []sensor.Event {
		mu.Lock()
		defer mu.Unlock()
		return append([]sensor.Event(nil), got...)
	}
}

// runSoftflowd has softflowd read pcap and export its flows with the
// given version to collector, and waits for it to finish. "-c none": no
// control socket (softflowd 1.1.0 blocks in accept on some socket paths
// when it reads a file).
func runSoftflowd(t *testing.T, pcap, collector, version string) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := []string{"-d", "-r", pcap, "-n", collector, "-v", version, "-p", filepath.Join(dir, "pid"), "-c", "none"}
	if version != "5" {
		args = append(args, "-6") // IPv6 flows too (v5 has no room for them)
	}
	cmd := exec.CommandContext(ctx, softflowd, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("softflowd -v %s: %v\n%s", version, err, out)
	}
	t.Logf("softflowd -v %s: %s", version, out)
}

// TestSoftflowd has Debian's softflowd read a pcap file the test writes
// and export its flows as NetFlow v5, v9 and IPFIX to a collector on a
// loopback address, and checks every flow of the file arrives once with
// its addresses, ports, protocol, packet and byte counts, and its end time.
// v9 and IPFIX get IPv6 conversations too.
func TestSoftflowd(t *testing.T) {
	needSoftflowd(t)
	dir := t.TempDir()
	pcap4, pcap6 := filepath.Join(dir, "traffic.pcap"), filepath.Join(dir, "traffic6.pcap")
	want4, packets4, err := writeTraffic(pcap4, 120, 7, false)
	if err != nil {
		t.Fatal(err)
	}
	want6, packets6, err := writeTraffic(pcap6, 120, 7, true)
	if err != nil {
		t.Fatal(err)
	}
	first := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i, version := range []string{"5", "9", "10"} {
		t.Run("v"+version, func(t *testing.T) {
			pcap, want, packets := pcap6, want6, packets6
			if version == "5" {
				pcap, want, packets = pcap4, want4, packets4
			}
			c, got := collect(t, fmt.Sprintf("127.0.%d.%d:0", 90+i, 2+i))
			runSoftflowd(t, pcap, c.Addr().String(), version)
			var evs []sensor.Event
			deadline := time.Now().Add(5 * time.Second)
			for len(evs) < len(want) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
				evs = got()
			}
			input := "netflow"
			if version == "10" {
				input = "ipfix"
			}
			seen := make(map[flowKey]flowCount)
			for _, e := range evs {
				k := flowKey{e.Src, e.Dst, e.SrcPort, e.DstPort, e.Proto}
				if _, dup := seen[k]; dup {
					t.Errorf("flow %v twice", k)
				}
				seen[k] = flowCount{e.Packets, e.Bytes}
				if e.Type != sensor.TypeFlow || e.Input != input {
					t.Errorf("flow %v: type %v input %q", k, e.Type, e.Input)
				}
				// v9 headers give the export time in whole seconds.
				if e.Time.Before(first.Add(-time.Second)) || e.Time.After(first.Add(time.Minute)) {
					t.Errorf("flow %v ends at %v, not in the capture's minute", k, e.Time)
				}
			}
			for k, w := range want {
				if g, ok := seen[k]; !ok {
					t.Errorf("flow %v missing", k)
				} else if g != w {
					t.Errorf("flow %v: %d packets %d bytes, want %d and %d", k, g.packets, g.bytes, w.packets, w.bytes)
				}
			}
			for k := range seen {
				if _, ok := want[k]; !ok {
					t.Errorf("flow %v not in the capture", k)
				}
			}
			s := c.Stats()
			if s.Malformed != 0 || s.NoTemplate != 0 || s.Flows != uint64(len(want)) {
				t.Errorf("stats %+v, want %d flows and no faults", s, len(want))
			}
			t.Logf("v%s: %d packets in the capture, %d flows, %d datagrams", version, packets, len(want), s.Packets)
		})
	}
}
