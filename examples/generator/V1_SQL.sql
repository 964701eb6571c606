-- v1: accounts and their bleats
CREATE TABLE IF NOT EXISTS users (
    id           BIGSERIAL PRIMARY KEY,
    handle       VARCHAR(32)  NOT NULL UNIQUE,
    display_name VARCHAR(64)  NOT NULL DEFAULT '',
    email        VARCHAR(254) NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ  NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS bleats (
    id         BIGSERIAL PRIMARY KEY,
    author_id  BIGINT       NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body       VARCHAR(280) NOT NULL CHECK (length(body) > 0),
    reply_to   BIGINT       REFERENCES bleats (id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ  NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS bleats_author_created_idx ON bleats (author_id, created_at DESC);
