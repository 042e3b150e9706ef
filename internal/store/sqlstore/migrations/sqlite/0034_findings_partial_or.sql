-- The partial indexes of findings test their rows with comparisons joined
-- by OR instead of IN lists. SQLite evaluates a partial index's WHERE for
-- every row it writes, and an IN list of constants there is built into a
-- temporary index and cleared again for each row: five such lists made
-- a new finding's insert half as slow again (a report of a million new
-- findings spent a tenth of its time on them). The queries name the same
-- expressions (activeStates, acceptedStates and feedSources in the Go
-- code), as SQLite uses a partial index only for a query that repeats its
-- WHERE; TestFindingQueriesUsePartialIndexes holds them to that.
-- PostgreSQL proves the one from the other and keeps its indexes.
DROP INDEX findings_debt;
DROP INDEX findings_until;
DROP INDEX findings_active_checks;
DROP INDEX findings_feed;
DROP INDEX findings_active_due;
CREATE INDEX findings_debt ON findings (org_id, severity_rank, kev, due_at)
    WHERE (state = 'open' OR state = 'acknowledged' OR state = 'reopened');
CREATE INDEX findings_until ON findings (until_at)
    WHERE (state = 'risk-accepted' OR state = 'false-positive');
CREATE INDEX findings_active_checks ON findings (check_id, org_id, due_at)
    WHERE (state = 'open' OR state = 'acknowledged' OR state = 'reopened');
CREATE INDEX findings_feed ON findings (source, id)
    WHERE (source = 'intel' OR source = 'sensor' OR source = 'dns' OR source = 'discovery' OR source = 'monitor')
    AND (state = 'open' OR state = 'acknowledged' OR state = 'reopened');
CREATE INDEX findings_active_due ON findings (due_at, org_id, severity_rank, kev, check_id, state)
    WHERE (state = 'open' OR state = 'acknowledged' OR state = 'reopened');
