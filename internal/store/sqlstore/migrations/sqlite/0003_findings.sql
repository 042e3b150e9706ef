-- Findings and their history, SQLite flavour. Keep in step with
-- postgres/0003_findings.sql.
--
-- asset_id has no foreign key on purpose: a finding outlives its asset, so
-- deleting an asset keeps its findings and their history, still carrying
-- the asset's ID (IDs are never reused; the audit log holds the asset as it
-- was). org_id references orgs, so an organization with findings cannot be
-- deleted (ErrConflict), and tenancy joins orgs by path like assets.
--
-- severity_rank is finding.Severity.Rank() (critical 4 ... info 0), for
-- MinSeverity and ordering. cve is a JSON array; evidence is JSON kept as
-- the scanner wrote it, byte for byte, so a replayed result compares equal.
-- due_from is when the due date counts from: first_seen, or the time the
-- finding was last reopened; a change of severity or KEV listing
-- recomputes due_at from it, so a flapping severity never moves a deadline
-- further than the policy allows.
CREATE TABLE findings (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    key                 TEXT NOT NULL UNIQUE,
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
    updated_at          TIMESTAMP NOT NULL
);
-- Listings by organization (keyset on id), by state and severity within an
-- organization (also what Debt aggregates), by asset (RecordFindings'
-- coverage, WorstForAsset), by check (a check ID or a family range).
CREATE INDEX findings_org ON findings (org_id, id);
CREATE INDEX findings_org_state ON findings (org_id, state, severity_rank, id);
CREATE INDEX findings_asset ON findings (asset_id, state);
CREATE INDEX findings_check ON findings (check_id, id);
-- Overdue (active and past due) and expiring acceptances.
CREATE INDEX findings_due ON findings (due_at) WHERE state IN ('open', 'acknowledged', 'reopened');
-- Debt reads active findings from this index alone (no table rows).
CREATE INDEX findings_debt ON findings (org_id, severity_rank, kev, due_at) WHERE state IN ('open', 'acknowledged', 'reopened');
CREATE INDEX findings_until ON findings (until_at) WHERE state IN ('risk-accepted', 'false-positive');

-- finding_events is the history of every state move (and of a person's
-- actions that move none, such as request-verify), oldest first by id.
CREATE TABLE finding_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    finding_id INTEGER NOT NULL REFERENCES findings(id),
    at         TIMESTAMP NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT NOT NULL DEFAULT '',
    to_state   TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    until_at   TIMESTAMP,
    job_id     TEXT NOT NULL DEFAULT '',
    evidence   TEXT
);
CREATE INDEX finding_events_finding ON finding_events (finding_id, id);
