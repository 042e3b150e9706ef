-- An indicator's only source may be kept on its row (see the SQLite
-- migration of the same number). The PostgreSQL store writes every source
-- to intel_sources, so src_feed stays 0 here; the columns and the view
-- keep both dialects' readers alike.
ALTER TABLE intel_indicators ADD COLUMN src_feed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE intel_indicators ADD COLUMN src_ext TEXT NOT NULL DEFAULT '';

CREATE VIEW intel_source_rows AS
    SELECT indicator_id, feed_id, external_id, confidence, tlp, first_seen, last_seen, valid_until FROM intel_sources
    UNION ALL
    SELECT id, src_feed, src_ext, confidence, tlp, first_seen, last_seen, valid_until FROM intel_indicators WHERE src_feed <> 0;
