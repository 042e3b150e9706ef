-- The console's dashboard, PostgreSQL flavour. Keep in step with
-- sqlite/0004_dashboard.sql, which explains the choices.
-- The same index as findings_debt of 0003, for databases migrated before
-- 0003 had it.
CREATE INDEX IF NOT EXISTS findings_debt ON findings (org_id, severity_rank, kev, due_at)
    WHERE state IN ('open', 'acknowledged', 'reopened');
CREATE INDEX findings_active_checks ON findings (check_id, org_id, due_at)
    WHERE state IN ('open', 'acknowledged', 'reopened');

CREATE TABLE dashboard_days (
    day         INTEGER PRIMARY KEY,
    computed_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE dashboard_daily (
    day    INTEGER NOT NULL,
    org_id BIGINT NOT NULL,
    active INTEGER NOT NULL,
    PRIMARY KEY (day, org_id)
);
