-- Telling the requester of a command that a stop cut short what became of
-- it, once. notice is '' for a command that was answered as it ran; 'due'
-- when start-up (or a replica) settled it and its requester is still to
-- be told; then 'sent', 'undeliverable' (no way to reach them: the
-- console, a channel that is gone) or 'failed' (every try failed).
-- notice_tries counts the claims of a due notice; notice_at is, while it
-- is due, the time before which no replica claims it (a claim's end, or
-- the next try; NULL: at once), and after that when it ended;
-- notice_holder is the replica whose claim it is. Only the rows due are in
-- the partial index, a handful however long the log grows.
ALTER TABLE audit ADD COLUMN notice text NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN notice_tries integer NOT NULL DEFAULT 0;
ALTER TABLE audit ADD COLUMN notice_at timestamptz;
ALTER TABLE audit ADD COLUMN notice_holder text NOT NULL DEFAULT '';
CREATE INDEX audit_notice_due ON audit (id) WHERE notice = 'due';
