-- The wikimod process that took each command (its instance name), so that
-- when a replica dies another settles what it left unfinished, and none
-- settles the commands of a replica that still runs them.
ALTER TABLE audit ADD COLUMN owner text NOT NULL DEFAULT '';
