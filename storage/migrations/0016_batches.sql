-- The batches a moderator previews before they run (/protect on many
-- pages): who asked, the plan (the command's JSON), until when it may be
-- confirmed, and where it stands. Short-lived: not copied, pruned once
-- expired. stop is set when a cancel is pressed while it runs.
CREATE TABLE batches (
    id          INTEGER PRIMARY KEY,
    wiki        TEXT    NOT NULL,
    command     TEXT    NOT NULL,
    platform    TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    user_name   TEXT    NOT NULL DEFAULT '',
    plan        TEXT    NOT NULL,
    created_ms  INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    stop        INTEGER NOT NULL DEFAULT 0,
    updated_ms  INTEGER NOT NULL,
    summary     TEXT
);
CREATE INDEX batches_expires ON batches (expires_ms);
