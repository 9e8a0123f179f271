"""``quizbot bench``: answer throughput, leaderboard latency, pack import speed and memory.

Every figure is produced by the code paths users hit: real ``Update`` JSON goes through the
``Application`` that :func:`~bot.telegram.app.build_application` builds, with the offline Bot
API (:class:`~bot.testing.offline.OfflineRequest`) in place of the network, on a fresh
store. Each ratio is measured within one run, because shared machines are noisy:

* **Answer throughput.** Simulated users play the article pack from its first item. One
  *answer* is everything between two questions: the gesture (tap an option; tap each option
  of a multi-select item, then Submit; or type a short or numeric answer) and the tap on
  Next that brings the next question. Updates are fed through ``Application.update_queue``,
  as polling and webhooks do, one wave per step of every user (a user never taps Next before
  the bot has answered). The **ceiling** is the same Application, built the same way and fed
  the same updates, with a bare handler in front that makes the Bot API calls each update
  makes on the real path (answer the callback and edit the message, or drop the keyboard and
  send a message) without the engine or the database. Both run sequentially
  (``concurrent_updates=False``) and with the bot's default concurrency.
* **Students answering one question** (part ``students``, issue 15). Each of 1,000 students
  (``--students``) starts a run; then all answer the same question, their presses handed to
  the bot open loop at moments spread uniformly at random (a fixed seed) over the question's
  time limit (``--window``, 30 s), then the next question all in the same instant (the worst
  case). Each answer's latency runs from its moment to its verdict (the edit of the question
  message) reaching the offline Bot API: the bot's own time, without Telegram. In one bot
  process on SQLite and on PostgreSQL, and in two on PostgreSQL (half the students each).
* **Leaderboard latency.** A store is seeded in bulk (not through the handlers) with users,
  group games and attempts spread over chats, packs and 60 days; the totals are computed
  from the seeded attempts and the seven-day window is set as ``repo.roll_week`` leaves it.
  Then ``/leaderboard`` and ``/leaderboard week`` are sent in group chats (the chat's board)
  and in private chats (the global board) by seeded users, and each ``process_update`` is
  timed. The raw figure is the indexed top-10 SELECT on ``score_totals`` for the same scopes.
* **Pack import.** A generated pack of 10,000 items is validated and imported with the same
  function as ``quizbot pack import``, then imported again unchanged.
* **Memory.** The throughput runs in a child process (the bot process), which reports its
  peak resident set size when they are done; seeding the leaderboard store happens elsewhere.
  The simulated users share that process, so they keep little (about 0.8 KiB each, 0.4 KiB
  per update of a wave, two bytes per update of the call record: docs/benchmark.md).

``--quick`` uses small sizes, for CI: it checks that every figure is produced, not a speed.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import logging
import math
import os
import platform
import random
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, event, func, select, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.i18n import translator
from bot.packs import ChoiceItem, Item, NumberItem, ShortItem, TrueFalseItem, validate_pack_file
from bot.quiz.boards import BoardQuery
from bot.quiz.grading import format_number
from bot.settings import Settings, bundled
from bot.store import create_engine, make_sessionmaker, migrate, repo
from bot.store.engine import POSTGRES_POOL, make_statement_sessionmaker, parse_url, unit_of_work
from bot.store.importer import import_files, import_pack
from bot.store.models import Attempt, QuizRun, ScoreTotal, User
from bot.telegram import render
from bot.telegram.app import QuizApp, QuizContext, build_application, services_of, startup
from bot.testing.offline import OfflineRequest, UpdateFactory

PARTS = ("throughput", "store", "workers", "students", "leaderboard", "import")
CONTENT_DIR = bundled("content")
ARTICLE_PACK = "atacms-2024"
ARTICLE = bundled("seeds") / "biden-atacms-2024.txt"
MB = 1024 * 1024
ATTEMPTS_PER_PLAYER = 20
"""The leaderboard store's attempts per player (``--board-players``): 2,000,000 for the
default 100,000 players."""


class BenchError(Exception):
    """The benchmark could not produce a figure (a wrong result is an error, not a figure)."""


@dataclass(frozen=True)
class BenchOptions:
    """Sizes of every part; :meth:`quick_sizes` gives the CI smoke test's."""

    users: int = 1000
    answers_per_user: int = 34
    """Items each user answers, from the first: the article pack's 34 by default, so that
    every run ends and its last answer (which schedules the run's review cards) is timed."""
    database_url: str | None = None
    """A PostgreSQL server to measure as well; scratch databases are created on it."""
    parts: tuple[str, ...] = PARTS
    seed_users: int = 100_000
    seed_attempts: int = 2_000_000
    seed_chats: int = 50
    seed_packs: int = 5
    board_requests: int = 400
    import_items: int = 10_000
    students: int = 1000
    """Students of the ``students`` part, each answering one question."""
    window: float = 30.0
    """Seconds over which the ``students`` part spreads their answers: the packs' time limit."""
    quick: bool = False

    @classmethod
    def quick_sizes(cls, **overrides: Any) -> BenchOptions:
        sizes: dict[str, Any] = {
            "users": 4,
            "seed_users": 500,
            "seed_attempts": 10_000,
            "board_requests": 40,
            "import_items": 200,
            "students": 20,
            "window": 2.0,
            "quick": True,
        }
        sizes.update(overrides)
        return cls(**sizes)


def bench_settings(database_url: str) -> Settings:
    """The bot's settings for a bench store, independent of the environment."""
    return Settings.model_validate(
        {
            "TELEGRAM_BOT_TOKEN": "123456:BENCH",
            "DATABASE_URL": database_url,
            "QUIZBOT_CONTENT_DIR": str(CONTENT_DIR),
        }
    )


def percentile(values: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def peak_rss_mb() -> float:
    """This process's peak resident set size. On Linux, ``VmHWM`` of /proc/self/status:
    ``ru_maxrss`` would not do, as the kernel carries the parent's high-water mark into a
    child across fork and exec (the child measured after the leaderboard seeding reported
    the parent's 600 MB). Elsewhere ``ru_maxrss`` (KiB on Linux and BSD, bytes on macOS)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (MB if sys.platform == "darwin" else 1024), 1)


# --------------------------------------------------------------------------- scratch stores


async def _pg_admin(server_url: str, statement: str) -> None:
    engine = create_async_engine(parse_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def scratch_store(backend: str, server_url: str | None, folder: Path) -> AsyncIterator[str]:
    """A fresh, empty store: a new SQLite file, or a new database on the PostgreSQL server
    (dropped afterwards). The database the URL names is only used to connect."""
    if backend == "sqlite":
        path = folder / f"bench-{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite+aiosqlite:///{path}"
        return
    assert server_url is not None
    name = f"quizbot_bench_{uuid.uuid4().hex[:10]}"
    await _pg_admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield parse_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _pg_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def backends(options: BenchOptions) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = [("sqlite", None)]
    if options.database_url:
        if parse_url(options.database_url).get_backend_name() != "postgresql":
            raise BenchError("--database-url must name a PostgreSQL server (postgresql://...)")
        found.append(("postgresql", options.database_url))
    return found


# --------------------------------------------------------------------------- throughput

QUESTION_TEXT = (
    "<b>Question 2 of 34</b>\n"
    "What decision by President Biden is this article mainly about?\n\n"
    "A. Letting Ukraine strike deep inside Russia with U.S. long-range missiles\n"
    "B. Sending U.S. troops to fight alongside Ukraine's forces\n"
    "C. Halting U.S. military aid to Ukraine before Trump takes office\n"
    "D. Asking NATO to negotiate a ceasefire with Russia"
)
FEEDBACK_TEXT = (
    "✅ <b>Correct!</b>\n"
    "The article opens with Biden's decision to allow Ukraine to use U.S.-supplied long-range "
    "missiles for strikes deep into Russian territory, calling it a significant policy shift.\n"
    "📖 <i>“President Biden’s decision to allow Ukraine to use U.S.-supplied long-range "
    "missiles for strikes deep into Russian territory represents a significant policy shift”</i>"
)
OPTIONS_KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton(letter, callback_data=f"a:1:1:{n}") for n, letter in enumerate("AB")],
        [InlineKeyboardButton(letter, callback_data=f"a:1:1:{n}") for n, letter in enumerate("CD")],
        [InlineKeyboardButton("Skip", callback_data="k:1:1")],
    ]
)
NEXT_KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Next ▶", callback_data="n:1:1")]])


CURRENT_UPDATE: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "bench_update", default=None
)
"""The update being processed, so that :class:`CallLog` knows whose Bot API call it sees."""


class CallLog(OfflineRequest):
    """The offline Bot API, noting which methods each update called, in order.

    It lives in the bot's process, whose memory the bench measures, so it keeps two bytes per
    update: the index of the update's sequence of methods among the few distinct sequences
    (a dict of lists took about 250 bytes per update, 20 MB for 1,000 whole runs). Update ids
    are small numbers from :class:`UpdateFactory`."""

    def __init__(self) -> None:
        super().__init__(record=False)
        self.sequences: list[tuple[str, ...]] = [()]
        self._numbers: dict[tuple[str, ...], int] = {(): 0}
        self._by_update = array("H")

    def note(self, update_id: int, method: str) -> None:
        if update_id >= len(self._by_update):
            self._by_update.extend(bytes(2 * (update_id + 1 - len(self._by_update))))
        sequence = self.sequences[self._by_update[update_id]] + (method,)
        number = self._numbers.get(sequence)
        if number is None:
            number = self._numbers[sequence] = len(self.sequences)
            self.sequences.append(sequence)
        self._by_update[update_id] = number

    def calls_of(self, update_id: int) -> tuple[str, ...]:
        """The methods update ``update_id`` called, in order."""
        if update_id >= len(self._by_update):
            return ()
        return self.sequences[self._by_update[update_id]]

    def total(self) -> int:
        """How many calls the noted updates made."""
        lengths = [len(sequence) for sequence in self.sequences]
        return sum(lengths[number] for number in self._by_update)

    def forget(self) -> None:
        """Forget every update (their ids will be used again)."""
        self._by_update = array("H")

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> Any:
        update_id = CURRENT_UPDATE.get()
        if update_id is not None and "/file/bot" not in url:
            self.note(update_id, url.rsplit("/", 1)[-1])
        return await super().do_request(url, method, *args, **kwargs)


async def note_update(update: Update, _context: QuizContext) -> None:
    """Runs first for every update of the real bot: later Bot API calls are this update's."""
    CURRENT_UPDATE.set(update.update_id)


async def ceiling_handler(calls: CallLog, update: Update, context: QuizContext) -> None:
    """The ceiling: exactly the Bot API calls the real bot made for this update (recorded by
    :class:`CallLog` in the real pass), with payloads of the same size, without engine or
    store."""
    bot = context.bot
    query, message = update.callback_query, update.effective_message
    chat_id = message.chat.id if message is not None else 0
    message_id = message.message_id if message is not None else 1
    for method in calls.calls_of(update.update_id):
        if method == "answerCallbackQuery" and query is not None:
            await query.answer("✅ Correct!")
        elif method == "editMessageText":
            await bot.edit_message_text(
                FEEDBACK_TEXT,
                chat_id,
                message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=NEXT_KEYBOARD,
            )
        elif method == "editMessageReplyMarkup":
            await bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)
        elif method == "sendMessage":
            await bot.send_message(
                chat_id, QUESTION_TEXT, parse_mode=ParseMode.HTML, reply_markup=OPTIONS_KEYBOARD
            )
        else:
            raise BenchError(f"the ceiling does not know how to make a {method} call")
    raise ApplicationHandlerStop


