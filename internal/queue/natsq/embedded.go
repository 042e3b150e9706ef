package natsq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ErrDataDirInUse means another embedded server holds the data dir.
var ErrDataDirInUse = errors.New("natsq: data dir in use")

// startEmbedded runs a single-node nats-server with JetStream storing under
// o.DataDir and waits until it accepts clients.
func startEmbedded(ctx context.Context, o Options) (srv *server.Server, unlock func(), err error) {
	host := o.ListenHost
	if host == "" {
		host = "127.0.0.1"
	}
	port := o.ListenPort
	if port == 0 {
		// Port 0 means 4222 to nats-server; to us it means "any".
		port = server.RANDOM_PORT
	}
	if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("natsq: embedded server: %w", err)
	}
	unlock, err = lockDataDir(o.DataDir)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			unlock()
		}
	}()
	sopts := &server.Options{
		ServerName:             "rampart-embedded",
		Host:                   host,
		Port:                   port,
		JetStream:              true,
		StoreDir:               o.DataDir,
		NoSigs:                 true,
		DisableJetStreamBanner: true,
		// Handlers may stall for a moment; do not cut slow local clients.
		WriteDeadline: 10 * time.Second,
	}
	srv, err = server.NewServer(sopts)
	if err != nil {
		return nil, nil, fmt.Errorf("natsq: embedded server: %w", err)
	}
	srv.SetLoggerV2(serverLogger{o.Logger.With("component", "nats-server")}, false, false, false)
	srv.Start()

	wait := startupWait
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	if !srv.ReadyForConnections(wait) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, nil, fmt.Errorf("natsq: embedded server on %s:%d not ready after %s", host, port, wait.Round(time.Millisecond))
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, nil, fmt.Errorf("natsq: embedded server: jetstream did not start (store %s)", o.DataDir)
	}
	return srv, unlock, nil
}

// serverLogger sends nats-server's log lines to slog. Notices are chatty
// (every start lists its settings), so they go to Debug.
type serverLogger struct{ l *slog.Logger }

func (s serverLogger) Noticef(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s serverLogger) Warnf(format string, v ...any)   { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s serverLogger) Fatalf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s serverLogger) Errorf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s serverLogger) Debugf(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s serverLogger) Tracef(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
