-- v3: reactions and media attachments (one transaction: all or nothing)
BEGIN;

CREATE TABLE reactions (
    bleat_id   BIGINT      NOT NULL REFERENCES bleats (id) ON DELETE CASCADE,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       VARCHAR(16) NOT NULL CHECK (kind IN ('like', 'rebleat', 'laugh', 'wow')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (bleat_id, user_id, kind)
);

CREATE INDEX reactions_user_created_idx ON reactions (user_id, created_at DESC);

CREATE TABLE bleat_media (
    id           BIGSERIAL PRIMARY KEY,
    bleat_id     BIGINT      NOT NULL REFERENCES bleats (id) ON DELETE CASCADE,
    slot         SMALLINT    NOT NULL DEFAULT 0 CHECK (slot BETWEEN 0 AND 3),
    url          TEXT        NOT NULL,
    content_type VARCHAR(64) NOT NULL,
    byte_size    BIGINT      NOT NULL CHECK (byte_size > 0),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (bleat_id, slot)
);

COMMIT;
