package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/imports"
	"github.com/rampart-cert/rampart/internal/scope"
)

const importFindingsUsage = `usage: rampart import findings --tool sarif|nuclei|nmap FILE
FILE may be - for standard input. Each result goes to the organization that
owns its host; a result for a host no asset covers refuses the whole file
(every such line is listed) and nothing is stored. Importing the same file
again changes nothing; a later import of the same tool over the same host
without a result fixes it.`

// runImportFindings imports a third-party tool's results through the
// findings service, as the platform. Their events wait in the outbox for
// the serving process to publish.
func runImportFindings(ctx context.Context, env *Env, args []string) error {
	fs, f := flags(env, "import findings", false)
	toolFlag := fs.String("tool", "", "sarif, nuclei or nmap")
	var file string
	if len(args) > 0 && (args[0] == "-" || args[0] != "" && args[0][0] != '-') {
		file, args = args[0], args[1:]
	}
	c, err := load(env, fs, f, args)
	if err != nil {
		return err
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	}
	if file == "" || *toolFlag == "" {
		return fmt.Errorf("%w: %s", errUsage, importFindingsUsage)
	}
	tool, err := imports.ParseTool(*toolFlag)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	var in io.Reader = env.Stdin
	if file != "-" {
		fh, err := os.Open(file)
		if err != nil {
			return err
		}
		defer fh.Close()
		in = fh
	}
	log := logger(env, c)
	st, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer st.Close()
	guard := scope.New(st, time.Hour, log)
	if err := guard.Refresh(ctx); err != nil {
		return err
	}
	svc := findings.New(findings.Deps{Store: st, Scope: guard, Logger: log})
	rep, err := svc.Import(ctx, auth.SystemPrincipal, findings.ImportRequest{Tool: tool, Input: in})
	var refused *findings.ImportRefused
	if errors.As(err, &refused) {
		for _, l := range refused.Lines {
			if l.Line > 0 {
				fmt.Fprintf(env.Stderr, "%s:%d: %s\n", file, l.Line, l.Reason)
			} else {
				fmt.Fprintf(env.Stderr, "%s: %s\n", file, l.Reason)
			}
		}
		return fmt.Errorf("%s: %d line(s) refused; nothing was imported", file, len(refused.Lines))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	fmt.Fprintf(env.Stdout, "%s (%s): %d results on %d hosts, %d new, %d reopened, %d fixed\n",
		file, tool, rep.Results, rep.Hosts, rep.New, rep.Reopened, rep.Fixed)
	return nil
}
