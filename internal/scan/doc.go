// Package scan is the control plane of scanning: the scheduler plans the
// scans of due assets by cadence and publishes their jobs, and the ingester
// stores the results workers send back (observations, then findings through
// FindingsHook). The wire types both sides share live in scan/scanjob; the
// workers that run jobs live in internal/worker.
//
// It must not import the data plane (internal/worker, internal/engine,
// internal/probe/..., internal/check/...): the console and the API import
// it to request scans and must not link the port scanner.
package scan
