package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/check/template"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/finding/catalog"
)

const checksUsage = `usage:
  rampart checks list [--templates DIR] [--format table|json] [--lang vi|en] [--kinds]
  rampart checks lint DIR`

func runChecks(ctx context.Context, env *Env, args []string) error {
	if len(args) < 1 {
		return fmt.Errorf("%w: %s", errUsage, checksUsage)
	}
	switch args[0] {
	case "list":
		fs, f := flags(env, "checks list", false)
		dir := fs.String("templates", "", "directory of check templates to include")
		format := fs.String("format", "table", "table or json")
		lang := fs.String("lang", "en", "language of titles: vi or en")
		kinds := fs.Bool("kinds", false, "list every finding kind of the catalog (checks, imports, intel, sensors, protective DNS, discovery, monitoring, manual) instead of the checks")
		if _, err := load(env, fs, f, args[1:]); err != nil {
			return err
		}
		reg, errs := all.Registry(*dir)
		for _, e := range errs {
			fmt.Fprintln(env.Stderr, "template:", e)
		}
		if *kinds {
			return listKinds(env, reg.Catalog().All(), *format, *lang)
		}
		cs := reg.All()
		if *format == "json" {
			metas := make([]any, len(cs))
			for i, c := range cs {
				metas[i] = c.Meta()
			}
			enc := json.NewEncoder(env.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(metas)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tFAMILY\tSEVERITY\tTITLE")
		for _, c := range cs {
			m := c.Meta()
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.ID, m.Family, m.Severity, m.Title.In(*lang))
		}
		tw.Flush()
		fmt.Fprintf(env.Stderr, "%d checks\n", len(cs))
		return nil
	case "lint":
		if len(args) != 2 {
			return fmt.Errorf("%w: %s", errUsage, checksUsage)
		}
		ts, errs := template.LoadDir(args[1])
		// A template may not reuse a built-in ID either: a check's, or a
		// finding kind of another source.
		kinds := all.Builtin().Catalog()
		for _, t := range ts {
			if k, dup := kinds.Get(t.ID); dup {
				what := "a built-in check"
				if k.Source != finding.SourceScan {
					what = "a built-in finding kind of source " + string(k.Source)
				}
				errs = append(errs, fmt.Errorf("%s: id %s is %s", t.File(), t.ID, what))
			}
		}
		for _, e := range errs {
			fmt.Fprintln(env.Stderr, e)
		}
		fmt.Fprintf(env.Stdout, "%d templates parsed, %d errors\n", len(ts), len(errs))
		if len(errs) > 0 {
			return fmt.Errorf("%d templates have errors", len(errs))
		}
		return nil
	}
	return fmt.Errorf("%w: %s", errUsage, checksUsage)
}

// listKinds prints finding kinds as a table or JSON.
func listKinds(env *Env, ks []catalog.Kind, format, lang string) error {
	if format == "json" {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ks)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFAMILY\tSOURCE\tSEVERITY\tTITLE")
	for _, k := range ks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Family, k.Source, k.Severity, k.Title.In(lang))
	}
	tw.Flush()
	fmt.Fprintf(env.Stderr, "%d finding kinds (an id ending in '.' covers the kinds a source names under it)\n", len(ks))
	return nil
}
