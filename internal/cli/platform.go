package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
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
	return st, nil
}

// openQueue connects to the configured NATS, or starts the embedded one
// storing under the data directory.
func openQueue(ctx context.Context, c config.Config, name string, log *slog.Logger) (*natsq.Queue, error) {
	o := natsq.Options{URL: c.NATS, Name: name, Logger: log}
	if c.NATS == "" {
		o.DataDir = filepath.Join(c.Data, "nats")
		if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	return natsq.Open(ctx, o)
}

// adminName is the platform administrator created on first start.
const adminName = "admin"

// bootstrap creates the platform administrator on first start and applies
// RAMPART_ADMIN_PASSWORD and RAMPART_ADMIN_TOKEN. Without a password it
// prints a random one, once, to out.
func bootstrap(ctx context.Context, st store.Store, c config.Config, out io.Writer, log *slog.Logger) error {
	sys := auth.SystemPrincipal
	u, err := st.UserForLogin(ctx, adminName)
	switch {
	case errors.Is(err, store.ErrNotFound):
		pw := c.AdminPassword
		generated := pw == ""
		if generated {
			pw = auth.RandomPassword()
		} else if err := auth.ValidatePassword(pw); err != nil {
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
	case c.AdminPassword != "":
		if ok, _ := auth.VerifyPassword(c.AdminPassword, u.PasswordHash); !ok {
			if err := auth.ValidatePassword(c.AdminPassword); err != nil {
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
	if c.AdminToken == "" {
		return nil
	}
	if len(c.AdminToken) < 32 || len(c.AdminToken) > 256 {
		return errors.New("RAMPART_ADMIN_TOKEN must be 32 to 256 characters")
	}
	hash := auth.HashToken(c.AdminToken)
	if _, err := st.TokenForAuth(ctx, hash); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("look up admin token: %w", err)
	}
	p, err := st.PrincipalForUser(ctx, u)
	if err != nil {
		return err
	}
	prefix := c.AdminToken[:8]
	t := auth.Token{Name: "admin (RAMPART_ADMIN_TOKEN)", Role: auth.RolePlatformAdmin, UserID: u.ID, Hash: hash, Prefix: prefix}
	if err := st.CreateToken(ctx, p, &t); err != nil {
		return fmt.Errorf("create admin token: %w", err)
	}
	log.Info("admin API token registered from RAMPART_ADMIN_TOKEN", "prefix", prefix)
	return nil
}
