"""The quiz engine for one player: runs, item order, grading, scoring and persistence.

Adapters (the Telegram bot, the terminal) call these methods with what the player did and
render what comes back. Every method runs in one transaction of its own, and every piece of
state that must survive a restart (the current item, the option order, the selection of a
multi-select item, the message that shows the question) is in the database.

The engine trusts nothing it is given: a run id and an item id from a button are checked
against the database (the run exists, belongs to this player, is active, and the item is the
one being asked), and a repeated answer is recorded once.
"""

from __future__ import annotations

import json
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any, Literal, TypeVar, cast

from sqlalchemy import BigInteger, Boolean, String, Table, bindparam, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.packs.model import (
    ChoiceItem,
    Item,
    NumberItem,
    ShortItem,
    TrueFalseItem,
    time_limit,
)
from bot.quiz import review
from bot.quiz.boards import Board, BoardQuery, Boards, NoBoard
from bot.quiz.catalog import CachedItem, CachedPack, Catalog
from bot.quiz.grading import (
    Grade,
    Note,
    format_number,
    grade_choice,
    grade_typed,
    parse_choice,
)
from bot.store import repo
from bot.store.classes import FinishOutcome, record_finish
from bot.store.engine import unit_of_work
from bot.store.models import Attempt, QuizRun, User, UtcDateTime

T = TypeVar("T")

POINT = 1000
"""Scores are stored in thousandths of a point."""

RunKind = Literal["private", "group", "terminal"]


@dataclass(frozen=True)
class Player:
    """Who is playing: a Telegram user, or a terminal player known by name."""

    telegram_id: int | None
    name: str
    username: str | None = None

    @property
    def cache_key(self) -> str:
        return f"t{self.telegram_id}" if self.telegram_id is not None else f"l{self.name}"


