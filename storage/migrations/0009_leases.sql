-- Named leases, so that of several processes sharing the database one at a
-- time does a job such as syncing a wiki's protect log ("sync:en"). A lease
-- is its holder's through until_ms; after that anyone may take it.
CREATE TABLE leases (
    name     TEXT    PRIMARY KEY,
    holder   TEXT    NOT NULL,
    until_ms INTEGER NOT NULL
) WITHOUT ROWID;
