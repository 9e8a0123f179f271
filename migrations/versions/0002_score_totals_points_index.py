"""A narrow (scope, period, points) index on score_totals, for counting the players ahead.

A caller's rank counts the players with more points: an index range as long as the rank.
On the rank index each entry carries the tie-breaks too; on this one PostgreSQL's B-tree
deduplication stores one entry per score, so the count reads a tenth of the pages
(`quizbot bench`: about three times faster with 100,000 players).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:45:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_score_totals_points', 'score_totals', ['scope', 'period', 'points'])


def downgrade() -> None:
    op.drop_index('ix_score_totals_points', table_name='score_totals')
