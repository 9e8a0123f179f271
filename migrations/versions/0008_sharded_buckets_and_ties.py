"""score_buckets sharded by player, and score_ties: no hot rows, ranks as fast with ties.

Migration 0004's one row per bucket was updated by every answer on a board whose player was in
that bucket, so on PostgreSQL every answer on a pack waited for the one before it
(Lock:transactionid). Each bucket is now 16 rows, one per ``user_id % 16``: two answers meet
on a row only when both players fall in the same shard. And a caller's rank counted every
player with the same points ahead on answer time, a count that grew with the ties (10.2 ms at
300,000 players). score_ties counts the players per exact score and one-second band of total
answer time: the rank adds up the faster bands, then counts the players ahead in the caller's
own band.

SQLite's triggers are per row, PostgreSQL's per statement over transition tables (as in 0004).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 05:45:00.000000
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHARDS = 16
BAND_MS = 1000

BUCKET = "{row}.points / 1000"
SHARD = f"{{row}}.user_id % {SHARDS}"
BAND = f"{{row}}.seconds_ms / {BAND_MS}"

ADD_BUCKET = (
    "INSERT INTO score_buckets (scope, period, bucket, shard, players) "
    f"VALUES ({{row}}.scope, {{row}}.period, {BUCKET}, {SHARD}, 1) "
    "ON CONFLICT (scope, period, bucket, shard) DO UPDATE SET players = score_buckets.players + 1"
)
REMOVE_BUCKET = (
    "UPDATE score_buckets SET players = players - 1 WHERE scope = {row}.scope "
    f"AND period = {{row}}.period AND bucket = {BUCKET} AND shard = {SHARD}"
)
ADD_TIE = (
    "INSERT INTO score_ties (scope, period, points, band, players) "
    f"VALUES ({{row}}.scope, {{row}}.period, {{row}}.points, {BAND}, 1) "
    "ON CONFLICT (scope, period, points, band) DO UPDATE SET players = score_ties.players + 1"
)
REMOVE_TIE = (
    "UPDATE score_ties SET players = players - 1 WHERE scope = {row}.scope "
    f"AND period = {{row}}.period AND points = {{row}}.points AND band = {BAND}"
)


def _both(*statements: str, row: str) -> str:
    return "; ".join(s.format(row=row) for s in statements)


SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER score_ranks_insert AFTER INSERT ON score_totals BEGIN
        {_both(ADD_BUCKET, ADD_TIE, row='NEW')}; END""",
    f"""CREATE TRIGGER score_ranks_delete AFTER DELETE ON score_totals BEGIN
        {_both(REMOVE_BUCKET, REMOVE_TIE, row='OLD')}; END""",
    f"""CREATE TRIGGER score_buckets_update AFTER UPDATE OF points ON score_totals
        WHEN OLD.points / 1000 <> NEW.points / 1000 BEGIN
        {REMOVE_BUCKET.format(row='OLD')}; {ADD_BUCKET.format(row='NEW')}; END""",
    f"""CREATE TRIGGER score_ties_update AFTER UPDATE OF points, seconds_ms ON score_totals
        WHEN OLD.points <> NEW.points OR OLD.seconds_ms / {BAND_MS} <> NEW.seconds_ms / {BAND_MS}
        BEGIN {REMOVE_TIE.format(row='OLD')}; {ADD_TIE.format(row='NEW')}; END""",
]
SQLITE_NAMES = ["score_ranks_insert", "score_ranks_delete", "score_buckets_update", "score_ties_update"]

# PostgreSQL: statement-level triggers over transition tables (see 0004); rows are written in
# key order, so that concurrent transactions lock them in one order and cannot deadlock.
APPLY_BUCKETS = (
    "INSERT INTO score_buckets (scope, period, bucket, shard, players) "
    "SELECT scope, period, bucket, shard, sum(change) FROM ({moves}) AS moves "
    "GROUP BY scope, period, bucket, shard HAVING sum(change) <> 0 "
    "ORDER BY scope, period, bucket, shard "
    "ON CONFLICT (scope, period, bucket, shard) DO UPDATE "
    "SET players = score_buckets.players + excluded.players"
)
APPLY_TIES = (
    "INSERT INTO score_ties (scope, period, points, band, players) "
    "SELECT scope, period, points, band, sum(change) FROM ({moves}) AS moves "
    "GROUP BY scope, period, points, band HAVING sum(change) <> 0 "
    "ORDER BY scope, period, points, band "
    "ON CONFLICT (scope, period, points, band) DO UPDATE "
    "SET players = score_ties.players + excluded.players"
)


