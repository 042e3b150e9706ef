package detect

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/sensor/syslog"
)

// TestSyslogToDetection runs the path a gateway's sshd failures take: a
// real UDP syslog listener on 127.0.0.1 parses the lines, the detector
// counts them, and a flush reports the brute force once.
func TestSyslogToDetection(t *testing.T) {
	d := mustNew(t, Config{Member: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}, nil)
	var mu sync.Mutex
	n := 0
	srv := &syslog.Server{Parser: syslog.Parser{Location: time.UTC}, Handle: func(ev *sensor.Event) {
		mu.Lock()
		defer mu.Unlock()
		ev.Dst = netip.MustParseAddr("203.0.113.22") // the gateway the sensor runs on
		d.Observe(ev)
		n++
	}}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeUDP(ctx, conn) }()
	c, err := net.Dial("udp", conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 15 {
		fmt.Fprintf(c, "<38>1 2026-12-07T10:00:%02dZ gw sshd 77 - - Failed password for invalid user u%d from 198.51.100.66 port %d ssh2", i, i%5, 40000+i)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := n
		mu.Unlock()
		if got == 15 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 15 lines arrived", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ds := d.Flush(time.Date(2026, 12, 7, 10, 5, 0, 0, time.UTC))
	if len(ds) != 1 || ds[0].Kind != sensor.DetectSSHBruteForce || ds[0].Source != netip.MustParseAddr("198.51.100.66") ||
		ds[0].Target != netip.MustParseAddr("203.0.113.22") || ds[0].Count != 15 || ds[0].Detail != "15 failed SSH logins for 5 users" {
		t.Fatalf("%+v", ds)
	}
}
