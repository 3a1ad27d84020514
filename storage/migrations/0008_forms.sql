-- Discord's pending forms: a command whose modal (asking for a password or
-- a code) is open. The options typed with the command wait here, never the
-- secret, so that any replica can take the modal's submission. A form is
-- taken once, by the user who opened it, before it expires.
CREATE TABLE forms (
    id         TEXT    PRIMARY KEY,   -- random, travels in the modal's custom_id
    user_id    TEXT    NOT NULL,
    command    TEXT    NOT NULL,
    secret     TEXT    NOT NULL,      -- the parameter the modal asks for (its name)
    args       TEXT    NOT NULL,      -- the command's other options, JSON
    expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX forms_expiry ON forms (expires_ms);
