package netflow

import (
	"context"
	"net"
	"sync"
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

// TestOversized: a datagram over MaxPacket is counted and not decoded;
// the next one is.
func TestOversized(t *testing.T) {
	c, got := collect(t, "127.0.51.2:0")
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(c.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	big := make([]byte, DefaultMaxPacket+1)
	copy(big, nftest.AppendV5(nil, []nftest.Flow{flow(1)}, export, 1, 0))
	conn.Write(big)
	conn.Write(nftest.AppendV5(nil, []nftest.Flow{flow(2)}, export, 2, 0))
	deadline := time.Now().Add(2 * time.Second)
	for len(got()) < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	s := c.Stats()
	evs := got()
	if s.Truncated != 1 || len(evs) != 1 || evs[0].SrcPort != flow(2).SrcPort {
		t.Errorf("stats %+v, events %+v", s, evs)
	}
}

// TestTemplateThenDataAcrossWorkers: a template followed at once by data
// in datagrams of their own, decoded by several workers: the reader
// learns the template before any worker sees the data, so no flow waits
// for it.
func TestTemplateThenDataAcrossWorkers(t *testing.T) {
	var (
		mu  sync.Mutex
		got int
	)
	c, err := New(Config{Addr: "127.0.51.3:0", Readers: 1, Workers: 4, Batch: 4}, func(evs []sensor.Event) {
		mu.Lock()
		got += len(evs)
		mu.Unlock()
	})
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
	const rounds, per = 50, 10
	for r := range rounds {
		id := uint16(256 + r) // a new template each round, data right behind it
		conn.Write(nftest.NewMessage(10, 1, time.Now(), 0, 0).Template(id, nftest.Flow4Template).Bytes())
		for range per {
			conn.Write(nftest.NewMessage(10, 1, time.Now(), 0, 0).Data(id, records(flow(1), flow(2)), 0).Bytes())
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for c.Stats().Flows+2*c.Stats().NoTemplate < rounds*per*2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the sink called
	mu.Lock()
	defer mu.Unlock()
	if s := c.Stats(); got != rounds*per*2 || s.NoTemplate != 0 {
		t.Errorf("%d flows, want %d; stats %+v", got, rounds*per*2, s)
	}
}

// TestListen: the helper `rampart sensor --netflow ADDR` calls receives
// until its context ends, and reports a bad address.
func TestListen(t *testing.T) {
	port, err := net.ListenPacket("udp", "127.0.51.4:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := port.LocalAddr().String()
	port.Close()
	got := make(chan sensor.Event, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Listen(ctx, addr, func(evs []sensor.Event) {
			select {
			case got <- evs[0]:
			default:
			}
		})
	}()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var e sensor.Event
	for wait := true; wait; {
		conn.Write(nftest.AppendV5(nil, []nftest.Flow{flow(7)}, export, 1, 0))
		select {
		case e = <-got:
			wait = false
		case <-time.After(100 * time.Millisecond): // not bound yet
		case err := <-done:
			t.Fatalf("Listen: %v", err)
		}
	}
	checkFlow(t, e, flow(7), "netflow")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Listen after cancel: %v", err)
	}
	if err := Listen(context.Background(), "127.0.51.4:notaport", func([]sensor.Event) {}); err == nil {
		t.Error("bad address accepted")
	}
}
