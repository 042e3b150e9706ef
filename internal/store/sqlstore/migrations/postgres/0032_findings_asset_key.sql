-- findings_due goes, PostgreSQL flavour; sqlite/0032_findings_asset_key.sql
-- also moves the finding's unique key under its asset there.
--
-- findings_active_due has findings_due's predicate and leads with due_at,
-- so it answers what findings_due did. PostgreSQL keeps UNIQUE (key) and
-- findings_asset: the million-finding report is measured on SQLite, and
-- swapping a cluster's unique key would lock its busiest table while the
-- new index builds.
DROP INDEX IF EXISTS findings_due;
