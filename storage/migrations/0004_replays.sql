-- The replay guard: signed requests already seen (a Slack request's
-- signature, a Discord interaction id), until their signed timestamp is
-- too old to be accepted anyway. Only a SHA-256 of the key is stored.
-- Expired rows are deleted in expiry order, through replays_expiry, so the
-- table holds one window's worth of requests however long wikimod runs.
CREATE TABLE replays (
    platform   TEXT    NOT NULL,
    key_hash   BLOB    NOT NULL,   -- SHA-256 of the key
    expires_ms INTEGER NOT NULL,   -- a request with this key is refused until then
    PRIMARY KEY (platform, key_hash)
) WITHOUT ROWID;
CREATE INDEX replays_expiry ON replays (expires_ms);
