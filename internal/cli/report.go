package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/report"
)

const reportUsage = "usage: rampart report [--org CODE] [--as USER] --format html|pdf|csv|xlsx [--lang vi|en] --out FILE"

// runReport renders an assessment report: one organization's subtree, or
// the whole constituency the caller sees.
func runReport(ctx context.Context, env *Env, args []string) error {
	fs, f := flags(env, "report", false)
	orgCode := fs.String("org", "", "organization code (default: the whole constituency the caller sees)")
	as := fs.String("as", "", "render as this user, with their view of the hierarchy (default: the platform)")
	format := fs.String("format", "html", "html, pdf, csv or xlsx")
	lang := fs.String("lang", "vi", "vi or en")
	out := fs.String("out", "-", "output file, - for standard output")
	order := fs.String("order", "severity", "findings table order: severity, or likelihood (KEV, then EPSS, then severity)")
	c, err := load(env, fs, f, args)
	if err != nil {
		return err
	}
	*format = strings.ToLower(*format)
	switch *format {
	case "html", "pdf", "csv", "xlsx":
	default:
		return fmt.Errorf("%w: --format must be html, pdf, csv or xlsx\n%s", errUsage, reportUsage)
	}
	if *lang != "vi" && *lang != "en" {
		return fmt.Errorf("%w: --lang must be vi or en", errUsage)
	}
	st, err := openStore(ctx, c, logger(env, c))
	if err != nil {
		return err
	}
	defer st.Close()
	p := auth.SystemPrincipal
	if *as != "" {
		u, err := st.UserForLogin(ctx, strings.ToLower(*as))
		if err != nil {
			return fmt.Errorf("user %q: %w", *as, err)
		}
		if p, err = st.PrincipalForUser(ctx, u); err != nil {
			return err
		}
	}
	var root int64
	if *orgCode != "" {
		o, err := st.GetOrgByCode(ctx, p, *orgCode)
		if err != nil {
			return fmt.Errorf("organization %q: %w", *orgCode, err)
		}
		root = o.ID
	}
	cats, err := loadCatalogs(c, logger(env, c))
	if err != nil {
		return err
	}
	opts := []report.Option{report.WithCatalog(cats.Kinds), report.WithFrameworks(cats.Frameworks)}
	switch *order {
	case "severity":
	case "likelihood":
		opts = append(opts, report.WithLikelihoodOrder())
	default:
		return fmt.Errorf("%w: --order must be severity or likelihood", errUsage)
	}
	r, err := report.Build(ctx, st, p, root, time.Now(), opts...)
	if err != nil {
		return err
	}
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
	if err := report.Render(bw, r, *format, *lang); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if *out != "-" {
		fmt.Fprintf(env.Stderr, "report written to %s\n", *out)
	}
	return nil
}
