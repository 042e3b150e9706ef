package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/rampart-cert/rampart/internal/backup"
	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

const restoreUsage = `usage: rampart restore FILE --data DIR [--force] [--max-size BYTES]
Brings a backup archive back into a new, empty data directory: the SQLite
database (integrity checked) and the JetStream streams. --force replaces
the database and NATS store of a non-empty directory; serve must be stopped.`

// restoredNames are what a restore puts into the data directory, and
// what --force replaces there.
var restoredNames = []string{backup.DatabaseName, backup.DatabaseName + "-wal", backup.DatabaseName + "-shm", "nats"}

func runRestore(ctx context.Context, env *Env, args []string) error {
	// FILE comes first, flags after it, as in `rampart import`.
	if len(args) < 1 || len(args[0]) > 0 && args[0][0] == '-' {
		return fmt.Errorf("%w: %s", errUsage, restoreUsage)
	}
	file := args[0]
	fs, f := flags(env, "restore", false)
	force := fs.Bool("force", false, "replace the database and NATS store of a data directory that is not empty")
	maxSize := fs.String("max-size", strconv.FormatInt(backup.DefaultLimits.MaxTotal, 10), "refuse an archive whose contents exceed this many bytes")
	c, err := load(env, fs, f, args[1:])
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s", errUsage, restoreUsage)
	}
	limit, err := strconv.ParseInt(*maxSize, 10, 64)
	if err != nil || limit <= 0 {
		return fmt.Errorf("%w: --max-size %q", errUsage, *maxSize)
	}
	if c.DatabaseDriver() != config.DriverSQLite {
		return errors.New("the database is PostgreSQL: restore it with pg_restore (see docs/operations.md); rampart restore brings back a SQLite data directory")
	}
	if c.Database != "" {
		return fmt.Errorf("%w: restore writes <data>/rampart.db; leave --database unset", errUsage)
	}
	log := logger(env, c)
	m, err := restoreBackup(ctx, c.Data, file, backup.Limits{MaxTotal: limit}, *force, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "restored %s (taken %s by rampart %s) into %s: database schema %d, integrity ok; NATS %s, %d streams\n",
		file, m.CreatedAt.Format("2006-01-02 15:04:05Z"), m.RampartVersion, c.Data, m.Database.SchemaVersion, m.NATS, len(m.Streams))
	return nil
}

// restoreBackup extracts, checks and rebuilds everything in a staging
// directory beside dir and moves it in only when all of it succeeded; a
// bad archive leaves dir as it was.
func restoreBackup(ctx context.Context, dir, file string, lim backup.Limits, force bool, log *slog.Logger) (backup.Manifest, error) {
	var m backup.Manifest
	dir = filepath.Clean(dir)
	if err := checkRestoreTarget(dir, force); err != nil {
		return m, err
	}
	in, err := os.Open(file)
	if err != nil {
		return m, err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dir), 0o750); err != nil {
		return m, err
	}
	stage, err := os.MkdirTemp(filepath.Dir(dir), ".rampart-restore-*")
	if err != nil {
		return m, err
	}
	defer os.RemoveAll(stage)

	if m, err = backup.Extract(in, stage, lim); err != nil {
		return m, fmt.Errorf("%s: %w", file, err)
	}
	v, err := sqlstore.CheckSQLite(ctx, filepath.Join(stage, backup.DatabaseName))
	if err != nil {
		return m, fmt.Errorf("%s: %w", file, err)
	}
	if v != m.Database.SchemaVersion {
		return m, fmt.Errorf("%s: %w: database at schema %d, manifest says %d", file, backup.ErrMalformed, v, m.Database.SchemaVersion)
	}
	natsDir := filepath.Join(stage, "nats")
	if fileExists(filepath.Join(stage, filepath.FromSlash(backup.WorkersName))) {
		if _, err := natsq.Workers(natsDir); err != nil {
			return m, fmt.Errorf("%s: %w: %v", file, backup.ErrMalformed, err)
		}
	}
	if len(m.Streams) > 0 {
		if err := restoreStreams(ctx, natsDir, m.Streams, log); err != nil {
			return m, fmt.Errorf("%s: %w", file, err)
		}
	}

	// Everything is in place in stage: now touch dir.
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return m, err
	}
	if force {
		for _, n := range restoredNames {
			if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
				return m, err
			}
		}
	}
	if fileExists(filepath.Join(stage, backup.SecretKeyName)) {
		if err := os.Chmod(filepath.Join(stage, backup.SecretKeyName), 0o600); err != nil {
			return m, err
		}
	}
	for _, n := range []string{backup.DatabaseName, "nats", backup.SecretKeyName} {
		if !fileExists(filepath.Join(stage, n)) {
			continue
		}
		if err := os.Rename(filepath.Join(stage, n), filepath.Join(dir, n)); err != nil {
			return m, err
		}
	}
	return m, nil
}

// checkRestoreTarget refuses a data directory that holds anything unless
// force, and with force refuses one that a running serve holds.
func checkRestoreTarget(dir string, force bool) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) || err == nil && len(ents) == 0 {
		return nil
	}
	if err != nil {
		return err
	}
	if !force {
		return fmt.Errorf("data directory %s is not empty: restore into a new directory, or pass --force to replace its database and NATS store", dir)
	}
	// A serve holding the embedded NATS holds this lock.
	natsDir := filepath.Join(dir, "nats")
	if fileExists(natsDir) {
		q, err := natsq.Open(context.Background(), natsq.Options{DataDir: natsDir, NoListen: true, SkipStreamSetup: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return fmt.Errorf("data directory %s is in use (stop serve first): %w", dir, err)
		}
		q.Close()
	}
	return nil
}

// restoreStreams starts an embedded server on natsDir (where the snapshot
// files were extracted) without listening or creating streams, restores
// each stream and removes the snapshot files.
func restoreStreams(ctx context.Context, natsDir string, streams []backup.Stream, log *slog.Logger) error {
	q, err := natsq.Open(ctx, natsq.Options{DataDir: natsDir, Name: "rampart-restore", Logger: log, NoListen: true, SkipStreamSetup: true})
	if err != nil {
		return err
	}
	defer q.Close()
	for _, s := range streams {
		path := filepath.Join(natsDir, filepath.Base(filepath.FromSlash(s.File)))
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		err = q.Restore(ctx, natsq.StreamSnapshot{Stream: s.Name, Config: s.Config, State: s.State}, f)
		f.Close()
		if err != nil {
			return err
		}
		if err := os.Remove(path); err != nil {
			return err
		}
	}
	return nil
}
