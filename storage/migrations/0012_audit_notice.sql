-- Telling the requester of a command that a stop cut short what became of
-- it, once. notice is '' for a command that was answered as it ran; 'due'
-- when start-up (or a replica) settled it and its requester is still to
-- be told; then 'sent', 'undeliverable' (no way to reach them: the
-- console, a channel that is gone) or 'failed' (every try failed).
-- notice_tries counts the claims of a due notice; notice_at_ms is, while
-- it is due, the time before which no process claims it (a claim's end,
-- or the next try), and after that when it ended; notice_holder is the
-- process whose claim it is. Only the rows due are in the partial index, a
-- handful however long the log grows; the claim repeats its WHERE clause
-- for SQLite to use it.
ALTER TABLE audit ADD COLUMN notice TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN notice_tries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit ADD COLUMN notice_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit ADD COLUMN notice_holder TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_notice_due ON audit (id) WHERE notice = 'due';
