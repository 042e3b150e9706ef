-- scan_policies gains the organization's scan profile: ports is the TCP
-- port list as for --ports ('' = the platform's default), families a JSON
-- array of check families to run ([] = every family), rate the probes per
-- second of one job (0 = the platform's default).
ALTER TABLE scan_policies ADD COLUMN ports TEXT NOT NULL DEFAULT '';
ALTER TABLE scan_policies ADD COLUMN families JSONB NOT NULL DEFAULT '[]';
ALTER TABLE scan_policies ADD COLUMN rate INTEGER NOT NULL DEFAULT 0;

-- asset_scan_profiles: one asset's overrides of its organization's scan
-- policy. A NULL column inherits the organization's value; absent means
-- no override at all. families is a JSON array ([] = every family).
CREATE TABLE asset_scan_profiles (
    asset_id    BIGINT PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
    ports       TEXT,
    families    JSONB,
    rate        INTEGER,
    udp         BOOLEAN,
    credentials BOOLEAN,
    updated_at  TIMESTAMPTZ NOT NULL
);
