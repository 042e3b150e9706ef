// Package findings is the findings service: the one door through which
// every source of findings (the platform's scans, third-party tool
// imports, and tomorrow threat intelligence, sensors, protective DNS,
// discovery and monitoring) records what it saw, and through which people
// act on findings (acknowledge, accept a risk, mark a false positive,
// reopen, resolve, ask for verification) and ask for scans.
//
// The lifecycle rules are internal/finding's (Reconcile, Apply, Stale);
// the store loads and saves, and writes each change's event to its outbox
// in the same transaction. This package decides who may do what and
// strings the steps of a use case together, so the API and the console
// are thin faces over the same calls.
//
//	scan results ─┐
//	imports ──────┼─► Service.Record ─► store (Reconcile, save, outbox) ─► events
//	people ───────┴─► Service.Transition / RequestScan / Import
//
// It must not import the scanner (internal/worker, engine, probes) nor a
// store driver: it depends on the store's contracts only.
package findings
