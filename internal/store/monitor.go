package store

import (
	"context"
	"encoding/json"
	"time"
)

// MonitorRecord is one thing a monitoring detector remembers between
// rounds: a DNS snapshot, an expiry date, a log position. Kind names the
// detector's table ("dns", "expiry", "ct"), Key the thing within it; Value
// is the detector's own JSON.
type MonitorRecord struct {
	Kind      string          `json:"kind"`
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// MonitorObservation is an open observation with what the exposure
// monitor needs to judge it: whether its asset had a finished scan before
// the observation was first seen (a history to compare with).
type MonitorObservation struct {
	Observation
	// PriorScan is true when a scan job of the asset finished before
	// FirstSeen: the port is new against the asset's history, not part
	// of its first scan.
	PriorScan bool `json:"prior_scan"`
}

// MonitorState keeps the monitoring detectors' memory (internal/monitor).
// It is the platform's own, like Outbox and StaleJobs: no principal, no
// tenancy, no audit entries; only the monitor service uses it.
//
// Kinds and keys are at most 200 bytes, values valid JSON of at most
// 1 MiB; anything else is ErrInvalid and nothing is written.
type MonitorState interface {
	// MonitorStates lists the records of kind, by key.
	MonitorStates(ctx context.Context, kind string) ([]MonitorRecord, error)
	// PutMonitorStates upserts records in one transaction (all or none);
	// UpdatedAt is stamped by the store when zero.
	PutMonitorStates(ctx context.Context, recs ...MonitorRecord) error
	// DeleteMonitorStates removes the records of kind under keys; keys
	// that do not exist are ignored.
	DeleteMonitorStates(ctx context.Context, kind string, keys ...string) error
	// ObservationsAfter lists up to limit open observations whose ID is
	// above afterID, in ID order, of every organization.
	ObservationsAfter(ctx context.Context, afterID int64, limit int) ([]MonitorObservation, error)
}
