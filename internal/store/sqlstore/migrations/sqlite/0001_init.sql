-- Rampart schema, SQLite flavour. Times are TIMESTAMP text in UTC; booleans
-- are 0/1; JSON is TEXT. Keep in step with postgres/0001_init.sql.

CREATE TABLE orgs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id  INTEGER REFERENCES orgs(id),
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    name_en    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    path       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX orgs_path ON orgs (path);
CREATE INDEX orgs_parent ON orgs (parent_id, id);

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id     INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    phone      TEXT NOT NULL DEFAULT '',
    role       TEXT NOT NULL DEFAULT '',
    language   TEXT NOT NULL DEFAULT 'vi',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX contacts_org ON contacts (org_id, id);

CREATE TABLE assets (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id         INTEGER NOT NULL REFERENCES orgs(id),
    kind           TEXT NOT NULL,
    value          TEXT NOT NULL,
    criticality    TEXT NOT NULL,
    security_level INTEGER NOT NULL,
    tags           TEXT NOT NULL DEFAULT '[]',
    notes          TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    UNIQUE (org_id, kind, value)
);
CREATE INDEX assets_org ON assets (org_id, id);
CREATE INDEX assets_value ON assets (value);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE CHECK (name = lower(name)),
    display_name  TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL,
    org_id        INTEGER REFERENCES orgs(id),
    password_hash TEXT NOT NULL DEFAULT '',
    totp_secret   TEXT NOT NULL DEFAULT '',
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    CHECK (org_id IS NOT NULL OR role IN ('platform-admin', 'analyst'))
);
CREATE INDEX users_org ON users (org_id, id);

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    org_id       INTEGER REFERENCES orgs(id),
    user_id      INTEGER REFERENCES users(id),
    hash         TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL DEFAULT '',
    expires_at   TIMESTAMP,
    last_used_at TIMESTAMP,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    revoked      INTEGER NOT NULL DEFAULT 0,
    CHECK (org_id IS NOT NULL OR role IN ('platform-admin', 'analyst'))
);
CREATE INDEX tokens_org ON tokens (org_id, id);

-- audit_log is append-only: the store has no UPDATE or DELETE for it and
-- the triggers below refuse them. org_path is the owning organization's
-- path when the entry was written, so a subtree's history stays readable
-- after an organization in it is deleted.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    happened_at TIMESTAMP NOT NULL,
    actor       TEXT NOT NULL,
    actor_role  TEXT NOT NULL,
    org_id      INTEGER,
    org_path    TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   INTEGER NOT NULL,
    before_data TEXT,
    after_data  TEXT
);
CREATE INDEX audit_path ON audit_log (org_path, id);
CREATE INDEX audit_object ON audit_log (object_type, object_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- counters: "assets" is bumped in every transaction that changes an asset.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('assets', 0);
