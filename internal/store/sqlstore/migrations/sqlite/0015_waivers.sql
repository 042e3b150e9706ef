-- An owner's pending request to accept a finding's risk or mark it a false
-- positive (finding.Waiver as JSON), until the level above decides.
ALTER TABLE findings ADD COLUMN waiver TEXT;
