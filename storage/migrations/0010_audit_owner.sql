-- The wikimod process that took each command (its instance name), so that
-- when a process dies another settles what it left unfinished, and none
-- settles the commands of a process that still runs them. '' for the
-- records written before processes had names.
ALTER TABLE audit ADD COLUMN owner TEXT NOT NULL DEFAULT '';
