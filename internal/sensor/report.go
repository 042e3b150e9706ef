package sensor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrBadReport means a sensor's message does not decode as a Report.
var ErrBadReport = errors.New("sensor: bad report")

// Limits of one report: the platform refuses anything larger, and a
// sensor splits what it has to send.
const (
	MaxReportBytes      = 512 << 10
	MaxReportDetections = 1000
	maxDetail           = 300
	maxInputs           = 16
)

// ReportVersion is the version of the wire format a sensor writes.
const ReportVersion = 1

// Report is what a sensor publishes, as JSON: on "….detections" a batch
// of detections with its counters, on "….stats" its counters alone (a
// heartbeat). It never says which organization or sensor it is from:
// the platform takes both from the subject.
type Report struct {
	V    int       `json:"v"`    // ReportVersion
	ID   string    `json:"id"`   // random; a report sent twice is counted once
	Sent time.Time `json:"sent"` // the sensor's clock when it was made
	// Stats are the sensor's counters when it made the report.
	Stats      Stats           `json:"stats"`
	Detections []WireDetection `json:"detections,omitempty"`
}

// Stats are a sensor's counters, cumulative since it started (Started),
// so a lost report loses no count.
type Stats struct {
	Started time.Time `json:"started"`
	Version string    `json:"version,omitempty"` // the sensor's rampart version
	// Events per input ("eve", "zeek", "netflow", "syslog") since start,
	// and the rate per second over the last interval.
	Events map[string]uint64  `json:"events,omitempty"`
	Rates  map[string]float64 `json:"rates,omitempty"`
	// Errors counts input lines or packets that did not parse, per input.
	Errors map[string]uint64 `json:"errors,omitempty"`
	// Dropped counts reports the sensor's disk buffer had to throw away
	// (oldest first) while the platform was unreachable, and the
	// detections they held; Buffered is what waits on disk now.
	DroppedReports    uint64 `json:"dropped_reports,omitempty"`
	DroppedDetections uint64 `json:"dropped_detections,omitempty"`
	DroppedBytes      uint64 `json:"dropped_bytes,omitempty"`
	BufferedBytes     uint64 `json:"buffered_bytes,omitempty"`
	// Indicators is how many of the hub's indicators the sensor matches.
	Indicators int `json:"indicators,omitempty"`
}

// WireDetection is a Detection as a sensor sends it: without Org and
// Sensor.
type WireDetection struct {
	Kind      DetectionKind `json:"kind"`
	Source    netip.Addr    `json:"source"`
	Target    netip.Addr    `json:"target,omitzero"`
	Name      string        `json:"name,omitempty"`
	Indicator string        `json:"indicator,omitempty"`
	Port      uint16        `json:"port,omitempty"`
	Count     uint64        `json:"count"`
	First     time.Time     `json:"first"`
	Last      time.Time     `json:"last"`
	Detail    string        `json:"detail,omitempty"`
}

// Wire is d as a sensor sends it.
func Wire(d Detection) WireDetection {
	return WireDetection{Kind: d.Kind, Source: d.Source, Target: d.Target, Name: d.Name, Indicator: d.Indicator,
		Port: d.Port, Count: d.Count, First: d.First, Last: d.Last, Detail: d.Detail}
}

// Detection is w reported by sensor name of organization org.
func (w WireDetection) Detection(org, name string) Detection {
	return Detection{Kind: w.Kind, Org: org, Sensor: name, Source: w.Source, Target: w.Target, Name: w.Name, Indicator: w.Indicator,
		Port: w.Port, Count: w.Count, First: w.First, Last: w.Last, Detail: w.Detail}
}

// knownKinds are the detection kinds a report may carry.
var knownKinds = map[DetectionKind]bool{
	DetectIndicatorHit: true, DetectPortScan: true, DetectSSHBruteForce: true,
	DetectWebBruteForce: true, DetectVolumeSpike: true, DetectAlert: true,
}

// KnownKind reports whether k is one of the detection kinds.
func KnownKind(k DetectionKind) bool { return knownKinds[k] }

// EncodeReport is r as JSON, refusing what DecodeReport would refuse.
func EncodeReport(r *Report) ([]byte, error) {
	if r.V == 0 {
		r.V = ReportVersion
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("sensor: encode report: %w", err)
	}
	if _, err := DecodeReport(b); err != nil {
		return nil, err
	}
	return b, nil
}

// DecodeReport parses and checks one report from a sensor: hostile input,
// bounded in size and in what each field may hold. Strings are cut to
// their limits rather than refused.
func DecodeReport(b []byte) (*Report, error) {
	if len(b) > MaxReportBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadReport, len(b), MaxReportBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadReport, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the report", ErrBadReport)
	}
	switch {
	case r.V != ReportVersion:
		return nil, fmt.Errorf("%w: version %d, want %d", ErrBadReport, r.V, ReportVersion)
	case r.ID == "" || len(r.ID) > 64 || !printable(r.ID):
		return nil, fmt.Errorf("%w: id must be 1-64 printable characters", ErrBadReport)
	case len(r.Detections) > MaxReportDetections:
		return nil, fmt.Errorf("%w: %d detections, more than %d", ErrBadReport, len(r.Detections), MaxReportDetections)
	case len(r.Stats.Events) > maxInputs || len(r.Stats.Rates) > maxInputs || len(r.Stats.Errors) > maxInputs:
		return nil, fmt.Errorf("%w: more than %d inputs", ErrBadReport, maxInputs)
	}
	for _, m := range []map[string]uint64{r.Stats.Events, r.Stats.Errors} {
		for k := range m {
			if !inputName(k) {
				return nil, fmt.Errorf("%w: input name %q", ErrBadReport, k)
			}
		}
	}
	for k, v := range r.Stats.Rates {
		if !inputName(k) || v < 0 || v > 1e12 || v != v {
			return nil, fmt.Errorf("%w: rate of input %q", ErrBadReport, k)
		}
	}
	r.Stats.Version = clip(r.Stats.Version, 64)
	for i := range r.Detections {
		d := &r.Detections[i]
		if !KnownKind(d.Kind) {
			return nil, fmt.Errorf("%w: detection %d: unknown kind %q", ErrBadReport, i, d.Kind)
		}
		if !d.Source.IsValid() {
			return nil, fmt.Errorf("%w: detection %d: no source address", ErrBadReport, i)
		}
		if d.Count == 0 || d.First.IsZero() || d.Last.Before(d.First) {
			return nil, fmt.Errorf("%w: detection %d: count, first and last", ErrBadReport, i)
		}
		d.Source, d.Target = d.Source.Unmap().WithZone(""), d.Target.Unmap().WithZone("")
		d.Name = strings.ToLower(clip(d.Name, 253))
		d.Indicator = clip(d.Indicator, 300)
		d.Detail = clip(d.Detail, maxDetail)
	}
	return &r, nil
}

func inputName(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func printable(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// clip keeps at most n bytes of valid UTF-8 without control characters.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
