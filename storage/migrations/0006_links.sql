-- Identity links: the wiki account a chat identity proved it holds, which
-- a command then runs with the rights of. One account per chat identity
-- (the primary key); one account may be linked from several identities,
-- say the same person on Discord and on Slack, so wiki_user is not unique.
CREATE TABLE links (
    platform  TEXT    NOT NULL,
    user_id   TEXT    NOT NULL,   -- the chat platform's id of the user
    wiki_user TEXT    NOT NULL,   -- the account's name, as the wiki spells it
    method    TEXT    NOT NULL,   -- how it was verified: mail or page
    linked_ms INTEGER NOT NULL,
    PRIMARY KEY (platform, user_id)
) WITHOUT ROWID;

-- Verifications in progress, one per chat identity: starting another
-- replaces it and so voids its code. The code is never stored, only a
-- SHA-256 of a random salt followed by the code, so that a copy of the
-- file does not let anyone finish someone else's link. tries counts the
-- wrong codes given; the service decides how many are allowed.
CREATE TABLE link_attempts (
    platform   TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    wiki_user  TEXT    NOT NULL,   -- the account being claimed
    method     TEXT    NOT NULL,
    salt       BLOB    NOT NULL,
    code_hash  BLOB    NOT NULL,   -- SHA-256 of salt followed by the code
    expires_ms INTEGER NOT NULL,
    tries      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (platform, user_id)
) WITHOUT ROWID;
-- The prune: DELETE ... WHERE expires_ms < t.
CREATE INDEX link_attempts_expiry ON link_attempts (expires_ms);

-- The wiki account a command ran as, when its chat identity was linked;
-- '' for commands run before links existed or by an unlinked identity.
ALTER TABLE audit ADD COLUMN wiki_user TEXT NOT NULL DEFAULT '';
