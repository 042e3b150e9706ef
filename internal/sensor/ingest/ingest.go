// Package ingest is the platform's side of the sensors: it takes the
// reports sensors publish on "rampart.sensor.<org>.<name>.…" (the
// RAMPART_SENSORS stream), keeps the sensors registry (store.Sensors),
// turns detections into early-warning findings for the sensor's
// organization through the findings service, and hands each detection to
// the correlator.
//
// A report's organization and sensor come from its subject, which the
// queue's server lets a sensor's credential publish under only for its
// own organization and name (natsq.EdgePermissions); the payload never
// names them. It must not import the sensor's inputs or the agent.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/store"
)

// Correlator takes every detection the platform receives, with Org and
// Sensor set from the report's subject (package decision implements it:
// one source seen by several organizations becomes a national decision).
type Correlator interface {
	Observe(ctx context.Context, d sensor.Detection) error
}

// Findings records findings: the findings service.
type Findings interface {
	Record(ctx context.Context, b finding.Batch) ([]finding.Change, error)
}

// Scope finds the registered asset an address belongs to, as an
// organization sees the registry (scope.Guard).
type Scope interface {
	LookupFor(p auth.Principal, target string) (asset.Match, error)
	OrgAddrs(orgID int64) []string
	OrgNames(orgID int64) []string
}

// Orgs finds an organization by code (the store).
type Orgs interface {
	GetOrgByCode(ctx context.Context, p auth.Principal, code string) (org.Organization, error)
}

// Deps are the ingester's collaborators. Store, Orgs and Findings are
// required; Scope without which no finding can be attributed, and
// Correlator, may be nil.
type Deps struct {
	Store      store.Sensors
	Orgs       Orgs
	Findings   Findings
	Scope      Scope
	Correlator Correlator
	Logger     *slog.Logger
	Now        func() time.Time
	// Retention is how long detections and report IDs are kept; default
	// 30 days.
	Retention time.Duration
}

// Durable is the ingester's consumer on the sensors' stream.
const Durable = "sensor-ingester"

// Ingester takes sensors' reports. It is safe for concurrent use.
type Ingester struct {
	d    Deps
	orgs sync.Map // code → orgEntry

	reports, duplicates, rejected, unattributed, detections atomic.Int64
}

type orgEntry struct {
	o   org.Organization
	at  time.Time
	err error
}

// orgTTL is how long an organization looked up by code is remembered.
const orgTTL = time.Minute

// New returns an ingester.
func New(d Deps) *Ingester {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Retention <= 0 {
		d.Retention = 30 * 24 * time.Hour
	}
	d.Logger = d.Logger.With("component", "sensor-ingest")
	return &Ingester{d: d}
}

// Counts are what the ingester did since it started.
type Counts struct {
	Reports      int64 // reports applied
	Duplicates   int64 // reports delivered again, applied once
	Rejected     int64 // messages refused: bad subject or payload, unknown organization
	Detections   int64 // detections applied
	Unattributed int64 // detections no asset of the organization could carry as a finding
}

// Counts returns the ingester's counters.
func (i *Ingester) Counts() Counts {
	return Counts{Reports: i.reports.Load(), Duplicates: i.duplicates.Load(), Rejected: i.rejected.Load(),
		Detections: i.detections.Load(), Unattributed: i.unattributed.Load()}
}

// Start consumes the sensors' stream until ctx ends or the consumer is
// stopped, and prunes old detections every hour.
func (i *Ingester) Start(ctx context.Context, q queue.Queue) (queue.Consumer, error) {
	c, err := q.Consume(ctx, queue.ConsumerConfig{Stream: queue.StreamSensors, Durable: Durable, FilterSubject: queue.SubjectSensors + ".>",
		AckWait: 30 * time.Second, Concurrency: 4, RetryMax: 5 * time.Second}, i.Handle)
	if err != nil {
		return nil, fmt.Errorf("ingest: consume the sensors' reports: %w", err)
	}
	go i.prune(ctx)
	return c, nil
}

