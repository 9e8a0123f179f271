"""classes: assignments of packs to group chats, class members, submissions, reminders sent.

A class is a group chat; quiz runs remember the assignment they were started for (no foreign
key: see the upgrade).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 10:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "assignments",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("pack_id", BIG_ID, nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("created_by", BIG_ID, nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late", sa.String(length=8), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("summary_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("late IN ('accept', 'close')", name=op.f("ck_assignments_late")),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_assignments_chat_id_chats"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["pack_id"], ["packs.id"], name=op.f("fk_assignments_pack_id_packs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_assignments_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
        sa.UniqueConstraint("token", name=op.f("uq_assignments_token")),
    )
    op.create_index("ix_assignments_chat_id", "assignments", ["chat_id"], unique=False)
    op.create_table(
        "class_members",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("muted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.id"],
            name=op.f("fk_class_members_chat_id_chats"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_class_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chat_id", "user_id", name=op.f("pk_class_members")),
    )
    op.create_table(
        "submissions",
        sa.Column("assignment_id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("run_id", BIG_ID, nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("correct", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("seconds_ms", sa.BigInteger(), nullable=False),
        sa.Column("late", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_submissions_assignment_id_assignments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_submissions_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["quiz_runs.id"],
            name=op.f("fk_submissions_run_id_quiz_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("assignment_id", "user_id", name=op.f("pk_submissions")),
    )
    op.create_table(
        "reminders_sent",
        sa.Column("assignment_id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_reminders_sent_assignment_id_assignments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_reminders_sent_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("assignment_id", "user_id", "day", name=op.f("pk_reminders_sent")),
    )
    # In place, with no foreign key: a batch copy of quiz_runs would, with foreign keys on,
    # cascade-delete its attempts (see 0006), and SQLite cannot drop a column that is in one.
    op.add_column("quiz_runs", sa.Column("assignment_id", BIG_ID, nullable=True))
    op.create_index(op.f("ix_quiz_runs_assignment_id"), "quiz_runs", ["assignment_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_quiz_runs_assignment_id"), table_name="quiz_runs")
    op.drop_column("quiz_runs", "assignment_id")
    op.drop_table("reminders_sent")
    op.drop_table("submissions")
    op.drop_table("class_members")
    op.drop_index("ix_assignments_chat_id", table_name="assignments")
    op.drop_table("assignments")
