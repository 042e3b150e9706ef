package scan

import (
	"context"
	"encoding/json"
	"net/netip"
	"sort"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/store"
)

// Recorder records what a source saw: the findings service.
type Recorder interface {
	Record(ctx context.Context, b finding.Batch) ([]finding.Change, error)
}

// FindingsHook returns an Ingester.After that turns a portscan result's
// check results into one batch for the findings service: every result
// becomes a finding of the job's own asset (never of whoever else
// registered an address the job reached), and each completed check on a
// target covers that target of that asset, so a problem it no longer sees
// there is fixed. The batch is dated when the worker finished, so an older
// result than what is stored changes nothing. The service's store writes
// each change's event to the outbox; the notifier hears of it from the
// queue.
//
// A service that closed takes every check's findings with it: allChecks
// (the IDs of every check the platform runs) cover its "ip:port".
func FindingsHook(rec Recorder, allChecks []string) func(context.Context, store.ScanJob, time.Time, scanjob.PortscanResult) error {
	return func(ctx context.Context, job store.ScanJob, at time.Time, r scanjob.PortscanResult) error {
		owner := func(string) (org, asset int64) { return job.OrgID, job.AssetID }
		b := finding.Batch{Source: finding.SourceScan, JobID: job.ID, At: at}
		for _, c := range r.Covered {
			org, a := owner(c.IP)
			checks := append([]string(nil), c.Checks...)
			sort.Strings(checks)
			b.Covered = append(b.Covered, finding.Coverage{AssetID: a, OrgID: org, Target: c.Target, Checks: checks})
		}
		for _, svc := range r.ClosedNow {
			ip := svc
			if ap, err := netip.ParseAddrPort(svc); err == nil {
				ip = ap.Addr().String()
			}
			org, a := owner(ip)
			b.Covered = append(b.Covered, finding.Coverage{AssetID: a, OrgID: org, Target: svc, Checks: allChecks})
		}
		for _, f := range r.Findings {
			org, a := owner(f.IP)
			sev, err := finding.ParseSeverity(f.Severity)
			if err != nil {
				continue
			}
			ev, _ := json.Marshal(f.Evidence)
			cve := f.CVE
			if cve == nil {
				cve = []string{}
			}
			b.Seen = append(b.Seen, finding.Finding{
				Key: finding.Key(a, f.Check, f.Target, f.Subject), OrgID: org, AssetID: a,
				Check: f.Check, Family: f.Family, Severity: sev, Target: f.Target, Subject: f.Subject,
				Title: f.Title, Evidence: ev, CVE: cve, KEV: f.KEV,
			})
		}
		if len(b.Covered) == 0 && len(b.Seen) == 0 {
			return nil
		}
		_, err := rec.Record(ctx, b)
		return err
	}
}
