-- Packed evidence (evidence_pack.go). A large batch of findings from one
-- run (a feed's report, a scan) repeats most of each evidence: the same
-- keys, the feed, the report's date, the same detail values. SQLite keeps
-- such evidence S2-compressed against a dictionary made from the run's
-- own first evidence, a tenth of its size; findings.evidence then holds a
-- BLOB that names its dictionary by hash. Plain JSON text stays valid
-- everywhere, so older rows and small batches are unchanged.
CREATE TABLE finding_evidence_dicts (
    hash INTEGER PRIMARY KEY,
    dict BLOB NOT NULL
);

-- A batch's new findings open with one history entry each that differs
-- only in the finding: seen, from nothing to the same state, at the same
-- time, by the same source and job. finding_openings keeps such a run of
-- consecutive finding IDs as one row (first_id … last_id) instead of a
-- finding_events row each; FindingHistory reads it as each finding's
-- first entry. A million early warnings then write one history row per
-- statement instead of a million.
CREATE TABLE finding_openings (
    first_id INTEGER PRIMARY KEY,
    last_id  INTEGER NOT NULL,
    at       TIMESTAMP NOT NULL,
    actor    TEXT NOT NULL,
    to_state TEXT NOT NULL,
    job_id   TEXT NOT NULL DEFAULT ''
);
