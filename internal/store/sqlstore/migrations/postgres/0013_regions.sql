-- Regions route work (reliability F1). An organization, and optionally an
-- asset, names the regions (vantage points) whose workers may scan it, as
-- a JSON array of region names; '[]' means inherited (the parent's, at the
-- top the platform's default region). cross_check runs each scan from
-- every region. A queued job whose region has no live worker says why it
-- waits. Keep in step with sqlite/0013_regions.sql.
ALTER TABLE orgs ADD COLUMN regions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE orgs ADD COLUMN cross_check BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE assets ADD COLUMN regions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE scan_jobs ADD COLUMN waiting_reason TEXT NOT NULL DEFAULT '';
CREATE INDEX scan_jobs_queued_region ON scan_jobs (state, region);
