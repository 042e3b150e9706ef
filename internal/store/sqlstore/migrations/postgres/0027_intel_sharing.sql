-- Sharing of the threat-intelligence hub, PostgreSQL flavour. Keep in step
-- with sqlite/0027_intel_sharing.sql, which explains the tables.
CREATE TABLE intel_recipient_orgs (
    indicator_id BIGINT NOT NULL REFERENCES intel_indicators(id) ON DELETE CASCADE,
    org_id       BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    PRIMARY KEY (indicator_id, org_id)
);
CREATE INDEX intel_recipient_orgs_org ON intel_recipient_orgs (org_id, indicator_id);

CREATE TABLE intel_recipient_users (
    indicator_id BIGINT NOT NULL REFERENCES intel_indicators(id) ON DELETE CASCADE,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (indicator_id, user_id)
);
CREATE INDEX intel_recipient_users_user ON intel_recipient_users (user_id, indicator_id);

CREATE TABLE intel_concerns (
    org_id       BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    indicator_id BIGINT NOT NULL REFERENCES intel_indicators(id) ON DELETE CASCADE,
    PRIMARY KEY (org_id, indicator_id)
);

INSERT INTO intel_concerns (org_id, indicator_id)
    SELECT DISTINCT f.org_id, i.id
    FROM findings f
    JOIN intel_indicators i
      ON i.kind = (f.evidence::jsonb -> 'indicator' ->> 'kind')
     AND i.value = (f.evidence::jsonb -> 'indicator' ->> 'value')
    WHERE f.source = 'intel' AND f.check_id LIKE 'intel.%' AND f.evidence LIKE '{%'
ON CONFLICT DO NOTHING;
