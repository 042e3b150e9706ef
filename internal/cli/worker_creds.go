package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
)

const workerCredsUsage = `usage:
  rampart worker credentials NAME --region R [--out FILE] [--data DIR]
  rampart worker revoke NAME [--data DIR]
  rampart worker list [--data DIR]
Run on the platform's host: credentials registers a new key for the worker
with the embedded NATS (admitted within seconds) and writes its seed to FILE
(mode 0600) or standard output; the worker then runs
  rampart worker --nats nats://HOST:PORT --nats-creds FILE --region R
revoke cuts the worker off within seconds. With an external NATS, give each
worker a user in the cluster's configuration instead (docs/nats.md).`

// workerAdmin runs the worker subcommands that manage credentials; ok is
// false when args are the worker's own flags.
func workerAdmin(env *Env, args []string) (ok bool, err error) {
	if len(args) == 0 {
		return false, nil
	}
	switch args[0] {
	case "credentials":
		return true, runWorkerCredentials(env, args[1:])
	case "revoke":
		return true, runWorkerRevoke(env, args[1:])
	case "list":
		return true, runWorkerList(env, args[1:])
	}
	return false, nil
}

// nameAndFlags takes the one positional NAME from before or after the
// flags.
func nameAndFlags(env *Env, fs *flag.FlagSet, f *config.Flags, args []string) (string, config.Config, error) {
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	c, err := load(env, fs, f, args)
	if err != nil {
		return "", c, err
	}
	if name == "" && fs.NArg() == 1 {
		name = fs.Arg(0)
	} else if fs.NArg() > 0 {
		name = ""
	}
	if name == "" {
		return "", c, fmt.Errorf("%w: %s", errUsage, workerCredsUsage)
	}
	return name, c, nil
}

// embeddedNATSDir is where the embedded NATS keeps its keys; credentials
// are the embedded server's business only.
func embeddedNATSDir(c config.Config) (string, error) {
	if c.NATS != "" {
		return "", fmt.Errorf("%w: the platform uses an external NATS (%s): give the worker a user in the cluster's configuration (docs/nats.md)", errUsage, c.Redacted().NATS)
	}
	return filepath.Join(c.Data, "nats"), nil
}

func runWorkerCredentials(env *Env, args []string) error {
	fs, f := flags(env, "worker credentials", false)
	out := fs.String("out", "", "write the worker's seed to this file (mode 0600; must not exist) instead of standard output")
	name, c, err := nameAndFlags(env, fs, f, args)
	if err != nil {
		return err
	}
	dir, err := embeddedNATSDir(c)
	if err != nil {
		return err
	}
	var fh *os.File
	if *out != "" {
		// Create the file first, so a bad path leaves no key registered.
		fh, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("cli: worker credentials: %w", err)
		}
	}
	seed, w, err := natsq.IssueWorker(dir, name, c.Region)
	if err != nil {
		if fh != nil {
			fh.Close()
			os.Remove(*out)
		}
		return err
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
		_, _ = natsq.RevokeWorker(dir, name)
		return fmt.Errorf("cli: worker credentials: %w", err)
	}
	file := *out
	if file == "" {
		file = "FILE"
	}
	fmt.Fprintf(env.Stderr, "Issued worker %s for region %s (public key %s).\nA running serve admits it within seconds. On the worker's host:\n  rampart worker --nats nats://<platform>:<port> --nats-creds %s --region %s\nThe seed is not kept on the platform; revoke with: rampart worker revoke %s\n",
		w.Name, w.Region, w.PublicKey, file, w.Region, w.Name)
	return nil
}

func runWorkerRevoke(env *Env, args []string) error {
	fs, f := flags(env, "worker revoke", false)
	name, c, err := nameAndFlags(env, fs, f, args)
	if err != nil {
		return err
	}
	dir, err := embeddedNATSDir(c)
	if err != nil {
		return err
	}
	w, err := natsq.RevokeWorker(dir, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "revoked worker %s (region %s, key %s); a running serve disconnects it within seconds\n", w.Name, w.Region, w.PublicKey)
	return nil
}

func runWorkerList(env *Env, args []string) error {
	dir, err := credentialsDir(env, "worker list", workerCredsUsage, args)
	if err != nil {
		return err
	}
	ws, err := natsq.Workers(dir)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREGION\tISSUED\tPUBLIC KEY")
	for _, w := range ws {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", w.Name, w.Region, w.Issued.Format("2006-01-02 15:04"), w.PublicKey)
	}
	return tw.Flush()
}

// credsRegion is the region a credentials file from `rampart worker
// credentials` was issued for ("" for other files), so a worker started
// with another --region fails at once with a clear message instead of
// being refused its consumer by the server.
func credsRegion(path string) string {
	data, err := os.ReadFile(path)
	if err != nil || len(data) > 64<<10 {
		return ""
	}
	m := credsRegionRE().FindSubmatch(data)
	if m == nil {
		return ""
	}
	return string(m[1])
}

var credsRegionRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^# Rampart worker "[^"\n]*" of region "([a-z0-9_-]+)"\.`)
})

// errWrongRegion: a worker's --region differs from its credentials'.
var errWrongRegion = errors.New("the credentials are for another region")

// credentialsDir reads the flags of a credentials subcommand that takes
// no other argument (worker list, sensors revoke NAME after its name is
// taken, sensors list) and returns the embedded NATS server's directory,
// where the issued keys live.
func credentialsDir(env *Env, cmd, usage string, args []string) (string, error) {
	fs, f := flags(env, cmd, false)
	c, err := load(env, fs, f, args)
	if err != nil {
		return "", err
	}
	if fs.NArg() > 0 {
		return "", fmt.Errorf("%w: %s", errUsage, usage)
	}
	return embeddedNATSDir(c)
}
