-- photofeed on PostgreSQL: what every physical database holds in its
-- public schema. Accounts and sessions are used on the main database only;
-- the outbox, consumer positions and idempotency keys of requests not made
-- by a signed-in user are per database, so a write commits its event in its
-- own transaction wherever its shard is. A shard's own tables are in its
-- schema (shard/schema.sql). Times are milliseconds since the Unix epoch in
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

CREATE TABLE consumer_offsets (
    name text   PRIMARY KEY,
    seq  bigint NOT NULL
);

-- Shards that left this database, and where to (see internal/shardmove).
CREATE TABLE photofeed_moved_shards (schema_name text PRIMARY KEY, target text NOT NULL);
