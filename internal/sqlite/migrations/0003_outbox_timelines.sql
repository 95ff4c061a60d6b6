-- The transactional outbox: events written in the same transaction as the
-- change they describe, published by the relay in seq order.
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL UNIQUE,
    subject    TEXT    NOT NULL,
    body       BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    sent_at    INTEGER
);
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;

-- Home timelines, the feed's read model (fan-out on write), capped per user.
CREATE TABLE timelines (
    user_id   INTEGER NOT NULL,
    post_id   INTEGER NOT NULL,
    author_id INTEGER NOT NULL,
    PRIMARY KEY (user_id, post_id)
) WITHOUT ROWID;
CREATE INDEX timelines_post ON timelines (post_id);
CREATE INDEX timelines_author ON timelines (user_id, author_id);

-- Which timelines exist: a user without a row gets theirs rebuilt on read.
CREATE TABLE timeline_state (
    user_id  INTEGER PRIMARY KEY,
    built_at INTEGER NOT NULL,
    entries  INTEGER NOT NULL DEFAULT 0 -- approximate; trimming recounts
);
CREATE INDEX timeline_state_entries ON timeline_state (entries);

-- How far each consumer has got, in outbox seq; updated in the same
-- transaction as the consumer's effects.
CREATE TABLE consumer_offsets (
    name TEXT    PRIMARY KEY,
    seq  INTEGER NOT NULL
);

-- Authors by follower count, for the hybrid feed's celebrity lookup.
CREATE INDEX follow_counts_followers ON follow_counts (followers);
