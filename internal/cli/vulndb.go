package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/vuln"
	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/vulndb"
	"github.com/rampart-cert/rampart/internal/worker"
)

const vulndbUsage = `usage: rampart vulndb import [--no-rehunt] FILE...
FILE: NVD API 2.0 JSON, the CISA KEV catalog JSON, an EPSS CSV, the Debian
security tracker's JSON, a Debian DSA/DLA list, OSV records (Ubuntu USNs),
Red Hat's OVAL v2 XML (rhel-8.oval.xml, rhel-9.oval.xml); each plain,
gzip'd or bzip2'd, the format read from the content.

When the import changes the data and this data directory holds the
platform's database, the stored inventory (every open service the scans
observed) is matched again at once: new findings go to their owners
through the findings service, as a scan's would, without waiting for the
next scan (the retro-hunt); --no-rehunt skips it.`

func runVulnDB(ctx context.Context, env *Env, args []string) error {
	if len(args) < 1 || args[0] != "import" {
		return fmt.Errorf("%w: %s", errUsage, vulndbUsage)
	}
	fs, f := flags(env, "vulndb import", false)
	noRehunt := fs.Bool("no-rehunt", false, "do not match the stored inventory against the new data")
	c, err := load(env, fs, f, args[1:])
	if err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		return fmt.Errorf("%w: no files", errUsage)
	}
	dir := filepath.Join(c.Data, "vulndb")
	sum, err := vulndb.Import(dir, files...)
	if err != nil {
		return err
	}
	for _, fsum := range sum.Files {
		fmt.Fprintf(env.Stdout, "%s (%s): %d records, %d added, %d updated, %d unchanged, %d rejected\n",
			fsum.Name, fsum.Kind, fsum.Records, fsum.Added, fsum.Updated, fsum.Unchanged, fsum.RejectedCount)
		for _, r := range fsum.Rejected {
			fmt.Fprintln(env.Stderr, "  rejected:", r)
		}
	}
	fmt.Fprintf(env.Stdout, "vulnerability database in %s: %d added, %d updated, %d unchanged\n", dir, sum.Added, sum.Updated, sum.Unchanged)
	if !sum.Changed || *noRehunt {
		return nil
	}
	if !platformDatabase(c) {
		fmt.Fprintln(env.Stderr, "no platform database in this data directory: retro-hunt skipped")
		return nil
	}
	log := logger(env, c)
	st, err := openStore(ctx, c, log)
	if err != nil {
		return fmt.Errorf("retro-hunt: %w", err)
	}
	defer st.Close()
	db, err := vulndb.Load(dir)
	if err != nil {
		return fmt.Errorf("retro-hunt: %w", err)
	}
	svc := findings.New(findings.Deps{Store: st, Logger: log})
	rep, err := rehunt(ctx, st, svc, db, "vulndb-"+strconv.FormatInt(sum.Manifest.Generation, 10), time.Now())
	if err != nil {
		return fmt.Errorf("retro-hunt: %w", err)
	}
	fmt.Fprintf(env.Stdout, "retro-hunt: %d open services on %d assets matched again, %d new findings, %d reopened, %d fixed\n",
		rep.Services, rep.Assets, rep.New, rep.Reopened, rep.Fixed)
	return nil
}

// platformDatabase reports whether c names a platform database here: a
// PostgreSQL one, or the SQLite file in the data directory (a worker's
// data directory has none, and an import there must not create one).
func platformDatabase(c config.Config) bool {
	if c.DatabaseDriver() != "sqlite" {
		return true
	}
	_, err := os.Stat(c.SQLitePath())
	return err == nil
}

// inventory is what the retro-hunt reads: the stored observations.
type inventory interface {
	ListObservations(ctx context.Context, p auth.Principal, f store.ObservationFilter) (store.Page[store.Observation], error)
}

// recorder is the findings service.
type recorder interface {
	Record(ctx context.Context, b finding.Batch) ([]finding.Change, error)
}

// rehuntReport says what a retro-hunt did.
type rehuntReport struct {
	Services, Assets       int
	New, Reopened, Fixed   int
	Findings, Unidentified int
}

