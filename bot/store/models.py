"""SQLAlchemy 2 typed models. Alembic migrations in ``migrations/`` are the only way the schema
changes; ``tests/test_migrations.py`` proves the two agree on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A 64-bit key that is still SQLite's auto-incrementing INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend. SQLite has no time zones, so values are
    stored there as naive UTC and come back aware; a naive value is a bug and is refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: UtcDateTime(),
    }


class User(Base):
    """A person: a Telegram user, or a local player of ``quizbot play`` (no Telegram id)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    local_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    username: Mapped[str | None] = mapped_column(String(64))
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    language: Mapped[str | None] = mapped_column(String(8))
    """The language chosen with /language (None: follow Telegram's language_code)."""
    timezone: Mapped[str | None] = mapped_column(String(64))
    """The zone chosen with /timezone (bot/quiz/zones.py; None: UTC, and the bot says so)."""
    remind_at: Mapped[str | None] = mapped_column(String(5))
    """The local time ``HH:MM`` of the daily review reminder (/remind; None: off)."""
    remind_offered: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    """The bot has offered /remind (once, after the first finished run)."""
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class Chat(Base):
    """A Telegram chat (the id is Telegram's: negative for groups)."""

    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(256))
    language: Mapped[str | None] = mapped_column(String(8))
    """The language a group admin chose with /language (None: English)."""
    timezone: Mapped[str | None] = mapped_column(String(64))
    """A group's (a class's) zone, set with /timezone or /assign (None: UTC)."""
    created_at: Mapped[datetime]