class StallWatch:
    """How long the event loop went without serving a 1 ms timer: with one update at a time,
    how long one step of one update held the loop (nothing else runs).

    Measured in wall time, which on a shared machine includes the time the operating system
    gave the CPU to other processes, and in the CPU time of the loop's own thread
    (``time.thread_time``), which is what the bot's code itself held the loop for, plus what
    the kernel charged to that thread meanwhile. On this machine's kernel (a Firecracker
    KVM guest built without IRQ time accounting) interrupts and soft interrupts count as the
    running thread's system time: a loop doing nothing but trivial aiosqlite statements sees
    a stall of 19 ms CPU in two minutes, 16 ms of it in the kernel (docs/benchmark.md). So
    besides the longest stall and the kernel's share of it (``getrusage(RUSAGE_THREAD)``),
    the watch keeps a histogram of every interval (0.1 ms buckets, a few KiB whatever the
    length of the pass) for the 99.99th percentile: a step of the bot's code that is slow
    once a run (1,000 times a pass) shows there; a few interrupts do not.
    """

    BUCKET_S = 0.0001
    BUCKETS = 5000  # up to 500 ms; longer intervals count in the last bucket

    def __init__(self) -> None:
        self.longest = 0.0
        self.longest_cpu = 0.0
        self.longest_cpu_kernel = 0.0
        self.histogram = array("q", bytes(8 * self.BUCKETS))
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def _kernel_time() -> float:
        """The loop thread's system CPU time, where the platform reports it per thread."""
        who = getattr(resource, "RUSAGE_THREAD", None)
        return resource.getrusage(who).ru_stime if who is not None else 0.0

    async def _watch(self) -> None:
        while True:
            before, cpu, kernel = time.perf_counter(), time.thread_time(), self._kernel_time()
            await asyncio.sleep(0.001)
            self.longest = max(self.longest, time.perf_counter() - before - 0.001)
            held = time.thread_time() - cpu
            self.histogram[min(int(held / self.BUCKET_S), self.BUCKETS - 1)] += 1
            if held > self.longest_cpu:
                self.longest_cpu = held
                # Clamped: the kernel splits a thread's time into user and system by ticks.
                self.longest_cpu_kernel = min(held, max(0.0, self._kernel_time() - kernel))

    def cpu_percentile(self, pct: float) -> float:
        """The ``pct`` percentile of the intervals' CPU time, in seconds (to the bucket's top)."""
        total = sum(self.histogram)
        if total == 0:
            return 0.0
        wanted, seen = math.ceil(total * pct / 100), 0
        for bucket, count in enumerate(self.histogram):
            seen += count
            if seen >= wanted:
                return min((bucket + 1) * self.BUCKET_S, self.longest_cpu)
        return self.longest_cpu

    def figures(self) -> dict[str, float]:
        return {
            "longest_loop_stall_ms": round(self.longest * 1000, 2),
            "longest_loop_stall_cpu_ms": round(self.longest_cpu * 1000, 2),
            "longest_loop_stall_kernel_ms": round(self.longest_cpu_kernel * 1000, 2),
            "loop_stall_cpu_p9999_ms": round(self.cpu_percentile(99.99) * 1000, 2),
        }

    def __enter__(self) -> StallWatch:
        self._task = asyncio.get_running_loop().create_task(self._watch())
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


class StatementCount:
    """The SQL work an engine does, counted by SQLAlchemy's events: statements (SQLite's
    ``BEGIN IMMEDIATE`` is a transaction, not a statement), transactions begun, commits and
    rollbacks. A connection in ``AUTOCOMMIT`` (PostgreSQL's single-statement units) sends no
    BEGIN, COMMIT or ROLLBACK, so none is counted for it: each of its writes commits on the
    server by itself, and is counted in :attr:`autocommit_writes`. On PostgreSQL every
    statement, BEGIN, COMMIT and ROLLBACK is one network round trip (:attr:`round_trips`).
    :attr:`checkouts` counts the connections taken from the pool: one per unit of work.

    :meth:`listen` before the bot starts, :meth:`remove` after it stopped, and count inside
    ``with``: on SQLite the engine's ``begin`` listener awaits ``BEGIN IMMEDIATE``, and a
    listener added while a unit of work (an update, or a timer's poll) is inside it changes
    the collection SQLAlchemy is iterating ("deque mutated during iteration")."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.counting = False
        self.statements = self.transactions = self.commits = self.rollbacks = 0
        self.autocommit_writes = self.checkouts = 0

    @staticmethod
    def _autocommit(connection: Any) -> bool:
        return bool(connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT")

    def _statement(self, connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not self.counting or statement.lstrip().upper().startswith("BEGIN"):
            return
        self.statements += 1
        if self._autocommit(connection) and not statement.lstrip().upper().startswith("SELECT"):
            self.autocommit_writes += 1

    def _begin(self, connection: Any) -> None:
        if self.counting and not self._autocommit(connection):
            self.transactions += 1

    def _commit(self, connection: Any) -> None:
        if self.counting and not self._autocommit(connection):
            self.commits += 1

    def _rollback(self, connection: Any) -> None:
        if self.counting and not self._autocommit(connection):
            self.rollbacks += 1

    def _checkout(self, *_args: Any) -> None:
        if self.counting:
            self.checkouts += 1

    @property
    def round_trips(self) -> int:
        return self.statements + self.transactions + self.commits + self.rollbacks

    def snapshot(self) -> dict[str, int]:
        return {
            "statements": self.statements,
            "transactions": self.transactions,
            "commits": self.commits,
            "autocommit_writes": self.autocommit_writes,
            "rollbacks": self.rollbacks,
            "round_trips": self.round_trips,
            "checkouts": self.checkouts,
        }

    def listen(self) -> StatementCount:
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "commit", self._commit)
        event.listen(self.engine, "rollback", self._rollback)
        event.listen(self.engine, "checkout", self._checkout)
        return self

    def remove(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "commit", self._commit)
        event.remove(self.engine, "rollback", self._rollback)
        event.remove(self.engine, "checkout", self._checkout)

    def __enter__(self) -> StatementCount:
        """Count from zero until the ``with`` ends."""
        self.statements = self.transactions = self.commits = self.rollbacks = 0
        self.autocommit_writes = self.checkouts = 0
        self.counting = True
        return self

    def __exit__(self, *_exc: object) -> None:
        self.counting = False


def per_answer(counted: StatementCount, answers: int) -> dict[str, float]:
    """What :class:`StatementCount` counted, per answer (whole runs: the last answer of each
    run, which schedules its review cards and sums it up, is in the average)."""
    return {key: round(value / answers, 2) for key, value in counted.snapshot().items()}


def bench_user(telegram_id: int) -> dict[str, Any]:
    """A simulated user's Telegram user, the same each time it is built."""
    return UpdateFactory.user(telegram_id, f"Bench {telegram_id % 10_000_000}")


@dataclass(frozen=True, slots=True)
class PlayedRun:
    """A simulated user's run: who, which run, and the ids of the items it asks in order.

    The simulated users live in the bot's process, whose memory the bench measures, so each
    keeps under 1 KiB with its generator (ids in an array; the items are the pack's, shared)."""

    telegram_id: int
    run_id: int
    item_ids: array[int]
    items: Mapping[int, Item]


def fraction(seed: int, position: int, salt: int = 0) -> float:
    """A number in [0, 1) fixed by its arguments: a user's right and wrong answers, with no
    random generator kept per user (2.5 KiB each, in the process whose memory is measured)."""
    digest = hashlib.blake2b(f"{seed}:{position}:{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def answer_updates(
    factory: UpdateFactory, run: PlayedRun, answers: int, seed: int
) -> Iterator[dict[str, Any]]:
    """The updates one user sends to answer ``answers`` items: gesture(s), then Next. About
    two answers in three are right; the same seed gives the same updates."""
    user, run_id = bench_user(run.telegram_id), run.run_id
    for position, item_id in enumerate(run.item_ids[:answers], start=1):
        item = run.items[item_id]
        right = fraction(seed, position) < 0.67
        if isinstance(item, ChoiceItem | TrueFalseItem):
            correct = sorted(item.correct_indices)
            wrong = [i for i in range(len(item.option_texts)) if i not in correct]
            if isinstance(item, ChoiceItem) and item.multiple:
                for option in correct if right else wrong[:1]:
                    yield factory.callback(user, f"t:{run_id}:{item_id}:{option}")
                yield factory.callback(user, f"s:{run_id}:{item_id}")
            else:
                option = (
                    correct[0] if right else wrong[int(fraction(seed, position, 1) * len(wrong))]
                )
                yield factory.callback(user, f"a:{run_id}:{item_id}:{option}")
        elif isinstance(item, ShortItem):
            yield factory.message(user, item.model_answer if right else "no idea, sorry")
        else:
            assert isinstance(item, NumberItem)
            value = item.answer if right else item.answer + max(1000.0, abs(item.answer) * 10)
            yield factory.message(user, format_number(value))
        if position < len(run.item_ids):
            yield factory.callback(user, f"n:{run_id}:{position}")


async def drive(
    application: QuizApp, streams: Sequence[Iterator[dict[str, Any]]]
) -> tuple[int, float]:
    """Feed every user's updates through the update queue, one wave per step, and return
    (updates, seconds): the time from parsing each wave's JSON until the bot is done with it.

    A wave waits as JSON bytes, as a webhook receives them (about 0.4 KiB an update; the
    dicts took 1.15 KiB, in the bot's process), and each update is parsed from them in the
    timed part, by the bot and by the ceiling alike."""
    queue, bot = application.update_queue, application.bot
    pending = list(streams)
    updates, seconds = 0, 0.0
    while pending:
        wave: list[bytes] = []
        still: list[Iterator[dict[str, Any]]] = []
        for stream in pending:
            data = next(stream, None)
            if data is not None:
                wave.append(json.dumps(data).encode())
                still.append(stream)
            # Building a wave is the bench's work, not the bot's: one user's update at a time,
            # or with thousands of users it holds the loop for tens of milliseconds, which the
            # stall figure would count as the bot's.
            await asyncio.sleep(0)
        pending = still
        if not wave:
            break
        started = time.perf_counter()
        for body in wave:
            # As a webhook does: the put waits while the bot has its fill of updates in flight
            # (bot/telegram/inflight.py), so a wave is parsed as the bot takes it.
            await queue.put(Update.de_json(json.loads(body), bot))
            # One update parsed at a time, as a webhook delivers them: parsing a whole wave in
            # one go would itself hold the loop (a millisecond per update) and be counted as a
            # stall of the bot's.
            await asyncio.sleep(0)
        await queue.join()
        seconds += time.perf_counter() - started
        updates += len(wave)
    return updates, seconds