def _moves(table: str, change: int) -> tuple[str, str]:
    buckets = (
        f"SELECT scope, period, points / 1000 AS bucket, user_id % {SHARDS} AS shard, "
        f"{change} AS change FROM {table}"
    )
    ties = (
        f"SELECT scope, period, points, seconds_ms / {BAND_MS} AS band, {change} AS change "
        f"FROM {table}"
    )
    return buckets, ties


def _function(name: str, *tables: tuple[str, int]) -> str:
    moves = [_moves(table, change) for table, change in tables]
    buckets = " UNION ALL ".join(b for b, _ in moves)
    ties = " UNION ALL ".join(t for _, t in moves)
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"{APPLY_BUCKETS.format(moves=buckets)}; {APPLY_TIES.format(moves=ties)}; "
        "RETURN NULL; END $$"
    )


POSTGRES_TRIGGERS = [
    _function("score_ranks_inserted", ("arrived", 1)),
    _function("score_ranks_deleted", ("departed", -1)),
    _function("score_ranks_updated", ("arrived", 1), ("departed", -1)),
    "CREATE TRIGGER score_ranks_insert AFTER INSERT ON score_totals "
    "REFERENCING NEW TABLE AS arrived FOR EACH STATEMENT EXECUTE FUNCTION score_ranks_inserted()",
    "CREATE TRIGGER score_ranks_delete AFTER DELETE ON score_totals "
    "REFERENCING OLD TABLE AS departed FOR EACH STATEMENT EXECUTE FUNCTION score_ranks_deleted()",
    "CREATE TRIGGER score_ranks_update AFTER UPDATE ON score_totals "
    "REFERENCING OLD TABLE AS departed NEW TABLE AS arrived "
    "FOR EACH STATEMENT EXECUTE FUNCTION score_ranks_updated()",
]


def _previous() -> object:
    """Migration 0004, whose triggers and table this one replaces (and restores on the way
    down)."""
    path = Path(__file__).with_name('0004_score_buckets.py')
    spec = importlib.util.spec_from_file_location('quizbot_migration_0004', path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _drop_0004_triggers(sqlite: bool) -> None:
    if sqlite:
        for name in ("score_buckets_insert", "score_buckets_delete", "score_buckets_update"):
            op.execute(f"DROP TRIGGER {name}")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER score_buckets_{name} ON score_totals")
        for name in ("inserted", "deleted", "updated"):
            op.execute(f"DROP FUNCTION score_buckets_{name}()")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _drop_0004_triggers(sqlite)
    op.drop_table('score_buckets')
    op.create_table(
        'score_buckets',
        sa.Column('scope', sa.String(length=48), nullable=False),
        sa.Column('period', sa.String(length=8), nullable=False),
        sa.Column('bucket', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('shard', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('players', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            'scope', 'period', 'bucket', 'shard', name=op.f('pk_score_buckets')
        ),
    )
    op.create_table(
        'score_ties',
        sa.Column('scope', sa.String(length=48), nullable=False),
        sa.Column('period', sa.String(length=8), nullable=False),
        sa.Column('points', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('band', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('players', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('scope', 'period', 'points', 'band', name=op.f('pk_score_ties')),
    )
    op.execute(
        "INSERT INTO score_buckets (scope, period, bucket, shard, players) "
        f"SELECT scope, period, points / 1000, user_id % {SHARDS}, count(*) FROM score_totals "
        f"GROUP BY scope, period, points / 1000, user_id % {SHARDS}"
    )
    op.execute(
        "INSERT INTO score_ties (scope, period, points, band, players) "
        f"SELECT scope, period, points, seconds_ms / {BAND_MS}, count(*) FROM score_totals "
        f"GROUP BY scope, period, points, seconds_ms / {BAND_MS}"
    )
    for statement in SQLITE_TRIGGERS if sqlite else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for name in SQLITE_NAMES:
            op.execute(f"DROP TRIGGER {name}")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER score_ranks_{name} ON score_totals")
        for name in ("inserted", "deleted", "updated"):
            op.execute(f"DROP FUNCTION score_ranks_{name}()")
    op.drop_table('score_ties')
    op.drop_table('score_buckets')
    _previous().upgrade()  # type: ignore[attr-defined]
