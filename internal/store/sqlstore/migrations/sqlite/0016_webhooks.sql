-- Webhook failures in the delivery log lose what they said about the
-- receiver (security F21). Keep in step with postgres/0016_webhooks.sql.
--
-- Until now a failed webhook logged up to 200 bytes of the answer's body,
-- or the address its name resolved to and the network error, where the
-- organization's members read them: a reader of internal services and a
-- port and DNS oracle. New attempts log a generic reason and the HTTP
-- status; the old ones keep that they failed, not why.
UPDATE notify_attempts SET error = 'notify: send failed: webhook: details removed'
    WHERE error <> '' AND delivery_id IN (SELECT id FROM notify_deliveries WHERE channel = 'webhook');
UPDATE notify_deliveries SET last_error = 'notify: send failed: webhook: details removed'
    WHERE channel = 'webhook' AND last_error <> '';
