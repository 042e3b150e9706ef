-- Scanning state, SQLite flavour: scan jobs, observations, per-organization
-- scan policies and each asset's schedule. Keep in step with
-- postgres/0002_scans.sql.
--
-- History outlives assets: scan_jobs.asset_id and observations.asset_id keep
-- the asset's id without a foreign key, so deleting an asset leaves its jobs
-- and observations listable (by organization, or by the old asset id).
-- Their org_id does reference orgs, without cascade: an organization with
-- scan history is still referenced and cannot be deleted (ErrConflict).
-- Policies and schedules are configuration and go with their owner.

-- SQLite allows AUTOINCREMENT only on the INTEGER PRIMARY KEY, so seq is the
-- key here and id is UNIQUE; PostgreSQL has it the other way round. seq is
-- the keyset of listings (newest first); id is the queue message id.
CREATE TABLE scan_jobs (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    org_id       INTEGER NOT NULL REFERENCES orgs(id),
    asset_id     INTEGER NOT NULL,
    type         TEXT NOT NULL,
    region       TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL DEFAULT '',
    target       TEXT NOT NULL DEFAULT '',
    params       TEXT,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'unreachable')),
    requested_by TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT '',
    stats        TEXT,
    worker       TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    started_at   TIMESTAMP,
    finished_at  TIMESTAMP
);
CREATE INDEX scan_jobs_org ON scan_jobs (org_id, seq);
CREATE INDEX scan_jobs_asset ON scan_jobs (asset_id, seq);
CREATE INDEX scan_jobs_state ON scan_jobs (state, seq);

-- observations: one row per (asset, ip, port, proto), never deleted; a port
-- that stops answering becomes state 'closed' with closed_at set.
CREATE TABLE observations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id     INTEGER NOT NULL REFERENCES orgs(id),
    asset_id   INTEGER NOT NULL,
    ip         TEXT NOT NULL,
    port       INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    proto      TEXT NOT NULL CHECK (proto IN ('tcp', 'udp')),
    host       TEXT NOT NULL DEFAULT '',
    state      TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    service    TEXT NOT NULL DEFAULT '',
    product    TEXT NOT NULL DEFAULT '',
    version    TEXT NOT NULL DEFAULT '',
    cpe        TEXT NOT NULL DEFAULT '',
    tls        INTEGER NOT NULL DEFAULT 0,
    banner     TEXT NOT NULL DEFAULT '',
    cert       TEXT,
    first_seen TIMESTAMP NOT NULL,
    last_seen  TIMESTAMP NOT NULL,
    closed_at  TIMESTAMP,
    job_id     TEXT NOT NULL,
    UNIQUE (asset_id, ip, port, proto)
);
CREATE INDEX observations_org ON observations (org_id, id);
CREATE INDEX observations_ip ON observations (ip, port);
CREATE INDEX observations_port ON observations (port, id);
CREATE INDEX observations_service ON observations (service, id);

-- scan_policies: absent means the empty policy. exclusions and blackouts are
-- JSON arrays, validated and normalized by the store.
CREATE TABLE scan_policies (
    org_id     INTEGER PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
    exclusions TEXT NOT NULL DEFAULT '[]',
    blackouts  TEXT NOT NULL DEFAULT '[]',
    updated_at TIMESTAMP NOT NULL
);

-- asset_schedule: absent (or last_scan_at NULL) means never scanned.
CREATE TABLE asset_schedule (
    asset_id     INTEGER PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
    last_scan_at TIMESTAMP,
    next_scan_at TIMESTAMP
);
CREATE INDEX asset_schedule_next ON asset_schedule (next_scan_at);
