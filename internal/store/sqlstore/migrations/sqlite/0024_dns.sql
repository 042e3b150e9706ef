-- Protective DNS (internal/dns, issue 15), sqlite flavour.
-- Keep in step with the other dialect's 0024_dns.sql.
--
-- dns_client_networks: members' resolver-facing ranges, each inside an
-- address asset of its organization (asset_id), so a blocked query from
-- it becomes that asset's finding.
--
-- dns_blocked: blocked queries merged per organization, client address
-- and name; count grows with every report that carries one.
--
-- dns_reports: the report IDs already applied per resolver, so a report
-- delivered twice is counted once.
CREATE TABLE dns_client_networks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id     INTEGER NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    prefix     TEXT NOT NULL UNIQUE,
    asset_id   INTEGER NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX dns_client_networks_org ON dns_client_networks (org_id);

CREATE TABLE dns_blocked (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id     INTEGER NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    asset_id   INTEGER NOT NULL,
    client     TEXT NOT NULL,
    name       TEXT NOT NULL,
    list       TEXT NOT NULL,
    resolver   TEXT NOT NULL,
    count      INTEGER NOT NULL,
    reports    INTEGER NOT NULL DEFAULT 1,
    first_seen TIMESTAMP NOT NULL,
    last_seen  TIMESTAMP NOT NULL,
    UNIQUE (org_id, client, name)
);
CREATE INDEX dns_blocked_last ON dns_blocked (last_seen);

CREATE TABLE dns_reports (
    resolver    TEXT NOT NULL,
    report_id   TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (resolver, report_id)
);
CREATE INDEX dns_reports_received ON dns_reports (received_at);
