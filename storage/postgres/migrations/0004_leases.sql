-- Named leases, so that of the replicas sharing the database one at a time
-- does a job such as syncing a wiki's protect log ("sync:en"). A lease is
-- its holder's through until; after that any replica may take it.
CREATE TABLE leases (
    name   text        PRIMARY KEY,
    holder text        NOT NULL,
    until  timestamptz NOT NULL
);
