-- Versions of the dashboard's aggregates (issue 11, capacity). PostgreSQL flavour;
-- keep in step with sqlite/0017_dashboard_version.sql, which explains it.
INSERT INTO counters (name, value) VALUES ('finding_tally', 0);
INSERT INTO counters (name, value) VALUES ('dashboard_days', 0);
