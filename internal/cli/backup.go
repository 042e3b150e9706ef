package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/rampart-cert/rampart/internal/backup"
	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
	"github.com/rampart-cert/rampart/internal/worker/baselinekv"
)

const backupUsage = `usage: rampart backup --out FILE [--data DIR] [--nats URL] [--no-nats]
Writes one archive (tar.gz with a manifest) of the SQLite database and the
JetStream state that matters, while serve keeps running. See docs/operations.md.`

// backupStreams are the JetStream streams a backup keeps, in the order
// it snapshots them around the database (see takeBackup).
var (
	// streamsBeforeDB are consumed into the database: results and
	// sensors' reports waiting for ingestion. Taken first, every one is
	// either in the snapshot or already applied in the database copy taken
	// after it (a report applied twice counts once: its ID is kept).
	streamsBeforeDB = []string{queue.StreamResults, queue.StreamSensors}
	// streamsAfterDB are produced from the database or beside it: queued
	// jobs, published finding events with the notifier's position, the
	// defacement baselines. Taken after, every job and event the database
	// copy knows has reached them (an event also left in the copy's outbox
	// is published again, with the same message ID).
	streamsAfterDB = []string{queue.StreamJobs, queue.StreamEvents, "KV_" + baselinekv.Bucket}
)

func runBackup(ctx context.Context, env *Env, args []string) error {
	fs, f := flags(env, "backup", false)
	out := fs.String("out", "", "the archive to write (tar.gz)")
	noNATS := fs.Bool("no-nats", false, "back up the database alone, without queued jobs, pending results, events and baselines")
	c, err := load(env, fs, f, args)
	if err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: %s", errUsage, backupUsage)
	}
	if c.DatabaseDriver() != config.DriverSQLite {
		return errors.New(`the database is PostgreSQL: back it up with PostgreSQL's own tools, for example
  pg_dump --format=custom --file=rampart.dump "$RAMPART_DATABASE"
or continuous archiving (pg_basebackup and WAL archiving), and keep the NATS
streams RAMPART_JOBS, RAMPART_RESULTS, RAMPART_EVENTS and the bucket
RAMPART_WEB_BASELINES with 'nats stream backup'; see docs/operations.md`)
	}
	log := logger(env, c)
	start := time.Now()
	m, err := takeBackup(ctx, env, c, *out, *noNATS, log)
	if err != nil {
		return err
	}
	fi, err := os.Stat(*out)
	if err != nil {
		return err
	}
	var msgs uint64
	for _, s := range m.Streams {
		msgs += s.Messages
	}
	fmt.Fprintf(env.Stdout, "wrote %s: %s in %s; database schema %d; NATS %s (%d streams, %d messages)\n",
		*out, humanBytes(fi.Size()), time.Since(start).Round(time.Millisecond), m.Database.SchemaVersion, m.NATS, len(m.Streams), msgs)
	return nil
}

