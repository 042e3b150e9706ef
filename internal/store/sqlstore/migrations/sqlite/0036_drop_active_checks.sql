-- findings_active_checks (check_id, org_id, due_at over the active
-- findings) served the dashboard's top-checks count, which since 0014
-- reads finding_check_tally and findings_active_due instead. Nothing on a
-- request's path reads it any more (a listing by check uses
-- findings_check, in ID order; RebuildAggregates, run after a bulk load,
-- scans the table), while every new finding wrote an entry to it: a
-- tenth of the cost of recording a report's million early warnings.
-- PostgreSQL keeps its own (its inserts cost it less).
DROP INDEX IF EXISTS findings_active_checks;
