-- The notifier's alert queue checks duplicates under the finding,
-- PostgreSQL flavour. Keep in step with sqlite/0012_alerts.sql, which
-- explains why.
ALTER TABLE notify_alerts DROP CONSTRAINT notify_alerts_recipient_event_id_key;
ALTER TABLE notify_alerts ADD CONSTRAINT notify_alerts_finding_recipient_event_key UNIQUE (finding_id, recipient, event_id);
