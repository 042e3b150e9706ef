package store

import (
	"context"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/sensor"
)

// Sensor is one sensor at a member's gateway as the platform last heard
// of it: who it reports for, when, and its counters.
type Sensor struct {
	ID        int64     `json:"id"`
	OrgID     int64     `json:"org_id"`
	OrgCode   string    `json:"org_code"`
	Name      string    `json:"name"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Stats are the counters of its latest report (cumulative since the
	// sensor's Started).
	Stats sensor.Stats `json:"stats"`
	// Reports and Detections count what the platform received from it.
	Reports    int64 `json:"reports"`
	Detections int64 `json:"detections"`
}

// SensorDetection is one detection as the platform keeps it: repeated
// reports of the same kind, source, target and indicator by one sensor
// are one row whose Count grows and whose First and Last widen.
type SensorDetection struct {
	ID       int64 `json:"id"`
	SensorID int64 `json:"sensor_id"`
	OrgID    int64 `json:"org_id"`
	// OrgCode and Sensor name who reported it.
	OrgCode   string               `json:"org_code"`
	Sensor    string               `json:"sensor"`
	Kind      sensor.DetectionKind `json:"kind"`
	Source    string               `json:"source"`
	Target    string               `json:"target,omitempty"`
	Indicator string               `json:"indicator,omitempty"`
	Name      string               `json:"name,omitempty"`
	Port      int                  `json:"port,omitempty"`
	Count     int64                `json:"count"`
	Reports   int64                `json:"reports"` // how many reports carried it
	First     time.Time            `json:"first"`
	Last      time.Time            `json:"last"`
	Detail    string               `json:"detail,omitempty"`
}

// SensorReport is one report of a sensor as the ingester hands it to the
// store: the organization and name come from the NATS subject, never
// from the payload.
type SensorReport struct {
	OrgID      int64
	Sensor     string
	ReportID   string    // the sensor's random ID of the report
	At         time.Time // when the platform received it
	Stats      sensor.Stats
	Detections []sensor.Detection
}

// SensorDetectionFilter narrows ListSensorDetections (latest first).
type SensorDetectionFilter struct {
	SensorID int64                // 0: every sensor the principal sees
	Kind     sensor.DetectionKind // "": every kind
	Since    time.Time            // last seen at or after; zero: any time
	Limit    int                  // 0: DefaultLimit; capped at MaxLimit
}

// Sensors keeps the sensors registry and their detections. Like
// Decisions it is not part of Store: the sensor ingester and the console
// assert it on the store they are given.
//
// Reads are scoped to the principal's subtree: a member sees its own
// organization's sensors and those of the organizations below it. The
// ingester writes as the platform (no principal) and is idempotent by
// report ID.
type Sensors interface {
	// RecordSensorReport creates or updates the sensor (last seen, its
	// counters) and adds the report's detections to the ones it kept,
	// in one transaction. It returns the report's detections with their
	// totals so far (Count, Reports, First, Last over every report). A
	// report whose ID the sensor already sent (a redelivery) writes
	// nothing and returns duplicate true with the current totals. An
	// unknown organization is ErrNotFound.
	RecordSensorReport(ctx context.Context, r SensorReport) (totals []SensorDetection, duplicate bool, err error)
	// ListSensors lists the sensors p sees, by organization code and name.
	ListSensors(ctx context.Context, p auth.Principal) ([]Sensor, error)
	// ListSensorDetections lists the detections p sees, last seen first.
	ListSensorDetections(ctx context.Context, p auth.Principal, f SensorDetectionFilter) ([]SensorDetection, error)
	// PruneSensorData forgets detections last seen before before and
	// the report IDs received before it, and returns how many rows went.
	PruneSensorData(ctx context.Context, before time.Time) (int64, error)
}
