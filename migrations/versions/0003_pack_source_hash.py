"""packs.source_hash: the fingerprint of the file a pack was imported from.

An import recognises an unchanged pack file by it without parsing or validating the file
(bot/packs/source.py). Existing packs start with NULL and get it at their next import.

The downgrade drops the column in place (ALTER TABLE ... DROP COLUMN, SQLite 3.35 or newer).
A batch copy of `packs` on SQLite would drop the old table, and with foreign keys on that
would delete every item through items.pack_id's ON DELETE CASCADE.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('packs', sa.Column('source_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column('packs', 'source_hash')