@dataclass(frozen=True)
class Question:
    """The item a run is asking now, as the player should see it."""

    run_id: int
    item_id: int
    number: int
    """1-based position in the run."""
    total: int
    pack: CachedPack
    item: Item
    order: tuple[int, ...]
    """Option indices (authored order) in the order shown; empty for typed items."""
    selected: frozenset[int] = frozenset()
    """Options toggled so far on a multi-select item."""
    mode: str = "full"
    message_id: int | None = None
    """The message that shows this question, once it has been sent."""

    @property
    def typed(self) -> bool:
        return isinstance(self.item, ShortItem | NumberItem)

    @property
    def multiple(self) -> bool:
        return isinstance(self.item, ChoiceItem) and self.item.multiple

    @property
    def shown_options(self) -> list[str]:
        texts = option_texts(self.item)
        return [texts[i] for i in self.order]

    @property
    def time_limit(self) -> int:
        return time_limit(self.item, self.pack.settings)


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer, with everything needed to teach from it."""

    question: Question
    grade: Grade
    response: str
    """The answer as the player gave it (option texts for a choice)."""
    skipped: bool = False

    @property
    def correct_answer(self) -> str:
        return correct_answer_text(self.question.item, self.question.pack.language)


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    pack: CachedPack
    mode: str
    status: str
    total: int
    answered: int
    correct: int
    score: int
    """Thousandths of a point."""
    seconds: float
    rank: int | None
    players_on_pack: int | None
    missed_item_ids: tuple[int, ...] = field(default=())
    new_leeches: tuple[int, ...] = field(default=())
    """Items this run made leeches (missed 4 times in review): shown once, then suspended."""
    assignment: FinishOutcome | None = None
    """What this run did to the assignment it was started for (bot/store/classes.py)."""

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


RefusalReason = Literal[
    "closed",  # the question is closed
    "ended",  # the quiz has ended
    "moved_on",  # the player has moved past this question
    "not_yours",  # the run belongs to someone else
    "already",  # already answered
    "invalid",  # a stale or forged button
    "nothing_selected",  # Submit with no option selected
    "no_run",  # no quiz is running
]


@dataclass(frozen=True)
class Refused:
    """An action that changes nothing, and why (the adapters put the reason into words)."""

    reason: RefusalReason


@dataclass(frozen=True)
class Answered:
    feedback: Feedback
    finished: RunSummary | None
    """Set when this answer ended the run."""
    question_message: int | None = None
    """The message that showed the question (see :meth:`QuizService.set_message`), read by
    the same statement that claimed the answer: a typed answer or a skip takes its buttons
    off."""
    language: str | None = None
    """The player's /language choice (None: none), read by the same statement: the adapter
    needs no read of its own to answer in it."""


@dataclass(frozen=True)
class Moved:
    """Next: the run moved on to ``question``."""

    question: Question
    language: str | None = None
    """The player's /language choice (None: none), read by the statement that moved the run:
    the adapter needs no read of its own to ask the question in it."""


@dataclass(frozen=True)
class Unreadable:
    """A typed response that is not an answer (no number, no option): nothing recorded."""

    hint: Note
    question: Question


AnswerOutcome = Answered | Refused | Unreadable


def option_texts(item: Item) -> list[str]:
    if isinstance(item, ChoiceItem | TrueFalseItem):
        return item.option_texts
    return []


def correct_answer_text(item: Item, language: str = "en") -> str:
    if isinstance(item, ChoiceItem):
        return "; ".join(item.answers)
    if isinstance(item, TrueFalseItem):
        return "True" if item.answer else "False"
    if isinstance(item, ShortItem):
        return item.model_answer
    unit = f" {item.unit}" if item.unit else ""
    return f"{format_number(item.answer, language)}{unit}"


@dataclass(frozen=True)
class RunPlan:
    """What never changes once a run has started: who, where, and the order of its items and
    options. Cached per process, so the answer path reads no run row."""

    run_id: int
    kind: str
    mode: str
    user_id: int | None
    chat_id: int | None
    pack_id: int
    item_order: tuple[int, ...]
    option_orders: dict[int, tuple[int, ...]]
    positions: dict[int, int]

    @classmethod
    def of(cls, run: Any) -> RunPlan:
        order = tuple(int(i) for i in run.item_order)
        return cls(
            run_id=run.id,
            kind=run.kind,
            mode=run.mode,
            user_id=run.user_id,
            chat_id=run.chat_id,
            pack_id=run.pack_id,
            item_order=order,
            option_orders={int(k): tuple(int(i) for i in v) for k, v in run.option_orders.items()},
            positions={item_id: n for n, item_id in enumerate(order)},
        )


K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(OrderedDict[K, V]):
    """A least-recently-used cache bounded by an estimate of the memory its entries hold
    (``cost(value)`` bytes each), not only by their number: a run plan of a 34-item pack holds
    about 5 KiB, a user id about 0.3 KiB. functools.lru_cache bounds by count only and
    caches calls, not values that several methods fill."""

    def __init__(self, budget_bytes: int, cost: Callable[[V], int]) -> None:
        super().__init__()
        self.budget_bytes = budget_bytes
        self.cost = cost
        self.held_bytes = 0

    def get_fresh(self, key: K) -> V | None:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> V:
        old = self.pop(key, None)
        if old is not None:
            self.held_bytes -= self.cost(old)
        self[key] = value
        self.held_bytes += self.cost(value)
        while self.held_bytes > self.budget_bytes and len(self) > 1:
            _, evicted = self.popitem(last=False)
            self.held_bytes -= self.cost(evicted)
        return value

    def drop(self, key: K) -> None:
        old = self.pop(key, None)
        if old is not None:
            self.held_bytes -= self.cost(old)


def plan_cost(plan: RunPlan) -> int:
    """Bytes a cached plan holds, measured with tracemalloc on CPython 3.11 (5.3 KiB for 34
    items): about 150 per item (its place in three containers, its option order), 500 more."""
    return 500 + 150 * len(plan.item_order)


PLAN_CACHE_BYTES = 16 * 1024 * 1024
"""Run plans kept in memory: some 2,500 runs of a 34-item pack are in play at once; the
others are read again (one indexed row) when their player comes back."""
USER_CACHE_BYTES = 4 * 1024 * 1024
USER_ENTRY_BYTES = 320
"""A cached user id: its key, the name it was stored with, the id and the cache's own links
(about 310 bytes, measured with tracemalloc; tests/test_memory.py checks the estimates)."""

# Built once: the answer path runs these on every tap, and building a statement anew took
# 0.05-0.1 ms each time (quizbot bench).
_RUNS = cast(Table, QuizRun.__table__)
_RUN_FOR_UPDATE = select(QuizRun).where(QuizRun.id == bindparam("run_id")).with_for_update()
_PLAN = select(
    _RUNS.c.id,
    _RUNS.c.kind,
    _RUNS.c.mode,
    _RUNS.c.user_id,
    _RUNS.c.chat_id,
    _RUNS.c.pack_id,
    _RUNS.c.item_order,
    _RUNS.c.option_orders,
).where(_RUNS.c.id == bindparam("b_run"))
_STATE = select(_RUNS.c.status, _RUNS.c.phase, _RUNS.c.position, _RUNS.c.selected).where(
    _RUNS.c.id == bindparam("b_run")
)
_LATEST = (
    select(_RUNS.c.id, _RUNS.c.phase, _RUNS.c.position)
    .where(
        _RUNS.c.user_id == bindparam("b_user"),
        _RUNS.c.status == "active",
        _RUNS.c.kind == bindparam("b_kind"),
    )
    .order_by(_RUNS.c.updated_at.desc(), _RUNS.c.id.desc())
    .limit(1)
)
_USERS = cast(Table, User.__table__)
_KNOWN_USER = select(_USERS.c.id).where(
    or_(
        _USERS.c.telegram_id == bindparam("b_telegram", type_=BigInteger()),
        _USERS.c.local_name == bindparam("b_local", type_=String()),
    )
)
_VIEWER = select(_USERS.c.id, _USERS.c.language).where(
    _USERS.c.telegram_id == bindparam("b_telegram", type_=BigInteger())
)
_LAST = bindparam("b_last", type_=Boolean())
_NOW = bindparam("b_now", type_=UtcDateTime())
_RUN_ANSWERS = select(
    Attempt.item_id, Attempt.correct, Attempt.answered_at, Attempt.latency_ms
).where(Attempt.run_id == bindparam("b_run"), Attempt.user_id == bindparam("b_user"))


@dataclass(frozen=True)
class _Tally:
    """What a run's summary needs from its row."""

    id: int
    pack_id: int
    mode: str
    status: str
    total: int
    answered: int
    correct: int
    score: int
    user_id: int | None


