-- Which process runs a batch: the instance (commands.Config.Instance) whose
-- confirmation took it. When that process is gone, the settle pass of a
-- replica, or of the next start, ends the batch as interrupted, with a
-- summary of what its pages' audit rows show. '' for a process without an
-- instance name, and for the batches of before.
ALTER TABLE batches ADD COLUMN owner TEXT NOT NULL DEFAULT '';
