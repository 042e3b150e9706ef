package netflow

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/sensor/netflow/nftest"
)

// TestKernelDrops: with a small receive buffer and a sink that stalls,
// the kernel drops datagrams and the collector counts them.
func TestKernelDrops(t *testing.T) {
	stall := make(chan struct{})
	c, err := New(Config{Addr: "127.0.51.1:0", Readers: 1, ReadBuffer: 4096, Batch: 1}, func([]sensor.Event) { <-stall })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(c.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pkt := nftest.AppendV5(nil, []nftest.Flow{flow(1)}, export, 1, 0)
	for range 200 {
		conn.Write(pkt)
	}
	close(stall)
	deadline := time.Now().Add(2 * time.Second)
	for s := c.Stats(); s.Packets+s.KernelDrops < 200 && time.Now().Before(deadline); s = c.Stats() {
		time.Sleep(10 * time.Millisecond)
	}
	s := c.Stats()
	if s.KernelDrops == 0 || s.Packets+s.KernelDrops != 200 {
		t.Errorf("stats %+v: received and dropped should add up to the 200 sent", s)
	}
}
