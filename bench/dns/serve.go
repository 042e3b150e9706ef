package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/rampart-cert/rampart/internal/dns"
)

// countReporter stands in for the batching reporter of `rampart dns`.
type countReporter struct{ n atomic.Int64 }

func (c *countReporter) Blocked(netip.Addr, string, string, time.Time) { c.n.Add(1) }

// loadPolicy reads one name a line and compiles it.
func loadPolicy(path string, version int64) (*dns.Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return dns.Compile(&dns.PolicySpec{Version: version})
	}
	// The names point into the file's bytes (never written again): no
	// second copy of 25 MB while the policy compiles.
	names := strings.Split(unsafe.String(&b[0], len(b)), "\n")
	return dns.Compile(&dns.PolicySpec{Version: version, Lists: []dns.List{{Name: "bench", Action: dns.ActionNXDomain, Names: names}}})
}

// serve runs the rampart resolver alone (the process the bench measures):
// load the list, serve, reload it on SIGHUP.
func serve(listen, upstream, list string) error {
	start := time.Now()
	p, err := loadPolicy(list, 1)
	if err != nil {
		return err
	}
	debug.FreeOSMemory()
	fmt.Fprintf(os.Stderr, "rampart: %d names compiled in %v (%d MB table)\n", p.Names(), time.Since(start).Round(time.Millisecond), p.SizeBytes()>>20)
	s, err := dns.NewServer(dns.Config{
		Listen: listen, Upstreams: []string{upstream}, Reporter: &countReporter{},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	s.SetPolicy(p)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := s.Start(ctx); err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	version := int64(1)
	for {
		select {
		case <-ctx.Done():
			return s.Close()
		case <-hup:
			t := time.Now()
			version++
			p, err := loadPolicy(list, version)
			if err != nil {
				return err
			}
			s.SetPolicy(p)
			p = nil
			debug.FreeOSMemory()
			fmt.Fprintf(os.Stderr, "rampart: reloaded version %d in %v\n", version, time.Since(t).Round(time.Millisecond))
		}
	}
}
