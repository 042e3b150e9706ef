-- The findings core, SQLite flavour. Keep in step with
-- postgres/0007_findings_core.sql.
--
-- source and source_ref say who reported a finding (finding.Source: scan,
-- import, intel, sensor, dns, discovery, monitor, manual; the tool or feed
-- name), and so how it closes. Findings stored before carry "scan".
ALTER TABLE findings ADD COLUMN source TEXT NOT NULL DEFAULT 'scan';
ALTER TABLE findings ADD COLUMN source_ref TEXT NOT NULL DEFAULT '';
-- Feed findings close by expiry: the sweep reads the active ones of a
-- source. The index leaves out scan, import and manual findings, and holds
-- no column a rescan moves (last_seen), so the thousands of rows a rescan
-- touches cost it nothing (and PostgreSQL can update them in place).
CREATE INDEX findings_feed ON findings (source, id)
    WHERE source IN ('intel', 'sensor', 'dns', 'discovery', 'monitor') AND state IN ('open', 'acknowledged', 'reopened');

-- outbox holds the events of committed changes until the relay has
-- published them on the queue: a change and its event are written in one
-- transaction, so there is never an event for a change that rolled back,
-- nor a change whose event a crash lost. msg_id is the event's
-- idempotency key (the queue deduplicates on it, consumers too).
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    subject      TEXT NOT NULL,
    msg_id       TEXT NOT NULL,
    data         BLOB NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
