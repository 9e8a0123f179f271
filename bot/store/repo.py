"""Repository functions. Each takes a session and never commits: the caller owns the
transaction (one per update)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Integer,
    String,
    Table,
    bindparam,
    case,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import (
    Attempt,
    Chat,
    PackRow,
    QuizRun,
    Role,
    ScoreTotal,
    TotalsState,
    User,
    UtcDateTime,
)

WEEK_DAYS = 7


def utcnow() -> datetime:
    return datetime.now(UTC)


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """The dialect's INSERT (both SQLite and PostgreSQL have ON CONFLICT)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


# --------------------------------------------------------------------------- users and chats


# The upserts on the answer path are text statements: SQLAlchemy 2.0 never caches the
# dialects' INSERT ... ON CONFLICT constructs (their Insert classes set inherit_cache = False),
# so building them with sqlite.insert()/postgresql.insert() compiled them anew on every answer.
# The SQL is the same on SQLite and PostgreSQL; datetimes keep their UtcDateTime processing.
_UPSERT_TELEGRAM_USER = (
    text(
        "INSERT INTO users (telegram_id, name, username, hidden, active, created_at, last_seen_at) "
        "VALUES (:telegram_id, :name, :username, false, true, :now, :now) "
        "ON CONFLICT (telegram_id) DO UPDATE SET name = excluded.name, "
        "username = excluded.username, active = true, last_seen_at = excluded.last_seen_at "
        "RETURNING id"
    )
    .bindparams(bindparam("now", type_=UtcDateTime()))
    .columns(id=BigInteger())
)


async def upsert_telegram_user(
    session: AsyncSession,
    telegram_id: int,
    name: str,
    username: str | None,
    now: datetime,
) -> int:
    """Create or refresh a Telegram user; returns the user's id. A user who comes back after
    blocking the bot is active again."""
    params = {"telegram_id": telegram_id, "name": name[:128], "username": username, "now": now}
    return int((await session.execute(_UPSERT_TELEGRAM_USER, params)).scalar_one())


_UPSERT_LOCAL_USER = (
    text(
        "INSERT INTO users (local_name, name, hidden, active, created_at, last_seen_at) "
        "VALUES (:local_name, :name, false, true, :now, :now) "
        "ON CONFLICT (local_name) DO UPDATE SET last_seen_at = excluded.last_seen_at "
        "RETURNING id"
    )
    .bindparams(bindparam("now", type_=UtcDateTime()))
    .columns(id=BigInteger())
)


async def upsert_local_user(session: AsyncSession, local_name: str, now: datetime) -> int:
    """Create or find the terminal player called ``local_name``."""
    params = {"local_name": local_name[:64], "name": local_name[:128], "now": now}
    return int((await session.execute(_UPSERT_LOCAL_USER, params)).scalar_one())


async def user_id_for_telegram(session: AsyncSession, telegram_id: int) -> int | None:
    return (
        await session.execute(select(User.id).where(User.telegram_id == telegram_id))
    ).scalar_one_or_none()


async def set_user_active(session: AsyncSession, telegram_id: int, active: bool) -> None:
    await session.execute(update(User).where(User.telegram_id == telegram_id).values(active=active))


async def set_user_hidden(session: AsyncSession, user_id: int, hidden: bool) -> None:
    await session.execute(update(User).where(User.id == user_id).values(hidden=hidden))


async def is_hidden(session: AsyncSession, user_id: int) -> bool:
    return bool((await session.execute(select(User.hidden).where(User.id == user_id))).scalar_one())


async def upsert_chat(
    session: AsyncSession, chat_id: int, chat_type: str, title: str | None, now: datetime
) -> None:
    stmt = dialect_insert(session, Chat).values(
        id=chat_id, type=chat_type, title=(title or "")[:256] or None, created_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[Chat.id],
        set_={"type": stmt.excluded.type, "title": stmt.excluded.title},
    )
    await session.execute(stmt)


# --------------------------------------------------------------------------- attempts


@dataclass(frozen=True)
class NewAttempt:
    run_id: int
    item_id: int
    user_id: int
    chat_id: int | None
    pack_id: int
    response: str | None
    correct: bool
    score: int
    """Thousandths of a point."""
    latency_ms: int
    answered_at: datetime


def is_group_chat(chat_id: int | None) -> bool:
    """Telegram gives groups, supergroups and channels negative ids; a private chat's id is
    its user's (positive)."""
    return chat_id is not None and chat_id < 0


