package natsq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// ErrDataDirInUse means another embedded server holds the data dir.
var ErrDataDirInUse = errors.New("natsq: data dir in use")

// startEmbedded runs a single-node nats-server with JetStream storing under
// o.DataDir and waits until it accepts clients. The server admits only
// NKEY users: the platform's own (from PlatformSeedFile, every right),
// the workers registered in WorkersFile (WorkerPermissions) and the
// edges registered in EdgesFile (EdgePermissions).
func startEmbedded(ctx context.Context, o Options) (srv *server.Server, ea *embeddedAuth, unlock func(), err error) {
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
		return nil, nil, nil, fmt.Errorf("natsq: embedded server: %w", err)
	}
	unlock, err = lockDataDir(o.DataDir)
	if err != nil {
		return nil, nil, nil, err
	}
	defer func() {
		if err != nil {
			unlock()
		}
	}()
	ea, err = newEmbeddedAuth(o, host, port)
	if err != nil {
		return nil, nil, nil, err
	}
	sopts, err := ea.serverOptions()
	if err != nil {
		return nil, nil, nil, err
	}
	srv, err = server.NewServer(sopts)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("natsq: embedded server: %w", err)
	}
	ea.srv = srv
	srv.SetLoggerV2(serverLogger{o.Logger.With("component", "nats-server")}, false, false, false)
	srv.Start()

	wait := startupWait
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	if !srv.ReadyForConnections(wait) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, nil, nil, fmt.Errorf("natsq: embedded server on %s:%d not ready after %s", host, port, wait.Round(time.Millisecond))
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, nil, nil, fmt.Errorf("natsq: embedded server: jetstream did not start (store %s)", o.DataDir)
	}
	return srv, ea, unlock, nil
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

// embeddedAuth is the embedded server's authorization: the platform's
// key and the registered workers, reloaded when WorkersFile changes.
type embeddedAuth struct {
	o        Options
	host     string
	port     int
	platform nkeys.KeyPair
	pub      string // the platform user's public key
	log      *slog.Logger
	srv      *server.Server

	stamp [2]fileStamp // WorkersFile and EdgesFile as last loaded
	users []*server.NkeyUser
	stop  chan struct{}
	done  chan struct{}
}

func newEmbeddedAuth(o Options, host string, port int) (*embeddedAuth, error) {
	kp, err := platformKey(o.DataDir)
	if err != nil {
		return nil, err
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("natsq: platform credentials: %w", err)
	}
	return &embeddedAuth{o: o, host: host, port: port, platform: kp, pub: pub, log: o.Logger.With("component", "natsq")}, nil
}

// fileStamp tells whether a file changed since it was last read.
type fileStamp struct {
	mod  time.Time
	size int64
	ok   bool
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size(), ok: true}
}

// stamps are WorkersFile's and EdgesFile's now.
func (a *embeddedAuth) stamps() [2]fileStamp {
	return [2]fileStamp{stampOf(filepath.Join(a.o.DataDir, WorkersFile)), stampOf(filepath.Join(a.o.DataDir, EdgesFile))}
}

// loadUsers reads WorkersFile and EdgesFile into NKEY users with their
// permissions (WorkerPermissions, EdgePermissions).
func (a *embeddedAuth) loadUsers() ([]*server.NkeyUser, [2]fileStamp, error) {
	stamp := a.stamps()
	ws, err := Workers(a.o.DataDir)
	if err != nil {
		return nil, stamp, err
	}
	es, err := Edges(a.o.DataDir)
	if err != nil {
		return nil, stamp, err
	}
	users := make([]*server.NkeyUser, 0, len(ws)+len(es))
	seen := map[string]bool{a.pub: true}
	for _, w := range ws {
		if seen[w.PublicKey] {
			continue
		}
		seen[w.PublicKey] = true
		users = append(users, &server.NkeyUser{Nkey: w.PublicKey, Permissions: WorkerPermissions(w.Region, w.PublicKey, a.o.WorkerBuckets, a.o.WorkerRegionBuckets)})
	}
	for _, e := range es {
		if seen[e.PublicKey] {
			continue
		}
		seen[e.PublicKey] = true
		users = append(users, &server.NkeyUser{Nkey: e.PublicKey, Permissions: EdgePermissions(e)})
	}
	return users, stamp, nil
}

// serverOptions builds the server's options with the workers registered
// now. Every call returns new Options, as ReloadOptions wants.
func (a *embeddedAuth) serverOptions() (*server.Options, error) {
	users, stamp, err := a.loadUsers()
	if err != nil {
		return nil, err
	}
	a.users, a.stamp = users, stamp
	return a.options(users), nil
}

func (a *embeddedAuth) options(workers []*server.NkeyUser) *server.Options {
	return &server.Options{
		ServerName:             "rampart-embedded",
		Host:                   a.host,
		Port:                   a.port,
		DontListen:             a.o.NoListen,
		JetStream:              true,
		StoreDir:               a.o.DataDir,
		NoSigs:                 true,
		DisableJetStreamBanner: true,
		// Handlers may stall for a moment; do not cut slow local clients.
		WriteDeadline: 10 * time.Second,
		// No NoAuthUser: a client without a known key is refused.
		Nkeys: append([]*server.NkeyUser{{Nkey: a.pub}}, workers...),
	}
}

// watch reloads the server's users when WorkersFile or EdgesFile
// changes, so a worker or edge issued or revoked by another process is
// admitted or cut off within workerPoll. A file that does not parse
// admits no worker or edge until fixed.
func (a *embeddedAuth) watch() {
	a.stop, a.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(a.done)
		t := time.NewTicker(workerPoll)
		defer t.Stop()
		for {
			select {
			case <-a.stop:
				return
			case <-t.C:
			}
			if a.stamps() == a.stamp {
				continue
			}
			users, stamp, err := a.loadUsers()
			if err != nil {
				a.log.Error("worker or edge credentials unreadable; no worker or edge is admitted until fixed", "dir", a.o.DataDir, "err", err)
				users = nil
			}
			if err := a.srv.ReloadOptions(a.options(users)); err != nil {
				a.log.Error("reloading worker credentials", "err", err)
				continue
			}
			a.users, a.stamp = users, stamp
			a.log.Info("worker and edge credentials reloaded", "users", len(users))
		}
	}()
}

// close stops watch.
func (a *embeddedAuth) close() {
	if a.stop != nil {
		close(a.stop)
		<-a.done
		a.stop = nil
	}
}
