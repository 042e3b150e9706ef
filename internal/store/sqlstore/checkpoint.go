package sqlstore

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// SQLite in WAL mode appends every commit to the -wal file and copies the
// pages back into the database file at a checkpoint, which by default the
// committing connection runs itself once the log holds 1,000 pages: the
// single writer then spends its time copying pages and waiting for two
// fsyncs instead of writing the next transaction (a quarter of the wall
// time of a report whose every row is a new finding). The checkpointer
// runs them on a connection of its own, after commits, while the writer
// goes on; the writer checkpoints itself only when the log reaches
// writerCheckpointPages, which bounds the log if the checkpointer falls
// behind (a checkpoint that runs beside a writer cannot rewind the log;
// the writer's own can). A batch of 5,000 new findings logs tens of MiB
// (their rows, events and outbox messages, and the index pages they
// touch), hence a backstop well above that.
//
// Durability is unchanged: a checkpoint syncs the log before copying and
// the database after, whichever connection runs it (synchronous=NORMAL).

// writerCheckpointPages is the writer's own autocheckpoint threshold
// (256 MiB of 4 KiB pages).
const writerCheckpointPages = 65536

// checkpointEvery is the least time between two checkpoints of a log of
// less than checkpointBig pages (SQLite's own autocheckpoint threshold):
// a stream of small commits costs at most one checkpoint (two syncs) a
// second, while the log of a stream of large ones is copied as fast as it
// grows.
const (
	checkpointEvery = time.Second
	checkpointBig   = 1000
)

type checkpointer struct {
	db     *sql.DB
	log    *slog.Logger
	poke   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// startCheckpointer opens its connection with dsn and starts it.
func startCheckpointer(dsn string, log *slog.Logger) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, log: log, poke: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go c.run()
	return c, nil
}

// kick asks for a checkpoint soon; it never blocks. A nil checkpointer
// (PostgreSQL) ignores it.
func (c *checkpointer) kick() {
	if c == nil {
		return
	}
	select {
	case c.poke <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.poke:
		}
		// PASSIVE copies what no reader still needs and waits for no
		// lock: it never holds up the writer or a reader.
		var busy, logged, copied int
		err := c.db.QueryRowContext(c.ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logged, &copied)
		if err != nil && c.ctx.Err() == nil {
			c.log.Warn("sqlstore: checkpoint", "err", err)
		}
		if err == nil && logged >= checkpointBig {
			continue
		}
		select {
		case <-c.ctx.Done():
			return
		case <-time.After(checkpointEvery):
		}
	}
}

// close stops the checkpointer (interrupting a checkpoint under way, which
// SQLite resumes at the next) and closes its connection.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	c.cancel()
	<-c.done
	return c.db.Close()
}