def scopes_for(chat_id: int | None, pack_id: int) -> list[str]:
    """Every leaderboard an attempt counts towards. Only group chats have a board of their
    own: ``/leaderboard`` in a private chat shows everyone's, so no private chat's totals are
    kept (they were half the rows an answer wrote)."""
    scopes = ["g", f"p:{pack_id}"]
    if is_group_chat(chat_id):
        scopes += [f"c:{chat_id}", f"cp:{chat_id}:{pack_id}"]
    return scopes


def scope_key(chat_id: int | None = None, pack_id: int | None = None) -> str:
    """The totals scope for a leaderboard: global, one chat, one pack, or a pack in a chat."""
    if chat_id is not None and pack_id is not None:
        return f"cp:{chat_id}:{pack_id}"
    if chat_id is not None:
        return f"c:{chat_id}"
    if pack_id is not None:
        return f"p:{pack_id}"
    return "g"


_INSERT_ATTEMPT = (
    text(
        "INSERT INTO attempts (run_id, item_id, user_id, chat_id, pack_id, response, correct, "
        "score, answered_at, latency_ms) VALUES (:run_id, :item_id, :user_id, :chat_id, :pack_id, "
        ":response, :correct, :score, :answered_at, :latency_ms) "
        "ON CONFLICT (run_id, item_id, user_id) DO NOTHING RETURNING id"
    )
    .bindparams(
        bindparam("correct", type_=Boolean()), bindparam("answered_at", type_=UtcDateTime())
    )
    .columns(id=BigInteger())
)

_ADD_TO_TOTALS = text(
    "INSERT INTO score_totals (scope, period, user_id, points, answered, correct, seconds_ms, "
    "reached_at) VALUES (:scope, :period, :user_id, :points, :answered, :correct, "
    ":seconds_ms, :reached_at) "
    "ON CONFLICT (scope, period, user_id) DO UPDATE SET "
    "points = score_totals.points + excluded.points, "
    "answered = score_totals.answered + excluded.answered, "
    "correct = score_totals.correct + excluded.correct, "
    "seconds_ms = score_totals.seconds_ms + excluded.seconds_ms, "
    # "Earlier" in the ranking means: reached the current score earlier.
    "reached_at = CASE WHEN excluded.points > 0 THEN excluded.reached_at "
    "ELSE score_totals.reached_at END"
).bindparams(bindparam("reached_at", type_=UtcDateTime()))


async def record_attempt(session: AsyncSession, attempt: NewAttempt, counts: bool = True) -> bool:
    """Store an attempt exactly once per (run, item, user) and, when it ``counts`` (not a
    practice run), add it to every score total, in the caller's transaction. Returns False,
    changing nothing, when it was already recorded (a double tap, a retried update, a
    concurrent duplicate)."""
    params = {
        "run_id": attempt.run_id,
        "item_id": attempt.item_id,
        "user_id": attempt.user_id,
        "chat_id": attempt.chat_id,
        "pack_id": attempt.pack_id,
        "response": attempt.response,
        "correct": attempt.correct,
        "score": attempt.score,
        "answered_at": attempt.answered_at,
        "latency_ms": attempt.latency_ms,
    }
    if (await session.execute(_INSERT_ATTEMPT, params)).first() is None:
        return False
    if counts:
        await add_to_totals(session, [attempt])
    return True


async def add_to_totals(session: AsyncSession, attempts: Sequence[NewAttempt]) -> None:
    """Add attempts to the all-time and seven-day totals of every scope (one executemany).

    Rows are written in a fixed (scope, period, user) order so that concurrent transactions
    on PostgreSQL lock them in the same order and cannot deadlock.
    """
    rows: dict[tuple[str, str, int], dict[str, Any]] = {}
    for attempt in attempts:
        for scope in scopes_for(attempt.chat_id, attempt.pack_id):
            for period in ("all", "week"):
                key = (scope, period, attempt.user_id)
                row = rows.get(key)
                if row is None:
                    rows[key] = {
                        "scope": scope,
                        "period": period,
                        "user_id": attempt.user_id,
                        "points": attempt.score,
                        "answered": 1,
                        "correct": int(attempt.correct),
                        "seconds_ms": attempt.latency_ms,
                        "reached_at": attempt.answered_at,
                    }
                else:
                    row["points"] += attempt.score
                    row["answered"] += 1
                    row["correct"] += int(attempt.correct)
                    row["seconds_ms"] += attempt.latency_ms
                    if attempt.score > 0:
                        row["reached_at"] = max(row["reached_at"], attempt.answered_at)
    if not rows:
        return
    await session.execute(_ADD_TO_TOTALS, [rows[k] for k in sorted(rows)])


