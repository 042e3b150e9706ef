-- Versions of the dashboard's aggregates (issue 11, capacity). SQLite
-- flavour; keep in step with postgres/0017_dashboard_version.sql.
--
-- counters.finding_tally is bumped by every transaction that changes
-- finding_tally or finding_check_tally (aggregates.go), in that
-- transaction, after the tally rows. The dashboard keeps a scope's
-- overview while this counter, the assets counter and the organizations
-- in scope are what they were when it was computed, and no due date has
-- passed since (dashboard_cache.go). counters.dashboard_days is bumped
-- when more trend days are kept, for the kept platform-wide trend.
--
-- counters.orgs is bumped by every change of an organization, by the
-- triggers below: SQLite writes one transaction at a time, so a counter
-- every writer of orgs updates costs nothing, and it is cheaper to read
-- than a digest of the organizations, which PostgreSQL computes instead
-- (where a counter row would be a lock that concurrent edits of one
-- subtree could deadlock on).
INSERT INTO counters (name, value) VALUES ('finding_tally', 0);
INSERT INTO counters (name, value) VALUES ('dashboard_days', 0);
INSERT INTO counters (name, value) VALUES ('orgs', 0);
CREATE TRIGGER orgs_version_insert AFTER INSERT ON orgs
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'orgs'; END;
CREATE TRIGGER orgs_version_update AFTER UPDATE ON orgs
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'orgs'; END;
CREATE TRIGGER orgs_version_delete AFTER DELETE ON orgs
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'orgs'; END;
