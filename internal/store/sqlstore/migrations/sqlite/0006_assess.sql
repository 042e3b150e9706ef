-- Self-assessments and campaigns, SQLite flavour. Keep in step with
-- postgres/0006_assess.sql.
--
-- A campaign's targets are resolved once, when it is opened, and kept in
-- assess_campaign_targets. An assessment belongs to one organization, one
-- framework and one campaign; campaign_id is 0 (no foreign key) for a
-- self-assessment outside any campaign, so the unique key stays simple on
-- both engines. Evidence files are blobs in the database (capped at
-- 10 MiB by the store), so a backup of the database is a backup of them.
CREATE TABLE assess_campaigns (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_org_id INTEGER NOT NULL REFERENCES orgs(id),
    framework    TEXT NOT NULL,
    title        TEXT NOT NULL,
    deadline     TIMESTAMP NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX assess_campaigns_owner ON assess_campaigns (owner_org_id, id);

CREATE TABLE assess_campaign_targets (
    campaign_id INTEGER NOT NULL REFERENCES assess_campaigns(id),
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    PRIMARY KEY (campaign_id, org_id)
);
CREATE INDEX assess_campaign_targets_org ON assess_campaign_targets (org_id, campaign_id);

CREATE TABLE assessments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       INTEGER NOT NULL REFERENCES orgs(id),
    framework    TEXT NOT NULL,
    campaign_id  INTEGER NOT NULL DEFAULT 0,
    level        INTEGER NOT NULL CHECK (level BETWEEN 1 AND 5),
    state        TEXT NOT NULL CHECK (state IN ('draft', 'submitted')),
    submitted_at TIMESTAMP,
    submitted_by TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    UNIQUE (org_id, framework, campaign_id)
);
CREATE INDEX assessments_campaign ON assessments (campaign_id, org_id);

CREATE TABLE assessment_answers (
    assessment_id INTEGER NOT NULL REFERENCES assessments(id),
    control_id    TEXT NOT NULL,
    answer        TEXT NOT NULL CHECK (answer IN ('implemented', 'partial', 'not-implemented', 'not-applicable')),
    comment       TEXT NOT NULL DEFAULT '',
    updated_by    TEXT NOT NULL DEFAULT '',
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (assessment_id, control_id)
);

CREATE TABLE assessment_evidence (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    assessment_id INTEGER NOT NULL REFERENCES assessments(id),
    control_id    TEXT NOT NULL,
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    data          BLOB NOT NULL,
    uploaded_by   TEXT NOT NULL,
    uploaded_at   TIMESTAMP NOT NULL
);
CREATE INDEX assessment_evidence_assessment ON assessment_evidence (assessment_id, id);

CREATE TABLE assess_reminders (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL REFERENCES assess_campaigns(id),
    at          TIMESTAMP NOT NULL,
    actor       TEXT NOT NULL,
    org_ids     TEXT NOT NULL DEFAULT '[]',
    error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX assess_reminders_campaign ON assess_reminders (campaign_id, id);