# The run's player's /language choice, returned by the claims below: the reply needs no read.
_RUN_PLAYER_LANGUAGE = (
    select(_USERS.c.language)
    .where(_USERS.c.id == _RUNS.c.user_id)
    .scalar_subquery()
    .label("language")
)
# Answering claims the item: only one answer can move the run from asking to answered.
_CLAIM_ANSWER = (
    update(_RUNS)
    .where(
        _RUNS.c.id == bindparam("b_run"),
        _RUNS.c.status == "active",
        _RUNS.c.phase == "asking",
        _RUNS.c.position == bindparam("b_position"),
    )
    .values(
        phase="answered",
        selected=[],
        answered=_RUNS.c.answered + 1,
        correct=_RUNS.c.correct + bindparam("b_correct"),
        score=_RUNS.c.score + bindparam("b_score"),
        updated_at=_NOW,
        status=case((_LAST, "finished"), else_=_RUNS.c.status),
        finished_at=case((_LAST, _NOW), else_=_RUNS.c.finished_at),
    )
    .returning(
        _RUNS.c.asked_at,
        _RUNS.c.message_id,
        _RUN_PLAYER_LANGUAGE,
        _RUNS.c.answered,
        _RUNS.c.correct,
        _RUNS.c.score,
        _RUNS.c.status,
        _RUNS.c.assignment_id,
    )
)
# Next claims the move: a second tap on the same button finds the run already moved on.
_CLAIM_NEXT = (
    update(_RUNS)
    .where(
        _RUNS.c.id == bindparam("b_run"),
        _RUNS.c.status == "active",
        _RUNS.c.phase == "answered",
        _RUNS.c.position == bindparam("b_from"),
    )
    .values(
        position=_RUNS.c.position + 1,
        phase="asking",
        selected=[],
        message_id=None,
        asked_at=_NOW,
        updated_at=_NOW,
    )
    .returning(
        _RUNS.c.position,
        _RUN_PLAYER_LANGUAGE,
    )
)


