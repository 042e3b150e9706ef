package scan

import "github.com/prometheus/client_golang/prometheus"

// Collectors are the reaper's metrics for /metrics: what it requeued and
// failed, how many stale queued jobs wait in the queue, and its failed
// runs. A job that was stuck shows here, not only in a log line.
func (r *Reaper) Collectors() []prometheus.Collector {
	stat := func(f func(ReaperStats) int64) func() float64 {
		return func() float64 { return float64(f(r.Stats())) }
	}
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rampart_scan_jobs_requeued_total",
			Help: "Scan jobs stuck in queued with no publish message anywhere, handed to the workers again by the reaper."},
			stat(func(s ReaperStats) int64 { return s.Requeued })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rampart_scan_jobs_reaped_failed_total",
			Help: "Scan jobs failed by the reaper because no worker took them in time (the reason is on the job)."},
			stat(func(s ReaperStats) int64 { return s.Failed })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rampart_scan_jobs_stale_waiting",
			Help: "At the reaper's last run: scan jobs queued longer than the requeue threshold that may still wait in the queue."},
			stat(func(s ReaperStats) int64 { return s.Waiting })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rampart_scan_reaper_errors_total",
			Help: "Reaper runs that could not finish (database or queue unavailable)."},
			stat(func(s ReaperStats) int64 { return s.Errors })),
	}
}
