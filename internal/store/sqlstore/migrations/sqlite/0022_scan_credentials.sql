-- scan_policies.credentials: the organization lets scans try a few empty
-- and default passwords per service (svc.default-credentials). Off unless
-- the organization opts in.
ALTER TABLE scan_policies ADD COLUMN credentials INTEGER NOT NULL DEFAULT 0;
