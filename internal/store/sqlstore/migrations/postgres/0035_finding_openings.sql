-- A batch's new findings open with one history entry each that differs
-- only in the finding. finding_openings keeps a run of consecutive
-- finding IDs opened alike as one row; FindingHistory reads it as each
-- finding's first entry. Keep in step with sqlite/0035.
CREATE TABLE finding_openings (
    first_id BIGINT PRIMARY KEY,
    last_id  BIGINT NOT NULL,
    at       TIMESTAMPTZ NOT NULL,
    actor    TEXT NOT NULL,
    to_state TEXT NOT NULL,
    job_id   TEXT NOT NULL DEFAULT ''
);