// rehunt matches every open observation of the inventory against db with
// the vulnerability checks (vuln.known-cve, vuln.backport-fixed), as a
// scan's worker would on the same fingerprint, and records the results
// through the findings service, one batch per asset: source scan, so the
// findings are the very ones the next scan keeps or fixes; job job; each
// observed service covered by the checks that ran on it, so a CVE the new
// data no longer matches (a distribution's fix imported) is fixed. The
// evidence says the retro-hunt found it.
func rehunt(ctx context.Context, inv inventory, rec recorder, db *vulndb.DB, job string, now time.Time) (rehuntReport, error) {
	var rep rehuntReport
	checks := vuln.InventoryChecks()
	ids := make([]string, len(checks))
	for i, c := range checks {
		ids[i] = c.Meta().ID
	}
	env := &check.Env{Now: func() time.Time { return now }, Extra: map[string]any{vuln.ExtraKey: db}}
	batches := map[int64]*finding.Batch{}
	var order []int64
	after := ""
	for {
		page, err := inv.ListObservations(ctx, auth.SystemPrincipal, store.ObservationFilter{State: "open",
			PageRequest: store.PageRequest{Limit: store.MaxLimit, After: after}})
		if err != nil {
			return rep, err
		}
		for _, o := range page.Items {
			ip, err := netip.ParseAddr(o.IP)
			if err != nil || o.Port < 1 || o.Port > 65535 || (o.Proto != "tcp" && o.Proto != check.ProtoUDP) {
				continue
			}
			t := check.Target{Kind: check.TargetService, Addr: netip.AddrPortFrom(ip, uint16(o.Port)), Host: o.Host,
				Service: o.Service, Product: o.Product, Version: o.Version, CPE: o.CPE, TLS: o.TLS, Banner: o.Banner}
			if o.Proto == check.ProtoUDP {
				t.Proto = check.ProtoUDP
			}
			var ran []string
			var seen []finding.Finding
			for _, c := range checks {
				if !c.Applies(t) {
					continue
				}
				res, err := c.Run(ctx, env, t)
				if err != nil {
					return rep, fmt.Errorf("%s on %s: %w", c.Meta().ID, t.Addr, err)
				}
				ran = append(ran, c.Meta().ID)
				for _, r := range res {
					seen = append(seen, rehuntFinding(o, t, r, job))
				}
			}
			if len(ran) == 0 {
				rep.Unidentified++
				continue
			}
			rep.Services++
			b := batches[o.AssetID]
			if b == nil {
				b = &finding.Batch{Source: finding.SourceScan, JobID: job, At: now}
				batches[o.AssetID] = b
				order = append(order, o.AssetID)
			}
			b.Covered = append(b.Covered, finding.Coverage{AssetID: o.AssetID, OrgID: o.OrgID, Target: worker.FindingTarget(t), Checks: slices.Clone(ran)})
			b.Seen = append(b.Seen, seen...)
			rep.Findings += len(seen)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	rep.Assets = len(order)
	for _, a := range order {
		changes, err := rec.Record(ctx, *batches[a])
		if err != nil {
			return rep, fmt.Errorf("asset %d: %w", a, err)
		}
		for _, c := range changes {
			switch c.Kind {
			case finding.ChangeNew:
				rep.New++
			case finding.ChangeReopened:
				rep.Reopened++
			case finding.ChangeFixed:
				rep.Fixed++
			}
		}
	}
	return rep, nil
}

// rehuntFinding is a check result on a stored observation, as the scan
// ingester would record it.
func rehuntFinding(o store.Observation, t check.Target, r check.Result, job string) finding.Finding {
	ev := r.Evidence
	fields := make(map[string]string, len(ev.Fields)+1)
	for k, v := range ev.Fields {
		fields[k] = v
	}
	fields["found_by"] = "retro-hunt " + job + ": new vulnerability data matched the service last seen " + o.LastSeen.UTC().Format(time.RFC3339)
	ev.Fields = fields
	raw, _ := json.Marshal(ev)
	cve := r.CVE
	if cve == nil {
		cve = []string{}
	}
	target := worker.FindingTarget(t)
	return finding.Finding{Key: finding.Key(o.AssetID, r.Check, target, r.Subject), OrgID: o.OrgID, AssetID: o.AssetID,
		Check: r.Check, Family: vuln.Family, Severity: r.Severity, Target: target, Subject: r.Subject, Title: r.Title,
		Evidence: raw, CVE: cve, KEV: r.KEV}
}
