-- Times are milliseconds since the Unix epoch (UTC) in INTEGER columns, the
-- same representation the PostgreSQL adapter uses in bigint columns.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    admin         INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE posts (
    id           INTEGER PRIMARY KEY,
    author_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    caption      TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    thumb_key    TEXT    NOT NULL,
    thumb_w      INTEGER NOT NULL,
    thumb_h      INTEGER NOT NULL,
    large_key    TEXT    NOT NULL,
    large_w      INTEGER NOT NULL,
    large_h      INTEGER NOT NULL,
    original_key TEXT    NOT NULL,
    original_w   INTEGER NOT NULL,
    original_h   INTEGER NOT NULL,
    like_count   INTEGER NOT NULL DEFAULT 0
);
-- Profile pages and the fan-out-on-read feed walk one author's posts by id.
CREATE INDEX posts_author_id ON posts (author_id, id);

-- Which posts use which blob: content addressing lets posts share blobs,
-- so a blob may only be deleted when no row here names it.
CREATE TABLE post_blobs (
    blob_key TEXT    NOT NULL,
    post_id  INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    PRIMARY KEY (blob_key, post_id)
) WITHOUT ROWID;
CREATE INDEX post_blobs_post_id ON post_blobs (post_id);

CREATE TABLE follows (
    follower_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
) WITHOUT ROWID;
CREATE INDEX follows_followee ON follows (followee_id, created_at, follower_id);
CREATE INDEX follows_follower_recent ON follows (follower_id, created_at, followee_id);

-- Counters kept in the same transaction as follows, so a profile with a
-- million followers does not count them on every view.
CREATE TABLE follow_counts (
    user_id   INTEGER PRIMARY KEY,
    followers INTEGER NOT NULL DEFAULT 0,
    following INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE likes (
    post_id    INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (post_id, user_id)
) WITHOUT ROWID;
CREATE INDEX likes_user_id ON likes (user_id, post_id);
