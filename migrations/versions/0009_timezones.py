"""timezones: the /timezone choice of a user and of a group chat (a class).

Nullable: None means "not set", and the bot then uses UTC and says so; it guesses nothing.
Stored as text: an IANA name or a fixed offset ``UTC+03:00`` (bot/quiz/zones.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("timezone", sa.String(length=64), nullable=True))
    op.add_column("chats", sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # In place (SQLite 3.35+), not a batch copy: see 0006.
    op.drop_column("chats", "timezone")
    op.drop_column("users", "timezone")
