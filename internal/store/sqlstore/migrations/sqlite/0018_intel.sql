-- The threat-intelligence hub, SQLite flavour. Keep in step with
-- postgres/0018_intel.sql.
--
-- Indicators and their sources are the hub's bulk (millions of rows, a
-- feed of a million values imported in seconds): their times are INTEGER
-- microseconds since 1970 (0: unset) rather than TIMESTAMP text, which
-- costs a formatting and a parse per column and row. The small tables
-- keep TIMESTAMP like the rest of the schema.

-- intel_seq hands out the change stamps of indicators (seq: every change
-- takes the next; readers page on it for TAXII added_after and
-- incremental matchers) and their IDs (next_id), both under one row lock
-- so that stamps become visible in order.
CREATE TABLE intel_seq (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    seq     INTEGER NOT NULL,
    next_id INTEGER NOT NULL
);
INSERT INTO intel_seq (id, seq, next_id) VALUES (1, 0, 1);

CREATE TABLE intel_feeds (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    format      TEXT NOT NULL DEFAULT '',
    preset      TEXT NOT NULL DEFAULT '',
    options     TEXT NOT NULL DEFAULT '',
    location    TEXT NOT NULL DEFAULT '',
    interval_s  INTEGER NOT NULL DEFAULT 0,
    enabled     INTEGER NOT NULL DEFAULT 1,
    tlp         TEXT NOT NULL DEFAULT 'AMBER',
    analyst     TEXT NOT NULL DEFAULT '',
    last_run_at TIMESTAMP,
    last_ok_at  TIMESTAMP,
    last_error  TEXT NOT NULL DEFAULT '',
    failures    INTEGER NOT NULL DEFAULT 0,
    n_records   INTEGER NOT NULL DEFAULT 0,
    n_new       INTEGER NOT NULL DEFAULT 0,
    n_updated   INTEGER NOT NULL DEFAULT 0,
    n_rejected  INTEGER NOT NULL DEFAULT 0,
    n_hits      INTEGER NOT NULL DEFAULT 0,
    rejections  TEXT NOT NULL DEFAULT '[]',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

-- tlp is the marking's rank (intel.TLP.Rank: 0 CLEAR … 4 RED), so
-- "at most AMBER" is a comparison; labels a JSON array. vhash is a 64-bit
-- FNV-1a hash of kind and value (sqlstore.valueHash): one value is one
-- indicator, found through this small integer index rather than an index
-- of the values themselves, whose random inserts outgrow the page cache
-- long before a million rows. Several values may share a hash; the store
-- compares the values, and keeps them unique by applying records under
-- intel_seq's lock.
CREATE TABLE intel_indicators (
    id          INTEGER PRIMARY KEY,
    vhash       INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    category    TEXT NOT NULL,
    confidence  INTEGER NOT NULL,
    tlp         INTEGER NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    valid_until INTEGER NOT NULL DEFAULT 0,
    labels      TEXT NOT NULL DEFAULT '[]',
    sightings   INTEGER NOT NULL DEFAULT 0,
    seq         INTEGER NOT NULL,
    created     INTEGER NOT NULL,
    modified    INTEGER NOT NULL
);
CREATE INDEX intel_indicators_vhash ON intel_indicators (vhash);
CREATE UNIQUE INDEX intel_indicators_seq ON intel_indicators (seq);

-- A source row has no foreign keys: checking two parents for each of a
-- million rows costs an import a fifth of its time. The store writes
-- sources only with their indicator, never deletes indicators, and
-- refuses to delete a feed that sources name.
CREATE TABLE intel_sources (
    indicator_id INTEGER NOT NULL,
    feed_id      INTEGER NOT NULL,
    external_id  TEXT NOT NULL DEFAULT '',
    confidence   INTEGER NOT NULL,
    tlp          INTEGER NOT NULL,
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    valid_until  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (indicator_id, feed_id)
) WITHOUT ROWID;

CREATE TABLE intel_sightings (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    indicator_id INTEGER NOT NULL REFERENCES intel_indicators(id) ON DELETE CASCADE,
    org_id       INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    n            INTEGER NOT NULL,
    first_seen   TIMESTAMP NOT NULL,
    last_seen    TIMESTAMP NOT NULL,
    UNIQUE (indicator_id, org_id)
);
CREATE INDEX intel_sightings_org ON intel_sightings (org_id, id);

CREATE TABLE intel_reviews (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    indicator_id INTEGER NOT NULL UNIQUE REFERENCES intel_indicators(id) ON DELETE CASCADE,
    reason       TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    note         TEXT NOT NULL DEFAULT '',
    decided_by   TEXT NOT NULL DEFAULT '',
    decided_at   TIMESTAMP,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX intel_reviews_state ON intel_reviews (state, id);

CREATE TABLE intel_consumers (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL UNIQUE,
    key_hash       TEXT NOT NULL UNIQUE,
    org_id         INTEGER REFERENCES orgs(id) ON DELETE CASCADE,
    kinds          TEXT NOT NULL DEFAULT '[]',
    min_confidence INTEGER NOT NULL DEFAULT 0,
    max_tlp        TEXT NOT NULL DEFAULT 'GREEN',
    max_age_s      INTEGER NOT NULL DEFAULT 0,
    formats        TEXT NOT NULL DEFAULT '[]',
    enabled        INTEGER NOT NULL DEFAULT 1,
    last_used_at   TIMESTAMP,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);

CREATE TABLE intel_feedback (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id   TEXT NOT NULL UNIQUE,
    feed_id    INTEGER NOT NULL REFERENCES intel_feeds(id) ON DELETE CASCADE,
    finding_id INTEGER NOT NULL,
    org_id     INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    target     TEXT NOT NULL,
    subject    TEXT NOT NULL DEFAULT '',
    action     TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    actor      TEXT NOT NULL,
    at         TIMESTAMP NOT NULL
);
CREATE INDEX intel_feedback_feed ON intel_feedback (feed_id, id);
