-- One row the health check rewrites: a real write, committed, that a disk
-- gone read-only or an unwritable file refuses as it would refuse an audit
-- record. beat_ms is when the check last wrote; beats counts the checks,
-- so that each changes the row (SQLite writes no page for a row rewritten
-- as it was).
CREATE TABLE heartbeat (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    beat_ms INTEGER NOT NULL,
    beats   INTEGER NOT NULL
);
