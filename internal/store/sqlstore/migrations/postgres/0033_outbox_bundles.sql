-- A batch's events may go as one outbox row, a bundle (outbox_bundle.go):
-- parts is how many messages it holds (0: a row of one message), done how
-- many of them the relay has published, so that a queue failing now and
-- then still sees a large bundle through, a batch of parts at a time.
ALTER TABLE outbox ADD COLUMN parts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN done INTEGER NOT NULL DEFAULT 0;
