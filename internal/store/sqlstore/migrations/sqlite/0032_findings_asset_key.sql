-- rampart: foreign keys off
-- A finding's identity is checked within its asset, SQLite flavour.
-- PostgreSQL keeps its UNIQUE (key) (postgres/0032_findings_asset_key.sql
-- drops only findings_due there).
--
-- UNIQUE (key) put every new finding at a random place of its index (a
-- key is a hash), so a report of thousands of new findings rewrote most of
-- that index's pages in every transaction: at a million findings the
-- index alone was some 16 MB of log a batch of 5,000. A key hashes its
-- asset ID (finding.KeyOf), so UNIQUE (asset_id, key) is as unique, and it
-- keeps an asset's findings together: a batch writes a few pages per asset
-- it concerns. It also serves what findings_asset (asset_id, state) did
-- (an asset's findings), and the store looks seen keys up by asset and key.
-- findings_due (due_at) is dropped: findings_active_due has the same
-- predicate and leads with due_at.
--
-- SQLite cannot drop a UNIQUE constraint: the table is copied, with
-- foreign keys off (the migration says so on its first line, and the store
-- runs PRAGMA foreign_key_check before it commits), since finding_events
-- and the notifier's tables reference findings by name. The copy keeps
-- every row and ID; sqlite_sequence keeps the highest ID ever given, so an
-- ID is still never reused.
CREATE TABLE findings_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    key                 TEXT NOT NULL,
    org_id              INTEGER NOT NULL REFERENCES orgs(id),
    asset_id            INTEGER NOT NULL,
    check_id            TEXT NOT NULL,
    family              TEXT NOT NULL,
    severity            TEXT NOT NULL,
    severity_rank       INTEGER NOT NULL,
    target              TEXT NOT NULL,
    subject             TEXT NOT NULL DEFAULT '',
    title               TEXT NOT NULL DEFAULT '',
    evidence            TEXT,
    cve                 TEXT NOT NULL DEFAULT '[]',
    kev                 INTEGER NOT NULL DEFAULT 0,
    state               TEXT NOT NULL,
    first_seen          TIMESTAMP NOT NULL,
    last_seen           TIMESTAMP NOT NULL,
    due_from            TIMESTAMP NOT NULL,
    due_at              TIMESTAMP,
    fixed_at            TIMESTAMP,
    until_at            TIMESTAMP,
    reason              TEXT NOT NULL DEFAULT '',
    approver            TEXT NOT NULL DEFAULT '',
    verify_requested_at TIMESTAMP,
    last_job_id         TEXT NOT NULL DEFAULT '',
    updated_at          TIMESTAMP NOT NULL,
    source              TEXT NOT NULL DEFAULT 'scan',
    source_ref          TEXT NOT NULL DEFAULT '',
    deadline_stage      TEXT NOT NULL DEFAULT '',
    deadline_due        TIMESTAMP,
    waiver              TEXT,
    epss                REAL NOT NULL DEFAULT 0
);
INSERT INTO findings_new (id, key, org_id, asset_id, check_id, family, severity, severity_rank, target, subject, title,
    evidence, cve, kev, state, first_seen, last_seen, due_from, due_at, fixed_at, until_at, reason, approver,
    verify_requested_at, last_job_id, updated_at, source, source_ref, deadline_stage, deadline_due, waiver, epss)
SELECT id, key, org_id, asset_id, check_id, family, severity, severity_rank, target, subject, title,
    evidence, cve, kev, state, first_seen, last_seen, due_from, due_at, fixed_at, until_at, reason, approver,
    verify_requested_at, last_job_id, updated_at, source, source_ref, deadline_stage, deadline_due, waiver, epss
FROM findings ORDER BY id;
-- The highest ID ever given, which may be above the highest kept.
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'findings_keep', seq FROM sqlite_sequence WHERE name = 'findings';
DROP TABLE findings;
ALTER TABLE findings_new RENAME TO findings;
UPDATE sqlite_sequence
    SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'findings_keep'), 0))
    WHERE name = 'findings';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'findings', seq FROM sqlite_sequence
    WHERE name = 'findings_keep' AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'findings');
DELETE FROM sqlite_sequence WHERE name = 'findings_keep';

CREATE UNIQUE INDEX findings_asset_key ON findings (asset_id, key);
CREATE INDEX findings_org ON findings (org_id, id);
CREATE INDEX findings_org_state ON findings (org_id, state, severity_rank, id);
CREATE INDEX findings_check ON findings (check_id, id);
CREATE INDEX findings_debt ON findings (org_id, severity_rank, kev, due_at) WHERE state IN ('open', 'acknowledged', 'reopened');
CREATE INDEX findings_until ON findings (until_at) WHERE state IN ('risk-accepted', 'false-positive');
CREATE INDEX findings_active_checks ON findings (check_id, org_id, due_at)
    WHERE state IN ('open', 'acknowledged', 'reopened');
CREATE INDEX findings_feed ON findings (source, id)
    WHERE source IN ('intel', 'sensor', 'dns', 'discovery', 'monitor') AND state IN ('open', 'acknowledged', 'reopened');
CREATE INDEX findings_active_due ON findings (due_at, org_id, severity_rank, kev, check_id, state)
    WHERE state IN ('open', 'acknowledged', 'reopened');
CREATE INDEX findings_state_severity ON findings (state, severity_rank, id);
