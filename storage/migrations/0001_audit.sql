-- Every command attempt, allowed or not. Arguments are stored with secrets
-- already replaced; outcome is 'pending' from just before the wiki is asked
-- until the command ends.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    time_ms     INTEGER NOT NULL,
    platform    TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    user_name   TEXT    NOT NULL DEFAULT '',
    channel     TEXT    NOT NULL DEFAULT '',
    command     TEXT    NOT NULL,
    args        TEXT    NOT NULL DEFAULT '{}',
    outcome     TEXT    NOT NULL,
    code        TEXT    NOT NULL DEFAULT '',
    result      TEXT,
    duration_us INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX audit_time ON audit (time_ms);
CREATE INDEX audit_user ON audit (platform, user_id, time_ms);

-- Security events: requests refused before they became commands (a forged
-- or stale signature). Kept apart from the command audit.
CREATE TABLE security_events (
    id       INTEGER PRIMARY KEY,
    time_ms  INTEGER NOT NULL,
    platform TEXT    NOT NULL,
    kind     TEXT    NOT NULL,
    remote   TEXT    NOT NULL DEFAULT '',
    detail   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX security_events_time ON security_events (time_ms);
