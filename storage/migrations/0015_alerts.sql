-- The edit-war and vandalism alerts (bot/alerts).

-- Where each wiki's follower stopped reading a stream of the wiki
-- (recentchanges, abuselog): the wiki's time and id of the last entry read,
-- as the follower writes it. Another replica, or the next start, goes on
-- from there.
CREATE TABLE alert_cursors (
    wiki   TEXT NOT NULL,
    stream TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (wiki, stream)
) WITHOUT ROWID;

-- One row per burst of trouble on a page. started (the wiki's time of the
-- burst's first trouble, in milliseconds: named without _ms because both
-- backends name the key columns alike, commands.WikiTables) with wiki and
-- title is its key, so that processes raising the same burst at once
-- insert it once. last_ms moves on while the burst goes on. The lists are
-- JSON arrays of names. act_* record the one action a moderator's button
-- took on it: act_claim names the press that holds it, act_done is set
-- once it ended well.
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    wiki        TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    started     INTEGER NOT NULL,
    last_ms     INTEGER NOT NULL,
    raised_ms   INTEGER NOT NULL,
    rule        TEXT    NOT NULL,
    reverts     INTEGER NOT NULL DEFAULT 0,
    editors     TEXT    NOT NULL DEFAULT '[]',
    reverters   TEXT    NOT NULL DEFAULT '[]',
    abuse_hits  INTEGER NOT NULL DEFAULT 0,
    abuse_users TEXT    NOT NULL DEFAULT '[]',
    filters     TEXT    NOT NULL DEFAULT '[]',
    posted      INTEGER NOT NULL DEFAULT 0,
    delivered   TEXT    NOT NULL DEFAULT '[]',
    attempts    INTEGER NOT NULL DEFAULT 0,
    action      TEXT    NOT NULL DEFAULT '',
    act_claim   INTEGER NOT NULL DEFAULT 0,
    acted_by    TEXT    NOT NULL DEFAULT '',
    acted_name  TEXT    NOT NULL DEFAULT '',
    acted_ms    INTEGER NOT NULL DEFAULT 0,
    act_done    INTEGER NOT NULL DEFAULT 0,
    act_detail  TEXT    NOT NULL DEFAULT '',
    act_updated_ms INTEGER NOT NULL DEFAULT 0,
    UNIQUE (wiki, title, started)
);
-- A page's latest alert (RaiseAlert), and a wiki's open ones (OpenAlerts).
CREATE INDEX alerts_page ON alerts (wiki, title, last_ms);
CREATE INDEX alerts_wiki ON alerts (wiki, last_ms);
-- The alerts still to post.
CREATE INDEX alerts_unposted ON alerts (wiki) WHERE posted = 0;
