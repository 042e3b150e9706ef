-- The notifier's alert queue checks duplicates under the finding, SQLite
-- flavour. Keep in step with postgres/0012_alerts.sql.
--
-- UNIQUE (recipient, event_id) put every new alert at a random place of
-- its index (an event ID holds the finding's hashed key), so each batch
-- rewrote a page of that index per alert. (finding_id, recipient,
-- event_id) is as unique (an event ID names one finding) and keeps a
-- batch's new findings together at the end of the index. SQLite cannot
-- drop a table's UNIQUE constraint: the table is copied.
CREATE TABLE notify_alerts_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient    TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    org_id       INTEGER NOT NULL,
    finding_id   INTEGER NOT NULL,
    data         TEXT NOT NULL,
    queued_at    TIMESTAMP NOT NULL,
    sent_at      TIMESTAMP,
    delivery_key TEXT NOT NULL DEFAULT '',
    UNIQUE (finding_id, recipient, event_id)
);
INSERT INTO notify_alerts_new (id, recipient, event_id, org_id, finding_id, data, queued_at, sent_at, delivery_key)
    SELECT id, recipient, event_id, org_id, finding_id, data, queued_at, sent_at, delivery_key FROM notify_alerts;
DROP TABLE notify_alerts;
ALTER TABLE notify_alerts_new RENAME TO notify_alerts;
CREATE INDEX notify_alerts_pending ON notify_alerts (recipient, queued_at) WHERE sent_at IS NULL;
CREATE INDEX notify_alerts_sent ON notify_alerts (sent_at) WHERE sent_at IS NOT NULL;