# --------------------------------------------------------------------------- leaderboards


@dataclass(frozen=True)
class Standing:
    rank: int
    user_id: int
    name: str
    hidden: bool
    points: int
    """Thousandths of a point."""
    correct: int
    answered: int
    seconds_ms: int


_ORDER = (
    ScoreTotal.points.desc(),
    ScoreTotal.seconds_ms.asc(),
    ScoreTotal.reached_at.asc(),
    ScoreTotal.user_id.asc(),
)


_TOP = (
    select(
        ScoreTotal.user_id,
        User.name,
        User.hidden,
        ScoreTotal.points,
        ScoreTotal.correct,
        ScoreTotal.answered,
        ScoreTotal.seconds_ms,
    )
    .join(User, User.id == ScoreTotal.user_id)
    .where(ScoreTotal.scope == bindparam("scope"), ScoreTotal.period == bindparam("period"))
    .order_by(*_ORDER)
    .limit(bindparam("limit"))
)


async def top_standings(
    session: AsyncSession, scope: str, period: str, limit: int = 10
) -> list[Standing]:
    """The first ``limit`` players of a leaderboard (an index scan, whatever the history)."""
    rows = (await session.execute(_TOP, {"scope": scope, "period": period, "limit": limit})).all()
    return [
        Standing(n, r.user_id, r.name, r.hidden, r.points, r.correct, r.answered, r.seconds_ms)
        for n, r in enumerate(rows, start=1)
    ]


_PLAYERS = text(
    "SELECT COALESCE(SUM(players), 0) AS players FROM score_buckets "
    "WHERE scope = :scope AND period = :period"
).columns(players=Integer())


async def count_players(session: AsyncSession, scope: str, period: str) -> int:
    """Players on a board: the sum of its score buckets."""
    row = (await session.execute(_PLAYERS, {"scope": scope, "period": period})).one()
    return int(row.players)


STANDING = text(
    "SELECT mine.points, mine.correct, mine.answered, mine.seconds_ms, users.name, "
    "users.hidden, "
    # Players in higher buckets (one bucket per whole point, in shards; score_buckets)...
    "COALESCE((SELECT SUM(b.players) FROM score_buckets b WHERE b.scope = mine.scope "
    "AND b.period = mine.period AND b.bucket > mine.points / 1000), 0) AS above, "
    # ...with more points in the caller's bucket (score_ties: players per exact score)...
    "COALESCE((SELECT SUM(t.players) FROM score_ties t WHERE t.scope = mine.scope "
    "AND t.period = mine.period AND t.points > mine.points "
    "AND t.points < (mine.points / 1000 + 1) * 1000), 0) AS ahead, "
    # ...with the same points and a faster band of answer time (one second each)...
    "COALESCE((SELECT SUM(t.players) FROM score_ties t WHERE t.scope = mine.scope "
    "AND t.period = mine.period AND t.points = mine.points "
    "AND t.band < mine.seconds_ms / 1000), 0) AS faster, "
    # ...and in the caller's own band, ahead on the tie-breaks (fewer ms, earlier, lower id).
    "(SELECT count(*) FROM score_totals o WHERE o.scope = mine.scope "
    "AND o.period = mine.period AND o.points = mine.points "
    "AND o.seconds_ms >= mine.seconds_ms / 1000 * 1000 "
    "AND (o.seconds_ms, o.reached_at, o.user_id) < (mine.seconds_ms, mine.reached_at, "
    "mine.user_id)) AS tied "
    "FROM score_totals mine JOIN users ON users.id = mine.user_id "
    "WHERE mine.scope = :scope AND mine.period = :period AND mine.user_id = :user_id"
).columns(
    points=BigInteger(),
    correct=Integer(),
    answered=Integer(),
    seconds_ms=BigInteger(),
    name=String(),
    hidden=Boolean(),
    above=BigInteger(),
    ahead=BigInteger(),
    faster=BigInteger(),
    tied=BigInteger(),
)
"""A player's row and rank (parameters: scope, period, user_id); quizbot bench times it."""


