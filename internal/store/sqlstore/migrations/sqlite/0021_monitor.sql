-- monitor_state: what the monitoring detectors (internal/monitor) remember
-- between rounds: DNS snapshots of registered domains, registration expiry
-- dates (from RDAP or imported), CT log positions, look-alike names seen,
-- the cursor over new observations. One JSON value per (kind, key); the
-- platform's own, never shown to members as such (what matters reaches
-- them as findings).
CREATE TABLE monitor_state (
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, key)
);
