-- The findings tally's version (issue 11, capacity). PostgreSQL flavour;
-- keep in step with sqlite/0017_dashboard_version.sql, which explains it.
INSERT INTO counters (name, value) VALUES ('finding_tally', 0);