class QuizService:
    """Runs for one player at a time (private chats and the terminal)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        catalog: Catalog,
        clock: Callable[[], datetime] = repo.utcnow,
        rng: random.Random | None = None,
        statements: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.statements = statements or sessionmaker
        """Sessions for units of work whose statements each stand alone (see
        :func:`bot.store.engine.make_statement_sessionmaker`): the language read every update
        makes, a Next, the question's message id."""
        self.catalog = catalog
        self.clock = clock
        self.rng = rng or random.Random()
        self.user_ids: BoundedCache[str, tuple[int, str]] = BoundedCache(
            USER_CACHE_BYTES, lambda _entry: USER_ENTRY_BYTES
        )
        self.plans: BoundedCache[int, RunPlan] = BoundedCache(PLAN_CACHE_BYTES, plan_cost)

    async def in_transaction(
        self,
        player: Player | None,
        work: Callable[[AsyncSession], Awaitable[T]],
        commit: bool = True,
        sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    ) -> T:
        """Run ``work`` in one session and transaction: the unit of work of one update,
        committed when it returns, rolled back when it raises, run once more when the
        connection died under it (:func:`bot.store.engine.unit_of_work`). Without ``commit``,
        a read in one session. (``sessionmaker``: :attr:`statements` for a unit whose
        statements each stand alone.)"""

        def forget() -> None:
            # A user row created in a transaction that rolled back does not exist.
            if player is not None:
                self.user_ids.drop(player.cache_key)

        return await unit_of_work(
            sessionmaker or self.sessionmaker, work, commit=commit, failed=forget
        )

    async def plan(self, session: AsyncSession, run_id: int) -> RunPlan | None:
        """A run's plan, from the cache or (once) from the database."""
        plan = self.plans.get_fresh(run_id)
        if plan is None:
            row = (await session.execute(_PLAN, {"b_run": run_id})).first()
            if row is None:
                return None
            plan = self._remember(RunPlan.of(row))
        return plan

    def _remember(self, plan: RunPlan) -> RunPlan:
        return self.plans.put(plan.run_id, plan)

    async def question_at(
        self,
        session: AsyncSession,
        plan: RunPlan,
        position: int,
        selected: frozenset[int] = frozenset(),
    ) -> Question | None:
        """The question at ``position`` of a run, built from its plan and the catalog (a
        pack not in the catalog's cache is loaded through the ORM)."""
        if not 0 <= position < len(plan.item_order):
            return None
        item_id = plan.item_order[position]
        cached, pack = self.catalog.cached_item(item_id), self.catalog.cached_pack(plan.pack_id)
        if cached is None or pack is None:
            cached = await self.catalog.item(session, item_id)
            pack = await self.catalog.by_id(session, plan.pack_id)
        if cached is None or pack is None:
            return None
        return Question(
            run_id=plan.run_id,
            item_id=item_id,
            number=position + 1,
            total=len(plan.item_order),
            pack=pack,
            item=cached.item,
            order=plan.option_orders.get(item_id, ()),
            selected=selected,
            mode=plan.mode,
        )

    @staticmethod
    def _refuse_owner(plan: RunPlan | None, user_id: int) -> Refused | None:
        if plan is None or plan.kind == "group":
            return Refused("invalid")
        if plan.user_id != user_id:
            return Refused("not_yours")
        return None

    async def _owned_plan(
        self, session: AsyncSession, player: Player, run_id: int
    ) -> tuple[int, RunPlan] | Refused:
        """The player's user id and the plan of their run ``run_id`` (from a button)."""
        user_id = await self.user_id(session, player)
        plan = await self.plan(session, run_id)
        refused = self._refuse_owner(plan, user_id)
        if refused is not None:
            return refused
        assert plan is not None
        return user_id, plan

    async def _why_not(
        self, session: AsyncSession, run_id: int, moving_on: bool = False
    ) -> Refused:
        """Why a claim on a run failed: it ended, the item was answered, or it is not current."""
        state = (await session.execute(_STATE, {"b_run": run_id})).first()
        if state is None or state.status != "active":
            return Refused("ended")
        if moving_on:
            return Refused("moved_on")
        if state.phase != "asking":
            return Refused("already")
        return Refused("closed")

    # ------------------------------------------------------------------ players

    async def user_id(self, session: AsyncSession, player: Player) -> int:
        """The player's user id, creating or refreshing the row only when something changed."""
        cached = self.user_ids.get_fresh(player.cache_key)
        fingerprint = f"{player.name}\0{player.username}"
        if cached is not None and cached[1] == fingerprint:
            return cached[0]
        now = self.clock()
        if player.telegram_id is not None:
            user_id = await repo.upsert_telegram_user(
                session, player.telegram_id, player.name, player.username, now
            )
        else:
            user_id = await repo.upsert_local_user(session, player.name, now)
        self.user_ids.put(player.cache_key, (user_id, fingerprint))
        return user_id

    async def register(self, player: Player) -> int:
        """:meth:`user_id` in a transaction of its own."""
        return await self.in_transaction(player, lambda session: self.user_id(session, player))

    async def chosen_language(
        self, telegram_id: int | None, group_chat_id: int | None
    ) -> str | None:
        """The language chosen with /language: the group's for a group chat (``group_chat_id``),
        else the user's; None when nobody chose one."""

        async def work(session: AsyncSession) -> str | None:
            if group_chat_id is not None:
                return await repo.chat_language(session, group_chat_id)
            if telegram_id is None:
                return None
            return await repo.user_language(session, telegram_id)

        return await self.in_transaction(None, work, commit=False, sessionmaker=self.statements)

    async def choose_language(self, player: Player, language: str | None) -> None:
        """Remember a player's language (None: follow Telegram's again)."""

        async def work(session: AsyncSession) -> None:
            await repo.set_user_language(session, await self.user_id(session, player), language)

        await self.in_transaction(player, work)

    async def choose_group_language(
        self, chat_id: int, chat_type: str, title: str | None, language: str | None
    ) -> None:
        """Remember a group chat's language (None: English again)."""

        async def work(session: AsyncSession) -> None:
            await repo.upsert_chat(session, chat_id, chat_type, title, self.clock())
            await repo.set_chat_language(session, chat_id, language)

        await self.in_transaction(None, work)

    async def known_user_id(self, session: AsyncSession, player: Player) -> int | None:
        """The player's user id if they have one, without creating or refreshing the row."""
        cached = self.user_ids.get_fresh(player.cache_key)
        if cached is not None:
            return cached[0]
        params: dict[str, Any] = {"b_telegram": player.telegram_id, "b_local": None}
        if player.telegram_id is None:
            params["b_local"] = player.name
        found = (await session.execute(_KNOWN_USER, params)).first()
        return None if found is None else int(found.id)

    async def leaderboard(
        self, boards: Boards, player: Player | None, chat_id: int | None, query: BoardQuery
    ) -> tuple[int | None, Board | NoBoard, str | None]:
        """The viewer's user id, a board and the language to show it in (as
        :meth:`chosen_language`: the group's for a chat's board, else the viewer's), in one
        transaction: the viewer and their language are one read. The viewer is looked up,
        not registered: showing a board writes nothing."""

        async def work(session: AsyncSession) -> tuple[int | None, Board | NoBoard, str | None]:
            viewer, language = None, None
            if player is not None and player.telegram_id is not None:
                found = (await session.execute(_VIEWER, {"b_telegram": player.telegram_id})).first()
                if found is not None:
                    viewer, language = int(found.id), found.language
            elif player is not None:
                viewer = await self.known_user_id(session, player)
            if chat_id is not None:
                language = await repo.chat_language(session, chat_id)
            board = await boards.board_in(session, viewer, chat_id, query)
            return viewer, board, language

        return await self.in_transaction(player, work)

    # ------------------------------------------------------------------ packs

    async def visible_packs(self, session: AsyncSession) -> list[CachedPack]:
        """Packs that students can see (active, with at least one live item)."""
        return [p for p in await self.catalog.all(session) if p.status == "active" and p.items]

    async def find_pack(self, session: AsyncSession, slug: str) -> CachedPack | None:
        pack = await self.catalog.by_slug(session, slug.strip().lower())
        if pack is None or pack.status != "active" or not pack.items:
            return None
        return pack

    # ------------------------------------------------------------------ runs

    async def active_run(
        self, session: AsyncSession, user_id: int, pack_id: int, kind: RunKind
    ) -> QuizRun | None:
        return (
            await session.execute(
                select(QuizRun)
                .where(
                    QuizRun.user_id == user_id,
                    QuizRun.pack_id == pack_id,
                    QuizRun.kind == kind,
                    QuizRun.mode == "full",
                    QuizRun.status == "active",
                )
                .order_by(QuizRun.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def unfinished_run(
        self, player: Player, slug: str, kind: RunKind = "private"
    ) -> tuple[CachedPack | None, Question | None]:
        """The pack, and the question an unfinished run of it is waiting on (if any)."""

        async def work(session: AsyncSession) -> tuple[CachedPack | None, Question | None]:
            pack = await self.find_pack(session, slug)
            if pack is None:
                return None, None
            user_id = await self.user_id(session, player)
            run = await self.active_run(session, user_id, pack.id, kind)
            if run is None:
                return pack, None
            return pack, await self.question_of(session, run)

        return await self.in_transaction(player, work)

    async def start_run(
        self,
        player: Player,
        slug: str,
        chat_id: int | None,
        kind: RunKind = "private",
        mode: Literal["full", "review"] = "full",
        item_ids: Sequence[int] | None = None,
    ) -> Question | None:
        """Start a run (stopping any unfinished one of the same pack) and return its first
        question; ``item_ids`` limits a review run to those items."""

        async def work(session: AsyncSession) -> tuple[QuizRun, Question | None] | None:
            pack = await self.find_pack(session, slug)
            if pack is None:
                return None
            user_id = await self.user_id(session, player)
            return await self.start_run_in(
                session, pack, user_id, chat_id, kind=kind, mode=mode, item_ids=item_ids
            )

        started = await self.in_transaction(player, work)
        if started is None:
            return None
        run, question = started
        # Cached once committed: a run id from a transaction that rolled back may be reused.
        self.remember_run(run)
        return question

    async def start_run_in(
        self,
        session: AsyncSession,
        pack: CachedPack,
        user_id: int,
        chat_id: int | None,
        *,
        kind: RunKind = "private",
        mode: Literal["full", "review"] = "full",
        item_ids: Sequence[int] | None = None,
        assignment_id: int | None = None,
    ) -> tuple[QuizRun, Question | None] | None:
        """:meth:`start_run` in the caller's transaction (the caller remembers the run with
        :meth:`remember_run` once it has committed)."""
        now = self.clock()
        if chat_id is not None:
            await repo.upsert_chat(session, chat_id, "private", None, now)
        await session.execute(
            update(QuizRun)
            .where(
                QuizRun.user_id == user_id,
                QuizRun.pack_id == pack.id,
                QuizRun.kind == kind,
                QuizRun.mode == mode,
                QuizRun.status == "active",
            )
            .values(status="stopped", finished_at=now, updated_at=now)
        )
        items = list(pack.items)
        if item_ids is not None:
            wanted = set(item_ids)
            items = [i for i in items if i.id in wanted]
            if not items:
                return None
        run = self.new_run(
            pack,
            items,
            kind=kind,
            mode=mode,
            chat_id=chat_id,
            user_id=user_id,
            status="active",
            now=now,
            asked_at=now,
        )
        run.assignment_id = assignment_id
        session.add(run)
        await session.flush()
        return run, await self.question_of(session, run)

    def remember_run(self, run: QuizRun) -> None:
        """Cache a committed run's plan (the answer path then reads no run row)."""
        self._remember(RunPlan.of(run))

    def new_run(
        self,
        pack: CachedPack,
        items: Sequence[CachedItem],
        *,
        kind: RunKind,
        mode: str,
        chat_id: int | None,
        user_id: int,
        status: str,
        now: datetime,
        asked_at: datetime | None = None,
        options: dict[str, Any] | None = None,
        deadline_at: datetime | None = None,
    ) -> QuizRun:
        """A new run over ``items``, its option orders shuffled once and for all."""
        return QuizRun(
            kind=kind,
            mode=mode,
            chat_id=chat_id,
            user_id=user_id,
            pack_id=pack.id,
            status=status,
            item_order=[i.id for i in items],
            option_orders={str(i.id): self._option_order(pack, i) for i in items},
            position=0,
            phase="asking",
            selected=[],
            options=options or {},
            asked_at=asked_at,
            deadline_at=deadline_at,
            score=0,
            correct=0,
            answered=0,
            started_at=now,
            updated_at=now,
        )

    def _option_order(self, pack: CachedPack, cached: CachedItem) -> list[int]:
        item = cached.item
        if isinstance(item, ChoiceItem):
            order = list(range(len(item.option_texts)))
            if item.shuffles(pack.settings.shuffle_options):
                self.rng.shuffle(order)
            return order
        if isinstance(item, TrueFalseItem):
            return [0, 1]
        return []

    async def question_of(self, session: AsyncSession, run: QuizRun) -> Question | None:
        if run.position >= len(run.item_order):
            return None
        item_id = int(run.item_order[run.position])
        cached = await self.catalog.item(session, item_id)
        pack = await self.catalog.by_id(session, run.pack_id)
        if cached is None or pack is None:
            return None
        order = tuple(int(i) for i in run.option_orders.get(str(item_id), []))
        return Question(
            run_id=run.id,
            item_id=item_id,
            number=run.position + 1,
            total=len(run.item_order),
            pack=pack,
            item=cached.item,
            order=order,
            selected=frozenset(int(i) for i in run.selected or []),
            mode=run.mode,
            message_id=run.message_id,
        )

    async def _owned_run(
        self, session: AsyncSession, run_id: int, user_id: int
    ) -> QuizRun | Refused:
        run = (await session.execute(_RUN_FOR_UPDATE, {"run_id": run_id})).scalar_one_or_none()
        if run is None or run.kind == "group":
            return Refused("invalid")
        if run.user_id != user_id:
            return Refused("not_yours")
        if run.status != "active":
            return Refused("ended")
        return run

    async def _current(
        self, session: AsyncSession, run_id: int, item_id: int, player: Player
    ) -> tuple[QuizRun, int] | Refused:
        """The run, if ``item_id`` is the item it is asking now and the player owns it."""
        user_id = await self.user_id(session, player)
        run = await self._owned_run(session, run_id, user_id)
        if isinstance(run, Refused):
            return run
        if run.position >= len(run.item_order) or int(run.item_order[run.position]) != item_id:
            return Refused("closed")
        if run.phase != "asking":
            return Refused("already")
        return run, user_id

    async def resume(self, player: Player, run_id: int) -> Question | Refused:
        """Continue an unfinished run: the current question again, or the next one when the
        current one was answered before the break. The answer clock restarts."""

        async def work(session: AsyncSession) -> Question | Refused:
            user_id = await self.user_id(session, player)
            run = await self._owned_run(session, run_id, user_id)
            if isinstance(run, Refused):
                return run
            if run.phase == "answered":
                run.position += 1
                run.phase = "asking"
                run.selected = []
            run.asked_at = run.updated_at = self.clock()
            run.message_id = None
            await session.flush()
            return await self.question_of(session, run) or Refused("ended")

        return await self.in_transaction(player, work)

    # ------------------------------------------------------------------ answering

    async def toggle(
        self, player: Player, run_id: int, item_id: int, option: int
    ) -> Question | Refused:
        """Select or unselect one option of a multi-select item."""

        async def work(session: AsyncSession) -> Question | Refused:
            found = await self._current(session, run_id, item_id, player)
            if isinstance(found, Refused):
                return found
            run, _ = found
            question = await self.question_of(session, run)
            if question is None or not question.multiple or option not in question.order:
                return Refused("invalid")
            selected = set(question.selected) ^ {option}
            run.selected = sorted(selected)
            run.updated_at = self.clock()
            return await self.question_of(session, run) or Refused("closed")

        return await self.in_transaction(player, work)

    async def choose(
        self, player: Player, run_id: int, item_id: int, option: int | None
    ) -> AnswerOutcome:
        """Answer a choice or true/false item: one option, or (``None``) submit the toggled
        selection of a multi-select item."""
        return await self.in_transaction(
            player, partial(self._choose, player, run_id, item_id, option)
        )

    async def _choose(
        self, player: Player, run_id: int, item_id: int, option: int | None, tx: AsyncSession
    ) -> AnswerOutcome:
        owned = await self._owned_plan(tx, player, run_id)
        if isinstance(owned, Refused):
            return owned
        user_id, plan = owned
        position = plan.positions.get(item_id)
        question = await self.question_at(tx, plan, position if position is not None else -1)
        if question is None:
            return Refused("closed")
        if question.typed:
            return Refused("invalid")
        if option is None:
            if not question.multiple:
                return Refused("invalid")
            state = (await tx.execute(_STATE, {"b_run": run_id})).one()
            picked = frozenset(int(i) for i in state.selected or [])
            if state.status == "active" and state.phase == "asking" and not picked:
                return Refused("nothing_selected")
        else:
            if option not in question.order or question.multiple:
                return Refused("invalid")
            picked = frozenset({option})
        grade = grade_choice(question.item, picked)  # type: ignore[arg-type]
        texts = option_texts(question.item)
        response = json.dumps([texts[i] for i in sorted(picked)], ensure_ascii=False)
        shown = "; ".join(texts[i] for i in sorted(picked))
        return await self._record(tx, plan, user_id, question, grade, response, shown)

    async def answer_text(
        self,
        player: Player,
        text: str,
        run_id: int | None = None,
        kind: RunKind = "private",
        language: str = "en",
    ) -> AnswerOutcome:
        """Answer the current item of a run by typing (any item type); without ``run_id``,
        the player's most recently used active run of ``kind``. ``language`` is the reader's:
        it decides the letters options are shown with (:func:`~bot.quiz.grading.option_letters`)."""
        return await self.in_transaction(
            player, partial(self._answer_text, player, text, run_id, kind, language)
        )

    async def _answer_text(
        self,
        player: Player,
        text: str,
        run_id: int | None,
        kind: RunKind,
        language: str,
        tx: AsyncSession,
    ) -> AnswerOutcome:
        user_id = await self.user_id(tx, player)
        found = await self._current_state(tx, user_id, run_id, kind)
        if isinstance(found, Refused):
            return found
        plan, position = found
        question = await self.question_at(tx, plan, position)
        if question is None:
            return Refused("ended")
        if question.typed:
            grade = grade_typed(question.item, text, question.pack.language, question.pack.settings)
            if grade.unreadable:
                return Unreadable(grade.note or Note("answer_please"), question)
            response: str | None = text.strip()[:1000]
        else:
            picked = parse_choice(question.item, text, list(question.order), language)  # type: ignore[arg-type]
            if picked is None:
                return Unreadable(Note("tap_or_type", count=len(question.order)), question)
            grade = grade_choice(question.item, picked)  # type: ignore[arg-type]
            texts = option_texts(question.item)
            response = json.dumps([texts[i] for i in sorted(picked)], ensure_ascii=False)
            text = "; ".join(texts[i] for i in sorted(picked))  # "b" shows as the option
        return await self._record(tx, plan, user_id, question, grade, response, text.strip())

    async def _current_state(
        self, tx: AsyncSession, user_id: int, run_id: int | None, kind: RunKind
    ) -> tuple[RunPlan, int] | Refused:
        """The plan and position of a run waiting for an answer: ``run_id``, or the player's
        most recently used active run of ``kind``."""
        if run_id is None:
            latest = (await tx.execute(_LATEST, {"b_user": user_id, "b_kind": kind})).first()
            if latest is None:
                return Refused("no_run")
            run_id, phase, position = latest.id, latest.phase, latest.position
        else:
            state = (await tx.execute(_STATE, {"b_run": run_id})).first()
            if state is None:
                return Refused("invalid")
            if state.status != "active":
                return Refused("ended")
            phase, position = state.phase, state.position
        plan = await self.plan(tx, run_id)
        refused = self._refuse_owner(plan, user_id)
        if refused is not None:
            return refused
        if phase != "asking":
            return Refused("already")
        assert plan is not None
        return plan, position

    async def skip(
        self, player: Player, run_id: int | None = None, item_id: int | None = None
    ) -> AnswerOutcome:
        """Skip the current item (of ``run_id``, or of the player's latest active private run;
        ``item_id`` from a Skip button must be the current item): it counts as missed, and
        its answer is shown."""
        return await self.in_transaction(player, partial(self._skip, player, run_id, item_id))

    async def _skip(
        self, player: Player, run_id: int | None, item_id: int | None, tx: AsyncSession
    ) -> AnswerOutcome:
        user_id = await self.user_id(tx, player)
        found = await self._current_state(tx, user_id, run_id, "private")
        if isinstance(found, Refused):
            return found
        plan, position = found
        if item_id is not None and plan.positions.get(item_id) != position:
            return Refused("closed")
        question = await self.question_at(tx, plan, position)
        if question is None:
            return Refused("ended")
        grade = Grade(False, 0.0, None, None)
        return await self._record(tx, plan, user_id, question, grade, None, "", skipped=True)

    async def _record(
        self,
        tx: AsyncSession,
        plan: RunPlan,
        user_id: int,
        question: Question,
        grade: Grade,
        response: str | None,
        shown: str,
        skipped: bool = False,
    ) -> AnswerOutcome:
        """Claim the item (it must still be the one asked), then record the attempt and its
        totals: three statements in the caller's transaction. The last item of a run also
        schedules its review cards and sums the run up."""
        position = question.number - 1
        last = position + 1 >= len(plan.item_order)
        now = self.clock()
        score = round(grade.score * POINT)
        claimed = (
            await tx.execute(
                _CLAIM_ANSWER,
                {
                    "b_run": plan.run_id,
                    "b_position": position,
                    "b_correct": int(grade.correct),
                    "b_score": score,
                    "b_now": now,
                    "b_last": last,
                },
            )
        ).first()
        if claimed is None:
            return await self._why_not(tx, plan.run_id)
        asked_at = claimed.asked_at
        latency = int((now - asked_at).total_seconds() * 1000) if asked_at else 0
        attempt = repo.NewAttempt(
            run_id=plan.run_id,
            item_id=question.item_id,
            user_id=user_id,
            chat_id=plan.chat_id,
            pack_id=plan.pack_id,
            response=response,
            correct=grade.correct,
            score=score,
            latency_ms=max(0, latency),
            answered_at=now,
        )
        # Review runs are practice: stored for the player's history, not for rankings.
        await repo.record_attempt(tx, attempt, counts=plan.mode == "full")
        feedback = Feedback(question, grade, shown, skipped)
        finished = None
        if last:
            # The claim returned the run's counters, and the run's attempts are read once,
            # for its review cards and its summary.
            answers = (
                await tx.execute(_RUN_ANSWERS, {"b_run": plan.run_id, "b_user": user_id})
            ).all()
            scheduled = await review.schedule_answers(tx, user_id, answers, plan.mode)
            tally = _Tally(
                plan.run_id,
                plan.pack_id,
                plan.mode,
                claimed.status,
                len(plan.item_order),
                claimed.answered,
                claimed.correct,
                claimed.score,
                user_id,
            )
            finished = await self._summed_up(tx, tally, answers, scheduled.leeches)
            if claimed.assignment_id is not None:
                # A run started from an assignment's link: its submission (read the run row
                # only then; the claim returned the counters every run needs).
                run = await tx.get(QuizRun, plan.run_id)
                assert run is not None
                outcome = await record_finish(tx, run, now)
                finished = replace(finished, assignment=outcome)
        return Answered(feedback, finished, claimed.message_id, claimed.language)

    async def next_question(self, player: Player, run_id: int, position: int) -> Moved | Refused:
        """Move on from an answered item. ``position`` (1-based, from the Next button) must be
        the item just answered, so a second tap on the same button does nothing. The move
        returns the player's language with the question."""
        # Its statements each stand alone (the user and the plan come from the caches or an
        # idempotent upsert and a read; the move is one conditional UPDATE): no BEGIN/COMMIT.
        return await self.in_transaction(
            player, partial(self._next, player, run_id, position), sessionmaker=self.statements
        )

    async def _next(
        self, player: Player, run_id: int, position: int, tx: AsyncSession
    ) -> Moved | Refused:
        owned = await self._owned_plan(tx, player, run_id)
        if isinstance(owned, Refused):
            return owned
        _, plan = owned
        moved = (
            await tx.execute(
                _CLAIM_NEXT, {"b_run": run_id, "b_from": position - 1, "b_now": self.clock()}
            )
        ).first()
        if moved is None:
            return await self._why_not(tx, run_id, moving_on=True)
        question = await self.question_at(tx, plan, moved.position)
        if question is None:
            return Refused("ended")
        return Moved(question, moved.language)

    async def stop(self, player: Player, run_id: int | None = None) -> RunSummary | None:
        """Stop the player's run (``run_id``, or their latest active private run)."""

        async def work(session: AsyncSession) -> RunSummary | None:
            user_id = await self.user_id(session, player)
            stopping = run_id
            if stopping is None:
                stopping = await self._latest_run(session, user_id, "private")
            run = await session.get(QuizRun, stopping) if stopping is not None else None
            if (
                run is None
                or run.user_id != user_id
                or run.status != "active"
                or run.kind == "group"
            ):
                return None
            now = self.clock()
            run.status = "stopped"
            run.finished_at = now
            run.updated_at = now
            await session.flush()
            scheduled = await review.schedule_run(session, run.id, user_id, now)
            return await self._summary(session, run, scheduled.leeches)

        return await self.in_transaction(player, work)

    async def current_run(self, player: Player, kind: RunKind = "private") -> Question | None:
        """The question the player's current run (their most recently used active run) is
        on, if they have one: a chat has one run in progress at a time."""

        async def work(session: AsyncSession) -> Question | None:
            user_id = await self.user_id(session, player)
            run_id = await self._latest_run(session, user_id, kind)
            run = await session.get(QuizRun, run_id) if run_id is not None else None
            return await self.question_of(session, run) if run is not None else None

        return await self.in_transaction(player, work)

    async def set_message(self, run_id: int, message_id: int) -> None:
        """Remember the message that shows a run's current question (so that its buttons can
        be removed once the question is answered by typing or skipped: the claim of the answer
        returns it, :attr:`Answered.question_message`). One statement, its own transaction."""

        async def work(session: AsyncSession) -> None:
            await session.execute(
                update(QuizRun).where(QuizRun.id == run_id).values(message_id=message_id)
            )

        await self.in_transaction(None, work, sessionmaker=self.statements)

    async def _latest_run(self, session: AsyncSession, user_id: int, kind: RunKind) -> int | None:
        return (
            await session.execute(
                select(QuizRun.id)
                .where(
                    QuizRun.user_id == user_id,
                    QuizRun.status == "active",
                    QuizRun.kind == kind,
                )
                .order_by(QuizRun.updated_at.desc(), QuizRun.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def summary(self, player: Player, run_id: int) -> RunSummary | Refused:
        async def work(session: AsyncSession) -> RunSummary | Refused:
            user_id = await self.user_id(session, player)
            run = await session.get(QuizRun, run_id)
            if run is None or run.user_id != user_id:
                return Refused("invalid")
            return await self._summary(session, run)

        return await self.in_transaction(player, work)

    async def _summary(
        self, session: AsyncSession, run: QuizRun, new_leeches: tuple[int, ...] = ()
    ) -> RunSummary:
        attempts = (
            await session.execute(_RUN_ANSWERS, {"b_run": run.id, "b_user": run.user_id})
        ).all()
        tally = _Tally(
            run.id,
            run.pack_id,
            run.mode,
            run.status,
            len(run.item_order),
            run.answered,
            run.correct,
            run.score,
            run.user_id,
        )
        return await self._summed_up(session, tally, attempts, new_leeches)

    async def _summed_up(
        self,
        session: AsyncSession,
        run: _Tally,
        attempts: Sequence[Any],
        new_leeches: tuple[int, ...] = (),
    ) -> RunSummary:
        """A run's summary from its counters and its attempts (``item_id``, ``correct``,
        ``latency_ms``); ``new_leeches``: the items this run made leeches."""
        pack = await self.catalog.by_id(session, run.pack_id)
        assert pack is not None
        missed_ids = [a.item_id for a in attempts if not a.correct]
        # "Review my mistakes" leaves out leeches: they are suspended from reviews.
        suspended = set(await review.leeches_among(session, run.user_id, missed_ids))
        missed = tuple(item_id for item_id in missed_ids if item_id not in suspended)
        seconds = sum(a.latency_ms for a in attempts) / 1000
        rank = players = None
        if run.mode == "full" and run.user_id is not None:
            scope = repo.scope_key(pack_id=run.pack_id)
            standing = await repo.standing_of(session, scope, "all", run.user_id)
            if standing is not None:
                rank = standing.rank
                players = await repo.count_players(session, scope, "all")
        return RunSummary(
            run_id=run.id,
            pack=pack,
            mode=run.mode,
            status=run.status,
            total=run.total,
            answered=run.answered,
            correct=run.correct,
            score=run.score,
            seconds=seconds,
            rank=rank,
            players_on_pack=players,
            missed_item_ids=missed,
            new_leeches=new_leeches,
        )
