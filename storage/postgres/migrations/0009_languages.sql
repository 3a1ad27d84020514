-- The language each chat user chose to be answered in (/language), one per
-- chat identity: it is the person's, whichever wiki they act on, so the
-- table has no wiki. Forgetting a choice deletes its row. updated is when
-- the choice was last made.
CREATE TABLE languages (
    platform text        NOT NULL,
    user_id  text        NOT NULL,   -- the chat platform's id of the user
    lang     text        NOT NULL CHECK (lang <> ''),   -- a MediaWiki language code
    updated  timestamptz NOT NULL,
    PRIMARY KEY (platform, user_id)
);
