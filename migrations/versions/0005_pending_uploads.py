"""pending_uploads: checked pack uploads waiting for Publish, in the database.

Before this, a checked upload waited in one process's memory: a restart, or Publish reaching
another webhook worker, lost it. Rows expire after 30 minutes (bot/quiz/uploads.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op



revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'pending_uploads',
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('telegram_id', sa.BigInteger(), nullable=False),
        sa.Column('file_name', sa.String(length=256), nullable=False),
        sa.Column('pack', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('token', name=op.f('pk_pending_uploads')),
    )
    op.create_index(
        op.f('ix_pending_uploads_telegram_id'), 'pending_uploads', ['telegram_id'], unique=False
    )
    op.create_index(
        op.f('ix_pending_uploads_expires_at'), 'pending_uploads', ['expires_at'], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_pending_uploads_expires_at'), table_name='pending_uploads')
    op.drop_index(op.f('ix_pending_uploads_telegram_id'), table_name='pending_uploads')
    op.drop_table('pending_uploads')
