package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/decision"
	"github.com/rampart-cert/rampart/internal/store"
)

const bouncersUsage = `usage:
  rampart bouncers add NAME [--org CODE]
  rampart bouncers list
  rampart bouncers delete NAME
add registers a bouncer (a member's firewall pulling national decisions)
and prints its key once, as cscli bouncers add does; only its hash is
kept. A CrowdSec bouncer uses it unchanged: api_url is this platform's
URL, api_key the key. The same key pulls /decisions/{format} (nft,
ipset, mikrotik, plain, csv, rpz) in X-Api-Key.`

func runBouncers(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(env.Stderr, bouncersUsage)
			return flag.ErrHelp
		}
		return fmt.Errorf("%w: %s", errUsage, bouncersUsage)
	}
	verb, rest := args[0], args[1:]
	var name string
	if verb != "list" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return fmt.Errorf("%w: %s", errUsage, bouncersUsage)
		}
		name, rest = rest[0], rest[1:]
	}
	fs, f := flags(env, "bouncers "+verb, false)
	orgCode := fs.String("org", "", "add: the organization (code) whose firewall it is")
	c, err := load(env, fs, f, rest)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s", errUsage, bouncersUsage)
	}
	log := logger(env, c)
	st, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer st.Close()
	ds, ok := st.(decision.Store)
	if !ok {
		return errors.New("bouncers: this store keeps no decisions")
	}
	sys := auth.SystemPrincipal
	switch verb {
	case "add":
		opts, err := decision.OptionsFrom(c.Correlation)
		if err != nil {
			return err
		}
		b, key, err := decision.NewService(ds, opts, nil, log).AddBouncer(ctx, sys, name, *orgCode)
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("bouncers: a bouncer named %q exists: delete it first, or choose another name", name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "API key for '%s':\n\n   %s\n\nPlease keep this key since you will not be able to retrieve it!\n", b.Name, key)
		return nil
	case "list":
		list, err := ds.ListBouncers(ctx, sys)
		if err != nil {
			return err
		}
		orgs := map[int64]string{}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tORG\tKEY\tLAST PULL\tADDRESS\tAGENT\tPULLS\tNEW\tDELETED")
		for _, b := range list {
			code := "-"
			if b.OrgID != 0 {
				if orgs[b.OrgID] == "" {
					if o, err := st.GetOrg(ctx, sys, b.OrgID); err == nil {
						orgs[b.OrgID] = o.Code
					}
				}
				code = orgs[b.OrgID]
			}
			last := "never"
			if b.LastPull != nil {
				last = b.LastPull.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\t%d\t%d\t%d\n", b.Name, code, b.KeyPrefix, last, dash(b.LastAddr), dash(b.Agent),
				b.Pulls, b.TotalNew, b.TotalDeleted)
		}
		return tw.Flush()
	case "delete":
		list, err := ds.ListBouncers(ctx, sys)
		if err != nil {
			return err
		}
		for _, b := range list {
			if b.Name == name {
				if err := ds.DeleteBouncer(ctx, sys, b.ID); err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "bouncer %s deleted: its key no longer works\n", name)
				return nil
			}
		}
		return fmt.Errorf("bouncers: no bouncer named %q", name)
	}
	return fmt.Errorf("%w: %s", errUsage, bouncersUsage)
}
