package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/store"
)

var _ store.Sensors = (*Store)(nil)

// maxReportDetections bounds the detections of one report the store
// takes (the ingester's decoder allows as many).
const maxReportDetections = sensor.MaxReportDetections

// RecordSensorReport applies one sensor report.
func (s *Store) RecordSensorReport(ctx context.Context, r store.SensorReport) ([]store.SensorDetection, bool, error) {
	const op = "record sensor report"
	switch {
	case r.OrgID <= 0 || !sensor.ValidName(r.Sensor):
		return nil, false, s.fail(op, invalid("a sensor report needs an organization and a valid sensor name"))
	case r.ReportID == "" || len(r.ReportID) > 64:
		return nil, false, s.fail(op, invalid("a sensor report needs an ID of 1-64 bytes"))
	case len(r.Detections) > maxReportDetections:
		return nil, false, s.fail(op, invalid("%d detections in one report, more than %d", len(r.Detections), maxReportDetections))
	}
	at := r.At.UTC().Truncate(time.Microsecond)
	if r.At.IsZero() {
		at = now()
	}
	stats, err := json.Marshal(r.Stats)
	if err != nil {
		return nil, false, s.fail(op, err)
	}
	var (
		out []store.SensorDetection
		dup bool
	)
	err = s.write(ctx, op, func(tx *sql.Tx) error {
		var code string
		if err := tx.QueryRowContext(ctx, s.q("SELECT code FROM orgs WHERE id = ?"), r.OrgID).Scan(&code); errors.Is(err, sql.ErrNoRows) {
			return notFound("organization", r.OrgID)
		} else if err != nil {
			return err
		}
		var id int64
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO sensors (org_id, name, first_seen, last_seen, stats) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (org_id, name) DO UPDATE SET last_seen = excluded.last_seen RETURNING id`),
			r.OrgID, r.Sensor, at, at, string(stats)).Scan(&id)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO sensor_reports (sensor_id, report_id, received_at) VALUES (?, ?, ?)
			ON CONFLICT (sensor_id, report_id) DO NOTHING`), id, r.ReportID, at)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			dup = true
		}
		if !dup {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE sensors SET stats = ?, reports = reports + 1, detections = detections + ? WHERE id = ?`),
				string(stats), len(r.Detections), id); err != nil {
				return err
			}
		}
		out = make([]store.SensorDetection, 0, len(r.Detections))
		for _, d := range r.Detections {
			sd := detectionRow(d)
			sd.SensorID, sd.OrgID, sd.OrgCode, sd.Sensor = id, r.OrgID, code, r.Sensor
			if dup {
				got, err := scanSensorDetection(tx.QueryRowContext(ctx, s.q("SELECT "+sensorDetectionCols+` FROM sensor_detections d
					JOIN sensors s ON s.id = d.sensor_id JOIN orgs o ON o.id = d.org_id
					WHERE d.sensor_id = ? AND d.kind = ? AND d.source = ? AND d.target = ? AND d.indicator = ?`),
					id, sd.Kind, sd.Source, sd.Target, sd.Indicator))
				if errors.Is(err, sql.ErrNoRows) {
					continue // pruned since
				}
				if err != nil {
					return err
				}
				out = append(out, got)
				continue
			}
			err := tx.QueryRowContext(ctx, s.q(`INSERT INTO sensor_detections
				(sensor_id, org_id, kind, source, target, indicator, name, port, count, reports, first_seen, last_seen, detail)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
				ON CONFLICT (sensor_id, kind, source, target, indicator) DO UPDATE SET
					count = sensor_detections.count + excluded.count,
					reports = sensor_detections.reports + 1,
					first_seen = CASE WHEN excluded.first_seen < sensor_detections.first_seen THEN excluded.first_seen ELSE sensor_detections.first_seen END,
					last_seen = CASE WHEN excluded.last_seen > sensor_detections.last_seen THEN excluded.last_seen ELSE sensor_detections.last_seen END,
					name = excluded.name, port = excluded.port, detail = excluded.detail
				RETURNING id, count, reports, first_seen, last_seen`),
				id, r.OrgID, sd.Kind, sd.Source, sd.Target, sd.Indicator, sd.Name, sd.Port, sd.Count, sd.First, sd.Last, sd.Detail).
				Scan(&sd.ID, &sd.Count, &sd.Reports, &sd.First, &sd.Last)
			if err != nil {
				return err
			}
			sd.First, sd.Last = sd.First.UTC(), sd.Last.UTC()
			out = append(out, sd)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, dup, nil
}

// detectionRow is d as stored: addresses as text, times in UTC to the
// microsecond, counts within int64.
func detectionRow(d sensor.Detection) store.SensorDetection {
	sd := store.SensorDetection{Kind: d.Kind, Source: d.Source.String(), Indicator: d.Indicator, Name: d.Name, Port: int(d.Port),
		Count: int64(min(d.Count, 1<<62)), First: d.First.UTC().Truncate(time.Microsecond), Last: d.Last.UTC().Truncate(time.Microsecond), Detail: d.Detail}
	if d.Target.IsValid() {
		sd.Target = d.Target.String()
	}
	if sd.Last.Before(sd.First) {
		sd.Last = sd.First
	}
	return sd
}

const sensorDetectionCols = `d.id, d.sensor_id, d.org_id, o.code, s.name, d.kind, d.source, d.target, d.indicator, d.name, d.port,
	d.count, d.reports, d.first_seen, d.last_seen, d.detail`

func scanSensorDetection(sc scanner) (store.SensorDetection, error) {
	var d store.SensorDetection
	err := sc.Scan(&d.ID, &d.SensorID, &d.OrgID, &d.OrgCode, &d.Sensor, &d.Kind, &d.Source, &d.Target, &d.Indicator, &d.Name, &d.Port,
		&d.Count, &d.Reports, &d.First, &d.Last, &d.Detail)
	d.First, d.Last = d.First.UTC(), d.Last.UTC()
	return d, err
}

const sensorCols = `s.id, s.org_id, o.code, s.name, s.first_seen, s.last_seen, s.stats, s.reports, s.detections`

func scanSensor(sc scanner) (store.Sensor, error) {
	var (
		x     store.Sensor
		stats string
	)
	if err := sc.Scan(&x.ID, &x.OrgID, &x.OrgCode, &x.Name, &x.FirstSeen, &x.LastSeen, &stats, &x.Reports, &x.Detections); err != nil {
		return x, err
	}
	x.FirstSeen, x.LastSeen = x.FirstSeen.UTC(), x.LastSeen.UTC()
	// Written by RecordSensorReport from a sensor.Stats: a row that no
	// longer decodes shows empty counters rather than failing the list.
	_ = json.Unmarshal([]byte(stats), &x.Stats)
	return x, nil
}

// ListSensors lists the sensors p sees.
func (s *Store) ListSensors(ctx context.Context, p auth.Principal) ([]store.Sensor, error) {
	const op = "list sensors"
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return nil, s.fail(op, err)
	}
	cond, args := sc.cond("o.path")
	out, err := queryAll(ctx, s.r, scanSensor, s.q("SELECT "+sensorCols+" FROM sensors s JOIN orgs o ON o.id = s.org_id WHERE "+cond+" ORDER BY o.code, s.name"), args...)
	if out == nil {
		out = []store.Sensor{}
	}
	return out, s.fail(op, err)
}

// ListSensorDetections lists the detections p sees, last seen first.
func (s *Store) ListSensorDetections(ctx context.Context, p auth.Principal, f store.SensorDetectionFilter) ([]store.SensorDetection, error) {
	const op = "list sensor detections"
	limit, err := pageLimit(store.PageRequest{Limit: f.Limit})
	if err != nil {
		return nil, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return nil, s.fail(op, err)
	}
	cond, args := sc.cond("o.path")
	q := "SELECT " + sensorDetectionCols + " FROM sensor_detections d JOIN sensors s ON s.id = d.sensor_id JOIN orgs o ON o.id = d.org_id WHERE " + cond
	if f.SensorID > 0 {
		q += " AND d.sensor_id = ?"
		args = append(args, f.SensorID)
	}
	if f.Kind != "" {
		q += " AND d.kind = ?"
		args = append(args, string(f.Kind))
	}
	if !f.Since.IsZero() {
		q += " AND d.last_seen >= ?"
		args = append(args, f.Since.UTC())
	}
	q += " ORDER BY d.last_seen DESC, d.id DESC LIMIT ?"
	out, err := queryAll(ctx, s.r, scanSensorDetection, s.q(q), append(args, limit)...)
	if out == nil {
		out = []store.SensorDetection{}
	}
	return out, s.fail(op, err)
}

// PruneSensorData forgets old detections and report IDs.
func (s *Store) PruneSensorData(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, "prune sensor data", func(tx *sql.Tx) error {
		for _, q := range []string{"DELETE FROM sensor_detections WHERE last_seen < ?", "DELETE FROM sensor_reports WHERE received_at < ?"} {
			res, err := tx.ExecContext(ctx, s.q(q), before.UTC())
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return n, err
}
