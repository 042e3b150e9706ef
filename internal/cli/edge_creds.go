package cli

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/rampart-cert/rampart/internal/queue/natsq"
)

// issueEdgeKey registers a new NATS key for an edge process (a sensor or
// a protective resolver) with the embedded server in dir and writes its
// seed to out (mode 0600, must not exist) or standard output. A key whose
// seed could not be written is revoked again, so nothing is left that no
// one holds. It returns the edge and the file name to show.
func issueEdgeKey(env *Env, dir string, role natsq.EdgeRole, name, org, out, cmd string) (natsq.Edge, string, error) {
	var fh *os.File
	if out != "" {
		// Create the file first, so a bad path leaves no key registered.
		var err error
		fh, err = os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return natsq.Edge{}, "", fmt.Errorf("cli: %s: %w", cmd, err)
		}
	}
	seed, e, err := natsq.IssueEdge(dir, role, name, org)
	if err != nil {
		if fh != nil {
			fh.Close()
			os.Remove(out)
		}
		return natsq.Edge{}, "", err
	}
	if fh == nil {
		_, err = env.Stdout.Write(seed)
	} else {
		_, err = fh.Write(seed)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		_, _ = natsq.RevokeEdge(dir, role, name)
		return natsq.Edge{}, "", fmt.Errorf("cli: %s: %w", cmd, err)
	}
	if out == "" {
		out = "FILE"
	}
	return e, out, nil
}

const dnsCredsUsage = `usage:
  rampart dns credentials NAME [--out FILE] [--data DIR]
  rampart dns revoke NAME [--data DIR]
  rampart dns list [--data DIR]
Run on the platform's host: credentials registers a new NATS key for a
protective resolver (admitted by a running serve within seconds) and writes
its seed to FILE (mode 0600) or standard output; the resolver then runs
  rampart dns --listen :53 --nats nats://HOST:PORT --nats-creds FILE --upstream IP[,IP]
It may read the hub's snapshot and publish its own reports only. revoke cuts
it off within seconds. With an external NATS, give each resolver a user in
the cluster's configuration instead (docs/nats.md).`

// dnsAdmin runs the dns subcommands that manage resolvers' keys; ok is
// false when args are the resolver's own flags.
func dnsAdmin(env *Env, args []string) (ok bool, err error) {
	if len(args) == 0 {
		return false, nil
	}
	switch args[0] {
	case "credentials":
		return true, runDNSCredentials(env, args[1:])
	case "revoke":
		return true, runDNSRevoke(env, args[1:])
	case "list":
		return true, runDNSList(env, args[1:])
	}
	return false, nil
}

func runDNSCredentials(env *Env, args []string) error {
	fs, f := flags(env, "dns credentials", false)
	out := fs.String("out", "", "write the resolver's seed to this file (mode 0600; must not exist) instead of standard output")
	name, c, err := nameAndFlags(env, fs, f, args)
	if err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("%w: %s", errUsage, dnsCredsUsage)
	}
	dir, err := embeddedNATSDir(c)
	if err != nil {
		return err
	}
	e, file, err := issueEdgeKey(env, dir, natsq.EdgeResolver, name, "", *out, "dns credentials")
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "Issued resolver %s (public key %s).\nA running serve admits it within seconds. On the resolver's host:\n  rampart dns --listen :53 --nats nats://<platform>:<port> --nats-creds %s --upstream <IP>\nThe seed is not kept on the platform; revoke with: rampart dns revoke %s\n",
		e.Name, e.PublicKey, file, e.Name)
	return nil
}

func runDNSRevoke(env *Env, args []string) error {
	fs, f := flags(env, "dns revoke", false)
	name, c, err := nameAndFlags(env, fs, f, args)
	if err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("%w: %s", errUsage, dnsCredsUsage)
	}
	dir, err := embeddedNATSDir(c)
	if err != nil {
		return err
	}
	e, err := natsq.RevokeEdge(dir, natsq.EdgeResolver, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "revoked resolver %s (key %s); a running serve disconnects it within seconds\n", e.Name, e.PublicKey)
	return nil
}

func runDNSList(env *Env, args []string) error {
	dir, err := credentialsDir(env, "dns list", dnsCredsUsage, args)
	if err != nil {
		return err
	}
	es, err := natsq.Edges(dir)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tISSUED\tPUBLIC KEY")
	for _, e := range es {
		if e.Role == natsq.EdgeResolver {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Name, e.Issued.Format("2006-01-02 15:04"), e.PublicKey)
		}
	}
	return tw.Flush()
}
