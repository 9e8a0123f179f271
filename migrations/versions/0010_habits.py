"""habits: review reminders and leeches (issue 16, the habit loop).

users.remind_at: the local time ``HH:MM`` of the daily review reminder (None: off);
users.remind_offered: the bot has offered /remind once (after the first finished run).
review_cards.review_misses: misses of the item in review runs; review_cards.leech_at: when
the item became a leech (missed 4 times in review) and left the student's reviews.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("remind_at", sa.String(length=5), nullable=True))
    op.add_column(
        "users",
        sa.Column(
            "remind_offered", sa.Boolean(), nullable=False, server_default=sa.text("false")
        ),
    )
    op.add_column(
        "review_cards",
        sa.Column("review_misses", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.add_column("review_cards", sa.Column("leech_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # In place (SQLite 3.35+), not a batch copy: see 0006.
    op.drop_column("review_cards", "leech_at")
    op.drop_column("review_cards", "review_misses")
    op.drop_column("users", "remind_offered")
    op.drop_column("users", "remind_at")
