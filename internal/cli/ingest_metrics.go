package cli

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/store"
)

// ingestCollectors are the results ingester's metrics: what it applied,
// what keeps failing, what waits for the database and what it kept aside
// (reliability review F5, F7). A stuck ingestion shows on /metrics, not
// only in a log line.
func ingestCollectors(in *scan.Ingester, st store.Scans) []prometheus.Collector {
	stat := func(f func(scan.IngestStats) int64) func() float64 {
		return func() float64 { return float64(f(in.Stats())) }
	}
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rampart_ingest_results_applied_total",
			Help: "Scan results (or parts of results) applied by the ingester."}, stat(func(s scan.IngestStats) int64 { return s.Applied })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rampart_ingest_failures_total",
			Help: "Attempts to apply a scan result that failed for a reason other than the database being down; the result comes back."},
			stat(func(s scan.IngestStats) int64 { return s.Failures })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rampart_ingest_jobs_failing",
			Help: "Scan jobs whose results currently cannot be applied (see the scans page)."}, stat(func(s scan.IngestStats) int64 { return s.Failing })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rampart_ingest_waiting_for_database",
			Help: "Scan results held by the ingester until the database answers again; above 0 means the database is down."},
			stat(func(s scan.IngestStats) int64 { return s.Waiting })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rampart_ingest_orphan_results_total",
			Help: "Scan results for jobs this database does not know, kept aside since the process started."},
			stat(func(s scan.IngestStats) int64 { return s.Orphans })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rampart_orphan_results",
			Help: "Scan results kept aside for unknown jobs, in the database (-1: the database did not answer)."},
			func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				n, _, err := st.ListOrphanResults(ctx, auth.SystemPrincipal, 1)
				if err != nil {
					return -1
				}
				return float64(n)
			}),
	}
}
