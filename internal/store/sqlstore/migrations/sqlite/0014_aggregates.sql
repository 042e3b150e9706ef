-- Aggregates the console reads instead of counting findings on every
-- request (issue 11, capacity). SQLite flavour; keep in step with
-- postgres/0014_aggregates.sql.
--
-- finding_tally and finding_check_tally hold the active findings (open,
-- acknowledged, reopened) of each organization by severity and KEV
-- listing, and by check. Every finding write changes them in its own
-- transaction (aggregates.go); RebuildAggregates recomputes them from the
-- findings after a bulk load that went around the store. due_n counts the
-- active findings with a due date and due_ms sums those dates (Unix
-- milliseconds): what is overdue at a time t is everything with a due
-- date minus what is not due yet, which findings_active_due answers from
-- the index alone, reading only the findings due after t. The check
-- tally's rows of organization 0 count every organization (a platform-wide
-- dashboard reads one row per check).
--
-- findings_state_severity serves listings filtered by state and severity
-- in ID order (the API's "high and open") without sorting all matches.
CREATE TABLE finding_tally (
    org_id        INTEGER NOT NULL,
    severity_rank INTEGER NOT NULL,
    kev           BOOLEAN NOT NULL,
    active        INTEGER NOT NULL,
    due_n         INTEGER NOT NULL,
    due_ms        INTEGER NOT NULL,
    PRIMARY KEY (org_id, severity_rank, kev)
);

CREATE TABLE finding_check_tally (
    org_id   INTEGER NOT NULL,
    check_id TEXT NOT NULL,
    active   INTEGER NOT NULL,
    due_n    INTEGER NOT NULL,
    PRIMARY KEY (org_id, check_id)
);

CREATE INDEX findings_active_due ON findings (due_at, org_id, severity_rank, kev, check_id, state)
    WHERE state IN ('open', 'acknowledged', 'reopened');

CREATE INDEX findings_state_severity ON findings (state, severity_rank, id);

INSERT INTO finding_tally (org_id, severity_rank, kev, active, due_n, due_ms)
SELECT org_id, severity_rank, kev, COUNT(*), COUNT(due_at),
       COALESCE(SUM(CAST(ROUND((julianday(due_at) - 2440587.5) * 86400000.0) AS INTEGER)), 0)
FROM findings WHERE state IN ('open', 'acknowledged', 'reopened')
GROUP BY org_id, severity_rank, kev;

INSERT INTO finding_check_tally (org_id, check_id, active, due_n)
SELECT org_id, check_id, COUNT(*), COUNT(due_at)
FROM findings WHERE state IN ('open', 'acknowledged', 'reopened')
GROUP BY org_id, check_id;

INSERT INTO finding_check_tally (org_id, check_id, active, due_n)
SELECT 0, check_id, COUNT(*), COUNT(due_at)
FROM findings WHERE state IN ('open', 'acknowledged', 'reopened')
GROUP BY check_id;

-- dashboard_subtree: for each kept trend day, the active findings of each
-- organization's whole subtree (dashboard_daily holds each organization's
-- own), so a trend reads one row per day.
CREATE TABLE dashboard_subtree (
    org_id INTEGER NOT NULL,
    day    INTEGER NOT NULL,
    active INTEGER NOT NULL,
    PRIMARY KEY (org_id, day)
);

INSERT INTO dashboard_subtree (org_id, day, active)
SELECT a.id, d.day, SUM(d.active)
FROM dashboard_daily d
JOIN orgs o ON o.id = d.org_id
JOIN orgs a ON substr(o.path, 1, length(a.path)) = a.path
GROUP BY a.id, d.day;
