-- Which process runs a batch, as the SQLite backend's
-- (storage/migrations/0017_batch_owner.sql).
ALTER TABLE batches ADD COLUMN owner text NOT NULL DEFAULT '';