func (i *Ingester) prune(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := i.d.Store.PruneSensorData(ctx, i.d.Now().Add(-i.d.Retention)); err != nil && ctx.Err() == nil {
			i.d.Logger.Warn("pruning sensor data", "err", err)
		} else if n > 0 {
			i.d.Logger.Info("pruned sensor data", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// errReject marks a message that is dropped, never redelivered.
var errReject = errors.New("ingest: rejected")

// Handle applies one message of the sensors' stream. A message that can
// never apply (bad subject or payload, unknown organization) is logged,
// counted and acknowledged; a store or findings failure is returned so
// the message comes again.
func (i *Ingester) Handle(ctx context.Context, m *queue.Message) error {
	err := i.handle(ctx, m)
	if errors.Is(err, errReject) {
		i.rejected.Add(1)
		i.d.Logger.Warn("sensor report refused", "subject", m.Subject, "err", err)
		return nil
	}
	return err
}

func (i *Ingester) handle(ctx context.Context, m *queue.Message) error {
	code, name, what, ok := sensor.ParseSubject(m.Subject)
	if !ok || (what != sensor.SubjectDetections && what != sensor.SubjectStats) {
		return fmt.Errorf("%w: not a sensor subject", errReject)
	}
	r, err := sensor.DecodeReport(m.Data)
	if err != nil {
		return fmt.Errorf("%w: %w", errReject, err)
	}
	if what == sensor.SubjectStats && len(r.Detections) > 0 {
		return fmt.Errorf("%w: detections on the stats subject", errReject)
	}
	o, err := i.org(ctx, code)
	if err != nil {
		return err
	}
	dets := make([]sensor.Detection, len(r.Detections))
	for k, w := range r.Detections {
		dets[k] = w.Detection(o.Code, name)
	}
	now := i.d.Now()
	totals, dup, err := i.d.Store.RecordSensorReport(ctx, store.SensorReport{OrgID: o.ID, Sensor: name, ReportID: r.ID, At: now, Stats: r.Stats, Detections: dets})
	if err != nil {
		return fmt.Errorf("ingest: sensor %s of %s: %w", name, o.Code, err)
	}
	if dup {
		i.duplicates.Add(1)
	} else {
		i.reports.Add(1)
		i.detections.Add(int64(len(dets)))
	}
	// Findings again on a redelivery: recording the same totals twice
	// changes nothing, and the first attempt may have failed there.
	if err := i.record(ctx, o, name, r.ID, now, totals); err != nil {
		return err
	}
	if dup || i.d.Correlator == nil {
		return nil
	}
	for _, d := range dets {
		if err := i.d.Correlator.Observe(ctx, d); err != nil && ctx.Err() == nil {
			// The correlator keeps its own state; one refused detection
			// (no usable source) must not hold the report back.
			i.d.Logger.Debug("correlator refused a detection", "org", o.Code, "sensor", name, "kind", d.Kind, "err", err)
		}
	}
	return nil
}

// org finds the organization of a subject's code, remembered for a
// minute. An unknown code is a rejection: a sensor of an organization
// deleted since its credential was issued.
func (i *Ingester) org(ctx context.Context, code string) (org.Organization, error) {
	if v, ok := i.orgs.Load(code); ok {
		e := v.(orgEntry)
		if i.d.Now().Sub(e.at) < orgTTL {
			return e.o, e.err
		}
	}
	o, err := i.d.Orgs.GetOrgByCode(ctx, auth.SystemPrincipal, code)
	switch {
	case errors.Is(err, store.ErrNotFound):
		err = fmt.Errorf("%w: no organization %q", errReject, code)
	case err != nil:
		return org.Organization{}, fmt.Errorf("ingest: organization %s: %w", code, err)
	}
	i.orgs.Store(code, orgEntry{o: o, at: i.d.Now(), err: err})
	return o, err
}

// severities of the findings of each detection kind.
var severities = map[sensor.DetectionKind]finding.Severity{
	sensor.DetectIndicatorHit:  finding.High,
	sensor.DetectPortScan:      finding.Low,
	sensor.DetectSSHBruteForce: finding.Medium,
	sensor.DetectWebBruteForce: finding.Medium,
	sensor.DetectVolumeSpike:   finding.High,
	sensor.DetectAlert:         finding.High,
}

// CheckOf is the finding kind of a detection kind: "sensor.port-scan".
func CheckOf(k sensor.DetectionKind) string { return "sensor." + string(k) }

// record turns a report's detections, with their totals, into findings
// of the sensor's organization (or of the organization below it that
// owns the address).
func (i *Ingester) record(ctx context.Context, o org.Organization, name, reportID string, at time.Time, totals []store.SensorDetection) error {
	if len(totals) == 0 || i.d.Scope == nil {
		if len(totals) > 0 {
			i.unattributed.Add(int64(len(totals)))
		}
		return nil
	}
	p := auth.Principal{Name: "sensor:" + name, Role: auth.RoleSensor, OrgID: o.ID, OrgPath: o.Path}
	b := finding.Batch{Source: finding.SourceSensor, Ref: name, JobID: "sensor:" + reportID, At: at}
	for _, t := range totals {
		m, target, ok := i.attribute(p, o, t)
		if !ok {
			i.unattributed.Add(1)
			continue
		}
		b.Seen = append(b.Seen, warning(o, name, t, m, target))
	}
	if len(b.Seen) == 0 {
		return nil
	}
	if _, err := i.d.Findings.Record(ctx, b); err != nil {
		return fmt.Errorf("ingest: findings of sensor %s of %s: %w", name, o.Code, err)
	}
	return nil
}

// attribute finds the asset a detection's finding belongs to: the
// registered asset of its member address in the organization's subtree;
// else (an internal host behind NAT, a scan over many hosts) the
// organization's first registered network, then its first name, with
// the member address, if any, as the finding's target.
func (i *Ingester) attribute(p auth.Principal, o org.Organization, t store.SensorDetection) (asset.Match, string, bool) {
	if t.Target != "" {
		if m, err := i.d.Scope.LookupFor(p, t.Target); err == nil {
			return m, t.Target, true
		}
	}
	for _, vals := range [][]string{i.d.Scope.OrgAddrs(o.ID), i.d.Scope.OrgNames(o.ID)} {
		for _, v := range vals {
			m, err := i.d.Scope.LookupFor(p, v)
			if err != nil || m.OrgID != o.ID {
				continue
			}
			target := t.Target
			if target == "" {
				target = m.Value
			}
			return m, target, true
		}
	}
	return asset.Match{}, "", false
}

// evidence is what the owner reads of a detection.
type evidence struct {
	Sensor    string `json:"sensor"`
	Org       string `json:"org"`
	Kind      string `json:"kind"`
	Source    string `json:"source"`
	Target    string `json:"target,omitempty"`
	Indicator string `json:"indicator,omitempty"`
	Name      string `json:"name,omitempty"`
	Port      int    `json:"port,omitempty"`
	Count     int64  `json:"count"`
	Reports   int64  `json:"reports"`
	First     string `json:"first"`
	Last      string `json:"last"`
	Detail    string `json:"detail,omitempty"`
}

// warning is the finding of one detection with its totals. Its identity
// (kind, target, subject, sensor) does not change as the count grows, so
// repeated detections are one finding whose evidence counts them all.
func warning(o org.Organization, name string, t store.SensorDetection, m asset.Match, target string) finding.Finding {
	subject := t.Source
	if t.Kind == sensor.DetectIndicatorHit {
		subject = firstOf(t.Indicator, t.Name, t.Source)
	}
	ev, _ := json.Marshal(evidence{Sensor: name, Org: o.Code, Kind: string(t.Kind), Source: t.Source, Target: t.Target, Indicator: t.Indicator,
		Name: t.Name, Port: t.Port, Count: t.Count, Reports: t.Reports, First: t.First.Format(time.RFC3339), Last: t.Last.Format(time.RFC3339), Detail: t.Detail})
	sev, ok := severities[t.Kind]
	if !ok {
		sev = finding.Medium
	}
	return finding.Finding{OrgID: m.OrgID, AssetID: m.AssetID, Check: CheckOf(t.Kind), Severity: sev, Target: target, Subject: subject,
		Title: title(t, target, name), Evidence: ev}
}

func title(t store.SensorDetection, target, name string) string {
	n := strconv.FormatInt(t.Count, 10)
	var s string
	switch t.Kind {
	case sensor.DetectIndicatorHit:
		s = target + " talked to listed " + firstOf(t.Name, t.Indicator, t.Source) + " (" + n + " times)"
	case sensor.DetectPortScan:
		s = "port scan from " + t.Source + " (" + n + " probes)"
	case sensor.DetectSSHBruteForce:
		s = "SSH password guessing from " + t.Source + " against " + target + " (" + n + " failures)"
	case sensor.DetectWebBruteForce:
		s = "web login guessing from " + t.Source + " against " + target + " (" + n + " failures)"
	case sensor.DetectVolumeSpike:
		s = "traffic surge towards " + target + " (" + n + " events)"
	case sensor.DetectAlert:
		s = "IDS alert from " + t.Source + " against " + target + " (" + n + " alerts)"
	default:
		s = string(t.Kind) + " from " + t.Source
	}
	s += ", seen by sensor " + name
	if len(s) > 300 {
		s = strings.ToValidUTF8(s[:300], "")
	}
	return s
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
