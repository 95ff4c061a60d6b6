-- Idempotency keys: one row per scoped key, kept until expires_at.
CREATE TABLE idempotency_keys (
    key         TEXT    PRIMARY KEY,
    fingerprint TEXT    NOT NULL,
    state       TEXT    NOT NULL, -- in_flight, committed, done
    locked_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    resource    TEXT    NOT NULL DEFAULT '',
    status      INTEGER,
    header      TEXT,
    body        BLOB
);
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