// takeBackup stages the database copy and the stream snapshots in a
// directory beside out, then writes the archive to out atomically.
func takeBackup(ctx context.Context, env *Env, c config.Config, out string, noNATS bool, log *slog.Logger) (backup.Manifest, error) {
	m := backup.Manifest{Format: backup.Format, RampartVersion: Version, CreatedAt: time.Now().UTC().Truncate(time.Second),
		Database: backup.Database{Driver: config.DriverSQLite, File: backup.DatabaseName}}
	dbPath := c.SQLitePath()
	if _, err := os.Stat(dbPath); err != nil {
		return m, fmt.Errorf("no database to back up: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o750); err != nil {
		return m, err
	}
	stage, err := os.MkdirTemp(filepath.Dir(out), ".rampart-backup-*")
	if err != nil {
		return m, err
	}
	defer os.RemoveAll(stage)

	q, why, err := backupQueue(ctx, c, noNATS, log)
	if err != nil {
		return m, err
	}
	if q != nil {
		defer q.Close()
		m.NATS = "included"
	} else {
		m.NATS = "skipped: " + why
		fmt.Fprintln(env.Stderr, "rampart backup: NATS not included: "+why)
	}
	snap := func(streams []string) error {
		if q == nil {
			return nil
		}
		for _, name := range streams {
			s, err := snapshotStream(ctx, q, name, stage)
			if errors.Is(err, natsq.ErrNoStream) {
				log.Info("stream absent, nothing to keep", "stream", name)
				continue
			}
			if err != nil {
				return err
			}
			m.Streams = append(m.Streams, s)
		}
		return nil
	}

	if err := snap(streamsBeforeDB); err != nil {
		return m, err
	}
	dbCopy := filepath.Join(stage, backup.DatabaseName)
	if err := sqlstore.SnapshotSQLite(ctx, dbPath, dbCopy); err != nil {
		return m, err
	}
	if m.Database.SchemaVersion, err = sqlstore.CheckSQLite(ctx, dbCopy); err != nil {
		return m, err
	}
	if err := snap(streamsAfterDB); err != nil {
		return m, err
	}

	names := []string{backup.DatabaseName}
	for _, s := range m.Streams {
		names = append(names, s.File)
	}
	// The workers the embedded server admits (public keys only): without
	// them every worker needs new credentials after a restore. The
	// platform's own seed is a secret and is made anew on restore.
	if q != nil && c.NATS == "" {
		if err := copyFile(filepath.Join(c.Data, "nats", natsq.WorkersFile), filepath.Join(stage, filepath.FromSlash(backup.WorkersName))); err == nil {
			names = append(names, backup.WorkersName)
		} else if !errors.Is(err, os.ErrNotExist) {
			return m, err
		}
	}
	// The secret key that seals TOTP secrets in the database: a restore
	// without it locks out every user with two-factor login.
	if err := copyFile(filepath.Join(c.Data, secretKeyFile), filepath.Join(stage, backup.SecretKeyName)); err == nil {
		names = append(names, backup.SecretKeyName)
	} else if !errors.Is(err, os.ErrNotExist) {
		return m, err
	}
	for _, n := range names {
		f, err := backup.Checksum(n, filepath.Join(stage, filepath.FromSlash(n)))
		if err != nil {
			return m, err
		}
		m.Files = append(m.Files, f)
	}
	return m, writeArchive(out, m, stage)
}

// backupQueue connects to the NATS holding the platform's streams: the
// configured one (a running serve's embedded server is reached with the
// data directory's platform key unless --nats-creds names another), or
// the embedded server's store when no serve holds it. It returns nil and
// the reason when NATS is left out.
func backupQueue(ctx context.Context, c config.Config, noNATS bool, log *slog.Logger) (*natsq.Queue, string, error) {
	if noNATS {
		return nil, "--no-nats", nil
	}
	natsDir := filepath.Join(c.Data, "nats")
	if c.NATS != "" {
		creds := c.NATSCreds
		if creds == "" {
			if p := natsq.PlatformCredentials(natsDir); fileExists(p) {
				creds = p
			}
		}
		q, err := natsq.Open(ctx, natsq.Options{URL: c.NATS, Creds: creds, TLSCA: c.NATSCA, Name: "rampart-backup", Logger: log, SkipStreamSetup: true})
		if err != nil {
			return nil, "", fmt.Errorf("connect to NATS for the backup (or pass --no-nats): %w", err)
		}
		return q, "", nil
	}
	if !fileExists(natsDir) {
		return nil, "no embedded NATS store in " + natsDir, nil
	}
	q, err := natsq.Open(ctx, natsq.Options{DataDir: natsDir, Name: "rampart-backup", Logger: log, NoListen: true, SkipStreamSetup: true})
	if errors.Is(err, natsq.ErrDataDirInUse) {
		return nil, "", fmt.Errorf(`serve is running and holds the embedded NATS in %s: pass --nats with the client_url serve logged at start ("embedded NATS with JetStream"), or --no-nats to back up the database alone`, natsDir)
	}
	if err != nil {
		return nil, "", err
	}
	return q, "", nil
}

// snapshotStream writes one stream's snapshot into stage.
func snapshotStream(ctx context.Context, q *natsq.Queue, name, stage string) (backup.Stream, error) {
	file := backup.StreamFile(name)
	path := filepath.Join(stage, filepath.FromSlash(file))
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return backup.Stream{}, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return backup.Stream{}, err
	}
	s, err := q.Snapshot(ctx, name, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return backup.Stream{}, err
	}
	return backup.Stream{Name: name, File: file, Messages: s.Messages, Bytes: s.Bytes, Config: s.Config, State: s.State}, nil
}

// writeArchive writes the archive next to out and renames it into place,
// so out is either the previous file or a complete archive.
func writeArchive(out string, m backup.Manifest, stage string) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".rampart-backup-*.tar.gz")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = backup.Write(tmp, m, stage)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), out)
	}
	return err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
