-- findings.epss: the exploit prediction score of the finding's CVE, from
-- its evidence (fields.epss), kept as a column so the findings list and the
-- scorecard sort by exploit likelihood (KEV first, then EPSS, then
-- severity). Existing findings get theirs from their evidence.
ALTER TABLE findings ADD COLUMN epss DOUBLE PRECISION NOT NULL DEFAULT 0;
-- Read with a pattern rather than a JSONB cast, so one malformed evidence
-- text cannot fail the migration.
UPDATE findings SET epss = LEAST(1.0, GREATEST(0.0, CAST(substring(evidence FROM '"epss":\s*"([0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)"') AS DOUBLE PRECISION)))
WHERE evidence ~ '"epss":\s*"[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?"';
