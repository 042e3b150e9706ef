-- The console's dashboard, SQLite flavour. Keep in step with
-- postgres/0004_dashboard.sql.
--
-- findings_active_checks covers what the top-checks count reads of the
-- active findings (its predicate is written exactly as activeStates in
-- findings.go), so it reads the index alone, never the table, and skips
-- fixed and accepted findings entirely. The per-organization aggregate
-- uses findings_debt (0003) the same way.
-- The same index as findings_debt of 0003, for databases migrated before
-- 0003 had it.
CREATE INDEX IF NOT EXISTS findings_debt ON findings (org_id, severity_rank, kev, due_at)
    WHERE state IN ('open', 'acknowledged', 'reopened');
CREATE INDEX findings_active_checks ON findings (check_id, org_id, due_at)
    WHERE state IN ('open', 'acknowledged', 'reopened');

-- The 90-day trend: dashboard_daily holds, for each past day (a day number
-- counted in Asia/Ho_Chi_Minh, UTC+07:00: floor((unix seconds + 25200) /
-- 86400)), the active findings of each organization with any; a day is
-- computed once, from first-seen and fixed times, and dashboard_days
-- marks it done (also when every count was zero).
CREATE TABLE dashboard_days (
    day         INTEGER PRIMARY KEY,
    computed_at TIMESTAMP NOT NULL
);

CREATE TABLE dashboard_daily (
    day    INTEGER NOT NULL,
    org_id INTEGER NOT NULL,
    active INTEGER NOT NULL,
    PRIMARY KEY (day, org_id)
);
