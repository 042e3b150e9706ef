-- Aggregates the console reads instead of counting findings on every
-- request (issue 11, capacity). PostgreSQL flavour; keep in step with
-- sqlite/0014_aggregates.sql, which explains the tables.
CREATE TABLE finding_tally (
    org_id        BIGINT NOT NULL,
    severity_rank INTEGER NOT NULL,
    kev           BOOLEAN NOT NULL,
    active        BIGINT NOT NULL,
    due_n         BIGINT NOT NULL,
    due_ms        BIGINT NOT NULL,
    PRIMARY KEY (org_id, severity_rank, kev)
);

CREATE TABLE finding_check_tally (
    org_id   BIGINT NOT NULL,
    check_id TEXT COLLATE "C" NOT NULL,
    active   BIGINT NOT NULL,
    due_n    BIGINT NOT NULL,
    PRIMARY KEY (org_id, check_id)
);

CREATE INDEX findings_active_due ON findings (due_at, org_id, severity_rank, kev, check_id, state)
    WHERE state IN ('open', 'acknowledged', 'reopened');

CREATE INDEX findings_state_severity ON findings (state, severity_rank, id);

INSERT INTO finding_tally (org_id, severity_rank, kev, active, due_n, due_ms)
SELECT org_id, severity_rank, kev, COUNT(*), COUNT(due_at),
       COALESCE(SUM(CAST(ROUND(EXTRACT(EPOCH FROM due_at) * 1000) AS BIGINT)), 0)
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

CREATE TABLE dashboard_subtree (
    org_id BIGINT NOT NULL,
    day    BIGINT NOT NULL,
    active BIGINT NOT NULL,
    PRIMARY KEY (org_id, day)
);

INSERT INTO dashboard_subtree (org_id, day, active)
SELECT a.id, d.day, SUM(d.active)
FROM dashboard_daily d
JOIN orgs o ON o.id = d.org_id
JOIN orgs a ON starts_with(o.path, a.path)
GROUP BY a.id, d.day;
