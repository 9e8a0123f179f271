"""timers: every deadline is a row that any worker can claim and act on.

Before this, a game's timers lived in the job queue of the worker that armed them: when that
worker died the game stalled, and a deadline that passed while the bot was down was dropped
as a misfire. The upgrade writes the timer of every game still running.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 05:40:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    timers = op.create_table(
        'timers',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('key', sa.String(length=128), nullable=False),
        sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claim', sa.String(length=32), nullable=True),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['run_id'],
            ['quiz_runs.id'],
            name=op.f('fk_timers_run_id_quiz_runs'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_timers')),
        sa.UniqueConstraint('key', name=op.f('uq_timers_key')),
    )
    op.create_index(op.f('ix_timers_due_at'), 'timers', ['due_at'], unique=False)
    op.create_index(op.f('ix_timers_run_id'), 'timers', ['run_id'], unique=False)
    _timers_of_running_games(timers)


def _timers_of_running_games(timers: sa.Table) -> None:
    """The timer each running game waits on, as bot/quiz/game.py now writes them."""
    runs = sa.table(
        'quiz_runs',
        sa.column('id', sa.Integer()),
        sa.column('kind', sa.String()),
        sa.column('status', sa.String()),
        sa.column('phase', sa.String()),
        sa.column('position', sa.Integer()),
        sa.column('deadline_at', sa.DateTime(timezone=True)),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(runs.c.id, runs.c.status, runs.c.phase, runs.c.position, runs.c.deadline_at)
        .where(runs.c.kind == 'group', runs.c.status.in_(('lobby', 'active')))
    ).all()
    now = datetime.now(UTC)
    if bind.dialect.name == 'sqlite':  # stored as naive UTC there (bot/store/models.py)
        now = now.replace(tzinfo=None)
    values = []
    for run_id, status, phase, position, deadline in rows:
        what = 'lobby' if status == 'lobby' else 'close' if phase == 'asking' else 'advance'
        position = 0 if what == 'lobby' else position
        values.append(
            {
                'kind': 'game',
                'key': f'game:{run_id}:{what}:{position}',
                'run_id': run_id,
                'payload': {'what': what, 'position': position},
                'due_at': deadline or now,
                'tries': 0,
                'created_at': now,
            }
        )
    if values:
        op.bulk_insert(timers, values)


def downgrade() -> None:
    op.drop_index(op.f('ix_timers_run_id'), table_name='timers')
    op.drop_index(op.f('ix_timers_due_at'), table_name='timers')
    op.drop_table('timers')