async def start_runs(application: QuizApp, telegram_ids: Sequence[int]) -> list[PlayedRun]:
    """Each user sends ``/quiz <article pack>``; returns their runs, read back from the store."""
    factory = UpdateFactory()
    await drive(
        application,
        [iter([factory.message(bench_user(t), f"/quiz {ARTICLE_PACK}")]) for t in telegram_ids],
    )
    services = services_of(application)
    async with services.sessionmaker() as session:
        pack = await services.catalog.by_slug(session, ARTICLE_PACK)
        if pack is None:
            raise BenchError(f"the article pack {ARTICLE_PACK!r} was not imported")
        rows = (
            await session.execute(
                select(User.telegram_id, QuizRun.id, QuizRun.item_order)
                .join(User, User.id == QuizRun.user_id)
                .where(QuizRun.status == "active", User.telegram_id.in_(list(telegram_ids)))
            )
        ).all()
    items = {item_id: cached.item for item_id, cached in pack.by_id.items()}
    runs = [
        PlayedRun(int(tid), int(run_id), array("q", (int(i) for i in order)), items)
        for tid, run_id, order in rows
    ]
    if len(runs) != len(telegram_ids):
        raise BenchError(f"{len(runs)} of {len(telegram_ids)} users could start a run")
    return sorted(runs, key=lambda r: r.telegram_id)


async def count_attempts(application: QuizApp, runs: Sequence[PlayedRun]) -> int:
    services = services_of(application)
    async with services.sessionmaker() as session:
        return int(
            (
                await session.execute(
                    select(func.count()).where(Attempt.run_id.in_([r.run_id for r in runs]))
                )
            ).scalar_one()
        )


async def measure_mode(
    url: str, engine: AsyncEngine, users: int, answers: int, concurrent: bool, first_id: int
) -> dict[str, Any]:
    """One throughput pass (sequential or concurrent): the real bot, noting the Bot API calls
    of each update, then the ceiling making the same calls for the same updates."""
    settings = bench_settings(url)
    calls = CallLog()
    real = build_application(
        settings,
        request=calls,
        engine=engine,
        rng=random.Random(7),
        rate_limiter=None,
        concurrent_updates=concurrent,
    )
    real.add_handler(TypeHandler(Update, note_update), group=-100)
    sql = StatementCount(engine).listen()
    await real.initialize()
    await startup(real)
    await real.start()
    try:
        runs = await start_runs(real, range(first_id, first_id + users))
        answers = min(answers, min(len(r.item_ids) for r in runs))
        calls.forget()  # the /quiz updates' ids are used again below
        factory = UpdateFactory()
        with StallWatch() as stalls, sql:
            updates, seconds = await drive(
                real, [answer_updates(factory, r, answers, n) for n, r in enumerate(runs)]
            )
        recorded = await count_attempts(real, runs)
    finally:
        await real.stop()
        await real.shutdown()
        sql.remove()
    ceiling = build_application(
        settings,
        request=OfflineRequest(record=False),
        engine=engine,
        rate_limiter=None,
        concurrent_updates=concurrent,
    )
    ceiling.add_handler(TypeHandler(Update, partial(ceiling_handler, calls)), group=-1)
    await ceiling.initialize()
    await ceiling.start()
    try:
        ceiling_factory = UpdateFactory()
        ceiling_updates, ceiling_seconds = await drive(
            ceiling,
            [answer_updates(ceiling_factory, r, answers, n) for n, r in enumerate(runs)],
        )
    finally:
        await ceiling.stop()
        await ceiling.shutdown()
    expected = users * answers
    if recorded != expected or updates != ceiling_updates:
        raise BenchError(
            f"the bot recorded {recorded} of {expected} answers "
            f"({updates} updates, the ceiling had {ceiling_updates}): see the log above"
        )
    rate = expected / seconds
    ceiling_rate = expected / ceiling_seconds
    api_calls = calls.total()
    return {
        "concurrent_updates": real.update_processor.max_concurrent_updates,
        "users": users,
        "answers": expected,
        "updates": updates,
        "seconds": round(seconds, 3),
        "answers_per_s": round(rate, 1),
        "updates_per_s": round(updates / seconds, 1),
        "api_calls_per_answer": round(api_calls / expected, 2),
        **stalls.figures(),
        "ceiling_seconds": round(ceiling_seconds, 3),
        "ceiling_answers_per_s": round(ceiling_rate, 1),
        "ratio": round(rate / ceiling_rate, 3),
        "sql_per_answer": per_answer(sql, expected),
    }


MODES = {"sequential": (False, 10_000_000), "concurrent": (True, 20_000_000)}
"""The two throughput passes: ``concurrent_updates`` and the first simulated user id."""


async def throughput(url: str, users: int, answers: int, mode: str) -> dict[str, Any]:
    """One throughput pass on the store, in this (the bot's) process, with its peak memory."""
    concurrent, first_id = MODES[mode]
    engine = create_engine(url)
    try:
        figures = await measure_mode(url, engine, users, answers, concurrent, first_id)
    finally:
        await engine.dispose()
    return {**figures, "peak_rss_mb": peak_rss_mb()}


def throughput_in_child(url: str, users: int, answers: int) -> dict[str, Any]:
    """Run each pass of :func:`throughput` in a fresh interpreter, one after the other on the
    same store, so that each one's peak memory is the bot's alone (not the leaderboard
    seeding's, nor the other pass's): the floor is for a bot serving ``users`` students. The
    figure kept is the larger of the two."""
    result: dict[str, Any] = {}
    for mode in MODES:
        config = json.dumps({"url": url, "users": users, "answers": answers, "pass": mode})
        done = subprocess.run([sys.executable, "-m", "bot.bench", config], stdout=subprocess.PIPE)
        if done.returncode != 0:
            raise BenchError(f"the {mode} throughput process failed with status {done.returncode}")
        result[mode] = json.loads(done.stdout)
    result["peak_rss_mb"] = max(result[mode]["peak_rss_mb"] for mode in MODES)
    return result


# --------------------------------------------------------------------------- the store's path

STORE_CALLS = 4000
"""Units of work timed in each reading of the ``store`` part (``--quick``: a tenth)."""
STORE_READS = 3
"""Statements in the longer unit: the cost of a statement is the difference, over two."""


async def cpu_per_call(call: Callable[[], Awaitable[object]], calls: int, at_once: int) -> float:
    """Milliseconds of this process's CPU time (every thread: aiosqlite's too) per ``call``,
    ``calls`` of them with ``at_once`` in flight."""
    slots = asyncio.Semaphore(at_once)

    async def one() -> None:
        async with slots:
            await call()

    before = time.process_time()
    await asyncio.gather(*(one() for _ in range(calls)))
    return (time.process_time() - before) * 1000 / calls


