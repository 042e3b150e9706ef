-- monitor_state, PostgreSQL flavour. Keep in step with
-- sqlite/0021_monitor.sql, which explains the table.
CREATE TABLE monitor_state (
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, key)
);
