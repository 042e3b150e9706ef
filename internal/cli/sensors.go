package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/store"
)

const sensorsUsage = `usage:
  rampart sensors add NAME --org CODE [--out FILE] [--data DIR]
  rampart sensors revoke NAME [--data DIR]
  rampart sensors list [--data DIR]
Run on the platform's host: add registers a new NATS key for a sensor at a
member's gateway, reporting for organization CODE (admitted by a running
serve within seconds), and writes its seed to FILE (mode 0600) or standard
output; the member then runs
  rampart sensor --nats nats://HOST:PORT --creds FILE --eve /var/log/suricata/eve.json
The sensor may publish for its own organization and name only. revoke cuts
it off within seconds. With an external NATS, give each sensor a user in
the cluster's configuration instead (docs/nats.md).`

// runSensors manages sensors' credentials.
func runSensors(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, sensorsUsage)
	}
	switch args[0] {
	case "add":
		return runSensorsAdd(ctx, env, args[1:])
	case "revoke":
		return runSensorsRevoke(env, args[1:])
	case "list":
		return runSensorsList(env, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(env.Stderr, sensorsUsage)
		return nil
	}
	return fmt.Errorf("%w: unknown subcommand %q\n%s", errUsage, args[0], sensorsUsage)
}

func sensorsName(env *Env, args []string, name string) (string, []string, error) {
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		return args[0], args[1:], nil
	}
	return "", args, fmt.Errorf("%w: %s needs a NAME\n%s", errUsage, name, sensorsUsage)
}

func runSensorsAdd(ctx context.Context, env *Env, args []string) error {
	name, args, err := sensorsName(env, args, "sensors add")
	if err != nil {
		return err
	}
	fs, f := flags(env, "sensors add", false)
	code := fs.String("org", "", "code of the organization the sensor reports for (required)")
	out := fs.String("out", "", "write the sensor's seed to this file (mode 0600; must not exist) instead of standard output")
	c, err := load(env, fs, f, args)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 || *code == "" {
		return fmt.Errorf("%w: %s", errUsage, sensorsUsage)
	}
	dir, err := embeddedNATSDir(c)
	if err != nil {
		return err
	}
	// The organization must exist: its code, as the registry spells it,
	// goes into the credential and every subject the sensor may use.
	st, err := openStore(ctx, c, logger(env, c))
	if err != nil {
		return err
	}
	u := org.Organization{Code: *code}
	u.Normalize()
	o, err := st.GetOrgByCode(ctx, auth.SystemPrincipal, u.Code)
	st.Close()
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("cli: sensors add: no organization with code %q", *code)
	}
	if err != nil {
		return err
	}
	e, file, err := issueEdgeKey(env, dir, natsq.EdgeSensor, name, o.Code, *out, "sensors add")
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "Issued sensor %s for organization %s (public key %s).\nA running serve admits it within seconds. At the member's gateway:\n  rampart sensor --nats nats://<platform>:<port> --creds %s --eve /var/log/suricata/eve.json\nThe seed is not kept on the platform; revoke with: rampart sensors revoke %s\n",
		e.Name, e.Org, e.PublicKey, file, e.Name)
	return nil
}

func runSensorsRevoke(env *Env, args []string) error {
	name, args, err := sensorsName(env, args, "sensors revoke")
	if err != nil {
		return err
	}
	dir, err := credentialsDir(env, "sensors revoke", sensorsUsage, args)
	if err != nil {
		return err
	}
	e, err := natsq.RevokeEdge(dir, natsq.EdgeSensor, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "revoked sensor %s (organization %s, key %s); a running serve disconnects it within seconds\n", e.Name, e.Org, e.PublicKey)
	return nil
}

func runSensorsList(env *Env, args []string) error {
	dir, err := credentialsDir(env, "sensors list", sensorsUsage, args)
	if err != nil {
		return err
	}
	es, err := natsq.Edges(dir)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tORGANIZATION\tISSUED\tPUBLIC KEY")
	for _, e := range es {
		if e.Role != natsq.EdgeSensor {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Name, e.Org, e.Issued.Format("2006-01-02 15:04"), e.PublicKey)
	}
	return tw.Flush()
}
