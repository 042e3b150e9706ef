-- Discovery of unregistered assets (issue 13): candidates proposed to the
-- organization whose verified domain, network or AS number covers them,
-- the runs that find them, and where each CT log was last read.
CREATE TABLE discovery_candidates (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id              INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    asset_id            INTEGER REFERENCES assets(id) ON DELETE SET NULL,
    kind                TEXT NOT NULL,
    value               TEXT NOT NULL,
    sources             TEXT NOT NULL DEFAULT '[]',
    addresses           TEXT NOT NULL DEFAULT '[]',
    evidence            TEXT NOT NULL DEFAULT '',
    state               TEXT NOT NULL DEFAULT 'pending',
    first_seen          TIMESTAMP NOT NULL,
    last_seen           TIMESTAMP NOT NULL,
    decided_at          TIMESTAMP,
    decided_by          TEXT NOT NULL DEFAULT '',
    reason              TEXT NOT NULL DEFAULT '',
    registered_asset_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
    UNIQUE (org_id, kind, value)
);
CREATE INDEX discovery_candidates_state ON discovery_candidates (state, id);

CREATE TABLE discovery_ct_positions (
    log_url    TEXT PRIMARY KEY,
    next_index INTEGER NOT NULL,
    tree_size  INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE discovery_jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       INTEGER REFERENCES orgs(id) ON DELETE CASCADE,
    sources      TEXT NOT NULL DEFAULT '[]',
    state        TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    started_at   TIMESTAMP,
    finished_at  TIMESTAMP,
    lease_until  TIMESTAMP,
    progress     TEXT NOT NULL DEFAULT '{}',
    error        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX discovery_jobs_state ON discovery_jobs (state, id);
