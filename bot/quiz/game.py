"""Group games: a lobby, timed questions answered by every player, and a final ranking.

All game state is in the database (the run, its players, the poll id of the open question and
the deadline of the next timer), so any worker can handle any update. Each deadline is a row of
``timers``, written in the same transaction as the state that waits on it
(bot/quiz/timers.py), so any worker can act on it, and a restarted bot acts on the deadlines
that passed while it was down. Every action is also *claimed* with a conditional update, so a
timer that fires twice (two workers, a lapsed lease) acts once.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.packs import limits
from bot.packs.model import ChoiceItem, TrueFalseItem
from bot.quiz import review
from bot.quiz.catalog import CachedPack, Catalog
from bot.quiz.grading import Grade, grade_choice, grade_typed
from bot.quiz.service import POINT, Player, Question, QuizService, option_texts
from bot.quiz.timers import cancel_run_timers, cancel_timer, game_key, set_game_timer
from bot.store import repo
from bot.store.models import Attempt, QuizRun, RunPlayer, User

LOBBY_IDLE = timedelta(minutes=10)
"""A lobby that nobody joins closes after this long."""

PAUSE = timedelta(seconds=4)
"""Between a question's result and the next question."""


@dataclass(frozen=True)
class Lobby:
    run_id: int
    pack: CachedPack
    host_id: int
    players: list[str]
    speed_bonus: bool
    deadline: datetime | None
    message_id: int | None


@dataclass(frozen=True)
class Standing:
    user_id: int
    name: str
    points: int
    """Thousandths of a point."""
    correct: int
    answered: int
    seconds_ms: int


@dataclass(frozen=True)
class QuestionResult:
    question: Question
    answered: int
    right: list[str]
    partly: list[str]
    buttons: bool = False
    """The question went out with answer buttons (which the adapter now removes)."""


@dataclass(frozen=True)
class Finished:
    run_id: int
    pack: CachedPack
    standings: list[Standing]
    total: int
    stopped: bool


GameRefusal = Literal[
    "running", "no_pack", "playing", "lobby_closed", "already_in", "started", "empty"
]


@dataclass(frozen=True)
class GameRefused:
    """Why a game action did nothing: a game is ``running`` already, ``no_pack`` called
    ``slug``, the game is on and the player is ``playing`` (no lobby to join), the lobby is
    closed, the player is ``already_in``, the game has ``started`` (or ended), or the pack is
    ``empty``."""

    reason: GameRefusal
    slug: str = ""


GroupAnswer = Literal["recorded", "late", "already", "closed", "invalid"]


def speed_factor(latency_ms: int, limit_s: int) -> float:
    """Kahoot-like: full points for an instant answer, falling linearly to half points at the
    time limit, never below half."""
    if limit_s <= 0:
        return 1.0
    ratio = min(max(latency_ms / (limit_s * 1000), 0.0), 1.0)
    return 1.0 - ratio / 2


def poll_fits(question: Question) -> bool:
    """Whether a choice can be a native quiz poll (texts within Telegram's poll limits)."""
    if not isinstance(question.item, ChoiceItem | TrueFalseItem):
        return False
    texts = question.shown_options
    return (
        len(question.item.question) <= limits.POLL_QUESTION
        and len(texts) <= limits.POLL_OPTIONS
        and all(len(t) <= limits.POLL_OPTION for t in texts)
    )


