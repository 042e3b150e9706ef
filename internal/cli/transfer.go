package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/transfer"
)

const importUsage = `usage: rampart import orgs|assets FILE [--format csv|json] [--org CODE]
       rampart import findings --tool sarif|nuclei|nmap FILE
FILE may be - for standard input. All rows are stored, or none.`

func runImport(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && args[0] == "findings" {
		return runImportFindings(ctx, env, args[1:])
	}
	if len(args) < 2 || (args[0] != "orgs" && args[0] != "assets") {
		return fmt.Errorf("%w: %s", errUsage, importUsage)
	}
	what, file := args[0], args[1]
	fs, f := flags(env, "import "+what, false)
	format := fs.String("format", "", "csv or json (default: from the file name or content)")
	orgCode := fs.String("org", "", "assets: owner of rows without org_code")
	c, err := load(env, fs, f, args[2:])
	if err != nil {
		return err
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
	br := bufio.NewReader(in)
	ff := transfer.Format(strings.ToLower(*format))
	if ff == "" {
		head, _ := br.Peek(64)
		ff = transfer.Sniff(filepath.Ext(file), head)
	}
	if ff != transfer.CSV && ff != transfer.JSON {
		return fmt.Errorf("%w: --format must be csv or json", errUsage)
	}
	st, err := openStore(ctx, c, logger(env, c))
	if err != nil {
		return err
	}
	defer st.Close()
	var sum store.ImportSummary
	if what == "assets" {
		rows, err := transfer.ReadAssets(br, ff, *orgCode)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		sum, err = st.ImportAssets(ctx, auth.SystemPrincipal, rows)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
	} else {
		rows, err := transfer.ReadOrgs(br, ff)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		sum, err = st.ImportOrgs(ctx, auth.SystemPrincipal, rows)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
	}
	fmt.Fprintf(env.Stdout, "%s: %d rows, %d created, %d updated, %d unchanged\n", what, sum.Rows, sum.Created, sum.Updated, sum.Unchanged)
	return nil
}

func runExport(ctx context.Context, env *Env, args []string) error {
	if len(args) < 1 || (args[0] != "orgs" && args[0] != "assets") {
		return fmt.Errorf("%w: usage: rampart export orgs|assets [--format csv|json] [--out FILE]", errUsage)
	}
	what := args[0]
	fs, f := flags(env, "export "+what, false)
	format := fs.String("format", "csv", "csv or json")
	out := fs.String("out", "-", "output file, - for standard output")
	c, err := load(env, fs, f, args[1:])
	if err != nil {
		return err
	}
	ff := transfer.Format(strings.ToLower(*format))
	if ff != transfer.CSV && ff != transfer.JSON {
		return fmt.Errorf("%w: --format must be csv or json", errUsage)
	}
	st, err := openStore(ctx, c, logger(env, c))
	if err != nil {
		return err
	}
	defer st.Close()
	var w io.Writer = env.Stdout
	if *out != "-" {
		fh, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer fh.Close()
		w = fh
	}
	bw := bufio.NewWriter(w)
	if what == "assets" {
		err = transfer.ExportAssets(ctx, st, auth.SystemPrincipal, bw, ff, 0)
	} else {
		err = transfer.ExportOrgs(ctx, st, auth.SystemPrincipal, bw, ff)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}
