-- One row the health check rewrites with the time of its write: a real
-- write, committed, that a full disk or a read-only database refuses as it
-- would refuse an audit record. The replicas sharing the database take
-- turns on it.
CREATE TABLE heartbeat (
    id   integer     PRIMARY KEY CHECK (id = 1),
    beat timestamptz NOT NULL
);
