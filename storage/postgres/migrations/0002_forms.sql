-- Discord's pending forms: a command whose modal (asking for a password or
-- a code) is open. The options typed with the command wait here, never the
-- secret, so that any replica can take the modal's submission. A form is
-- taken once, by the user who opened it, before it expires.
CREATE TABLE forms (
    id      text        PRIMARY KEY,   -- random, travels in the modal's custom_id
    user_id text        NOT NULL,
    command text        NOT NULL,
    secret  text        NOT NULL,      -- the parameter the modal asks for (its name)
    args    jsonb       NOT NULL,      -- the command's other options
    expires timestamptz NOT NULL
);
CREATE INDEX forms_expiry ON forms (expires);
