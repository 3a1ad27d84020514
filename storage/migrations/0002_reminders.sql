-- Finite protections wikimod tracks, one row per page and protection type,
-- with the expiry the wiki reported and who set it. An infinite or lifted
-- protection has no row.
CREATE TABLE protections (
    id         INTEGER PRIMARY KEY,
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
    UNIQUE (title, type)
);
CREATE INDEX protections_expiry ON protections (expiry_ms);

-- One row per message to send about a protection's expiry: one per lead
-- time, and one at expiry (lead_ms 0). status moves pending -> claimed ->
-- sent; a failed send goes back to pending with next_ms pushed back, or to
-- failed after the last attempt. cancelled: the protection changed or was
-- lifted; dismissed: a moderator dismissed it; superseded: a later reminder
-- about the same expiry went out first.
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
-- The due scan: WHERE status = 'pending' AND next_ms <= now.
CREATE INDEX reminders_due ON reminders (status, next_ms);
CREATE INDEX reminders_protection ON reminders (protection_id, status);
CREATE INDEX reminders_claim ON reminders (claim) WHERE claim IS NOT NULL;

-- Small named values: the protect log sync's cursor.
CREATE TABLE reminder_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
