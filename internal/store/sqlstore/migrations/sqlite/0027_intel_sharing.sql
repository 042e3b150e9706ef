-- Sharing of the threat-intelligence hub, SQLite flavour. Keep in step
-- with postgres/0027_intel_sharing.sql.
--
-- intel_recipient_orgs and intel_recipient_users are whom a TLP:RED
-- indicator is for (intel.Recipients): the organizations and people its
-- RED sources named. Only RED indicators have rows; the lists only grow
-- (intel.Indicator.Merge takes the union). Indexed by recipient, so one
-- organization's or person's RED indicators are one range read.
CREATE TABLE intel_recipient_orgs (
    indicator_id INTEGER NOT NULL REFERENCES intel_indicators(id) ON DELETE CASCADE,
    org_id       INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    PRIMARY KEY (indicator_id, org_id)
) WITHOUT ROWID;
CREATE INDEX intel_recipient_orgs_org ON intel_recipient_orgs (org_id, indicator_id);

CREATE TABLE intel_recipient_users (
    indicator_id INTEGER NOT NULL REFERENCES intel_indicators(id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (indicator_id, user_id)
) WITHOUT ROWID;
CREATE INDEX intel_recipient_users_user ON intel_recipient_users (user_id, indicator_id);

-- intel_concerns links an organization to the indicators its early
-- warnings named (store.Intel.AddConcerns, written by the hub after it
-- records them), so "the indicators that concern an organization" is one
-- indexed read rather than a walk of its findings and a lookup per
-- indicator. Its sightings concern it too; they are read from
-- intel_sightings (indexed by organization).
CREATE TABLE intel_concerns (
    org_id       INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    indicator_id INTEGER NOT NULL REFERENCES intel_indicators(id) ON DELETE CASCADE,
    PRIMARY KEY (org_id, indicator_id)
) WITHOUT ROWID;

-- The early warnings recorded before this table: their evidence names the
-- indicator's kind and value ({"indicator": {"kind": …, "value": …}}).
INSERT OR IGNORE INTO intel_concerns (org_id, indicator_id)
    SELECT DISTINCT f.org_id, i.id
    FROM findings f
    JOIN intel_indicators i
      ON i.kind = json_extract(f.evidence, '$.indicator.kind')
     AND i.value = json_extract(f.evidence, '$.indicator.value')
    WHERE f.source = 'intel' AND f.check_id LIKE 'intel.%' AND json_valid(f.evidence);
