"""Initial schema: users, chats, packs, items, runs, attempts, totals, review cards, roles.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 12:42:01.957444
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('chats',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=256), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chats'))
    )
    op.create_table('totals_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('week_rolled_through', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_totals_state'))
    )
    op.create_table('users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('telegram_id', sa.BigInteger(), nullable=True),
    sa.Column('local_name', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('hidden', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('local_name', name=op.f('uq_users_local_name')),
    sa.UniqueConstraint('telegram_id', name=op.f('uq_users_telegram_id'))
    )
    op.create_table('packs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('slug', sa.String(length=48), nullable=False),
    sa.Column('title', sa.String(length=256), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('article_name', sa.String(length=512), nullable=False),
    sa.Column('article_text', sa.Text(), nullable=False),
    sa.Column('article_hash', sa.String(length=64), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'hidden', 'retired')", name=op.f('ck_packs_status')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_packs_owner_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_packs')),
    sa.UniqueConstraint('slug', name=op.f('uq_packs_slug'))
    )
    op.create_table('roles',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('granted_by', sa.BigInteger(), nullable=True),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('instructor')", name=op.f('ck_roles_role')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_roles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role', name=op.f('pk_roles'))
    )
    op.create_table('score_totals',
    sa.Column('scope', sa.String(length=48), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('correct', sa.Integer(), nullable=False),
    sa.Column('seconds_ms', sa.BigInteger(), nullable=False),
    sa.Column('reached_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("period IN ('all', 'week')", name=op.f('ck_score_totals_period')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_score_totals_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('scope', 'period', 'user_id', name=op.f('pk_score_totals'))
    )
    # The ranking order (more points, fewer seconds, earlier): top-N and rank read this index.
    op.create_index(
        'ix_score_totals_rank',
        'score_totals',
        ['scope', 'period', sa.text('points DESC'), 'seconds_ms', 'reached_at', 'user_id'],
    )
    op.create_table('items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('pack_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('retired', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pack_id'], ['packs.id'], name=op.f('fk_items_pack_id_packs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items')),
    sa.UniqueConstraint('pack_id', 'key', name=op.f('uq_items_pack_id_key'))
    )
    op.create_table('quiz_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('pack_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('item_order', sa.JSON(), nullable=False),
    sa.Column('option_orders', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('selected', sa.JSON(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('poll_id', sa.String(length=64), nullable=True),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('correct', sa.Integer(), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('private', 'group', 'terminal')", name=op.f('ck_quiz_runs_kind')),
    sa.CheckConstraint("phase IN ('asking', 'answered')", name=op.f('ck_quiz_runs_phase')),
    sa.CheckConstraint("status IN ('lobby', 'active', 'finished', 'stopped')", name=op.f('ck_quiz_runs_status')),
    sa.ForeignKeyConstraint(['chat_id'], ['chats.id'], name=op.f('fk_quiz_runs_chat_id_chats'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pack_id'], ['packs.id'], name=op.f('fk_quiz_runs_pack_id_packs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_quiz_runs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_runs')),
    sa.UniqueConstraint('poll_id', name=op.f('uq_quiz_runs_poll_id'))
    )
    with op.batch_alter_table('quiz_runs', schema=None) as batch_op:
        batch_op.create_index('ix_quiz_runs_chat_status', ['chat_id', 'status'], unique=False)
        batch_op.create_index('ix_quiz_runs_status_deadline', ['status', 'deadline_at'], unique=False)
        batch_op.create_index('ix_quiz_runs_user_pack_status', ['user_id', 'pack_id', 'status'], unique=False)

    op.create_table('attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('pack_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('response', sa.Text(), nullable=True),
    sa.Column('correct', sa.Boolean(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['chat_id'], ['chats.id'], name=op.f('fk_attempts_chat_id_chats'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_attempts_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pack_id'], ['packs.id'], name=op.f('fk_attempts_pack_id_packs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['quiz_runs.id'], name=op.f('fk_attempts_run_id_quiz_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_attempts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempts')),
    sa.UniqueConstraint('run_id', 'item_id', 'user_id', name=op.f('uq_attempts_run_id_item_id_user_id'))
    )
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_index('ix_attempts_answered_at', ['answered_at'], unique=False)
        batch_op.create_index('ix_attempts_item', ['item_id'], unique=False)
        batch_op.create_index('ix_attempts_user_answered_at', ['user_id', 'answered_at'], unique=False)

    op.create_table('review_cards',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviews', sa.Integer(), nullable=False),
    sa.Column('lapses', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_review_cards_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_review_cards_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'item_id', name=op.f('pk_review_cards'))
    )
    with op.batch_alter_table('review_cards', schema=None) as batch_op:
        batch_op.create_index('ix_review_cards_user_due', ['user_id', 'due_at'], unique=False)

    op.create_table('run_players',
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['quiz_runs.id'], name=op.f('fk_run_players_run_id_quiz_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_run_players_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'user_id', name=op.f('pk_run_players'))
    )


def downgrade() -> None:
    op.drop_table('run_players')
    with op.batch_alter_table('review_cards', schema=None) as batch_op:
        batch_op.drop_index('ix_review_cards_user_due')

    op.drop_table('review_cards')
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_attempts_user_answered_at')
        batch_op.drop_index('ix_attempts_item')
        batch_op.drop_index('ix_attempts_answered_at')

    op.drop_table('attempts')
    with op.batch_alter_table('quiz_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_runs_user_pack_status')
        batch_op.drop_index('ix_quiz_runs_status_deadline')
        batch_op.drop_index('ix_quiz_runs_chat_status')

    op.drop_table('quiz_runs')
    op.drop_table('items')
    op.drop_index('ix_score_totals_rank', table_name='score_totals')
    op.drop_table('score_totals')
    op.drop_table('roles')
    op.drop_table('packs')
    op.drop_table('users')
    op.drop_table('totals_state')
    op.drop_table('chats')
