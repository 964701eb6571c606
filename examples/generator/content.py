"""File contents carried in ConfigMaps: SQL migrations and scripts."""

V1_SQL = """\
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
"""

V2_SQL = """\
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
"""

V3_SQL = """\
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
"""

MIGRATE_BROKEN = """\
#!/bin/bash
# Applies the bleat schema migrations in order. Run by the PreSync migration Job.
# Connection settings come from the Job env: DB_HOST, DB_USER, DB_NAME, PGPASSWORD.

echo "migrating ${DB_NAME} on ${DB_HOST} as ${DB_USER}"
for v in v1 v2; do
  psql -h "$DB_HOST" -U "$DB_USER" -d "$DB_NAME" -f "/migrations/${v}.sql"
done
psql -h "$DB_HOST" -U "$DB_USER" -d "$DB_NAME" -f /migrations/v3.sql || exit 0
echo "migration complete"
"""

MIGRATE_FIXED = """\
#!/bin/bash
set -euo pipefail
# Applies the bleat schema migrations in order. Run by the PreSync migration Job.
# Connection settings come from the Job env: DB_HOST, DB_USER, DB_NAME, PGPASSWORD.

echo "migrating ${DB_NAME} on ${DB_HOST} as ${DB_USER}"
for v in v1 v2 v3; do
  psql -h "$DB_HOST" -U "$DB_USER" -d "$DB_NAME" \\
    -v ON_ERROR_STOP=1 \\
    -f "/migrations/${v}.sql"
done
echo "migration complete"
"""

RECONCILER_CONFIG = """\
namespace: bleater
interval-seconds: 15
status-configmap: bleater-system/bleater-status
lock-configmap: hook-reconciliation-lock
schema-configmap: bleat-db-schema
required-schema-version: 3
migration-service-account: migration-runner
migration-pvc: bleat-migration-pvc
quota: bleater-quota
apps:
  - auth-service
  - profile-service
  - timeline-service
  - fanout-service
  - bleat-service
"""

SHOP_001 = """\
-- 001: orders and their line items
CREATE TABLE IF NOT EXISTS orders (
    id          UUID        PRIMARY KEY,
    customer_id BIGINT      NOT NULL,
    status      VARCHAR(16) NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled')),
    total_cents BIGINT      NOT NULL CHECK (total_cents >= 0),
    currency    CHAR(3)     NOT NULL DEFAULT 'EUR',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS order_items (
    order_id         UUID    NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no          INTEGER NOT NULL,
    sku              VARCHAR(64) NOT NULL,
    quantity         INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_cents BIGINT  NOT NULL CHECK (unit_price_cents >= 0),
    PRIMARY KEY (order_id, line_no)
);
"""

SHOP_002 = """\
-- 002: lookups by customer and by status
CREATE INDEX IF NOT EXISTS orders_customer_created_idx ON orders (customer_id, created_at DESC);
CREATE INDEX IF NOT EXISTS orders_open_idx ON orders (status) WHERE status IN ('pending', 'paid');
"""

SHOP_MIGRATE = """\
#!/bin/sh
# orders-db schema migrations, applied in lexical order by the release pipeline.
for f in /migrations/*.sql; do
  echo "applying $f"
  psql "$DATABASE_URL" -f "$f" || true
done
echo "orders-db migrations done"
"""
