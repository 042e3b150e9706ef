-- Ownership is claimed, then proven or approved. Assets stored before this
-- migration were already scanned; they stay verified (verified_by
-- 'migration'). New assets get their state from who registers them.
ALTER TABLE assets ADD COLUMN state TEXT NOT NULL DEFAULT 'verified';
ALTER TABLE assets ADD COLUMN verify_token TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN verified_at TIMESTAMP;
ALTER TABLE assets ADD COLUMN verified_by TEXT NOT NULL DEFAULT '';
UPDATE assets SET verified_by = 'migration' WHERE state = 'verified';
CREATE INDEX assets_state ON assets (state, id);

-- One approval request per claimed asset: who asked, with which evidence,
-- what the last automatic proof check found, and a rejection's reason.
CREATE TABLE asset_claims (
    asset_id     INTEGER PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
    requested_by TEXT NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    evidence     TEXT NOT NULL DEFAULT '',
    checked_at   TIMESTAMP,
    check_result TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL DEFAULT ''
);
