-- Requests refused before they became commands (bad signatures, stale
-- timestamps, replays), kept as counts per minute, platform, kind and
-- source rather than one row each: a flood of bad requests then costs a
-- few rows a minute, not one per request. detail is one example of what
-- was wrong, never a request body or a secret.
CREATE TABLE security_counts (
    minute_ms INTEGER NOT NULL,       -- the start of the minute, Unix milliseconds
    platform  TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    source    TEXT    NOT NULL,       -- the client address without its port, or 'other'
    count     INTEGER NOT NULL,
    detail    TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (minute_ms, platform, kind, source)
) WITHOUT ROWID;

-- Fold the old one-row-per-refusal events into counts. An event's remote
-- was the client's "host:port" ("[v6]:port" for IPv6); the source is the
-- host alone, or 'other' when it was not recorded. The example detail kept
-- is the oldest non-empty one of each group.
INSERT INTO security_counts (minute_ms, platform, kind, source, count, detail)
SELECT minute_ms, platform, kind, source, n, detail FROM (
    SELECT minute_ms, platform, kind, source, detail,
        count(*) OVER grp AS n,
        row_number() OVER (grp ORDER BY detail = '', id) AS nth
    FROM (
        SELECT id, time_ms - time_ms % 60000 AS minute_ms, platform, kind, detail,
            CASE
                WHEN remote = '' THEN 'other'
                WHEN remote LIKE '[%]:%' THEN substr(remote, 2, instr(remote, ']') - 2)
                WHEN length(remote) - length(replace(remote, ':', '')) = 1 THEN substr(remote, 1, instr(remote, ':') - 1)
                ELSE remote
            END AS source
        FROM security_events
    )
    WINDOW grp AS (PARTITION BY minute_ms, platform, kind, source)
)
WHERE nth = 1;

DROP TABLE security_events;
