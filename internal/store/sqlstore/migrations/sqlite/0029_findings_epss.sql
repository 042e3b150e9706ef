-- findings.epss: the exploit prediction score of the finding's CVE, from
-- its evidence (fields.epss), kept as a column so the findings list and the
-- scorecard sort by exploit likelihood (KEV first, then EPSS, then
-- severity). Existing findings get theirs from their evidence.
ALTER TABLE findings ADD COLUMN epss REAL NOT NULL DEFAULT 0;
UPDATE findings SET epss = MIN(1.0, MAX(0.0, COALESCE(CAST(json_extract(evidence, '$.fields.epss') AS REAL), 0)))
WHERE evidence LIKE '%"epss"%' AND json_valid(evidence);
