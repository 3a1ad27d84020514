-- The language each chat user chose to be answered in (/language), one per
-- chat identity: it is the person's, whichever wiki they act on, so the
-- table has no wiki. Forgetting a choice deletes its row. updated_ms is
-- when the choice was last made.
CREATE TABLE languages (
    platform   TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,   -- the chat platform's id of the user
    lang       TEXT    NOT NULL CHECK (lang <> ''),   -- a MediaWiki language code
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (platform, user_id)
) WITHOUT ROWID;
