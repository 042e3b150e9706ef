-- Sensors at members' gateways (internal/sensor/ingest), SQLite flavour.
-- Keep in step with postgres/0026_sensors.sql.
--
-- sensors: one row per organization and sensor name, as last heard of.
-- stats is the JSON of the sensor's latest counters (sensor.Stats:
-- events, rates and parse errors per input, drops, what waits on disk).
--
-- sensor_detections: a sensor's detections merged by kind, source,
-- target and indicator; count grows with every report that carries one.
--
-- sensor_reports: the report IDs already applied, so a report delivered
-- twice is counted once; pruned with old detections.
CREATE TABLE sensors (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id     INTEGER NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    last_seen  TIMESTAMP NOT NULL,
    stats      TEXT NOT NULL DEFAULT '{}',
    reports    INTEGER NOT NULL DEFAULT 0,
    detections INTEGER NOT NULL DEFAULT 0,
    UNIQUE (org_id, name)
);

CREATE TABLE sensor_detections (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    sensor_id  INTEGER NOT NULL REFERENCES sensors (id) ON DELETE CASCADE,
    org_id     INTEGER NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    source     TEXT NOT NULL,
    target     TEXT NOT NULL DEFAULT '',
    indicator  TEXT NOT NULL DEFAULT '',
    name       TEXT NOT NULL DEFAULT '',
    port       INTEGER NOT NULL DEFAULT 0,
    count      INTEGER NOT NULL,
    reports    INTEGER NOT NULL DEFAULT 1,
    first_seen TIMESTAMP NOT NULL,
    last_seen  TIMESTAMP NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    UNIQUE (sensor_id, kind, source, target, indicator)
);
CREATE INDEX sensor_detections_recent ON sensor_detections (last_seen);
CREATE INDEX sensor_detections_org ON sensor_detections (org_id, last_seen);

CREATE TABLE sensor_reports (
    sensor_id   INTEGER NOT NULL REFERENCES sensors (id) ON DELETE CASCADE,
    report_id   TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (sensor_id, report_id)
);
CREATE INDEX sensor_reports_received ON sensor_reports (received_at);
