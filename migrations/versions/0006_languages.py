"""languages: the /language choice of a user and of a group chat.

Nullable: None means "not chosen" (a user then gets Telegram's language_code when the bot
ships it, a group English), so existing rows need no value.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 05:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('users', sa.Column('language', sa.String(length=8), nullable=True))
    op.add_column('chats', sa.Column('language', sa.String(length=8), nullable=True))


def downgrade() -> None:
    # In place (SQLite 3.35+), not a batch copy: copying users would, with foreign keys on,
    # cascade-delete everything that references them (see 0003).
    op.drop_column('chats', 'language')
    op.drop_column('users', 'language')
