-- photofeed on PostgreSQL. Times are milliseconds since the Unix epoch in
-- bigint columns, as in the SQLite adapter.

CREATE TABLE users (
    id            bigint  PRIMARY KEY,
    username      text    NOT NULL UNIQUE,
    display_name  text    NOT NULL,
    password_hash text    NOT NULL,
    admin         boolean NOT NULL DEFAULT false,
    created_at    bigint  NOT NULL
);

CREATE TABLE sessions (
    id         bigint PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    revoked_at bigint
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE posts (
    id           bigint  PRIMARY KEY,
    author_id    bigint  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
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
CREATE INDEX posts_author_id ON posts (author_id, id);

CREATE TABLE post_blobs (
    blob_key text   NOT NULL,
    post_id  bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    PRIMARY KEY (blob_key, post_id)
);
CREATE INDEX post_blobs_post_id ON post_blobs (post_id);

CREATE TABLE follows (
    follower_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  bigint NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX follows_followee ON follows (followee_id, created_at, follower_id);
CREATE INDEX follows_follower_recent ON follows (follower_id, created_at, followee_id);

CREATE TABLE follow_counts (
    user_id   bigint PRIMARY KEY,
    followers bigint NOT NULL DEFAULT 0,
    following bigint NOT NULL DEFAULT 0
);
CREATE INDEX follow_counts_followers ON follow_counts (followers);

CREATE TABLE likes (
    post_id    bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at bigint NOT NULL,
    PRIMARY KEY (post_id, user_id)
);
CREATE INDEX likes_user_id ON likes (user_id, post_id);

CREATE TABLE idempotency_keys (
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
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);

CREATE TABLE outbox (
    seq        bigserial PRIMARY KEY,
    id         text      NOT NULL UNIQUE,
    subject    text      NOT NULL,
    body       bytea     NOT NULL,
    created_at bigint    NOT NULL,
    sent_at    bigint
);
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;

CREATE TABLE timelines (
    user_id   bigint NOT NULL,
    post_id   bigint NOT NULL,
    author_id bigint NOT NULL,
    PRIMARY KEY (user_id, post_id)
);
CREATE INDEX timelines_post ON timelines (post_id);
CREATE INDEX timelines_author ON timelines (user_id, author_id);

CREATE TABLE timeline_state (
    user_id  bigint PRIMARY KEY,
    built_at bigint NOT NULL,
    entries  bigint NOT NULL DEFAULT 0
);
CREATE INDEX timeline_state_entries ON timeline_state (entries);

CREATE TABLE consumer_offsets (
    name text   PRIMARY KEY,
    seq  bigint NOT NULL
);
