package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

const userUsage = `usage:
  rampart user create NAME --role ROLE [--org CODE] [--email E] [--password-stdin]
  rampart user set-password NAME [--password-stdin]
  rampart user token NAME --name TOKEN_NAME [--role ROLE] [--days N]
Without --password-stdin a random password is generated and printed once.`

func runUser(ctx context.Context, env *Env, args []string) error {
	if len(args) < 2 || strings.HasPrefix(args[1], "-") {
		if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(env.Stderr, userUsage)
			return flag.ErrHelp
		}
		return fmt.Errorf("%w: %s", errUsage, userUsage)
	}
	verb, name := args[0], strings.ToLower(args[1])
	fs, f := flags(env, "user "+verb, false)
	role := fs.String("role", "", "role: platform-admin, analyst, org-admin, org-member, viewer (token: also worker, sensor, feed-consumer, feed-producer)")
	orgCode := fs.String("org", "", "organization code the user or token belongs to")
	email := fs.String("email", "", "email address")
	display := fs.String("display-name", "", "full name")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	tokenName := fs.String("name", "", "token: a name saying what the token is for")
	days := fs.Int("days", 365, "token: days until it expires")
	c, err := load(env, fs, f, args[2:])
	if err != nil {
		return err
	}
	log := logger(env, c)
	st, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer st.Close()
	sys := auth.SystemPrincipal

	readPassword := func() (string, bool, error) {
		if !*pwStdin {
			return auth.RandomPassword(), true, nil
		}
		line, err := bufio.NewReader(io.LimitReader(env.Stdin, 2048)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, err
		}
		pw := strings.TrimRight(line, "\r\n")
		return pw, false, auth.ValidatePassword(pw)
	}
	orgID := func() (int64, error) {
		if *orgCode == "" {
			return 0, nil
		}
		o, err := st.GetOrgByCode(ctx, sys, *orgCode)
		if err != nil {
			return 0, fmt.Errorf("organization %q: %w", *orgCode, err)
		}
		return o.ID, nil
	}

	switch verb {
	case "create":
		r := auth.Role(*role)
		if !r.Valid() || r.Machine() {
			return fmt.Errorf("%w: --role must be one of platform-admin, analyst, org-admin, org-member, viewer", errUsage)
		}
		id, err := orgID()
		if err != nil {
			return err
		}
		if id == 0 && !r.Global() {
			return fmt.Errorf("%w: --org is required for role %s", errUsage, r)
		}
		pw, generated, err := readPassword()
		if err != nil {
			return err
		}
		hash, err := auth.HashPassword(pw)
		if err != nil {
			return err
		}
		u := auth.User{Name: name, DisplayName: *display, Email: *email, Role: r, OrgID: id, PasswordHash: hash}
		if err := st.CreateUser(ctx, sys, &u); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "created user %s (id %d, role %s)\n", u.Name, u.ID, u.Role)
		if generated {
			fmt.Fprintf(env.Stdout, "password: %s\n(shown once)\n", pw)
		}
	case "set-password":
		u, err := st.UserForLogin(ctx, name)
		if err != nil {
			return fmt.Errorf("user %q: %w", name, err)
		}
		pw, generated, err := readPassword()
		if err != nil {
			return err
		}
		hash, err := auth.HashPassword(pw)
		if err != nil {
			return err
		}
		if err := st.SetPassword(ctx, sys, u.ID, hash); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "password of %s changed\n", u.Name)
		if generated {
			fmt.Fprintf(env.Stdout, "password: %s\n(shown once)\n", pw)
		}
	case "token":
		u, err := st.UserForLogin(ctx, name)
		if err != nil {
			return fmt.Errorf("user %q: %w", name, err)
		}
		p, err := st.PrincipalForUser(ctx, u)
		if err != nil {
			return err
		}
		r := u.Role
		if *role != "" {
			r = auth.Role(*role)
		}
		id, err := orgID()
		if err != nil {
			return err
		}
		if *days < 1 {
			return fmt.Errorf("%w: --days must be at least 1", errUsage)
		}
		exp := time.Now().Add(time.Duration(*days) * 24 * time.Hour)
		t, secret, err := auth.IssueToken(p, *tokenName, r, id, &exp, time.Now())
		if err != nil {
			return err
		}
		if err := st.CreateToken(ctx, p, &t); err != nil {
			if errors.Is(err, store.ErrForbidden) {
				return fmt.Errorf("%s may not grant role %s: %w", u.Name, r, err)
			}
			return err
		}
		fmt.Fprintf(env.Stdout, "token %q (id %d, role %s, expires %s):\n%s\n", t.Name, t.ID, t.Role, t.ExpiresAt.Format(time.DateOnly), secret)
	default:
		return fmt.Errorf("%w: unknown verb %q\n%s", errUsage, verb, userUsage)
	}
	return nil
}