class PackRow(Base):
    """A published pack; the article text is kept so that ``/read`` needs no file."""

    __tablename__ = "packs"
    __table_args__ = (CheckConstraint("status IN ('active', 'hidden', 'retired')", name="status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(48), unique=True)
    title: Mapped[str] = mapped_column(String(256))
    language: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    article_name: Mapped[str] = mapped_column(String(512))
    article_text: Mapped[str] = mapped_column(Text)
    article_hash: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    source_hash: Mapped[str | None] = mapped_column(String(64))
    """The fingerprint of the pack file this row holds, unparsed (``bot.packs.source``); NULL
    when the pack came from elsewhere (an upload) or its file had warnings."""
    settings: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="active")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ItemRow(Base):
    """One item of a pack, matched across edits by its ``key`` (the item id in YAML)."""

    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("pack_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pack_id: Mapped[int] = mapped_column(ForeignKey("packs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class QuizRun(Base):
    """One pass through a pack: by a user in a private chat or a terminal, or by a group."""

    __tablename__ = "quiz_runs"
    __table_args__ = (
        CheckConstraint("kind IN ('private', 'group', 'terminal')", name="kind"),
        CheckConstraint("status IN ('lobby', 'active', 'finished', 'stopped')", name="status"),
        CheckConstraint("phase IN ('asking', 'answered')", name="phase"),
        Index("ix_quiz_runs_user_pack_status", "user_id", "pack_id", "status"),
        Index("ix_quiz_runs_chat_status", "chat_id", "status"),
        Index("ix_quiz_runs_status_deadline", "status", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16), default="full")
    chat_id: Mapped[int | None] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    pack_id: Mapped[int] = mapped_column(ForeignKey("packs.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    item_order: Mapped[list[Any]]
    option_orders: Mapped[dict[str, Any]]
    position: Mapped[int] = mapped_column(Integer, default=0)
    phase: Mapped[str] = mapped_column(String(16), default="asking")
    selected: Mapped[list[Any]] = mapped_column(JSON, default=list)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    poll_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    asked_at: Mapped[datetime | None]
    deadline_at: Mapped[datetime | None]
    score: Mapped[int] = mapped_column(Integer, default=0)
    correct: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    assignment_id: Mapped[int | None] = mapped_column(BigId, index=True)
    """The assignment (``assignments.id``) a run was started for through its Start link.
    No foreign key: adding one to quiz_runs on SQLite means copying the table (migration
    0011); an assignment is only ever removed with its chat or pack."""


class RunPlayer(Base):
    """A player who joined a group game."""

    __tablename__ = "run_players"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("quiz_runs.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    joined_at: Mapped[datetime]


class Attempt(Base):
    """One answer to one item in one run by one user: recorded exactly once."""

    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("run_id", "item_id", "user_id"),
        Index("ix_attempts_item", "item_id"),
        Index("ix_attempts_user_answered_at", "user_id", "answered_at"),
        Index("ix_attempts_answered_at", "answered_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("quiz_runs.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    chat_id: Mapped[int | None] = mapped_column(ForeignKey("chats.id", ondelete="SET NULL"))
    pack_id: Mapped[int] = mapped_column(ForeignKey("packs.id", ondelete="CASCADE"))
    response: Mapped[str | None] = mapped_column(Text)
    correct: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[int] = mapped_column(Integer)
    """Points in thousandths (1000 = one full point), so sums stay exact."""
    answered_at: Mapped[datetime]
    latency_ms: Mapped[int] = mapped_column(Integer)


class ScoreTotal(Base):
    """Running totals that leaderboards read, kept up to date by every recorded attempt.

    ``scope`` is ``g`` (global), ``c:<chat>``, ``p:<pack>`` or ``cp:<chat>:<pack>``; ``period``
    is ``all`` or ``week`` (the last seven days, maintained by :mod:`bot.store.totals`).
    """

    __tablename__ = "score_totals"
    __table_args__ = (
        CheckConstraint("period IN ('all', 'week')", name="period"),
        Index(
            "ix_score_totals_rank",
            "scope",
            "period",
            text("points DESC"),
            "seconds_ms",
            "reached_at",
            "user_id",
        ),
        # Counting the players ahead of a caller (their rank) reads this narrower index.
        Index("ix_score_totals_points", "scope", "period", "points"),
    )

    scope: Mapped[str] = mapped_column(String(48), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    points: Mapped[int] = mapped_column(BigInteger)
    answered: Mapped[int] = mapped_column(Integer)
    correct: Mapped[int] = mapped_column(Integer)
    seconds_ms: Mapped[int] = mapped_column(BigInteger)
    reached_at: Mapped[datetime]


BUCKET_POINTS = 1000
"""Thousandths per score bucket: one whole point."""

BUCKET_SHARDS = 16
"""Rows per score bucket: a player counts in shard ``user_id % 16`` of theirs."""

TIE_BAND_MS = 1000
"""Milliseconds of total answer time per band of :class:`ScoreTie`."""


class ScoreBucket(Base):
    """How many players of a board have a score in each bucket (``points / 1000``): a
    caller's rank adds up the buckets above theirs instead of counting every player ahead.

    Each bucket is split into :data:`BUCKET_SHARDS` rows by user id, so that answers by
    different players on one board rarely update the same row (one row per bucket made every
    answer on a pack wait for the others on PostgreSQL). Kept by database triggers on
    ``score_totals`` (migrations 0004, 0008), so every write to the totals (an answer, the
    seven-day roll, a bulk load) keeps them right.
    """

    __tablename__ = "score_buckets"

    scope: Mapped[str] = mapped_column(String(48), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    players: Mapped[int] = mapped_column(Integer)


class ScoreTie(Base):
    """How many players of a board have exactly ``points`` and a total answer time in
    ``band`` (``seconds_ms / 1000``): players tied on points are ranked by answer time, and a
    caller's rank among them adds up the faster bands instead of counting every tied player.
    Kept by the same triggers as :class:`ScoreBucket` (migration 0008)."""

    __tablename__ = "score_ties"

    scope: Mapped[str] = mapped_column(String(48), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    points: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    band: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    players: Mapped[int] = mapped_column(Integer)


class TotalsState(Base):
    """Book-keeping for the seven-day totals: the last day already subtracted from them."""

    __tablename__ = "totals_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    week_rolled_through: Mapped[date | None] = mapped_column(Date)


class ReviewCard(Base):
    """Spaced-repetition state of one item for one user (an FSRS card)."""

    __tablename__ = "review_cards"
    __table_args__ = (Index("ix_review_cards_user_due", "user_id", "due_at"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[dict[str, Any]]
    due_at: Mapped[datetime]
    reviews: Mapped[int] = mapped_column(Integer, default=0)
    lapses: Mapped[int] = mapped_column(Integer, default=0)
    review_misses: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    """Misses of the item in review runs (a leech at :data:`bot.quiz.review.LEECH_MISSES`)."""
    leech_at: Mapped[datetime | None]
    """When the item became a leech: suspended from this student's reviews from then on."""
    updated_at: Mapped[datetime]


class Role(Base):
    """A role granted to a Telegram user (``instructor``); admins come from the settings."""

    __tablename__ = "roles"
    __table_args__ = (CheckConstraint("role IN ('instructor')", name="role"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted_by: Mapped[int | None] = mapped_column(BigInteger)
    granted_at: Mapped[datetime]


class PendingUpload(Base):
    """A pack sent to the bot and checked, waiting for its uploader to tap Publish. Kept in
    the database, not in one process's memory, so that Publish works after a restart and on
    any webhook worker; it expires after 30 minutes."""

    __tablename__ = "pending_uploads"
    __table_args__ = (Index("ix_pending_uploads_telegram_id", "telegram_id"),)

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    file_name: Mapped[str] = mapped_column(String(256))
    pack: Mapped[dict[str, Any]]
    """The validated pack (``Pack.model_dump(mode="json")``)."""
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Timer(Base):
    """A deadline any worker can act on: a group question closing, a lobby starting by itself,
    and later reminders and assignment deadlines. ``kind`` says which adapter handler runs it,
    ``key`` names it (setting a timer again replaces it), ``payload`` carries its arguments.

    A worker *claims* a due timer (a conditional UPDATE that sets a fresh ``claim`` and a lease
    in ``claimed_until``) before it acts, so each timer acts once; a worker that dies holding a
    claim lets it lapse, and another worker takes the timer over (bot/quiz/timers.py)."""

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due_at", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128), unique=True)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("quiz_runs.id", ondelete="CASCADE"), index=True
    )
    payload: Mapped[dict[str, Any]]
    due_at: Mapped[datetime]
    claim: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None]
    tries: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class Assignment(Base):
    """A pack given to a class (a group chat, ``chat_id``) by an instructor, with an optional
    deadline (``due_at``) and what happens to runs finished after it (``late``: ``accept``
    marks them late, ``close`` refuses them). ``token`` is the unguessable part of its Start
    link; ``message_id`` the group message that shows its progress (edited, not reposted)."""

    __tablename__ = "assignments"
    __table_args__ = (
        CheckConstraint("late IN ('accept', 'close')", name="late"),
        Index("ix_assignments_chat_id", "chat_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    pack_id: Mapped[int] = mapped_column(ForeignKey("packs.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(32), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    due_at: Mapped[datetime | None]
    late: Mapped[str] = mapped_column(String(8))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    summary_at: Mapped[datetime | None]
    """When the progress message was last edited (edits are rate-limited)."""
    created_at: Mapped[datetime]


class ClassMember(Base):
    """A student of a class: someone who opened one of its Start links, or whom the bot saw
    post in the group (Telegram gives bots no member list). ``muted``: no reminders."""

    __tablename__ = "class_members"

    chat_id: Mapped[int] = mapped_column(
        ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(8))
    """``link`` (opened a Start link) or ``seen`` (posted in the group)."""
    muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    joined_at: Mapped[datetime]


class Submission(Base):
    """One student's progress on one assignment: started through its link (``started_at``),
    then the first run they finished through it (``run_id`` and its results), on time or
    ``late``. Later runs never replace it."""

    __tablename__ = "submissions"

    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    run_id: Mapped[int | None] = mapped_column(ForeignKey("quiz_runs.id", ondelete="SET NULL"))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    score: Mapped[int] = mapped_column(Integer, default=0)
    """Thousandths of a point."""
    correct: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    seconds_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class ReminderSent(Base):
    """A reminder claimed for one student on one assignment on one local day: at most one a
    day, and never twice, whichever worker sends it."""

    __tablename__ = "reminders_sent"

    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sent_at: Mapped[datetime]
