-- One wikimod serves many wikis (a wiki farm): every row about a wiki names
-- it. Everything kept before was about the one wiki of the [wiki] section,
-- which is now called 'default' (commands.DefaultWiki); AdoptWiki renames
-- it once the operator gives it a name of its own.

-- The wiki a command was for; '' when none could be chosen. Not indexed:
-- Begin is the hot path and each index costs it a page write, while
-- filtering by wiki is an operator's occasional look, which reads the log
-- newest first and stops at its limit.
ALTER TABLE audit ADD COLUMN wiki TEXT NOT NULL DEFAULT 'default';

-- A chat identity may link one account per wiki: the same person may be
-- Ann on one wiki and Ann2 on another. WITHOUT ROWID tables cannot gain a
-- primary key column, so both are built again and filled from the old.
ALTER TABLE links RENAME TO links_v6;
CREATE TABLE links (
    wiki      TEXT    NOT NULL,
    platform  TEXT    NOT NULL,
    user_id   TEXT    NOT NULL,
    wiki_user TEXT    NOT NULL,
    method    TEXT    NOT NULL,
    linked_ms INTEGER NOT NULL,
    PRIMARY KEY (wiki, platform, user_id)
) WITHOUT ROWID;
INSERT INTO links (wiki, platform, user_id, wiki_user, method, linked_ms)
    SELECT 'default', platform, user_id, wiki_user, method, linked_ms FROM links_v6;
DROP TABLE links_v6;

ALTER TABLE link_attempts RENAME TO link_attempts_v6;
CREATE TABLE link_attempts (
    wiki       TEXT    NOT NULL,
    platform   TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    wiki_user  TEXT    NOT NULL,
    method     TEXT    NOT NULL,
    salt       BLOB    NOT NULL,
    code_hash  BLOB    NOT NULL,
    expires_ms INTEGER NOT NULL,
    tries      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (wiki, platform, user_id)
) WITHOUT ROWID;
INSERT INTO link_attempts (wiki, platform, user_id, wiki_user, method, salt, code_hash, expires_ms, tries)
    SELECT 'default', platform, user_id, wiki_user, method, salt, code_hash, expires_ms, tries FROM link_attempts_v6;
DROP TABLE link_attempts_v6;
-- The prune (across every wiki): DELETE ... WHERE expires_ms < t.
CREATE INDEX link_attempts_expiry ON link_attempts (expires_ms);

-- The same title on two wikis is two pages: protections become unique by
-- wiki, title and type, which means building the table again. Migrations
-- run with foreign keys enforced (the writer connection turns them on, and
-- SQLite ignores PRAGMA foreign_keys inside a transaction), so dropping the
-- old protections while reminders still referred to them would delete
-- every reminder through ON DELETE CASCADE. Instead both tables move aside
-- (renaming protections points the old reminders at protections_v6), new
-- ones are filled with the same ids, and the old ones are dropped child
-- first, when nothing refers to the old protections any more.
ALTER TABLE reminders RENAME TO reminders_v6;
ALTER TABLE protections RENAME TO protections_v6;

-- Finite protections wikimod tracks, one row per wiki, page and protection
-- type, with the expiry the wiki reported and who set it. An infinite or
-- lifted protection has no row.
CREATE TABLE protections (
    id         INTEGER PRIMARY KEY,
    wiki       TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    type       TEXT    NOT NULL,              -- edit, move, create, upload
    level      TEXT    NOT NULL,
    expiry_ms  INTEGER NOT NULL,
    length_ms  INTEGER NOT NULL DEFAULT 0,    -- how long it was set for; 0 if unknown
    cascading  INTEGER NOT NULL DEFAULT 0,
    set_by     TEXT    NOT NULL DEFAULT '',   -- a chat user's name, or the wiki user's
    set_by_id  TEXT    NOT NULL DEFAULT '',
    platform   TEXT    NOT NULL DEFAULT '',   -- console, discord, slack, or wiki
    channel    TEXT    NOT NULL DEFAULT '',
    reason     TEXT    NOT NULL DEFAULT '',
    url        TEXT    NOT NULL DEFAULT '',
    set_ms     INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    UNIQUE (wiki, title, type)
);
INSERT INTO protections (id, wiki, title, type, level, expiry_ms, length_ms, cascading, set_by, set_by_id,
        platform, channel, reason, url, set_ms, updated_ms)
    SELECT id, 'default', title, type, level, expiry_ms, length_ms, cascading, set_by, set_by_id,
        platform, channel, reason, url, set_ms, updated_ms FROM protections_v6;

-- One row per message to send about a protection's expiry, as in
-- 0002_reminders.sql; a reminder's wiki is its protection's.
CREATE TABLE reminders (
    id            INTEGER PRIMARY KEY,
    protection_id INTEGER NOT NULL REFERENCES protections (id) ON DELETE CASCADE,
    expiry_ms     INTEGER NOT NULL,           -- the expiry it is about
    lead_ms       INTEGER NOT NULL,
    remind_ms     INTEGER NOT NULL,           -- when it is meant to go out
    next_ms       INTEGER NOT NULL,           -- when to try next
    status        TEXT    NOT NULL DEFAULT 'pending',
    attempts      INTEGER NOT NULL DEFAULT 0,
    claim         INTEGER,                    -- the tick sending it, while claimed
    claimed_ms    INTEGER,
    recovered     INTEGER NOT NULL DEFAULT 0, -- was claimed when wikimod stopped
    last_error    TEXT    NOT NULL DEFAULT '',
    delivered     TEXT    NOT NULL DEFAULT '', -- channels it reached before a failure elsewhere, comma separated
    done_ms       INTEGER,
    done_by       TEXT    NOT NULL DEFAULT ''
);
INSERT INTO reminders (id, protection_id, expiry_ms, lead_ms, remind_ms, next_ms, status, attempts, claim, claimed_ms,
        recovered, last_error, delivered, done_ms, done_by)
    SELECT id, protection_id, expiry_ms, lead_ms, remind_ms, next_ms, status, attempts, claim, claimed_ms,
        recovered, last_error, delivered, done_ms, done_by FROM reminders_v6;

DROP TABLE reminders_v6;
DROP TABLE protections_v6;

-- The indexes went with the old tables.
CREATE INDEX protections_expiry ON protections (expiry_ms);
-- /expiring on one wiki of many.
CREATE INDEX protections_wiki_expiry ON protections (wiki, expiry_ms);
-- The due scan: WHERE status = 'pending' AND next_ms <= now.
CREATE INDEX reminders_due ON reminders (status, next_ms);
CREATE INDEX reminders_protection ON reminders (protection_id, status);
CREATE INDEX reminders_claim ON reminders (claim) WHERE claim IS NOT NULL;

-- Each wiki has its own protect log and so its own sync cursor: the
-- reminders' named values are kept per wiki. The old ones were the
-- default wiki's.
ALTER TABLE reminder_state RENAME TO reminder_state_v6;
CREATE TABLE reminder_state (
    wiki  TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (wiki, key)
) WITHOUT ROWID;
INSERT INTO reminder_state (wiki, key, value) SELECT 'default', key, value FROM reminder_state_v6;
DROP TABLE reminder_state_v6;

-- Numbers the storage keeps about itself. adopted-audit-id: every audit
-- record up to this id names a wiki other than 'default' (AdoptWiki renamed
-- them), so that the next AdoptWiki, at the next start, reads only the
-- records after it rather than the whole, unindexed log.
CREATE TABLE storage_state (
    key   TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
