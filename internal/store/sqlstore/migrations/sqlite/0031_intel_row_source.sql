-- An indicator's only source, when it says what the indicator's row says
-- (one record made both, the usual case of a feed's new indicator), is
-- kept on the row: src_feed names its feed (0: none kept here) and
-- src_ext its external ID; its confidence, TLP and times are the row's.
-- Such an indicator has no intel_sources row. A second source, or a
-- source that no longer matches the row, moves them all to intel_sources
-- and sets src_feed to 0. A million-indicator import then writes one row
-- per indicator rather than two.
ALTER TABLE intel_indicators ADD COLUMN src_feed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE intel_indicators ADD COLUMN src_ext TEXT NOT NULL DEFAULT '';

-- Every source of every indicator, as the readers see them.
CREATE VIEW intel_source_rows AS
    SELECT indicator_id, feed_id, external_id, confidence, tlp, first_seen, last_seen, valid_until FROM intel_sources
    UNION ALL
    SELECT id, src_feed, src_ext, confidence, tlp, first_seen, last_seen, valid_until FROM intel_indicators WHERE src_feed <> 0;