async def standing_of(
    session: AsyncSession, scope: str, period: str, user_id: int
) -> Standing | None:
    """One player's row and rank: 1 + the players ranked ahead, which :data:`STANDING`
    counts from the players in higher score buckets, then those with more points in the
    caller's own bucket, then those tied on points in faster one-second bands, then those
    ahead in the caller's own band: however far down the board and however many players share
    the caller's score, a few hundred counter rows and one short index range."""
    params = {"scope": scope, "period": period, "user_id": user_id}
    found = (await session.execute(STANDING, params)).first()
    if found is None:
        return None
    points, correct, answered, seconds_ms, name, hidden, above, ahead, faster, tied = found
    return Standing(
        rank=1 + int(above) + int(ahead) + int(faster) + int(tied),
        user_id=user_id,
        name=name,
        hidden=bool(hidden),
        points=points,
        correct=correct,
        answered=answered,
        seconds_ms=seconds_ms,
    )


# --------------------------------------------------------------------------- the 7-day window


def window_start(today: date) -> date:
    """The first day of the seven-day window that ends today (UTC days)."""
    return today - timedelta(days=WEEK_DAYS - 1)


async def roll_week(session: AsyncSession, today: date) -> date:
    """Subtract from the seven-day totals every day that has left the window; idempotent.

    The state row is locked first (``FOR UPDATE`` on PostgreSQL; SQLite transactions are
    already exclusive), so two workers never subtract the same day twice. Returns the last
    day now subtracted through.
    """
    through = window_start(today) - timedelta(days=1)
    state = (
        await session.execute(select(TotalsState).where(TotalsState.id == 1).with_for_update())
    ).scalar_one_or_none()
    if state is None:
        first = (await session.execute(select(func.min(Attempt.answered_at)))).scalar()
        start = (first.date() - timedelta(days=1)) if first is not None else through
        state = TotalsState(id=1, week_rolled_through=min(start, through))
        session.add(state)
        await session.flush()
    done = state.week_rolled_through or through
    if done >= through:
        return done
    lower = datetime.combine(done + timedelta(days=1), datetime.min.time(), UTC)
    upper = datetime.combine(through + timedelta(days=1), datetime.min.time(), UTC)
    old = (
        await session.execute(
            select(
                Attempt.user_id,
                Attempt.chat_id,
                Attempt.pack_id,
                func.sum(Attempt.score),
                func.count(),
                func.sum(case((Attempt.correct, 1), else_=0)),
                func.sum(Attempt.latency_ms),
            )
            .where(Attempt.answered_at >= lower, Attempt.answered_at < upper)
            .group_by(Attempt.user_id, Attempt.chat_id, Attempt.pack_id)
        )
    ).all()
    minus: dict[tuple[str, int], list[int]] = {}
    for user_id, chat_id, pack_id, points, answered, correct, ms in old:
        for scope in scopes_for(chat_id, pack_id):
            acc = minus.setdefault((scope, user_id), [0, 0, 0, 0])
            acc[0] += int(points or 0)
            acc[1] += int(answered)
            acc[2] += int(correct or 0)
            acc[3] += int(ms or 0)
    table = cast(Table, ScoreTotal.__table__)
    if minus:
        await session.execute(
            update(table)
            .where(
                table.c.scope == bindparam("b_scope"),
                table.c.period == "week",
                table.c.user_id == bindparam("b_uid"),
            )
            .values(
                points=table.c.points - bindparam("b_points"),
                answered=table.c.answered - bindparam("b_answered"),
                correct=table.c.correct - bindparam("b_correct"),
                seconds_ms=table.c.seconds_ms - bindparam("b_ms"),
            ),
            [
                {
                    "b_scope": s,
                    "b_uid": u,
                    "b_points": p,
                    "b_answered": a,
                    "b_correct": c,
                    "b_ms": m,
                }
                for (s, u), (p, a, c, m) in sorted(minus.items())
            ],
        )
        await session.execute(table.delete().where(table.c.period == "week", table.c.answered <= 0))
    state.week_rolled_through = through
    await session.flush()
    return through


# --------------------------------------------------------------------------- stats


@dataclass(frozen=True)
class PackStats:
    pack_id: int
    slug: str
    title: str
    answered: int
    correct: int
    points: int
    best_run: int | None
    """Best finished run's score in thousandths, or None before the first finished run."""
    best_run_items: int | None
    skipped: int = 0
    """Of ``answered``: the questions skipped (they count as missed)."""

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0

    @property
    def responded(self) -> int:
        """Questions answered, not skipped."""
        return self.answered - self.skipped


