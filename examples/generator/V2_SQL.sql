-- v2: the follow graph and materialised home timelines
CREATE TABLE IF NOT EXISTS follows (
    follower_id BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);

CREATE INDEX IF NOT EXISTS follows_followee_idx ON follows (followee_id);

CREATE TABLE IF NOT EXISTS timelines (
    user_id     BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    bleat_id    BIGINT      NOT NULL REFERENCES bleats (id) ON DELETE CASCADE,
    inserted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, bleat_id)
);

CREATE INDEX IF NOT EXISTS timelines_user_inserted_idx ON timelines (user_id, inserted_at DESC);
