"""score_buckets: players per whole point of each board, kept by triggers on score_totals.

A caller's rank was 1 + a count of every player ahead of them: an index range as long as
the rank (6 ms for the last of 100,000 players on SQLite). Now it is the sum of the buckets
above the caller's (one row per whole point), plus a count of the players ahead within the
caller's own bucket and score. Triggers keep the buckets in step with every change to
score_totals (insert, update of points, delete), whoever makes it.

SQLite's triggers are per row (an update only when the bucket changes). PostgreSQL's are per
statement, over transition tables (see POSTGRES_TRIGGERS for why).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 15:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADD = (
    "INSERT INTO score_buckets (scope, period, bucket, players) "
    "VALUES ({row}.scope, {row}.period, {row}.points / 1000, 1) "
    "ON CONFLICT (scope, period, bucket) DO UPDATE SET players = score_buckets.players + 1"
)
REMOVE = (
    "UPDATE score_buckets SET players = players - 1 WHERE scope = {row}.scope "
    "AND period = {row}.period AND bucket = {row}.points / 1000"
)

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER score_buckets_insert AFTER INSERT ON score_totals BEGIN
        {ADD.format(row='NEW')}; END""",
    f"""CREATE TRIGGER score_buckets_delete AFTER DELETE ON score_totals BEGIN
        {REMOVE.format(row='OLD')}; END""",
    f"""CREATE TRIGGER score_buckets_update AFTER UPDATE OF points ON score_totals
        WHEN OLD.points / 1000 <> NEW.points / 1000 BEGIN
        {REMOVE.format(row='OLD')}; {ADD.format(row='NEW')}; END""",
]

# PostgreSQL: statement-level triggers over transition tables, so that a statement moving many
# players (the seven-day roll, a bulk load) changes each bucket row once. Row-level triggers
# would update the same bucket row thousands of times in one transaction, and each update of a
# row its own transaction already updated walks the row's whole version chain: quadratic.
# Buckets are written in (scope, period, bucket) order, so that concurrent transactions lock
# them in one order and cannot deadlock on them.
APPLY = (
    "INSERT INTO score_buckets (scope, period, bucket, players) "
    "SELECT scope, period, bucket, sum(change) FROM ({moves}) AS moves "
    "GROUP BY scope, period, bucket HAVING sum(change) <> 0 ORDER BY scope, period, bucket "
    "ON CONFLICT (scope, period, bucket) DO UPDATE "
    "SET players = score_buckets.players + excluded.players"
)
ARRIVED = "SELECT scope, period, points / 1000 AS bucket, 1 AS change FROM arrived"
LEFT = "SELECT scope, period, points / 1000 AS bucket, -1 AS change FROM departed"
POSTGRES_TRIGGERS = [
    f"""CREATE FUNCTION score_buckets_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN {APPLY.format(moves=ARRIVED)}; RETURN NULL; END $$""",
    f"""CREATE FUNCTION score_buckets_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN {APPLY.format(moves=LEFT)}; RETURN NULL; END $$""",
    f"""CREATE FUNCTION score_buckets_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN {APPLY.format(moves=ARRIVED + " UNION ALL " + LEFT)}; RETURN NULL; END $$""",
    "CREATE TRIGGER score_buckets_insert AFTER INSERT ON score_totals "
    "REFERENCING NEW TABLE AS arrived FOR EACH STATEMENT EXECUTE FUNCTION score_buckets_inserted()",
    "CREATE TRIGGER score_buckets_delete AFTER DELETE ON score_totals "
    "REFERENCING OLD TABLE AS departed FOR EACH STATEMENT EXECUTE FUNCTION score_buckets_deleted()",
    "CREATE TRIGGER score_buckets_update AFTER UPDATE ON score_totals "
    "REFERENCING OLD TABLE AS departed NEW TABLE AS arrived "
    "FOR EACH STATEMENT EXECUTE FUNCTION score_buckets_updated()",
]


def upgrade() -> None:
    op.create_table(
        'score_buckets',
        sa.Column('scope', sa.String(length=48), nullable=False),
        sa.Column('period', sa.String(length=8), nullable=False),
        sa.Column('bucket', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('players', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('scope', 'period', 'bucket', name=op.f('pk_score_buckets')),
    )
    op.execute(
        "INSERT INTO score_buckets (scope, period, bucket, players) "
        "SELECT scope, period, points / 1000, count(*) FROM score_totals "
        "GROUP BY scope, period, points / 1000"
    )
    triggers = SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else POSTGRES_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("score_buckets_insert", "score_buckets_delete", "score_buckets_update"):
            op.execute(f"DROP TRIGGER {name}")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER score_buckets_{name} ON score_totals")
        for name in ("inserted", "deleted", "updated"):
            op.execute(f"DROP FUNCTION score_buckets_{name}()")
    op.drop_table('score_buckets')