async def user_pack_stats(session: AsyncSession, user_id: int) -> list[PackStats]:
    """Per pack: answered, skipped, correct, accuracy and the best finished run (streaks are
    counted across packs in the player's local days: bot/quiz/habits.py)."""
    totals = (
        await session.execute(
            select(
                ScoreTotal.scope, ScoreTotal.answered, ScoreTotal.correct, ScoreTotal.points
            ).where(
                ScoreTotal.user_id == user_id,
                ScoreTotal.period == "all",
                ScoreTotal.scope.like("p:%"),
            )
        )
    ).all()
    if not totals:
        return []
    by_pack = {
        int(scope[2:]): (answered, correct, points) for scope, answered, correct, points in totals
    }
    packs = {
        p.id: p
        for p in (
            await session.execute(select(PackRow).where(PackRow.id.in_(list(by_pack))))
        ).scalars()
    }
    items = func.json_array_length(QuizRun.item_order)
    own_runs = select(QuizRun.pack_id, QuizRun.score, items).where(
        QuizRun.user_id == user_id,
        QuizRun.status == "finished",
        QuizRun.mode == "full",
        QuizRun.kind != "group",  # a group run's own row is its host's, with no score
    )
    # In a finished group game, a player's run is their own points in it.
    game_runs = (
        select(QuizRun.pack_id, func.sum(Attempt.score), func.max(items))
        .join(Attempt, Attempt.run_id == QuizRun.id)
        .where(
            Attempt.user_id == user_id,
            QuizRun.kind == "group",
            QuizRun.status == "finished",
            QuizRun.mode == "full",
        )
        .group_by(QuizRun.id, QuizRun.pack_id)
    )
    best: dict[int, tuple[int, int]] = {}
    for pack_id, score, length in (await session.execute(own_runs.union_all(game_runs))).all():
        if pack_id not in best or (int(score), int(length)) > best[pack_id]:
            best[pack_id] = (int(score), int(length))
    skips = await session.execute(
        select(Attempt.pack_id, func.count())
        .join(QuizRun, QuizRun.id == Attempt.run_id)
        .where(Attempt.user_id == user_id, Attempt.response.is_(None), QuizRun.mode == "full")
        .group_by(Attempt.pack_id)
    )
    skipped: dict[int, int] = {pack_id: int(n) for pack_id, n in skips.all()}
    out = []
    for pack_id, (answered, correct, points) in sorted(by_pack.items()):
        pack = packs.get(pack_id)
        if pack is None:
            continue
        best_score, best_items = best.get(pack_id, (None, None))
        out.append(
            PackStats(
                pack_id=pack_id,
                slug=pack.slug,
                title=pack.title,
                answered=answered,
                correct=correct,
                points=points,
                best_run=best_score,
                best_run_items=best_items,
                skipped=int(skipped.get(pack_id, 0)),
            )
        )
    return out


# --------------------------------------------------------------------------- roles


async def has_role(session: AsyncSession, user_id: int, role: str) -> bool:
    return (
        await session.execute(
            select(Role.user_id).where(Role.user_id == user_id, Role.role == role)
        )
    ).first() is not None


__all__ = [
    "NewAttempt",
    "PackStats",
    "Standing",
    "add_to_totals",
    "record_attempt",
    "roll_week",
    "scope_key",
    "standing_of",
    "top_standings",
    "upsert_chat",
    "upsert_local_user",
    "upsert_telegram_user",
    "user_pack_stats",
]


# --------------------------------------------------------------------------- languages


async def user_language(session: AsyncSession, telegram_id: int) -> str | None:
    """The language a Telegram user chose with /language, or None."""
    return (
        await session.execute(select(User.language).where(User.telegram_id == telegram_id))
    ).scalar_one_or_none()


async def chat_language(session: AsyncSession, chat_id: int) -> str | None:
    """The language a group's admin chose with /language, or None."""
    return (
        await session.execute(select(Chat.language).where(Chat.id == chat_id))
    ).scalar_one_or_none()


async def set_user_language(session: AsyncSession, user_id: int, language: str | None) -> None:
    await session.execute(update(User).where(User.id == user_id).values(language=language))


async def set_chat_language(session: AsyncSession, chat_id: int, language: str | None) -> None:
    await session.execute(update(Chat).where(Chat.id == chat_id).values(language=language))
