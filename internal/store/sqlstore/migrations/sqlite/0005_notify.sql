-- Notifications, SQLite flavour. Keep in step with postgres/0005_notify.sql.
--
-- notify_prefs holds an organization's preferences; an organization
-- without a row uses store.DefaultNotifyPrefs. channels is a JSON array.
CREATE TABLE notify_prefs (
    org_id             INTEGER PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
    language           TEXT NOT NULL DEFAULT 'vi',
    channels           TEXT NOT NULL DEFAULT '["email"]',
    alert_min_severity TEXT NOT NULL DEFAULT 'critical',
    alert_kev          INTEGER NOT NULL DEFAULT 1,
    digest_period      TEXT NOT NULL DEFAULT 'daily',
    digest_weekday     INTEGER NOT NULL DEFAULT 1,
    digest_hour        INTEGER NOT NULL DEFAULT 8,
    business_days      INTEGER NOT NULL DEFAULT 1,
    updated_at         TIMESTAMP NOT NULL
);

-- webhooks of an organization go with it. events is a JSON array.
CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id     INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 1,
    events     TEXT NOT NULL DEFAULT '[]',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhooks_org ON webhooks (org_id, id);

-- notify_deliveries is the delivery log: nothing is deleted from it. org_id,
-- contact_id and webhook_id carry no foreign key so the log outlives what
-- it names (like findings outlive assets); tenancy joins orgs by id.
CREATE TABLE notify_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    key             TEXT NOT NULL UNIQUE,
    org_id          INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    contact_id      INTEGER,
    webhook_id      INTEGER,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL DEFAULT '',
    payload         TEXT,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP
);
CREATE INDEX notify_deliveries_org ON notify_deliveries (org_id, id);
CREATE INDEX notify_deliveries_due ON notify_deliveries (next_attempt_at) WHERE state = 'pending';

CREATE TABLE notify_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id INTEGER NOT NULL REFERENCES notify_deliveries(id),
    attempt     INTEGER NOT NULL,
    at          TIMESTAMP NOT NULL,
    ok          INTEGER NOT NULL,
    error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notify_attempts_delivery ON notify_attempts (delivery_id, id);

-- notify_digests: the last digest period sent to each recipient
-- ("contact:12", "webhook:3") and the end of the window it covered.
CREATE TABLE notify_digests (
    recipient  TEXT PRIMARY KEY,
    period     TEXT NOT NULL,
    window_end TIMESTAMP NOT NULL,
    sent_at    TIMESTAMP NOT NULL
);

-- notify_escalations: one row per finding, due date and level reported,
-- so each level is told once per overdue episode (a reopened finding has a
-- new due date and escalates afresh).
CREATE TABLE notify_escalations (
    finding_id INTEGER NOT NULL REFERENCES findings(id),
    due_at     TIMESTAMP NOT NULL,
    level      INTEGER NOT NULL,
    org_id     INTEGER NOT NULL,
    at         TIMESTAMP NOT NULL,
    PRIMARY KEY (finding_id, due_at, level)
);