async def store_path(url: str, calls: int) -> dict[str, Any]:
    """What the bot's one way to the database costs its process in CPU, measured on the
    bot's own functions: a unit of work (:func:`~bot.store.engine.unit_of_work`: a session,
    a connection from the pool and back, on SQLite ``BEGIN IMMEDIATE`` and its end), one
    statement in it (:func:`~bot.store.repo.user_language`, the read most updates make),
    and on PostgreSQL the BEGIN and COMMIT a transaction adds to a unit in ``AUTOCOMMIT``
    (on SQLite, where every unit is a transaction, a commit's cost over the rollback that
    ends a unit that only read). As many units at once as the bot has updates in flight on
    PostgreSQL.

    With the counts of the throughput pass (:meth:`Results.store_per_answer`) this gives
    the CPU the store's path alone costs per answer, whatever the bot's own code costs."""
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        alone, transactional = make_statement_sessionmaker(engine), make_sessionmaker(engine)

        def reads(count: int) -> Callable[[AsyncSession], Awaitable[None]]:
            async def work(session: AsyncSession) -> None:
                for _ in range(count):
                    await repo.user_language(session, 1)

            return work

        def timed(
            sessionmaker: async_sessionmaker[AsyncSession], count: int, commit: bool, n: int
        ) -> Awaitable[float]:
            unit = partial(unit_of_work, sessionmaker, reads(count), commit=commit)
            return cpu_per_call(unit, n, POSTGRES_POOL)

        await timed(alone, 1, False, max(calls // 10, 1))  # the pool filled, statements prepared
        one = await timed(alone, 1, False, calls)
        more = await timed(alone, STORE_READS, False, calls)
        in_transaction = await timed(transactional, 1, True, calls)
    finally:
        await engine.dispose()
    statement = (more - one) / (STORE_READS - 1)
    return {
        "calls": calls,
        "at_once": POSTGRES_POOL,
        "unit_ms": round(one - statement, 4),
        "statement_ms": round(statement, 4),
        "transaction_ms": round(max(in_transaction - one, 0.0), 4),
    }


# --------------------------------------------------------------------------- two workers

WORKERS = 2
WORKER_FIRST_ID = 30_000_000


@asynccontextmanager
async def bench_process_app(
    url: str, first_id: int, request: OfflineRequest
) -> AsyncIterator[tuple[QuizApp, StatementCount]]:
    """The bot as a bench child process runs it (the ``workers`` and ``students`` parts): its
    default concurrency, ``request`` as the Bot API, no rate limiter; started, and stopped and
    disposed of on the way out. The :class:`StatementCount` listens from the start."""
    engine = create_engine(url)
    sql = StatementCount(engine).listen()
    application = build_application(
        bench_settings(url),
        request=request,
        engine=engine,
        rng=random.Random(first_id),
        rate_limiter=None,
    )
    await application.initialize()
    await startup(application)
    await application.start()
    try:
        yield application, sql
    finally:
        await application.stop()
        await application.shutdown()
        sql.remove()
        await engine.dispose()


async def worker_pass(url: str, users: int, answers: int, first_id: int) -> dict[str, Any]:
    """One of :func:`two_workers`' bot processes: the bot with its default concurrency on a
    store another process shares. Its users start their runs, it says ``ready`` on stdout,
    waits for ``go`` on stdin, then plays the runs and reports when it started and ended
    (wall clock, so that the parent can put the processes' intervals together)."""
    async with bench_process_app(url, first_id, OfflineRequest(record=False)) as (
        application,
        sql,
    ):
        runs = await start_runs(application, range(first_id, first_id + users))
        answers = min(answers, min(len(r.item_ids) for r in runs))
        factory = UpdateFactory()
        streams = [answer_updates(factory, r, answers, n) for n, r in enumerate(runs)]
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        started = time.time()
        with sql:
            updates, seconds = await drive(application, streams)
        ended = time.time()
        recorded = await count_attempts(application, runs)
    return {
        "answers": users * answers,
        "recorded": recorded,
        "updates": updates,
        "seconds": seconds,
        "started": started,
        "ended": ended,
        "sql_per_answer": per_answer(sql, users * answers),
    }


START_DELAY = 0.5
"""Seconds between the moment every bot process is ready and the common start it is given:
enough for each to read its ``go`` line before the start."""


async def bot_processes(configs: Sequence[dict[str, Any]], rounds: int = 1) -> list[Any]:
    """Run one ``python -m bot.bench`` child per config, together: in each of ``rounds``, every
    child says ``ready`` on stdout, and once all have, each is told ``go <start>`` (a wall-clock
    time :data:`START_DELAY` ahead, the same for all). Returns each child's JSON result."""
    processes = []
    for config in configs:
        processes.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.bench",
                json.dumps(config),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
        )
    try:
        for _ in range(rounds):
            for process in processes:
                assert process.stdout is not None
                line = await process.stdout.readline()
                if line.strip() != b"ready":
                    raise BenchError("a bot process failed before it was ready: see the log above")
            start = time.time() + START_DELAY
            for process in processes:
                assert process.stdin is not None
                process.stdin.write(f"go {start!r}\n".encode())
                await process.stdin.drain()
        outputs = [await process.communicate() for process in processes]
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    if any(process.returncode != 0 for process in processes):
        raise BenchError("a bot process failed: see the log above")
    return [json.loads(out) for out, _ in outputs]


async def two_workers(url: str, users: int, answers: int) -> dict[str, Any]:
    """Answer throughput of two bot processes on one store: each plays the whole runs of
    half the users (its own: an update of a user always reaches the same process here, but
    nothing in the bot depends on that), both start together, and the rate is all their
    answers over the time from the first start to the last end."""
    share = max(1, users // WORKERS)
    results = await bot_processes(
        [
            {
                "mode": "worker",
                "url": url,
                "users": share,
                "answers": answers,
                "first_id": WORKER_FIRST_ID + number * 1_000_000,
            }
            for number in range(WORKERS)
        ]
    )
    total = sum(r["answers"] for r in results)
    if sum(r["recorded"] for r in results) != total:
        raise BenchError("the workers did not record every answer: see the log above")
    wall = max(r["ended"] for r in results) - min(r["started"] for r in results)
    return {
        "workers": WORKERS,
        "users": share * WORKERS,
        "answers": total,
        "seconds": round(wall, 3),
        "answers_per_s": round(total / wall, 1),
        "per_worker_answers_per_s": [round(r["answers"] / r["seconds"], 1) for r in results],
        "sql_per_answer": results[0]["sql_per_answer"],
    }


# --------------------------------------------------------------------------- students

STUDENTS_FIRST_ID = 40_000_000
STUDENTS_SEED = 15
"""The seed of the arrival times (and of right and wrong answers): every run the same."""
STUDENT_PASSES = ("spread", "instant")
"""The two readings of "1,000 students answering at once": the answers spread uniformly at
random over the question's time limit (``--window``), then all of them in the same instant
(the worst case)."""


def arrival_times(students: int, window: float, seed: int = STUDENTS_SEED) -> list[float]:
    """Each student's moment to answer, in seconds from the pass's start: uniform over
    ``window`` (all 0 for a window of 0), the same for the same arguments."""
    rng = random.Random(seed)
    return [rng.uniform(0.0, window) if window > 0 else 0.0 for _ in range(students)]


class VerdictClock(OfflineRequest):
    """The offline Bot API (answers at once, keeps nothing else), noting when each chat's
    verdict, the edit of the question message (``editMessageText``), reaches the transport."""

    def __init__(self) -> None:
        super().__init__(record=False)
        self.verdicts: dict[int, list[float]] = {}

    async def do_request(
        self, url: str, method: str, request_data: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        if url.endswith("/editMessageText") and request_data is not None:
            chat_id = int(request_data.parameters["chat_id"])
            self.verdicts.setdefault(chat_id, []).append(time.perf_counter())
        return await super().do_request(url, method, request_data, *args, **kwargs)


def tap(factory: UpdateFactory, run: PlayedRun, position: int, seed: int) -> dict[str, Any]:
    """The press that answers the run's item at ``position`` (0-based: a single-answer choice
    or a true/false item, as the article pack's first two are); about two in three right."""
    item_id = run.item_ids[position]
    item = run.items[item_id]
    if not isinstance(item, ChoiceItem | TrueFalseItem) or (
        isinstance(item, ChoiceItem) and item.multiple
    ):
        raise BenchError(f"item {position + 1} of {ARTICLE_PACK} is not answered with one tap")
    correct = sorted(item.correct_indices)
    wrong = [i for i in range(len(item.option_texts)) if i not in correct]
    option = correct[0] if fraction(seed, position) < 0.67 else wrong[0]
    return factory.callback(bench_user(run.telegram_id), f"a:{run.run_id}:{item_id}:{option}")


async def attempts_by_run(application: QuizApp, runs: Sequence[PlayedRun]) -> list[int]:
    """How many attempts each of ``runs`` has (0 for none), in the order of ``runs``."""
    services = services_of(application)
    async with services.sessionmaker() as session:
        rows = await session.execute(
            select(Attempt.run_id, func.count())
            .where(Attempt.run_id.in_([r.run_id for r in runs]))
            .group_by(Attempt.run_id)
        )
        found = {int(run_id): int(n) for run_id, n in rows.all()}
    return [found.get(r.run_id, 0) for r in runs]


async def answer_pass(
    application: QuizApp,
    transport: VerdictClock,
    runs: Sequence[PlayedRun],
    position: int,
    arrivals: Sequence[float],
    start: float,
) -> dict[str, Any]:
    """Open loop: each student's press is handed to the bot (parsed from its JSON and put on
    the update queue, as the webhook does) at ``start`` (``perf_counter``) plus its arrival
    time, whatever the bot is doing. Each latency runs from that scheduled moment to the
    moment the verdict reaches the transport, so a feeder held up by a busy loop counts too.
    Also noted: how many of this process's answers were in flight when each was handed over
    (0: it found the bot idle), and the process's CPU time (all its threads) over the pass."""
    factory = UpdateFactory()
    queue, bot = application.update_queue, application.bot
    due = sorted(
        (arrival, run.telegram_id, json.dumps(tap(factory, run, position, n)).encode())
        for n, (run, arrival) in enumerate(zip(runs, arrivals, strict=True))
    )
    transport.verdicts.clear()
    late = 0.0
    in_flight: list[int] = []
    cpu = time.process_time()
    for arrival, _chat, body in due:
        wait = start + arrival - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        else:
            late = max(late, -wait)
        in_flight.append(len(in_flight) - len(transport.verdicts))
        queue.put_nowait(Update.de_json(json.loads(body), bot))
        await asyncio.sleep(0)  # one update at a time, as a webhook delivers them
    await queue.join()  # every update handled, its verdict sent (or failed: see below)
    cpu = time.process_time() - cpu
    latencies = []
    for arrival, chat, _body in due:
        verdicts = transport.verdicts.get(chat, [])
        if len(verdicts) != 1:
            raise BenchError(f"student {chat} got {len(verdicts)} verdicts, not one")
        latencies.append((verdicts[0] - start - arrival) * 1000)
    recorded = await attempts_by_run(application, runs)
    if recorded != [position + 1] * len(runs):
        wrong = sum(n != position + 1 for n in recorded)
        raise BenchError(f"{wrong} of {len(runs)} students do not have {position + 1} attempts")
    ended = max(v[0] for v in transport.verdicts.values()) - start
    return {
        "latencies_ms": latencies,
        "in_flight": in_flight,
        "cpu_s": cpu,
        "ended": ended,
        "late_ms": late * 1000,
    }


async def students_process(
    url: str, first_id: int, arrivals: Sequence[Sequence[float]]
) -> dict[str, Any]:
    """One bot process of the ``students`` part: the bot as ``quizbot run`` builds it (its
    default concurrency), with the offline Bot API and no rate limiter. Its students start
    their runs; then, for each pass, it says ``ready``, is told ``go <start>``, and its
    students answer question ``pass + 1`` (a Next between passes, untimed)."""
    transport = VerdictClock()
    passes = []
    async with bench_process_app(url, first_id, transport) as (application, _sql):
        runs = await start_runs(application, range(first_id, first_id + len(arrivals[0])))
        factory = UpdateFactory()
        for position, times in enumerate(arrivals):
            if position:
                await drive(
                    application,
                    [
                        iter(
                            [
                                factory.callback(
                                    bench_user(r.telegram_id), f"n:{r.run_id}:{position}"
                                )
                            ]
                        )
                        for r in runs
                    ],
                )
            print("ready", flush=True)
            line = await asyncio.to_thread(sys.stdin.readline)
            start = time.perf_counter() + float(line.split()[1]) - time.time()
            passes.append(await answer_pass(application, transport, runs, position, times, start))
    return {
        "concurrent_updates": application.update_processor.max_concurrent_updates,
        "passes": passes,
    }


async def students(url: str, count: int, window: float, processes: int) -> dict[str, Any]:
    """``count`` students on a fresh store, served by ``processes`` bot processes (each its
    share, as the ``workers`` part runs them), answering one question spread over ``window``
    seconds, then the next all in the same instant. Every answer must be recorded once and
    every student get one verdict."""
    share = max(1, count // processes)
    schedules = [arrival_times(share * processes, w) for w in (window, 0.0)]
    configs = [
        {
            "mode": "students",
            "url": url,
            "first_id": STUDENTS_FIRST_ID + number * 1_000_000,
            "arrivals": [s[number * share : (number + 1) * share] for s in schedules],
        }
        for number in range(processes)
    ]
    results = await bot_processes(configs, rounds=len(STUDENT_PASSES))
    found: dict[str, Any] = {
        "students": share * processes,
        "processes": processes,
        "concurrent_updates": results[0]["concurrent_updates"],
    }
    for number, (name, pass_window) in enumerate(zip(STUDENT_PASSES, (window, 0.0), strict=True)):
        passes = [r["passes"][number] for r in results]
        latencies = [t for p in passes for t in p["latencies_ms"]]
        in_flight = [k for p in passes for k in p["in_flight"]]
        idle = [t for t, k in zip(latencies, in_flight, strict=True) if k == 0]
        ended = max(p["ended"] for p in passes)
        found[name] = {
            "window_s": pass_window,
            "answers": len(latencies),
            "p50_ms": round(percentile(latencies, 50), 1),
            "p95_ms": round(percentile(latencies, 95), 1),
            "p99_ms": round(percentile(latencies, 99), 1),
            "max_ms": round(max(latencies), 1),
            "seconds": round(ended, 3),
            "answers_per_s": round(len(latencies) / ended, 1),
            "feeder_late_ms": round(max(p["late_ms"] for p in passes), 1),
            "cpu_ms_per_answer": round(sum(p["cpu_s"] for p in passes) * 1000 / len(latencies), 1),
            "max_in_flight": max(in_flight) + 1,
            "found_idle": len(idle),
            "idle_p50_ms": round(percentile(idle, 50), 1) if idle else None,
            "idle_p95_ms": round(percentile(idle, 95), 1) if idle else None,
        }
    return found


# --------------------------------------------------------------------------- leaderboard


@dataclass(frozen=True)
class SeedPlan:
    """What the leaderboard store holds: users in chats playing group games of the packs."""

    users: int
    attempts: int
    chats: int
    packs: int
    games_per_user: int = 2
    players_per_game: int = 40
    days: int = 60
    first_telegram_id: int = 500_000_000

    @property
    def items_per_game(self) -> int:
        return max(1, self.attempts // (self.users * self.games_per_user))

    def chat_id(self, number: int) -> int:
        return -1_001_000_000_000 - number

    def chat_of(self, user_number: int) -> int:
        return self.chat_id(user_number % self.chats)


@dataclass(frozen=True)
class Game:
    run_id: int
    chat_id: int
    pack_id: int
    item_ids: tuple[int, ...]
    started_at: datetime
    players: tuple[int, ...]
    """User ids (= user number + 1)."""


def plan_games(
    plan: SeedPlan, pack_items: dict[int, list[int]], now: datetime, rng: random.Random
) -> list[Game]:
    games: list[Game] = []
    pack_ids = sorted(pack_items)
    for chat in range(plan.chats):
        members = list(range(chat + 1, plan.users + 1, plan.chats))
        for _ in range(plan.games_per_user):
            rng.shuffle(members)
            for first in range(0, len(members), plan.players_per_game):
                pack_id = rng.choice(pack_ids)
                items = pack_items[pack_id]
                count = min(plan.items_per_game, len(items))
                offset = rng.randrange(len(items) - count + 1)
                started = now - timedelta(seconds=rng.uniform(3600, plan.days * 86400))
                games.append(
                    Game(
                        run_id=len(games) + 1,
                        chat_id=plan.chat_id(chat),
                        pack_id=pack_id,
                        item_ids=tuple(items[offset : offset + count]),
                        started_at=started,
                        players=tuple(members[first : first + plan.players_per_game]),
                    )
                )
    return games


def attempt_rows(games: Sequence[Game], rng: random.Random) -> Iterator[tuple[Any, ...]]:
    """(id, run, item, user, chat, pack, response, correct, score, answered_at, latency)."""
    number = 0
    for game in games:
        for k, item_id in enumerate(game.item_ids):
            asked = game.started_at + timedelta(seconds=40 * k)
            for user_id in game.players:
                number += 1
                draw = rng.random()
                score = 1000 if draw < 0.6 else 500 if draw < 0.65 else 0
                latency = rng.randrange(1500, 30_000)
                yield (
                    number,
                    game.run_id,
                    item_id,
                    user_id,
                    game.chat_id,
                    game.pack_id,
                    '["seeded"]',
                    score == 1000,
                    score,
                    asked + timedelta(milliseconds=latency),
                    latency,
                )


TOTALS_SCOPES = {
    # scope expression, grouping, filter
    "g": ("'g'", "user_id", "1 = 1"),
    "p": ("'p:' || pack_id", "pack_id, user_id", "1 = 1"),
    "c": ("'c:' || chat_id", "chat_id, user_id", "chat_id IS NOT NULL"),
    "cp": (
        "'cp:' || chat_id || ':' || pack_id",
        "chat_id, pack_id, user_id",
        "chat_id IS NOT NULL",
    ),
}


def totals_statements(placeholder: str) -> list[str]:
    """INSERT ... SELECT ... GROUP BY for every scope; ``placeholder`` is the lower bound of
    ``answered_at`` (epoch for all-time, the window's first day for the week)."""
    statements = []
    for scope, grouping, where in TOTALS_SCOPES.values():
        for period in ("all", "week"):
            statements.append(
                "INSERT INTO score_totals "
                "(scope, period, user_id, points, answered, correct, seconds_ms, reached_at) "
                f"SELECT {scope}, '{period}', user_id, SUM(score), COUNT(*), "
                "SUM(CASE WHEN correct THEN 1 ELSE 0 END), SUM(latency_ms), "
                "COALESCE(MAX(CASE WHEN score > 0 THEN answered_at END), MIN(answered_at)) "
                f"FROM attempts WHERE {where} AND answered_at >= {placeholder} "
                f"GROUP BY {grouping}"
            )
    return statements


def _sqlite_time(value: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite (naive, with microseconds)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def user_rows(plan: SeedPlan, now: datetime, rng: random.Random) -> list[tuple[Any, ...]]:
    """(id, telegram_id, name, username, hidden, active, created_at, last_seen_at)."""
    return [
        (
            n + 1,
            plan.first_telegram_id + n,
            f"Player {n}",
            None,
            rng.random() < 0.02,
            True,
            now - timedelta(days=plan.days),
            now,
        )
        for n in range(plan.users)
    ]


def run_rows(games: Sequence[Game], now: datetime) -> list[tuple[Any, ...]]:
    return [
        (
            g.run_id,
            "group",
            "full",
            g.chat_id,
            None,
            g.pack_id,
            "finished",
            json.dumps(list(g.item_ids)),
            "{}",
            len(g.item_ids) - 1,
            "answered",
            "[]",
            "{}",
            g.started_at,
            g.started_at,
            g.started_at,
            min(now, g.started_at + timedelta(seconds=40 * len(g.item_ids))),
            0,
            0,
            0,
        )
        for g in games
    ]


USER_COLUMNS = (
    "id",
    "telegram_id",
    "name",
    "username",
    "hidden",
    "active",
    "created_at",
    "last_seen_at",
)
RUN_COLUMNS = (
    "id",
    "kind",
    "mode",
    "chat_id",
    "user_id",
    "pack_id",
    "status",
    "item_order",
    "option_orders",
    "position",
    "phase",
    "selected",
    "options",
    "started_at",
    "updated_at",
    "asked_at",
    "finished_at",
    "score",
    "correct",
    "answered",
)
ATTEMPT_COLUMNS = (
    "id",
    "run_id",
    "item_id",
    "user_id",
    "chat_id",
    "pack_id",
    "response",
    "correct",
    "score",
    "answered_at",
    "latency_ms",
)


def _insert_sql(table: str, columns: Sequence[str], mark: Any) -> str:
    values = ", ".join(mark(n) for n in range(1, len(columns) + 1))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"


def seed_sqlite(
    path: str,
    plan: SeedPlan,
    games: Sequence[Game],
    now: datetime,
    since_week: datetime,
    rng: random.Random,
) -> None:
    """The bulk path for SQLite: one transaction of executemany, then INSERT ... SELECT."""

    def stamped(rows: Iterator[tuple[Any, ...]] | list[tuple[Any, ...]]) -> Iterator[Any]:
        for row in rows:
            yield tuple(_sqlite_time(v) if isinstance(v, datetime) else v for v in row)

    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-262144")
        connection.execute("BEGIN")
        connection.executemany(
            _insert_sql("users", USER_COLUMNS, lambda n: "?"), stamped(user_rows(plan, now, rng))
        )
        connection.executemany(
            "INSERT INTO chats (id, type, title, created_at) VALUES (?, 'supergroup', ?, ?)",
            [
                (plan.chat_id(c), f"Class {c}", _sqlite_time(now - timedelta(days=plan.days)))
                for c in range(plan.chats)
            ],
        )
        connection.executemany(
            _insert_sql("quiz_runs", RUN_COLUMNS, lambda n: "?"), stamped(run_rows(games, now))
        )
        connection.executemany(
            _insert_sql("attempts", ATTEMPT_COLUMNS, lambda n: "?"),
            stamped(attempt_rows(games, rng)),
        )
        for statement in totals_statements("?"):
            bound = since_week if "'week'" in statement else datetime(1970, 1, 1, tzinfo=UTC)
            connection.execute(statement, (_sqlite_time(bound),))
        connection.execute(
            "INSERT INTO totals_state (id, week_rolled_through) VALUES (1, ?)",
            ((since_week.date() - timedelta(days=1)).isoformat(),),
        )
        connection.execute("COMMIT")
    finally:
        connection.close()


async def seed_postgres(
    engine: AsyncEngine,
    plan: SeedPlan,
    games: Sequence[Game],
    now: datetime,
    since_week: datetime,
    rng: random.Random,
) -> None:
    """The bulk path for PostgreSQL, on the engine's asyncpg connection: COPY, INSERT ...
    SELECT, then VACUUM ANALYZE (what autovacuum soon does to a store that grew for weeks)."""
    async with engine.connect() as connection:
        pg: Any = (await connection.get_raw_connection()).driver_connection
        async with pg.transaction():
            await pg.copy_records_to_table(
                "users", records=user_rows(plan, now, rng), columns=USER_COLUMNS
            )
            await pg.executemany(
                "INSERT INTO chats (id, type, title, created_at) VALUES ($1, 'supergroup', $2, $3)",
                [
                    (plan.chat_id(c), f"Class {c}", now - timedelta(days=plan.days))
                    for c in range(plan.chats)
                ],
            )
            await pg.copy_records_to_table(
                "quiz_runs", records=run_rows(games, now), columns=RUN_COLUMNS
            )
            rows = attempt_rows(games, rng)
            while chunk := [row for _, row in zip(range(200_000), rows, strict=False)]:
                await pg.copy_records_to_table("attempts", records=chunk, columns=ATTEMPT_COLUMNS)
            for statement in totals_statements("$1"):
                bound = since_week if "'week'" in statement else datetime(1970, 1, 1, tzinfo=UTC)
                await pg.execute(statement, bound)
            await pg.execute(
                "INSERT INTO totals_state (id, week_rolled_through) VALUES (1, $1)",
                since_week.date() - timedelta(days=1),
            )
            for table in ("users", "quiz_runs", "attempts"):
                await pg.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        await pg.execute("VACUUM ANALYZE")


async def seed_store(
    engine: AsyncEngine, url: str, plan: SeedPlan, rng: random.Random
) -> dict[str, Any]:
    """Fill a migrated, empty store: packs through the importer (the article pack and
    copies of it), everything else through the bulk path."""
    started = time.perf_counter()
    report = validate_pack_file(CONTENT_DIR / f"{ARTICLE_PACK}.yaml")
    if report.pack is None:
        raise BenchError(f"the article pack does not validate: {report.problems[:1]}")
    now = repo.utcnow()
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        for n in range(plan.packs):
            slug = ARTICLE_PACK if n == 0 else f"{ARTICLE_PACK}-copy-{n}"
            await import_pack(session, report.pack.model_copy(update={"slug": slug}), now)
    async with sessionmaker() as session:
        pack_items: dict[int, list[int]] = {}
        for item_id, pack_id in await session.execute(
            text("SELECT id, pack_id FROM items ORDER BY pack_id, position")
        ):
            pack_items.setdefault(pack_id, []).append(item_id)
    games = plan_games(plan, pack_items, now, rng)
    since_week = datetime.combine(repo.window_start(now.date()), datetime.min.time(), UTC)
    if engine.dialect.name == "sqlite":
        database = parse_url(url).database
        assert database is not None
        await asyncio.to_thread(seed_sqlite, database, plan, games, now, since_week, rng)
    else:
        await seed_postgres(engine, plan, games, now, since_week, rng)
    async with sessionmaker() as session:
        attempts = (await session.execute(select(func.count()).select_from(Attempt))).scalar_one()
        totals = (await session.execute(select(func.count()).select_from(ScoreTotal))).scalar_one()
    expected = plan.users * plan.games_per_user * plan.items_per_game
    if attempts != expected:
        raise BenchError(f"seeded {attempts} attempts, expected {expected}")
    return {
        "users": plan.users,
        "attempts": attempts,
        "chats": plan.chats,
        "packs": plan.packs,
        "games": len(games),
        "score_totals_rows": totals,
        "seconds": round(time.perf_counter() - started, 1),
    }


@dataclass(frozen=True)
class BoardRequest:
    kind: str
    """``chat`` (sent in a group: that chat's board) or ``global`` (in a private chat)."""
    period: str
    chat_id: int
    user_number: int

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.period}"

    @property
    def scope(self) -> str:
        return repo.scope_key(chat_id=self.chat_id if self.kind == "chat" else None)


def board_requests(plan: SeedPlan, count: int, rng: random.Random) -> list[BoardRequest]:
    kinds = [("chat", "all"), ("chat", "week"), ("global", "all"), ("global", "week")]
    requests = []
    for n in range(count):
        kind, period = kinds[n % len(kinds)]
        user_number = rng.randrange(plan.users)
        chat_id = plan.chat_of(user_number) if kind == "chat" else plan.first_telegram_id
        requests.append(BoardRequest(kind, period, chat_id, user_number))
    return requests


async def time_board_requests(
    application: QuizApp, api: OfflineRequest, plan: SeedPlan, requests: Sequence[BoardRequest]
) -> list[float]:
    """Milliseconds per ``/leaderboard`` update, from its JSON to the sent board; each must
    have sent the board it asked for."""
    factory, bot = UpdateFactory(), application.bot
    timings = []
    for request in requests:
        telegram_id = plan.first_telegram_id + request.user_number
        who = UpdateFactory.user(telegram_id, f"Player {request.user_number}")
        command = "/leaderboard" if request.period == "all" else "/leaderboard week"
        chat_id = request.chat_id if request.kind == "chat" else telegram_id
        data = factory.message(who, command, chat_id=chat_id)
        api.clear()
        started = time.perf_counter()
        await application.process_update(Update.de_json(data, bot))
        timings.append((time.perf_counter() - started) * 1000)
        title = "This chat" if request.kind == "chat" else "Everyone"
        sent = [str(c.params.get("text", "")) for c in api.sent("sendMessage")]
        if len(sent) != 1 or title not in sent[0]:
            raise BenchError(f"{command} ({request.label}) did not send its board: {sent}")
    return timings


def _ceiling_board(title: str) -> str:
    """A board as the bot renders one: ten players and the caller's own line."""
    top = [
        repo.Standing(n, n, f"Player {n}", False, 30_000 - 500 * n, 30 - n, 34, 400_000)
        for n in range(1, 11)
    ]
    mine = repo.Standing(4_321, 99, "Player 99", False, 9_500, 10, 34, 500_000)
    return render.leaderboard_text(translator("en"), title, top, mine, 99)


async def ceiling_board_handler(update: Update, context: QuizContext) -> None:
    """The leaderboard's ceiling: the reply a /leaderboard sends, without engine or store."""
    message = update.message
    if message is not None and message.text is not None:
        where = "This chat" if message.chat.type != "private" else "Everyone"
        when = "last 7 days" if message.text.endswith("week") else "all time"
        await message.reply_text(_ceiling_board(f"{where} · {when}"), parse_mode=ParseMode.HTML)
    raise ApplicationHandlerStop


async def time_ceiling_board(
    url: str,
    engine: AsyncEngine,
    plan: SeedPlan,
    warm_up: Sequence[BoardRequest],
    requests: Sequence[BoardRequest],
) -> list[float]:
    """Milliseconds per /leaderboard through the same Application machinery with
    :func:`ceiling_board_handler` in front: the framework's share of a request."""
    api = OfflineRequest()
    application = build_application(
        bench_settings(url), request=api, engine=engine, rate_limiter=None, concurrent_updates=False
    )
    application.add_handler(TypeHandler(Update, ceiling_board_handler), group=-1)
    await application.initialize()
    try:
        await time_board_requests(application, api, plan, warm_up)
        return await time_board_requests(application, api, plan, requests)
    finally:
        await application.shutdown()


async def viewer_ids(
    application: QuizApp, plan: SeedPlan, requests: Sequence[BoardRequest]
) -> dict[int, int | None]:
    """The user id of each request's caller (registered by their first /leaderboard)."""
    services = services_of(application)
    async with services.sessionmaker() as session:
        return {
            r.user_number: await repo.user_id_for_telegram(
                session, plan.first_telegram_id + r.user_number
            )
            for r in requests
        }


async def time_board_queries(
    application: QuizApp, plan: SeedPlan, requests: Sequence[BoardRequest]
) -> list[float]:
    """Milliseconds per board as the bot computes it for a request, without Telegram: one
    transaction with the top 10 (names included) and the caller's own rank."""
    services = services_of(application)
    viewers = await viewer_ids(application, plan, requests)
    timings = []
    for request in requests:
        chat_id = request.chat_id if request.kind == "chat" else None
        query = BoardQuery(request.period, None)  # type: ignore[arg-type]
        started = time.perf_counter()
        board = await services.boards.board(viewers[request.user_number], chat_id, query)
        timings.append((time.perf_counter() - started) * 1000)
        if isinstance(board, str):
            raise BenchError(f"the {request.label} board failed: {board}")
    return timings


RAW_TOP = (
    select(
        ScoreTotal.user_id,
        ScoreTotal.points,
        ScoreTotal.correct,
        ScoreTotal.answered,
        ScoreTotal.seconds_ms,
    )
    .where(ScoreTotal.scope == bindparam("scope"), ScoreTotal.period == bindparam("period"))
    .order_by(
        ScoreTotal.points.desc(),
        ScoreTotal.seconds_ms,
        ScoreTotal.reached_at,
        ScoreTotal.user_id,
    )
    .limit(10)
)


async def time_raw_top(engine: AsyncEngine, requests: Sequence[BoardRequest]) -> list[float]:
    """Milliseconds per raw top-10 query: one statement through the engine on an open
    connection (the driver round trip, no ORM, no bot)."""
    timings = []
    async with engine.connect() as connection:
        for request in requests:
            started = time.perf_counter()
            (
                await connection.execute(
                    RAW_TOP, {"scope": request.scope, "period": request.period}
                )
            ).all()
            timings.append((time.perf_counter() - started) * 1000)
    return timings


async def time_raw_board(
    engine: AsyncEngine, requests: Sequence[BoardRequest], viewers: dict[int, int | None]
) -> list[float]:
    """Milliseconds per pair of raw queries a board needs: the top 10, and the caller's rank
    (the statement the bot uses), on an open connection."""
    timings = []
    async with engine.connect() as connection:
        for request in requests:
            started = time.perf_counter()
            params = {"scope": request.scope, "period": request.period}
            (await connection.execute(RAW_TOP, params)).all()
            viewer = {**params, "user_id": viewers[request.user_number]}
            (await connection.execute(repo.STANDING, viewer)).all()
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def latency_figures(timings: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(timings, 50), 3),
        "p95_ms": round(percentile(timings, 95), 3),
    }


async def leaderboard(url: str, options: BenchOptions) -> dict[str, Any]:
    rng = random.Random(11)
    plan = SeedPlan(
        options.seed_users, options.seed_attempts, options.seed_chats, options.seed_packs
    )
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        seeded = await seed_store(engine, url, plan, rng)
        # Recorded, so that every request can be checked (a few microseconds per call).
        api = OfflineRequest()
        application = build_application(
            bench_settings(url),
            request=api,
            engine=engine,
            rate_limiter=None,
            concurrent_updates=False,
        )
        await application.initialize()
        await startup(application)
        try:
            warm_up = board_requests(plan, min(40, options.board_requests), rng)
            await time_board_requests(application, api, plan, warm_up)
            await time_raw_top(engine, warm_up)
            requests = board_requests(plan, options.board_requests, rng)
            full = await time_board_requests(application, api, plan, requests)
            ceiling = await time_ceiling_board(url, engine, plan, warm_up, requests)
            await time_board_queries(application, plan, warm_up)
            board = await time_board_queries(application, plan, requests)
            raw = await time_raw_top(engine, requests)
            viewers = await viewer_ids(application, plan, requests)
            raw_board = await time_raw_board(engine, requests, viewers)
        finally:
            await application.shutdown()
    finally:
        await engine.dispose()
    kinds: dict[str, Any] = {}
    for label in sorted({r.label for r in requests}):
        picked = [n for n, r in enumerate(requests) if r.label == label]
        kinds[label] = {
            "full": latency_figures([full[n] for n in picked]),
            "board": latency_figures([board[n] for n in picked]),
            "raw": latency_figures([raw[n] for n in picked]),
            "raw_board": latency_figures([raw_board[n] for n in picked]),
            "ceiling": latency_figures([ceiling[n] for n in picked]),
        }
    overall_full, overall_raw = latency_figures(full), latency_figures(raw)
    overall_board = latency_figures(board)
    overall_raw_board = latency_figures(raw_board)
    overall_ceiling = latency_figures(ceiling)
    return {
        "seed": seeded,
        "requests": len(requests),
        "full": overall_full,
        "ceiling": overall_ceiling,
        "ratio_to_ceiling_p95": round(overall_full["p95_ms"] / overall_ceiling["p95_ms"], 2),
        "ceiling_to_raw_p95": round(overall_ceiling["p95_ms"] / overall_raw["p95_ms"], 2),
        "board": overall_board,
        "raw": overall_raw,
        "ratio_p95": round(overall_full["p95_ms"] / overall_raw["p95_ms"], 2),
        "board_ratio_p95": round(overall_board["p95_ms"] / overall_raw["p95_ms"], 2),
        "raw_board": overall_raw_board,
        "ratio_to_raw_board_p95": round(overall_full["p95_ms"] / overall_raw_board["p95_ms"], 2),
        "by_kind": kinds,
    }


# --------------------------------------------------------------------------- pack import


def write_generated_pack(folder: Path, items: int) -> Path:
    """A valid pack of ``items`` items of every type, quoting the article verbatim."""
    article = ARTICLE.read_text(encoding="utf-8")
    (folder / "article.txt").write_text(article, encoding="utf-8")
    sentences = [
        s.strip()
        for s in re.split(r"(?<=[.!?])\s+", article)
        if 30 <= len(s.strip()) <= 200 and "\n" not in s.strip()
    ]
    q = json.dumps
    lines = [
        "pack: bench-generated",
        "title: A generated pack for quizbot bench",
        "description: Ten thousand items quoting the article, to time validation and import.",
        "article: article.txt",
        "items:",
    ]
    for n in range(items):
        source = sentences[n % len(sentences)]
        head = [
            f"  - id: item-{n:05d}",
            f"    question: {q(f'Question {n}: what does the article say here?')}",
            f"    explanation: {q(f'Explanation {n}: the article says so.')}",
            f"    source: {q(source)}",
            "    difficulty: medium",
            "    skill: detail",
        ]
        kind = n % 4
        if kind == 0:
            body = [
                "    type: choice",
                f"    answer: {q(f'Answer {n}')}",
                f"    distractors: [{q(f'Wrong {n} A')}, {q(f'Wrong {n} B')}, {q(f'Wrong {n} C')}]",
            ]
        elif kind == 1:
            body = ["    type: truefalse", f"    answer: {'true' if n % 8 == 1 else 'false'}"]
        elif kind == 2:
            body = ["    type: short", f"    answers: [{q(f'word {n}')}, {q(f'words {n}')}]"]
        else:
            body = ["    type: number", f"    answer: {n}", "    tolerance: 0"]
        lines += head + body
    path = folder / "bench-generated.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def pack_import(url: str, folder: Path, items: int) -> dict[str, Any]:
    path = write_generated_pack(folder, items)
    started = time.perf_counter()
    report = validate_pack_file(path)
    validate_seconds = time.perf_counter() - started
    if not report.ok:
        raise BenchError(f"the generated pack does not validate: {report.errors[:3]}")
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        sessionmaker = make_sessionmaker(engine)
        started = time.perf_counter()
        first = await import_files(sessionmaker, [path], repo.utcnow())
        import_seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = await import_files(sessionmaker, [path], repo.utcnow())
        reimport_seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    if not (first.ok and first.plans[0].new_pack and len(first.plans[0].added) == items):
        raise BenchError(f"the first import did not add {items} items")
    if not again.ok or again.plans[0].changes_anything:
        raise BenchError("the unchanged re-import changed something")
    return {
        "items": items,
        "bytes": path.stat().st_size,
        "validate_seconds": round(validate_seconds, 3),
        "import_seconds": round(import_seconds, 3),
        "reimport_seconds": round(reimport_seconds, 3),
    }


# --------------------------------------------------------------------------- the whole run


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = round(pages / 1024**3, 1)
    except (ValueError, OSError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


async def postgres_version(server_url: str) -> str:
    engine = create_async_engine(parse_url(server_url))
    try:
        async with engine.connect() as connection:
            return str((await connection.execute(text("SHOW server_version"))).scalar_one())
    finally:
        await engine.dispose()


@dataclass
class Results:
    """Everything measured, as written to the JSON file."""

    options: BenchOptions
    started_at: datetime = field(default_factory=repo.utcnow)
    machine: dict[str, Any] = field(default_factory=machine)
    throughput: dict[str, Any] = field(default_factory=dict)
    store: dict[str, Any] = field(default_factory=dict)
    workers: dict[str, Any] = field(default_factory=dict)
    students: dict[str, Any] = field(default_factory=dict)
    """By configuration: ``sqlite``, ``postgresql`` (one process), ``postgresql, 2 workers``."""
    leaderboard: dict[str, Any] = field(default_factory=dict)
    pack_import: dict[str, Any] = field(default_factory=dict)

    def targets(self) -> list[dict[str, Any]]:
        """The issue's targets, each with the measured value and whether it is met; none for
        a quick run, whose sizes are too small to judge them."""
        found: list[dict[str, Any]] = []
        if self.options.quick:
            return found

        def add(figure: str, backend: str, value: float, target: str, met: bool) -> None:
            found.append(
                {"figure": figure, "backend": backend, "value": value, "target": target, "met": met}
            )

        for backend, t in self.throughput.items():
            if backend == "sqlite":
                ratio = t["sequential"]["ratio"]
                add("answers/s ÷ ceiling, sequential", backend, ratio, ">= 0.25", ratio >= 0.25)
            else:
                ratio = t["concurrent"]["ratio"]
                add("answers/s ÷ ceiling, concurrent", backend, ratio, ">= 0.5", ratio >= 0.5)
            # The slowest update: the bot's slowest step, without the few interrupts the
            # kernel charges to the loop's thread in a pass (StallWatch).
            stall = t["sequential"]["loop_stall_cpu_p9999_ms"]
            add(
                "slowest update: event-loop stall, sequential, CPU, 99.99th percentile (ms)",
                backend,
                stall,
                "<= 10",
                stall <= 10,
            )
            peak = t["peak_rss_mb"]
            add("peak memory of the bot (MB)", backend, peak, "< 150", peak < 150)
        for label, s in self.students.items():
            limit = 50 if label == "sqlite" else 100
            spread, instant = s["spread"], s["instant"]
            add(
                f"{s['students']:,} students, p95 update to verdict, spread over "
                f"{spread['window_s']:g} s (ms)",
                label,
                spread["p95_ms"],
                f"< {limit}",
                spread["p95_ms"] < limit,
            )
            add(
                f"{s['students']:,} students, p95 update to verdict, all in one instant "
                "(worst case) (ms)",
                label,
                instant["p95_ms"],
                f"< {limit}",
                instant["p95_ms"] < limit,
            )
        for backend, b in self.leaderboard.items():
            p95, raw = b["full"]["p95_ms"], b["raw"]["p95_ms"]
            add("leaderboard p95 (ms)", backend, p95, "< 10", p95 < 10)
            add("/leaderboard p95 ÷ raw p95", backend, b["ratio_p95"], "<= 3", p95 <= 3 * raw)
            ceiling = b["ceiling"]["p95_ms"]
            add(
                "/leaderboard p95 ÷ its ceiling (no database) p95",
                backend,
                b["ratio_to_ceiling_p95"],
                "<= 3",
                p95 <= 3 * ceiling,
            )
            raw_board = b["raw_board"]["p95_ms"]
            add(
                "/leaderboard p95 ÷ raw top-10 + rank p95",
                backend,
                b["ratio_to_raw_board_p95"],
                "<= 3",
                p95 <= 3 * raw_board,
            )
        for backend, i in self.pack_import.items():
            seconds, again = i["import_seconds"], i["reimport_seconds"]
            add(f"import of {i['items']:,} items (s)", backend, seconds, "< 3", seconds < 3)
            add("unchanged re-import (s)", backend, again, "< 1", again < 1)
        return found

    def store_per_answer(self, backend: str) -> dict[str, float] | None:
        """The CPU the store's path alone costs the bot's process per answer of the
        concurrent pass: its units of work, statements and transactions per answer (counted
        in that pass) at the prices the ``store`` part measured. Beside it, the room the 50%
        floor leaves: at half the ceiling's rate an answer may take two of the ceiling's
        answers' time, one of which is the ceiling's own work (python-telegram-bot making the
        same Bot API calls), so everything the bot adds, the store's path included, has to
        fit in one ceiling answer's time (both processes are bound by their CPU)."""
        prices, passed = self.store.get(backend), self.throughput.get(backend)
        if prices is None or passed is None:
            return None
        concurrent = passed["concurrent"]
        counts = concurrent["sql_per_answer"]
        path = (
            counts["checkouts"] * prices["unit_ms"]
            + counts["statements"] * prices["statement_ms"]
            + counts["transactions"] * prices["transaction_ms"]
        )
        return {
            "store_path_ms": round(path, 3),
            "room_at_half_ceiling_ms": round(1000 / concurrent["ceiling_answers_per_s"], 3),
        }

    def as_json(self) -> dict[str, Any]:
        o = self.options
        return {
            "date": self.started_at.date().isoformat(),
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "machine": self.machine,
            "options": {
                "quick": o.quick,
                "users": o.users,
                "answers_per_user": o.answers_per_user,
                "seed_users": o.seed_users,
                "seed_attempts": o.seed_attempts,
                "seed_chats": o.seed_chats,
                "seed_packs": o.seed_packs,
                "board_requests": o.board_requests,
                "import_items": o.import_items,
                "students": o.students,
                "window": o.window,
                "parts": list(o.parts),
            },
            "throughput": self.throughput,
            "store": {
                backend: {**prices, "per_answer": self.store_per_answer(backend)}
                for backend, prices in self.store.items()
            },
            "workers": self.workers,
            "students": self.students,
            "leaderboard": self.leaderboard,
            "import": self.pack_import,
            "targets": self.targets(),
        }


def _rate(mode: str, key: str, figures: dict[str, Any]) -> str:
    value = figures[mode][key]
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def _figure(mode: str, key: str, figures: dict[str, Any]) -> str:
    return f"{figures[mode][key]:.2f}"


def _sql(mode: str, key: str, figures: dict[str, Any]) -> str:
    found = figures[mode].get("sql_per_answer", {})
    return f"{found[key]:.2f}" if key in found else "-"


def _ratio(mode: str, figures: dict[str, Any]) -> str:
    return f"{figures[mode]['ratio']:.0%}"


STALL_ROWS = (
    ("longest event-loop stall, {mode}, wall (ms)", "longest_loop_stall_ms"),
    ("longest event-loop stall, {mode}, CPU (ms)", "longest_loop_stall_cpu_ms"),
    ("  of which the kernel's, {mode} (ms)", "longest_loop_stall_kernel_ms"),
    ("event-loop stall, {mode}, CPU, 99.99th percentile (ms)", "loop_stall_cpu_p9999_ms"),
)
"""The table's rows of :class:`StallWatch`'s figures, per pass."""


def table(results: Results) -> str:
    """The figures as a plain-text table (one column per backend), then the targets."""
    m = results.machine
    heading = (
        f"quizbot bench, {results.started_at:%Y-%m-%d}: {m['cpu']}, {m['cores']} cores, "
        f"{m['memory_gib']} GiB; Python {m['python']}, SQLite {m['sqlite']}"
        + (f", PostgreSQL {m['postgresql'].split()[0]}" if "postgresql" in m else "")
    )
    names = sorted(
        {*results.throughput, *results.store, *results.leaderboard, *results.pack_import},
        key=lambda b: b != "sqlite",
    )
    rows: list[tuple[str, ...]] = [("figure", *names)]

    def row(label: str, section: dict[str, Any], pick: Callable[[Any], str]) -> None:
        if section:
            rows.append((label, *(pick(section[n]) if n in section else "-" for n in names)))

    t, b, i = results.throughput, results.leaderboard, results.pack_import
    for mode in ("sequential", "concurrent"):
        row(f"answers/s, {mode}", t, partial(_rate, mode, "answers_per_s"))
        row(f"ceiling answers/s, {mode}", t, partial(_rate, mode, "ceiling_answers_per_s"))
        row(f"answers/s ÷ ceiling, {mode}", t, partial(_ratio, mode))
        row(f"Bot API calls per answer, {mode}", t, partial(_figure, mode, "api_calls_per_answer"))
        for label, key in STALL_ROWS:
            row(label.format(mode=mode), t, partial(_figure, mode, key))
    for mode in ("sequential", "concurrent"):
        row(f"SQL statements per answer, {mode}", t, partial(_sql, mode, "statements"))
        row(f"commits per answer, {mode}", t, partial(_sql, mode, "commits"))
        row(f"round trips per answer (PostgreSQL), {mode}", t, partial(_sql, mode, "round_trips"))
        row(f"units of work per answer, {mode}", t, partial(_sql, mode, "checkouts"))
    p = results.store
    row("store's path: a unit of work, CPU (ms)", p, lambda x: f"{x['unit_ms']:.3f}")
    row("store's path: a statement in it, CPU (ms)", p, lambda x: f"{x['statement_ms']:.3f}")
    row("store's path: BEGIN + COMMIT, CPU (ms)", p, lambda x: f"{x['transaction_ms']:.3f}")
    per_answer = {n: a for n in names if (a := results.store_per_answer(n)) is not None}
    row(
        "store's path per answer, concurrent, CPU (ms)",
        per_answer,
        lambda x: f"{x['store_path_ms']:.2f}",
    )
    row(
        "room per answer at 50% of the ceiling, concurrent (ms)",
        per_answer,
        lambda x: f"{x['room_at_half_ceiling_ms']:.2f}",
    )
    w = results.workers
    row(f"answers/s, {WORKERS} worker processes", w, lambda x: f"{x['answers_per_s']:,.0f}")
    row(
        f"{WORKERS} workers ÷ one process's ceiling, concurrent",
        w,
        lambda x: f"{x['ratio_to_ceiling']:.0%}" if "ratio_to_ceiling" in x else "-",
    )
    row("peak memory of the bot (MB)", t, lambda x: f"{x['peak_rss_mb']:.0f}")
    row("/leaderboard p50 (ms)", b, lambda x: f"{x['full']['p50_ms']:.2f}")
    row("/leaderboard p95 (ms)", b, lambda x: f"{x['full']['p95_ms']:.2f}")
    row("raw top-10 query p50 (ms)", b, lambda x: f"{x['raw']['p50_ms']:.3f}")
    row("raw top-10 query p95 (ms)", b, lambda x: f"{x['raw']['p95_ms']:.3f}")
    row("ceiling: /leaderboard, no database p50 (ms)", b, lambda x: f"{x['ceiling']['p50_ms']:.2f}")
    row("ceiling: /leaderboard, no database p95 (ms)", b, lambda x: f"{x['ceiling']['p95_ms']:.2f}")
    row("ceiling p95 ÷ raw p95", b, lambda x: f"{x['ceiling_to_raw_p95']:.1f}×")
    row("/leaderboard p95 ÷ ceiling p95", b, lambda x: f"{x['ratio_to_ceiling_p95']:.1f}×")
    row("board: top 10 + rank p50 (ms)", b, lambda x: f"{x['board']['p50_ms']:.2f}")
    row("board: top 10 + rank p95 (ms)", b, lambda x: f"{x['board']['p95_ms']:.2f}")
    row("/leaderboard p95 ÷ raw p95", b, lambda x: f"{x['ratio_p95']:.0f}×")
    row("board p95 ÷ raw p95", b, lambda x: f"{x['board_ratio_p95']:.1f}×")
    row("raw top-10 + rank p50 (ms)", b, lambda x: f"{x['raw_board']['p50_ms']:.2f}")
    row("raw top-10 + rank p95 (ms)", b, lambda x: f"{x['raw_board']['p95_ms']:.2f}")
    row(
        "/leaderboard p95 ÷ raw top-10 + rank p95",
        b,
        lambda x: f"{x['ratio_to_raw_board_p95']:.1f}×",
    )
    row("seeding the store (s)", b, lambda x: f"{x['seed']['seconds']:.1f}")
    row("validate the generated pack (s)", i, lambda x: f"{x['validate_seconds']:.2f}")
    row("import: validate + write (s)", i, lambda x: f"{x['import_seconds']:.2f}")
    row("unchanged re-import (s)", i, lambda x: f"{x['reimport_seconds']:.2f}")
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = [heading]
    if len(rows) > 1:  # not when only the students part ran
        lines += [
            "",
            *("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows),
        ]
        lines.insert(3, "  ".join("-" * w for w in widths))
    lines += students_table(results.students)
    targets = results.targets()
    if targets:
        lines.append("")
    for target in targets:
        mark = "met" if target["met"] else "NOT MET"
        lines.append(
            f"{mark:8} {target['figure']}, {target['backend']}: {target['value']} "
            f"(target {target['target']})"
        )
    if results.options.quick:
        lines += ["", "(quick run: the sizes are too small to judge the targets)"]
    return "\n".join(line.rstrip() for line in lines)


def students_table(found: dict[str, Any]) -> list[str]:
    """The ``students`` part: one line per configuration and reading."""
    if not found:
        return []
    rows: list[tuple[str, ...]] = [
        (
            "students answering one question",
            "answers",
            "p50",
            "p95",
            "p99",
            "max",
            "answers/s",
            "found idle: n, p95",
            "CPU/answer",
        )
    ]
    for label, s in found.items():
        for name in STUDENT_PASSES:
            f = s[name]
            when = (
                f"spread over {f['window_s']:g} s"
                if name == "spread"
                else "all in one instant (worst case)"
            )
            rows.append(
                (
                    f"{label}: {when}",
                    f"{f['answers']:,}",
                    *(f"{f[k]:,.1f} ms" for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")),
                    f"{f['answers_per_s']:,.1f}",
                    f"{f['found_idle']:,}, {f['idle_p95_ms']:,.1f} ms" if f["found_idle"] else "0",
                    f"{f['cpu_ms_per_answer']:.1f} ms",
                )
            )
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = ["", "from each answer's update to its verdict at the Bot API transport (no Telegram):"]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(3, "  ".join("-" * w for w in widths))
    return lines


Progress = Callable[[str], None]


async def run_parts(
    options: BenchOptions, results: Results, folder: Path, progress: Progress
) -> None:
    for backend, server in backends(options):
        if server is not None:
            results.machine["postgresql"] = await postgres_version(server)
        if "throughput" in options.parts:
            progress(f"answer throughput on {backend} (in a child process: the bot)")
            async with scratch_store(backend, server, folder) as url:
                results.throughput[backend] = await asyncio.to_thread(
                    throughput_in_child, url, options.users, options.answers_per_user
                )
        if "store" in options.parts:
            progress(f"the CPU cost of the store's path on {backend}")
            async with scratch_store(backend, server, folder) as url:
                calls = STORE_CALLS // 10 if options.quick else STORE_CALLS
                results.store[backend] = await store_path(url, calls)
        if "workers" in options.parts and backend == "postgresql":
            progress(f"answer throughput of {WORKERS} worker processes on one {backend} store")
            async with scratch_store(backend, server, folder) as url:
                workers = await two_workers(url, options.users, options.answers_per_user)
            if backend in results.throughput:
                ceiling = results.throughput[backend]["concurrent"]["ceiling_answers_per_s"]
                workers["ratio_to_ceiling"] = round(workers["answers_per_s"] / ceiling, 3)
            results.workers[backend] = workers
        if "students" in options.parts:
            for processes in (1, WORKERS) if backend == "postgresql" else (1,):
                label = backend if processes == 1 else f"{backend}, {processes} workers"
                progress(
                    f"{options.students:,} students answering one question on {label} "
                    f"(spread over {options.window:g} s, then all at once)"
                )
                async with scratch_store(backend, server, folder) as url:
                    results.students[label] = await students(
                        url, options.students, options.window, processes
                    )
        if "leaderboard" in options.parts:
            progress(f"leaderboard latency on {backend} (seeding the store first)")
            async with scratch_store(backend, server, folder) as url:
                results.leaderboard[backend] = await leaderboard(url, options)
        if "import" in options.parts:
            progress(f"pack import on {backend}")
            async with scratch_store(backend, server, folder) as url:
                results.pack_import[backend] = await pack_import(url, folder, options.import_items)


def run(options: BenchOptions, json_path: Path, progress: Progress) -> Results:
    """Run the benchmark and write the JSON; returns the results (see :func:`table`)."""
    results = Results(options)
    with tempfile.TemporaryDirectory(prefix="quizbot-bench-") as folder:
        asyncio.run(run_parts(options, results, Path(folder), progress))
    json_path.write_text(json.dumps(results.as_json(), indent=2) + "\n", encoding="utf-8")
    return results


def _child() -> None:
    """``python -m bot.bench <config>``: the throughput process (see throughput_in_child)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    config = json.loads(sys.argv[1])
    if config.get("mode") == "worker":
        worker = worker_pass(config["url"], config["users"], config["answers"], config["first_id"])
        print(json.dumps(asyncio.run(worker)))
        return
    if config.get("mode") == "students":
        found = students_process(config["url"], config["first_id"], config["arrivals"])
        print(json.dumps(asyncio.run(found)))
        return
    result = asyncio.run(
        throughput(config["url"], config["users"], config["answers"], config["pass"])
    )
    print(json.dumps(result))


if __name__ == "__main__":
    _child()
