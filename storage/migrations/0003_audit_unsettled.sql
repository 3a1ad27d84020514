-- A command's audit row is 'queued' from when it is accepted until its turn
-- comes (nothing has been sent to the wiki), then 'pending' while it runs
-- (requests may be reaching the wiki), then its final outcome. After a
-- crash, start-up settles the rows left queued or pending. This partial
-- index holds only those rows, a handful however long the log grows, so
-- finding them reads the index instead of the whole log. The query must
-- repeat this WHERE clause word for word for SQLite to use the index.
CREATE INDEX audit_unsettled ON audit (id) WHERE outcome IN ('queued', 'pending');
