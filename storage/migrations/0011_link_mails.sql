-- A link by page counts only revisions saved after the attempt began: the
-- id of the page's latest revision then (0 if there was none). Attempts
-- begun before this column existed count every revision, as they did.
ALTER TABLE link_attempts ADD COLUMN base_rev INTEGER NOT NULL DEFAULT 0;

-- The mails /link had the wiki send, so that the limits on them (per wiki
-- account, per chat identity) hold across restarts and for every process
-- sharing the file. Rows older than the longest limit are deleted as new
-- ones come. No code is kept here, only who, to whom and when.
CREATE TABLE link_mails (
    id        INTEGER PRIMARY KEY,
    wiki      TEXT    NOT NULL,
    wiki_user TEXT    NOT NULL,   -- the account mailed
    platform  TEXT    NOT NULL,
    user_id   TEXT    NOT NULL,   -- the chat identity that asked
    sent_ms   INTEGER NOT NULL
);
CREATE INDEX link_mails_account ON link_mails (wiki, wiki_user, sent_ms);
CREATE INDEX link_mails_chat_user ON link_mails (platform, user_id, sent_ms);
-- The prune: DELETE ... WHERE sent_ms <= t.
CREATE INDEX link_mails_sent ON link_mails (sent_ms);
