-- National decisions (internal/decision), SQLite flavour. Keep in step
-- with postgres/0025_decisions.sql.
--
-- A decision blocks one address or network for a time: made by the
-- correlator when several organizations' sensors saw the same source
-- attack them, or by an analyst. It is live while pending (waiting for
-- an analyst) or active (enforced); it ends expired, rejected or deleted.
-- At most one live decision per value (the partial unique index).
--
-- seq is the change stamp bouncers stream on: every change a bouncer must
-- hear of (a decision becoming active, extended, or ending after it was
-- active) takes the next number of decision_seq under its row lock, so
-- stamps become visible in order and a bouncer's cursor is the highest
-- stamp it was sent. activated_at tells which ended decisions were ever
-- enforced (only those are sent as deleted).
CREATE TABLE decision_seq (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO decision_seq (id, seq) VALUES (1, 0);

CREATE TABLE decisions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid         TEXT NOT NULL,
    value        TEXT NOT NULL,
    scope        TEXT NOT NULL,
    dtype        TEXT NOT NULL,
    origin       TEXT NOT NULL,
    scenario     TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL DEFAULT '',
    rule         TEXT NOT NULL DEFAULT '',
    names        TEXT NOT NULL DEFAULT '[]',
    state        TEXT NOT NULL,
    orgs         INTEGER NOT NULL DEFAULT 0,
    detections   INTEGER NOT NULL DEFAULT 0,
    first_seen   TIMESTAMP,
    last_seen    TIMESTAMP,
    evidence     TEXT NOT NULL DEFAULT '[]',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    until_at     TIMESTAMP NOT NULL,
    activated_at TIMESTAMP,
    decided_by   TEXT NOT NULL DEFAULT '',
    decided_at   TIMESTAMP,
    note         TEXT NOT NULL DEFAULT '',
    seq          INTEGER NOT NULL
);
CREATE UNIQUE INDEX decisions_live ON decisions (value) WHERE state IN ('pending', 'active');
CREATE INDEX decisions_seq ON decisions (seq);
CREATE INDEX decisions_state ON decisions (state, until_at);
CREATE INDEX decisions_value ON decisions (value);

-- Bouncers pull decisions (the CrowdSec Local API stream, the blocklist
-- formats) with their own key: only its SHA-256 is kept. cursor is the
-- stamp of the last change sent; the counts say what it pulled.
CREATE TABLE bouncers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    org_id        INTEGER REFERENCES orgs (id) ON DELETE SET NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    key_prefix    TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    created_by    TEXT NOT NULL DEFAULT '',
    last_pull     TIMESTAMP,
    last_addr     TEXT NOT NULL DEFAULT '',
    agent         TEXT NOT NULL DEFAULT '',
    pull_cursor   INTEGER NOT NULL DEFAULT 0,
    pulls         INTEGER NOT NULL DEFAULT 0,
    last_new      INTEGER NOT NULL DEFAULT 0,
    last_deleted  INTEGER NOT NULL DEFAULT 0,
    total_new     INTEGER NOT NULL DEFAULT 0,
    total_deleted INTEGER NOT NULL DEFAULT 0
);
