package postgres

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"
)

// replayPruneEvery is how often, by the injected clock, FirstSeen deletes
// expired keys itself: often enough that the table holds little more than
// one window of keys, rarely enough that the DELETE costs nothing per call.
const replayPruneEvery = time.Minute

const (
	// firstSeenSQL inserts the key, or takes over its row if that has
	// expired; a row still live is left alone and nothing changes, which
	// is how FirstSeen tells a replay. PostgreSQL makes the statement
	// atomic: of callers inserting one key at once, in this process or
	// another replica, one inserts it and the others wait for that row
	// and then find it live.
	firstSeenSQL = `INSERT INTO replays (platform, key_hash, expires) VALUES ($1, $2, $3)
		ON CONFLICT (platform, key_hash) DO UPDATE SET expires = excluded.expires
		WHERE replays.expires <= $4`
	pruneReplaysSQL = `DELETE FROM replays WHERE expires <= $1`
)

// FirstSeen records that the signed request identified by key on platform
// (a Slack request's signature, a Discord interaction id) was seen, and
// reports whether this is the first time: false means a replay to refuse.
// The key is remembered until expires, which should be when the request's
// signed timestamp becomes too old to be accepted anyway; seen again after
// that, it counts as first again, and the caller's timestamp check refuses
// it. Only a SHA-256 of the key is stored. The guard lives in the database,
// so it holds across a restart and between the replicas sharing it.
//
// At most once a minute by the injected clock, FirstSeen also deletes the
// expired keys, so the table stays at about one window of requests.
func (db *DB) FirstSeen(ctx context.Context, platform, key string, expires time.Time) (bool, error) {
	now := msUTC(db.now())
	nowMS := now.UnixMilli()
	if last := db.lastReplayPrune.Load(); nowMS-last >= replayPruneEvery.Milliseconds() &&
		db.lastReplayPrune.CompareAndSwap(last, nowMS) {
		if _, err := db.pool.Exec(ctx, pruneReplaysSQL, now); err != nil {
			db.lastReplayPrune.CompareAndSwap(nowMS, last) // let the next call try again
			return false, fmt.Errorf("postgres: replay guard: prune: %w", err)
		}
	}
	sum := sha256.Sum256([]byte(key))
	tag, err := db.pool.Exec(ctx, firstSeenSQL, storable(platform), sum[:], msUTC(expires), now)
	if err != nil {
		return false, fmt.Errorf("postgres: replay guard: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// PruneReplays deletes the replay keys expired at now and returns how many.
// FirstSeen prunes by itself; this is for a scheduled clean-up or a
// shutdown, so that a quiet bot's table does not keep a flood's keys.
func (db *DB) PruneReplays(ctx context.Context, now time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, pruneReplaysSQL, msUTC(now))
	if err != nil {
		return 0, fmt.Errorf("postgres: prune replays: %w", err)
	}
	return tag.RowsAffected(), nil
}