class GameService:
    """The engine for group games."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        catalog: Catalog,
        quiz: QuizService,
        clock: Callable[[], datetime],
        rng: random.Random | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.catalog = catalog
        self.quiz = quiz
        self.clock = clock
        self.rng = rng or random.Random()

    # ------------------------------------------------------------------ lobby

    async def running(self, session: AsyncSession, chat_id: int) -> QuizRun | None:
        return (
            await session.execute(
                select(QuizRun)
                .where(
                    QuizRun.chat_id == chat_id,
                    QuizRun.kind == "group",
                    QuizRun.status.in_(("lobby", "active")),
                )
                .order_by(QuizRun.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def open_lobby(
        self,
        host: Player,
        chat_id: int,
        chat_type: str,
        chat_title: str | None,
        slug: str,
        speed_bonus: bool,
    ) -> Lobby | GameRefused:
        """Open a lobby, or say why not (a game is already on, no such pack)."""

        async def work(session: AsyncSession) -> Lobby | GameRefused:
            now = self.clock()
            await repo.upsert_chat(session, chat_id, chat_type, chat_title, now)
            if await self.running(session, chat_id) is not None:
                return GameRefused("running")
            pack = await self.quiz.find_pack(session, slug)
            if pack is None:
                return GameRefused("no_pack", slug[:64])
            host_id = await self.quiz.user_id(session, host)
            run = self.quiz.new_run(
                pack,
                pack.items,
                kind="group",
                mode="full",
                chat_id=chat_id,
                user_id=host_id,
                status="lobby",
                now=now,
                options={"speed_bonus": speed_bonus},
                deadline_at=now + LOBBY_IDLE,
            )
            session.add(run)
            await session.flush()
            await set_game_timer(session, run.id, "lobby", 0, now + LOBBY_IDLE, now)
            return await self._lobby(session, run)

        return await self.quiz.in_transaction(host, work)

    async def _lobby(self, session: AsyncSession, run: QuizRun) -> Lobby:
        pack = await self.catalog.by_id(session, run.pack_id)
        assert pack is not None
        names = (
            await session.execute(
                select(User.name)
                .join(RunPlayer, RunPlayer.user_id == User.id)
                .where(RunPlayer.run_id == run.id)
                .order_by(RunPlayer.joined_at, User.id)
            )
        ).scalars()
        return Lobby(
            run_id=run.id,
            pack=pack,
            host_id=run.user_id or 0,
            players=list(names),
            speed_bonus=bool((run.options or {}).get("speed_bonus")),
            deadline=run.deadline_at,
            message_id=run.message_id,
        )

    async def set_message(self, run_id: int, message_id: int, poll_id: str | None) -> None:
        async def work(session: AsyncSession) -> None:
            await session.execute(
                update(QuizRun)
                .where(QuizRun.id == run_id)
                .values(message_id=message_id, poll_id=poll_id)
            )

        await self.quiz.in_transaction(None, work)

    async def join(
        self, player: Player, run_id: int, lobby_seconds: int
    ) -> tuple[Lobby, bool] | GameRefused:
        """Add a player to the lobby. Returns the lobby and whether the auto-start countdown
        began (the first player joined)."""

        async def work(session: AsyncSession) -> tuple[Lobby, bool] | GameRefused:
            run = await session.get(QuizRun, run_id, with_for_update=True)
            if run is not None and run.kind == "group" and run.status == "active":
                return GameRefused("playing")
            if run is None or run.kind != "group" or run.status != "lobby":
                return GameRefused("lobby_closed")
            user_id = await self.quiz.user_id(session, player)
            before = await self._player_count(session, run_id)
            inserted = await _add_player(session, run_id, user_id, self.clock())
            if not inserted:
                return GameRefused("already_in")
            started_countdown = before == 0
            if started_countdown:
                run.deadline_at = self.clock() + timedelta(seconds=lobby_seconds)
                await set_game_timer(session, run_id, "lobby", 0, run.deadline_at, self.clock())
            run.updated_at = self.clock()
            await session.flush()
            return await self._lobby(session, run), started_countdown

        return await self.quiz.in_transaction(player, work)

    async def _player_count(self, session: AsyncSession, run_id: int) -> int:
        return int(
            (
                await session.execute(
                    select(func.count()).select_from(RunPlayer).where(RunPlayer.run_id == run_id)
                )
            ).scalar_one()
        )

    async def lobby_message(self, run_id: int) -> int | None:
        """The message that shows a game's lobby (until the first question replaces it)."""

        async def work(session: AsyncSession) -> int | None:
            run = await session.get(QuizRun, run_id)
            return run.message_id if run is not None else None

        return await self.quiz.in_transaction(None, work, commit=False)

    async def running_in(self, chat_id: int) -> tuple[int, int | None] | None:
        """The game on in a chat: its run id and host's Telegram id."""

        async def work(session: AsyncSession) -> tuple[int, int | None] | None:
            row = (
                await session.execute(
                    select(QuizRun.id, User.telegram_id)
                    .join(User, User.id == QuizRun.user_id)
                    .where(
                        QuizRun.chat_id == chat_id,
                        QuizRun.kind == "group",
                        QuizRun.status.in_(("lobby", "active")),
                    )
                    .order_by(QuizRun.id.desc())
                    .limit(1)
                )
            ).first()
            return (row[0], row[1]) if row else None

        return await self.quiz.in_transaction(None, work, commit=False)

    # ------------------------------------------------------------------ the game

    async def start(self, run_id: int) -> Question | GameRefused:
        """Start a lobby's game (claimed: only one caller starts it). Returns the first
        question, which the adapter sends before calling :meth:`asked`."""

        async def work(session: AsyncSession) -> Question | GameRefused:
            now = self.clock()
            claimed = await session.execute(
                update(QuizRun)
                .where(QuizRun.id == run_id, QuizRun.status == "lobby")
                .values(
                    status="active",
                    position=0,
                    phase="asking",
                    deadline_at=None,
                    started_at=now,
                    updated_at=now,
                )
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return GameRefused("started")
            run = await session.get(QuizRun, run_id)
            assert run is not None
            await session.refresh(run)
            await cancel_timer(session, game_key(run_id, "lobby", 0))
            question = await self.quiz.question_of(session, run)
            if question is None:
                return GameRefused("empty")
            await self._close_later(session, question, now)
            return question

        return await self.quiz.in_transaction(None, work)

    async def _close_later(self, session: AsyncSession, question: Question, now: datetime) -> None:
        """The question's closing, set before it is sent: if the worker sending it dies, the
        game still goes on (:meth:`asked` sets the exact deadline once it is out)."""
        due = now + timedelta(seconds=question.time_limit)
        await set_game_timer(session, question.run_id, "close", question.number - 1, due, now)

    async def lobby_expired(self, run_id: int) -> Literal["start", "close", "wait"]:
        """What a lobby timer should do: start (players joined), close (nobody came), or wait
        (the deadline moved)."""

        async def work(session: AsyncSession) -> Literal["start", "close", "wait"]:
            run = await session.get(QuizRun, run_id)
            if run is None or run.status != "lobby":
                return "wait"
            if run.deadline_at is not None and run.deadline_at > self.clock():
                return "wait"
            if await self._player_count(session, run_id) > 0:
                return "start"
            run.status = "stopped"
            run.finished_at = run.updated_at = self.clock()
            await cancel_run_timers(session, run_id)
            return "close"

        return await self.quiz.in_transaction(None, work)

    async def asked(self, question: Question, message_id: int, poll_id: str | None) -> datetime:
        """Record that a question is out (its message, poll and deadline)."""

        async def work(session: AsyncSession) -> datetime:
            now = self.clock()
            deadline = now + timedelta(seconds=question.time_limit)
            await session.execute(
                update(QuizRun)
                .where(QuizRun.id == question.run_id)
                .values(
                    message_id=message_id,
                    poll_id=poll_id,
                    asked_at=now,
                    deadline_at=deadline,
                    phase="asking",
                    selected=[],
                    updated_at=now,
                )
            )
            position = question.number - 1
            await set_game_timer(session, question.run_id, "close", position, deadline, now)
            return deadline

        return await self.quiz.in_transaction(None, work)

    async def current(self, session: AsyncSession, run: QuizRun) -> Question | None:
        return await self.quiz.question_of(session, run)

    async def answer(
        self,
        player: Player,
        run: QuizRun,
        session: AsyncSession,
        grade: Grade,
        response: str | None,
    ) -> GroupAnswer:
        now = self.clock()
        if run.deadline_at is not None and now > run.deadline_at:
            return "late"
        user_id = await self.quiz.user_id(session, player)
        await _add_player(session, run.id, user_id, now)
        latency = int((now - run.asked_at).total_seconds() * 1000) if run.asked_at else 0
        question = await self.quiz.question_of(session, run)
        assert question is not None
        factor = 1.0
        if (run.options or {}).get("speed_bonus") and grade.score > 0:
            factor = speed_factor(latency, question.time_limit)
        attempt = repo.NewAttempt(
            run_id=run.id,
            item_id=question.item_id,
            user_id=user_id,
            chat_id=run.chat_id,
            pack_id=run.pack_id,
            response=response,
            correct=grade.correct,
            score=round(grade.score * factor * POINT),
            latency_ms=max(0, latency),
            answered_at=now,
        )
        recorded = await repo.record_attempt(session, attempt)
        return "recorded" if recorded else "already"

    async def poll_answer(
        self, player: Player, poll_id: str, option_ids: Sequence[int]
    ) -> GroupAnswer:
        """A vote on a game's quiz poll (polls carry no chat: the poll id finds the run)."""

        async def work(session: AsyncSession) -> GroupAnswer:
            run = (
                await session.execute(select(QuizRun).where(QuizRun.poll_id == poll_id))
            ).scalar_one_or_none()
            if run is None or run.status != "active" or run.phase != "asking":
                return "closed"
            if not option_ids:
                return "invalid"  # a retracted vote: quiz polls do not allow it anyway
            question = await self.quiz.question_of(session, run)
            if question is None or not question.order:
                return "invalid"
            if any(not 0 <= i < len(question.order) for i in option_ids):
                return "invalid"
            picked = frozenset(question.order[i] for i in option_ids)
            grade = grade_choice(question.item, picked)  # type: ignore[arg-type]
            texts = option_texts(question.item)
            response = json.dumps([texts[i] for i in sorted(picked)], ensure_ascii=False)
            return await self.answer(player, run, session, grade, response)

        return await self.quiz.in_transaction(player, work)

    async def button_answer(
        self, player: Player, run_id: int, item_id: int, option: int
    ) -> GroupAnswer:
        """A press on a fallback button (a choice too long for a poll); the first counts."""

        async def work(session: AsyncSession) -> GroupAnswer:
            run = await session.get(QuizRun, run_id)
            if run is None or run.kind != "group" or run.status != "active":
                return "closed"
            question = await self.quiz.question_of(session, run)
            if question is None or question.item_id != item_id or run.phase != "asking":
                return "closed"
            if option not in question.order:
                return "invalid"
            grade = grade_choice(question.item, frozenset({option}))  # type: ignore[arg-type]
            texts = option_texts(question.item)
            return await self.answer(
                player, run, session, grade, json.dumps([texts[option]], ensure_ascii=False)
            )

        return await self.quiz.in_transaction(player, work)

    async def reply_answer(
        self, player: Player, chat_id: int, reply_to: int, text: str
    ) -> tuple[GroupAnswer, Grade | None]:
        """A typed answer: a reply to the question message of the chat's running game."""

        async def work(session: AsyncSession) -> tuple[GroupAnswer, Grade | None]:
            run = await self.running(session, chat_id)
            if run is None or run.status != "active" or run.message_id != reply_to:
                return "closed", None
            if run.phase != "asking":
                return "late", None
            question = await self.quiz.question_of(session, run)
            if question is None or not question.typed:
                return "closed", None
            grade = grade_typed(question.item, text, question.pack.language, question.pack.settings)
            if grade.unreadable:
                return "invalid", grade
            outcome = await self.answer(player, run, session, grade, text.strip()[:1000])
            return outcome, grade

        return await self.quiz.in_transaction(player, work)

    async def close_question(self, run_id: int, position: int) -> QuestionResult | None:
        """Close the question at ``position`` once (claimed), and say who got it right."""

        async def work(session: AsyncSession) -> QuestionResult | None:
            now = self.clock()
            claimed = await session.execute(
                update(QuizRun)
                .where(
                    QuizRun.id == run_id,
                    QuizRun.status == "active",
                    QuizRun.position == position,
                    QuizRun.phase == "asking",
                )
                .values(phase="answered", deadline_at=now + PAUSE, updated_at=now)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            await cancel_timer(session, game_key(run_id, "close", position))
            await set_game_timer(session, run_id, "advance", position, now + PAUSE, now)
            run = await session.get(QuizRun, run_id)
            assert run is not None
            await session.refresh(run)
            question = await self.quiz.question_of(session, run)
            assert question is not None
            rows = (
                await session.execute(
                    select(User.name, Attempt.correct, Attempt.score)
                    .join(User, User.id == Attempt.user_id)
                    .where(Attempt.run_id == run_id, Attempt.item_id == question.item_id)
                    .order_by(Attempt.answered_at)
                )
            ).all()
            return QuestionResult(
                question=question,
                answered=len(rows),
                right=[r.name for r in rows if r.correct],
                partly=[r.name for r in rows if not r.correct and r.score > 0],
                buttons=run.poll_id is None and not question.typed,
            )

        return await self.quiz.in_transaction(None, work)

    async def advance(self, run_id: int, position: int) -> Question | Finished | None:
        """After the pause: the next question, or the end of the game (claimed once)."""

        async def work(session: AsyncSession) -> Question | Finished | None:
            now = self.clock()
            run = await session.get(QuizRun, run_id, with_for_update=True)
            if (
                run is None
                or run.status != "active"
                or run.position != position
                or run.phase != "answered"
            ):
                return None
            await cancel_timer(session, game_key(run_id, "advance", position))
            if run.position + 1 >= len(run.item_order):
                return await self._finish(session, run, stopped=False)
            run.position += 1
            run.phase = "asking"
            run.poll_id = None
            run.message_id = None
            run.deadline_at = None
            run.updated_at = now
            await session.flush()
            question = await self.quiz.question_of(session, run)
            if question is not None:
                await self._close_later(session, question, now)
            return question

        return await self.quiz.in_transaction(None, work)

    async def stop(self, chat_id: int) -> Finished | Lobby | None:
        """End the chat's game now: standings so far (or the closed lobby)."""

        async def work(session: AsyncSession) -> Finished | Lobby | None:
            run = await self.running(session, chat_id)
            if run is None:
                return None
            if run.status == "lobby":
                run.status = "stopped"
                run.finished_at = run.updated_at = self.clock()
                await cancel_run_timers(session, run.id)
                await session.flush()
                return await self._lobby(session, run)
            return await self._finish(session, run, stopped=True)

        return await self.quiz.in_transaction(None, work)

    async def _finish(self, session: AsyncSession, run: QuizRun, stopped: bool) -> Finished:
        now = self.clock()
        run.status = "stopped" if stopped else "finished"
        run.phase = "answered"
        run.finished_at = run.updated_at = now
        run.deadline_at = None
        run.poll_id = None
        await session.flush()
        await cancel_run_timers(session, run.id)
        pack = await self.catalog.by_id(session, run.pack_id)
        assert pack is not None
        standings = await self.standings(session, run.id)
        for standing in standings:  # every player's misses come back in their /review
            await review.schedule_run(session, run.id, standing.user_id, now)
        return Finished(run.id, pack, standings, len(run.item_order), stopped)

    async def standings(self, session: AsyncSession, run_id: int) -> list[Standing]:
        """Players by points, then by total answer time (faster first)."""
        points = func.sum(Attempt.score)
        seconds = func.sum(Attempt.latency_ms)
        rows = (
            await session.execute(
                select(
                    Attempt.user_id,
                    User.name,
                    points,
                    func.sum(case((Attempt.correct, 1), else_=0)),
                    func.count(),
                    seconds,
                )
                .join(User, User.id == Attempt.user_id)
                .where(Attempt.run_id == run_id)
                .group_by(Attempt.user_id, User.name)
                .order_by(points.desc(), seconds.asc(), Attempt.user_id)
            )
        ).all()
        return [
            Standing(r[0], r[1], int(r[2] or 0), int(r[3] or 0), int(r[4]), int(r[5] or 0))
            for r in rows
        ]


async def _add_player(session: AsyncSession, run_id: int, user_id: int, now: datetime) -> bool:
    stmt = (
        repo.dialect_insert(session, RunPlayer)
        .values(run_id=run_id, user_id=user_id, joined_at=now)
        .on_conflict_do_nothing(index_elements=["run_id", "user_id"])
        .returning(RunPlayer.user_id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None
