-- Deadline events and the notifier's durable alert queue, SQLite flavour.
-- Keep in step with postgres/0008_deadlines.sql.
--
-- deadline_stage and deadline_due record the last deadline event of a
-- finding ('due-soon' or 'overdue') and the due date it was for, so
-- MarkDeadlines emits each stage once per finding per due date: a new due
-- date (a reopened finding) starts over.
ALTER TABLE findings ADD COLUMN deadline_stage TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN deadline_due TIMESTAMP;

-- notify_alerts holds the alert-worthy finding changes the notifier took
-- from the events stream, one row per recipient ("contact:12",
-- "webhook:3"), until its batch goes out as one delivery. A row is written
-- before the event is acknowledged, so a crash loses no alert; (recipient,
-- event_id) is unique, so a redelivered event adds nothing, and rows stay
-- after their batch is sent (sent_at, delivery_key) for that reason, until
-- pruned. org_id is the recipient's organization; no foreign keys, like
-- the delivery log.
CREATE TABLE notify_alerts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient    TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    org_id       INTEGER NOT NULL,
    finding_id   INTEGER NOT NULL,
    data         TEXT NOT NULL,
    queued_at    TIMESTAMP NOT NULL,
    sent_at      TIMESTAMP,
    delivery_key TEXT NOT NULL DEFAULT '',
    UNIQUE (recipient, event_id)
);
CREATE INDEX notify_alerts_pending ON notify_alerts (recipient, queued_at) WHERE sent_at IS NULL;
CREATE INDEX notify_alerts_sent ON notify_alerts (sent_at) WHERE sent_at IS NOT NULL;
