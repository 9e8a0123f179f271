"""score_buckets: players per whole point of each board, kept by triggers on score_totals.

A caller's rank was 1 + a count of every player ahead of them: an index range as long as
the rank (6 ms for the last of 100,000 players on SQLite). Now it is the sum of the buckets
above the caller's (one row per whole point), plus a count of the players ahead within the
caller's own bucket and score. Triggers keep the buckets in step with every change to
score_totals (insert, update of points, delete), whoever makes it.

On PostgreSQL the update trigger touches the lower bucket first, so that concurrent
transactions lock bucket rows in one order and cannot deadlock on them.

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

POSTGRES_FUNCTION = f"""
CREATE FUNCTION score_buckets_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {ADD.format(row='NEW')};
    ELSIF TG_OP = 'DELETE' THEN
        {REMOVE.format(row='OLD')};
    ELSIF OLD.points / 1000 < NEW.points / 1000 THEN
        {REMOVE.format(row='OLD')};
        {ADD.format(row='NEW')};
    ELSE
        {ADD.format(row='NEW')};
        {REMOVE.format(row='OLD')};
    END IF;
    RETURN NULL;
END $$
"""
POSTGRES_TRIGGERS = [
    POSTGRES_FUNCTION,
    "CREATE TRIGGER score_buckets_insert_delete AFTER INSERT OR DELETE ON score_totals "
    "FOR EACH ROW EXECUTE FUNCTION score_buckets_follow()",
    "CREATE TRIGGER score_buckets_update AFTER UPDATE OF points ON score_totals "
    "FOR EACH ROW WHEN (OLD.points / 1000 <> NEW.points / 1000) "
    "EXECUTE FUNCTION score_buckets_follow()",
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
        op.execute("DROP TRIGGER score_buckets_insert_delete ON score_totals")
        op.execute("DROP TRIGGER score_buckets_update ON score_totals")
        op.execute("DROP FUNCTION score_buckets_follow()")
    op.drop_table('score_buckets')
