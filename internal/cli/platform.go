package cli

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
	"github.com/rampart-cert/rampart/internal/worker/baselinekv"
)

// openStore opens the configured database and applies migrations.
func openStore(ctx context.Context, c config.Config, log *slog.Logger) (store.Store, error) {
	driver := c.DatabaseDriver()
	dsn := c.Database
	if driver == "sqlite" {
		dsn = c.SQLitePath()
		if err := os.MkdirAll(filepath.Dir(dsn), 0o750); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	st, err := sqlstore.Open(ctx, driver, dsn, log)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	box, err := secretBox(c.Data, log)
	if err == nil {
		err = st.UseSecretBox(ctx, box)
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// secretKeyFile is the key, in the data directory, that seals TOTP secrets
// in the database. It is made on first start; every process of one
// platform (several `rampart serve` on one PostgreSQL) needs the same file,
// and a backup of the database is useless for TOTP without it.
const secretKeyFile = "secret.key"

// secretBox reads the data directory's secret key, making it (mode 0600)
// when there is none.
func secretBox(dataDir string, log *slog.Logger) (*auth.SecretBox, error) {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dataDir, secretKeyFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := auth.NewSecretKey()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, err = fmt.Fprintf(f, "%x\n", key)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if errors.Is(err, os.ErrExist) {
			return secretBox(dataDir, log) // another process made it first
		}
		if err != nil {
			return nil, fmt.Errorf("secret key %s: %w", path, err)
		}
		log.Info("made the secret key that seals TOTP secrets; back it up with the database", "file", path)
		return auth.NewSecretBox(key)
	}
	if err != nil {
		return nil, fmt.Errorf("secret key %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("secret key file is readable by others; chmod 600 it", "file", path, "mode", fi.Mode().Perm().String())
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("secret key %s: not %d bytes of hex", path, auth.SecretKeyLen)
	}
	box, err := auth.NewSecretBox(key)
	if err != nil {
		return nil, fmt.Errorf("secret key %s: %w", path, err)
	}
	return box, nil
}

// storeStartWait is how long serve waits for a database that is not up
// yet (a host that boots PostgreSQL after Rampart) before it gives up.
const storeStartWait = 2 * time.Minute

// openStoreWaiting is openStore that waits, up to wait, for a database
// that is unavailable (store.ErrUnavailable), retrying with a growing pause
// of at most five seconds, as the queue does for NATS (reliability review
// F8). Any other error ends it at once.
func openStoreWaiting(ctx context.Context, c config.Config, log *slog.Logger, wait time.Duration) (store.Store, error) {
	deadline := time.Now().Add(wait)
	pause := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		st, err := openStore(ctx, c, log)
		if err == nil || !errors.Is(err, store.ErrUnavailable) || time.Now().Add(pause).After(deadline) {
			return st, err
		}
		log.Warn("database unavailable; retrying", "attempt", attempt, "retry_in", pause, "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// openQueue connects to the configured NATS, or starts the embedded one
// storing under the data directory.
func openQueue(ctx context.Context, c config.Config, name string, log *slog.Logger) (*natsq.Queue, error) {
	return openQueueAs(ctx, c, name, false, log)
}

// openQueueAs is openQueue; a worker with credentials leaves the streams
// to the platform (its user may not manage them).
func openQueueAs(ctx context.Context, c config.Config, name string, worker bool, log *slog.Logger) (*natsq.Queue, error) {
	o := natsq.Options{URL: c.NATS, Name: name, Logger: log, Creds: c.NATSCreds, TLSCA: c.NATSCA,
		SkipStreamSetup: worker && c.NATSCreds != ""}
	if c.NATS == "" {
		if c.NATSCreds != "" {
			return nil, fmt.Errorf("%w: nats_creds is for joining a NATS (--nats URL); the embedded server makes its own key in %s", errUsage, filepath.Join(c.Data, "nats"))
		}
		o.DataDir = filepath.Join(c.Data, "nats")
		if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		// Workers' NATS users may read and write these buckets; the
		// platform creates them at start.
		o.WorkerBuckets = []string{baselinekv.Bucket}
		o.WorkerRegionBuckets = []string{scanjob.WorkersBucket}
		switch c.NATSListen {
		case "":
		case "none":
			o.NoListen = true
		default:
			host, port, _ := net.SplitHostPort(c.NATSListen) // validated by config
			o.ListenHost = host
			o.ListenPort, _ = strconv.Atoi(port)
			if o.ListenHost == "" {
				o.ListenHost = "0.0.0.0"
			}
		}
	}
	return natsq.Open(ctx, o)
}

// adminName is the platform administrator created on first start.
const adminName = "admin"

// Bootstrap token: the token of RAMPART_ADMIN_TOKEN is named bootstrapTokenName and
// lives bootstrapTokenLife from the last start with the variable set.
const (
	bootstrapTokenName = "admin (RAMPART_ADMIN_TOKEN)"
	bootstrapTokenLife = 30 * 24 * time.Hour
)

// bootstrap creates the platform administrator on first start and applies
// RAMPART_ADMIN_PASSWORD and RAMPART_ADMIN_TOKEN. Without a password it
// prints a random one, once, to out.
//
// The admin token is for bootstrapping and automation that restarts the
// platform with it: it expires 30 days after the last start with the
// variable set (each start refreshes it), a new value revokes the old one,
// a value revoked through the API or console stays revoked (set a new one),
// and it is a token of no user, so changing the admin's password does not
// revoke it. Lists and logs name it by a fingerprint of its hash, never by
// characters of the secret. Without the variable an earlier token is left
// to expire.
func bootstrap(ctx context.Context, st store.Store, c config.Config, out io.Writer, log *slog.Logger) error {
	sys := auth.SystemPrincipal
	u, err := st.UserForLogin(ctx, adminName)
	switch {
	case errors.Is(err, store.ErrNotFound):
		pw := c.AdminPassword
		generated := pw == ""
		if generated {
			pw = auth.RandomPassword()
		} else if err := auth.ValidatePassword(pw, adminName); err != nil {
			return fmt.Errorf("RAMPART_ADMIN_PASSWORD: %w", err)
		}
		hash, err := auth.HashPassword(pw)
		if err != nil {
			return err
		}
		u = auth.User{Name: adminName, DisplayName: "Platform administrator", Role: auth.RolePlatformAdmin, PasswordHash: hash}
		if err := st.CreateUser(ctx, sys, &u); err != nil {
			return fmt.Errorf("create admin: %w", err)
		}
		if generated {
			fmt.Fprintf(out, "\nCreated the platform administrator.\n  user:     %s\n  password: %s\nThis password is shown once; change it after logging in.\n\n", adminName, pw)
		}
		log.Info("created platform administrator", "user", adminName)
	case err != nil:
		return fmt.Errorf("look up admin: %w", err)
	}
	if err := bootstrapToken(ctx, st, c, log); err != nil {
		return err
	}
	if c.AdminPassword != "" {
		if ok, _ := auth.VerifyPassword(c.AdminPassword, u.PasswordHash); !ok {
			if err := auth.ValidatePassword(c.AdminPassword, adminName); err != nil {
				return fmt.Errorf("RAMPART_ADMIN_PASSWORD: %w", err)
			}
			hash, err := auth.HashPassword(c.AdminPassword)
			if err != nil {
				return err
			}
			if err := st.SetPassword(ctx, sys, u.ID, hash); err != nil {
				return fmt.Errorf("set admin password: %w", err)
			}
			log.Info("admin password set from RAMPART_ADMIN_PASSWORD")
		}
	}
	return nil
}

// bootstrapToken registers RAMPART_ADMIN_TOKEN (see bootstrap).
func bootstrapToken(ctx context.Context, st store.Store, c config.Config, log *slog.Logger) error {
	if c.AdminToken == "" {
		return nil
	}
	if len(c.AdminToken) < 32 || len(c.AdminToken) > 256 {
		return errors.New("RAMPART_ADMIN_TOKEN must be 32 to 256 characters")
	}
	exp := time.Now().Add(bootstrapTokenLife).UTC()
	fp := auth.TokenFingerprint(c.AdminToken)
	t := auth.Token{Name: bootstrapTokenName, Hash: auth.HashToken(c.AdminToken), Prefix: fp, ExpiresAt: &exp, CreatedBy: "RAMPART_ADMIN_TOKEN"}
	revoked, err := st.EnsureBootstrapToken(ctx, &t)
	if errors.Is(err, store.ErrForbidden) {
		return fmt.Errorf("RAMPART_ADMIN_TOKEN (%s) was revoked; set a new value: %w", fp, err)
	}
	if err != nil {
		return fmt.Errorf("register admin token: %w", err)
	}
	if revoked > 0 {
		log.Warn("RAMPART_ADMIN_TOKEN changed: revoked the earlier admin tokens", "revoked", revoked)
	}
	log.Info("admin API token from RAMPART_ADMIN_TOKEN", "fingerprint", fp, "expires_at", exp.Format(time.RFC3339))
	return nil
}
