-- One logical shard's tables, created in its schema: "shard." is replaced
-- by the schema's name. Accounts are in the main database, so nothing here
-- references users; a shard's tables reference only each other, so a shard
-- moves as a unit.

CREATE TABLE shard.posts (
    id           bigint  PRIMARY KEY,
    author_id    bigint  NOT NULL,
    caption      text    NOT NULL,
    created_at   bigint  NOT NULL,
    thumb_key    text    NOT NULL,
    thumb_w      integer NOT NULL,
    thumb_h      integer NOT NULL,
    large_key    text    NOT NULL,
    large_w      integer NOT NULL,
    large_h      integer NOT NULL,
    original_key text    NOT NULL,
    original_w   integer NOT NULL,
    original_h   integer NOT NULL,
    like_count   bigint  NOT NULL DEFAULT 0,
    status       text    NOT NULL DEFAULT 'ready',
    upload_key   text    NOT NULL DEFAULT ''
);
CREATE INDEX posts_author_id ON shard.posts (author_id, id);

CREATE TABLE shard.post_blobs (
    blob_key text   NOT NULL,
    post_id  bigint NOT NULL REFERENCES shard.posts (id) ON DELETE CASCADE,
    PRIMARY KEY (blob_key, post_id)
);
CREATE INDEX post_blobs_post_id ON shard.post_blobs (post_id);

CREATE TABLE shard.follows (
    follower_id bigint NOT NULL,
    followee_id bigint NOT NULL,
    created_at  bigint NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX follows_followee ON shard.follows (followee_id, created_at, follower_id);
CREATE INDEX follows_follower_recent ON shard.follows (follower_id, created_at, followee_id);

CREATE TABLE shard.follow_counts (
    user_id   bigint PRIMARY KEY,
    followers bigint NOT NULL DEFAULT 0,
    following bigint NOT NULL DEFAULT 0
);
CREATE INDEX follow_counts_followers ON shard.follow_counts (followers);

CREATE TABLE shard.likes (
    post_id    bigint NOT NULL REFERENCES shard.posts (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (post_id, user_id)
);
CREATE INDEX likes_user_id ON shard.likes (user_id, post_id);

CREATE TABLE shard.timelines (
    user_id   bigint NOT NULL,
    post_id   bigint NOT NULL,
    author_id bigint NOT NULL,
    PRIMARY KEY (user_id, post_id)
);
CREATE INDEX timelines_post ON shard.timelines (post_id);
CREATE INDEX timelines_author ON shard.timelines (user_id, author_id);

CREATE TABLE shard.timeline_state (
    user_id  bigint PRIMARY KEY,
    built_at bigint NOT NULL,
    entries  bigint NOT NULL DEFAULT 0
);
CREATE INDEX timeline_state_entries ON shard.timeline_state (entries);

CREATE TABLE shard.idempotency_keys (
    key         text    PRIMARY KEY,
    fingerprint text    NOT NULL,
    state       text    NOT NULL,
    locked_at   bigint  NOT NULL,
    expires_at  bigint  NOT NULL,
    resource    text    NOT NULL DEFAULT '',
    status      integer,
    header      text,
    body        bytea
);
CREATE INDEX idempotency_keys_expires_at ON shard.idempotency_keys (expires_at);

