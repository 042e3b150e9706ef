package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/sensor/eve"
	"github.com/rampart-cert/rampart/internal/sensor/netflow"
	"github.com/rampart-cert/rampart/internal/sensor/syslog"
	"github.com/rampart-cert/rampart/internal/sensor/tail"
	"github.com/rampart-cert/rampart/internal/sensor/zeek"
)

// zeekLogs are the Zeek logs a sensor follows in its --zeek directory.
var zeekLogs = []string{"conn", "dns", "http", "ssl", "ssh", "notice"}

// inputs are the configured inputs, by name, ready to run.
func (a *Agent) inputs() map[string]func(context.Context) error {
	in := map[string]func(context.Context) error{}
	if a.cfg.EVE != "" {
		in["eve"] = a.runEVE
	}
	if a.cfg.Zeek != "" {
		for _, kind := range zeekLogs {
			in["zeek-"+kind] = func(ctx context.Context) error {
				p := zeek.NewParser(kind)
				return a.follow(ctx, "zeek", filepath.Join(a.cfg.Zeek, kind+".log"), p.Parse)
			}
		}
	}
	if a.cfg.NetFlow != "" {
		in["netflow"] = func(ctx context.Context) error {
			return netflow.Listen(ctx, a.cfg.NetFlow, func(evs []sensor.Event) {
				ptrs := make([]*sensor.Event, len(evs))
				for i := range evs {
					ptrs[i] = &evs[i]
				}
				a.observe("netflow", ptrs...)
			})
		}
	}
	if a.cfg.Syslog != "" {
		in["syslog"] = a.runSyslog
	}
	return in
}

// parseFunc parses one line into ev; false, nil for a line that is no
// event.
type parseFunc func(line []byte, ev *sensor.Event) (bool, error)

// follow tails a file through rotation, from its start with FromStart,
// else from its end.
func (a *Agent) follow(ctx context.Context, input, path string, parse parseFunc) error {
	off := int64(-1)
	if a.cfg.FromStart {
		off = 0
	}
	var ev sensor.Event
	return tail.Follow(ctx, tail.Config{Path: path, Offset: off}, nil, func(line []byte, _ int64) error {
		a.line(input, line, &ev, parse)
		return nil
	})
}

// line parses one line of an input and observes its event.
func (a *Agent) line(input string, line []byte, ev *sensor.Event, parse parseFunc) {
	*ev = sensor.Event{}
	ok, err := parse(line, ev)
	if err != nil {
		a.errs[input].Add(1)
		return
	}
	if ok {
		a.observe(input, ev)
	}
}

// runEVE reads Suricata's EVE output: a file, or its unix socket.
func (a *Agent) runEVE(ctx context.Context) error {
	p := eve.NewParser()
	switch {
	case strings.HasPrefix(a.cfg.EVE, "unixgram:"):
		conn, err := tail.ListenUnixgram(strings.TrimPrefix(a.cfg.EVE, "unixgram:"))
		if err != nil {
			return err
		}
		defer conn.Close()
		var ev sensor.Event
		return tail.ServeUnixgram(ctx, conn, tail.DefaultMaxLine, nil, func(line []byte) { a.line("eve", line, &ev, p.Parse) })
	case strings.HasPrefix(a.cfg.EVE, "unix:"):
		ln, err := tail.ListenUnix(strings.TrimPrefix(a.cfg.EVE, "unix:"))
		if err != nil {
			return err
		}
		defer ln.Close()
		// Connections are served one at a time: the parser is not shared.
		var ev sensor.Event
		return tail.ServeUnixStream(ctx, ln, tail.DefaultMaxLine, nil, func(line []byte) { a.line("eve", line, &ev, p.Parse) })
	}
	return a.follow(ctx, "eve", a.cfg.EVE, p.Parse)
}

// runSyslog receives syslog over UDP and TCP on the same address.
func (a *Agent) runSyslog(ctx context.Context) error {
	pc, err := net.ListenPacket("udp", a.cfg.Syslog)
	if err != nil {
		return fmt.Errorf("syslog: %w", err)
	}
	defer pc.Close()
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		return fmt.Errorf("syslog: %w", err)
	}
	defer ln.Close()
	s := &syslog.Server{Handle: func(ev *sensor.Event) { a.observe("syslog", ev) }}
	errc := make(chan error, 2)
	go func() { errc <- s.ServeUDP(ctx, pc) }()
	go func() { errc <- s.ServeTCP(ctx, ln) }()
	err = errors.Join(<-errc, <-errc)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
