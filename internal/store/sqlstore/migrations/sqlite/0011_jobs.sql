-- Jobs never get stuck (reliability review F2, F5, F7), SQLite flavour. Keep
-- in step with postgres/0011_jobs.sql.
--
-- A job is handed to the workers through the outbox (its publish message is
-- written in the job's own transaction), so no column is needed for that.

-- scan_job_parts: the parts of a result sent in several messages that have
-- been applied. A job is done once every part of one split (total) is here;
-- a redelivered part is a no-op.
CREATE TABLE scan_job_parts (
    job_id      TEXT NOT NULL,
    total       INTEGER NOT NULL CHECK (total > 0),
    part        INTEGER NOT NULL CHECK (part > 0 AND part <= total),
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (job_id, total, part)
);

-- ingest_error and ingest_failures: the results of the job could not be
-- applied (the last error, how many attempts failed); cleared when they
-- finally are. They make a stuck ingestion visible in the console.
ALTER TABLE scan_jobs ADD COLUMN ingest_error TEXT NOT NULL DEFAULT '';
ALTER TABLE scan_jobs ADD COLUMN ingest_failures INTEGER NOT NULL DEFAULT 0;
CREATE INDEX scan_jobs_ingest_failures ON scan_jobs (ingest_failures) WHERE ingest_failures > 0;

-- orphan_results: results for jobs this database does not know (a restored
-- older database, two platforms on one NATS account), kept aside instead of
-- dropped so an operator can see them and apply or discard them. msg_id is
-- the queue message id, so a redelivery is kept once.
CREATE TABLE orphan_results (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    msg_id      TEXT NOT NULL UNIQUE,
    job_id      TEXT NOT NULL,
    type        TEXT NOT NULL,
    region      TEXT NOT NULL DEFAULT '',
    worker      TEXT NOT NULL DEFAULT '',
    data        BLOB NOT NULL,
    received_at TIMESTAMP NOT NULL
);
CREATE INDEX orphan_results_job ON orphan_results (job_id);
