-- Authentication hardening, SQLite flavour. Keep in step with
-- postgres/0009_auth.sql.
--
-- totp_step is the RFC 6238 step of the last TOTP code the account
-- accepted; a code of that step or an earlier one is refused, so a code
-- works once (AcceptTOTPStep). TOTP secrets are sealed with the key file of
-- the data directory when the store is given one (clear values left from
-- before are sealed then).
ALTER TABLE users ADD COLUMN totp_step INTEGER NOT NULL DEFAULT 0;
