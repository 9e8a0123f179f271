"""Shared fixtures for store and bot tests: databases (SQLite always, PostgreSQL when
``QUIZBOT_TEST_POSTGRES_URL`` is set), a controllable clock, and a harness that drives the
real PTB ``Application`` over the offline Bot API (loaded by ``conftest.py``)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from telegram import Update
from telegram.constants import MessageLimit

from bot.settings import Settings
from bot.store import create_engine, make_sessionmaker, migrate
from bot.store.models import Attempt, Base, QuizRun
from bot.telegram import timers
from bot.telegram.app import QuizApp, build_application, startup
from bot.testing.offline import ApiCall, OfflineRequest, UpdateFactory

PG_ENV = "QUIZBOT_TEST_POSTGRES_URL"
ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class Clock:
    """A clock the tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 0, days: float = 0) -> datetime:
        self.now += timedelta(seconds=seconds, days=days)
        return self.now


# --------------------------------------------------------------------------- PostgreSQL


async def _admin(url: str, statement: str) -> None:
    admin_url = make_url(url).set(database="postgres")
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def create_pg_database(base_url: str, prefix: str = "quizbot_test") -> str:
    """Create an empty database on the test server and return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(base_url, f'CREATE DATABASE "{name}"'))
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    asyncio.run(_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pg_base_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        return None
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def empty_pg_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for a fixture to yield from; with CI=true a missing
    server variable fails instead of skipping."""
    base = pg_base_url()
    if base is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the PostgreSQL tests: set {PG_ENV}")
        pytest.skip(f"{PG_ENV} is not set")
    url = create_pg_database(base, prefix)
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture(autouse=True)
def english_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``quizbot`` commands speak the terminal's language: the tests run in an English one
    whatever the machine's (tests that need another set it)."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str | None]:
    """A migrated PostgreSQL database for the session (None without the variable). When the
    variable is set, an unreachable server is an error, never a skip."""
    base = pg_base_url()
    if base is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the PostgreSQL tests: set {PG_ENV}")
        yield None
        return
    url = create_pg_database(base)

    async def upgrade() -> None:
        engine = create_engine(url)
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(upgrade())
    try:
        yield url
    finally:
        drop_pg_database(url)


async def _truncate(engine: AsyncEngine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file upgraded through every migration once per session; each test copies it
    (about 0.2 s of Alembic saved per SQLite test: minutes over the suite)."""
    path = tmp_path_factory.mktemp("template") / "quizbot.db"

    async def upgrade() -> None:
        template = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await migrate.upgrade(template)
        finally:
            # The last connection closing checkpoints the WAL into the file.
            await template.dispose()

    asyncio.run(upgrade())
    return path


@pytest.fixture(params=BACKENDS)
async def engine(
    request: pytest.FixtureRequest, tmp_path: Path, pg_url: str | None, sqlite_template: Path
) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty database: a copy of the session's migrated SQLite file, or the
    session's PostgreSQL database emptied."""
    if request.param == "postgres":
        if pg_url is None:
            pytest.skip(f"{PG_ENV} is not set")
        eng = create_engine(pg_url)
        await _truncate(eng)
    else:
        shutil.copyfile(sqlite_template, tmp_path / "quizbot.db")
        eng = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'quizbot.db'}")
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


# --------------------------------------------------------------------------- the bot


def make_settings(
    database_url: str = "sqlite+aiosqlite://", content: Path = CONTENT, **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "TELEGRAM_BOT_TOKEN": "123456:TEST-TOKEN",
        "DATABASE_URL": database_url,
        "QUIZBOT_CONTENT_DIR": str(content),
        "QUIZBOT_ADMIN_IDS": "900",
        "QUIZBOT_LOBBY_SECONDS": "30",
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Harness:
    """Drives a real ``Application`` with Update JSON; the offline Bot API records calls."""

    app: QuizApp
    api: OfflineRequest
    clock: Clock
    updates: UpdateFactory = field(default_factory=UpdateFactory)

    async def send(self, data: dict[str, Any]) -> list[ApiCall]:
        before = len(self.api.calls)
        await self.app.process_update(Update.de_json(data, self.app.bot))
        return self.api.calls[before:]

    async def text(
        self,
        user: dict[str, Any],
        text: str,
        chat_id: int | None = None,
        reply_to: int | None = None,
    ) -> list[ApiCall]:
        return await self.send(self.updates.message(user, text, chat_id, reply_to))

    async def press(
        self, user: dict[str, Any], data: str, message_id: int = 1, chat_id: int | None = None
    ) -> list[ApiCall]:
        return await self.send(self.updates.callback(user, data, message_id, chat_id))

    async def run_jobs(self) -> int:
        """Run every timer that is due by the fake clock (no real waiting)."""
        ran = 0
        queue = self.app.job_queue
        assert queue is not None
        while True:
            due = sorted((j for j in self.alarms() if self.due(j) <= self.clock.now), key=self.due)
            if not due:
                return ran
            job = due[0]
            job.schedule_removal()
            await job.run(self.app)
            ran += 1

    def alarms(self) -> list[Any]:
        """The one-off jobs (the timers' alarms), without the repeating poll for due timers
        (see :meth:`poll_timers`)."""
        queue = self.app.job_queue
        assert queue is not None
        return [j for j in queue.jobs() if not j.removed and j.name != "timers:poll"]

    async def poll_timers(self) -> int:
        """Run the poll for due timers nobody claimed once, by the fake clock."""
        return await timers.poll(self.app)

    @staticmethod
    def due(job: Any) -> datetime:
        """When a job is due (the scheduler is not started in tests, so its own next run
        time is not computed)."""
        run_date: datetime = job.job.trigger.run_date
        return run_date

    def timers(self) -> list[tuple[Any, datetime]]:
        queue = self.app.job_queue
        assert queue is not None
        return [(j.data, self.due(j)) for j in self.alarms()]


def user(user_id: int, name: str = "Student", username: str | None = None) -> dict[str, Any]:
    return UpdateFactory.user(user_id, name, username)


async def start_harness(
    engine: AsyncEngine,
    clock: Clock,
    content: Path = CONTENT,
    api: OfflineRequest | None = None,
    rate_limiter: Any = None,
    concurrent_updates: int | bool = False,
    **settings: Any,
) -> Harness:
    api = api or OfflineRequest()
    app = build_application(
        make_settings(str(engine.url.render_as_string(hide_password=False)), content, **settings),
        request=api,
        engine=engine,
        clock=clock,
        rng=random.Random(7),
        rate_limiter=rate_limiter,
        concurrent_updates=concurrent_updates,
    )
    await app.initialize()
    await startup(app)
    return Harness(app, api, clock)


MINI_PACK = """pack: {slug}
title: {title}
description: Two items.
article: {article}
items:
  - id: range
    type: choice
    question: How far can the missiles reach?
    answer: Nearly 200 miles
    distractors: [About 50 miles, About 500 miles]
    explanation: The article says so.
    source: nearly 200 miles away
    difficulty: easy
    skill: detail
  - id: nickname
    type: short
    question: What nickname did Slutsky use for Biden?
    answers: [Bloody Joe]
    explanation: The article says so.
    source: Bloody Joe
    difficulty: easy
    skill: detail
"""


def write_mini_pack(folder: Path, slug: str = "mini") -> Path:
    """A two-item pack (a choice, then a short answer) in ``folder``; returns the folder."""
    article = ROOT / "seeds" / "biden-atacms-2024.txt"
    title = slug.replace("-", " ").capitalize()
    text = MINI_PACK.format(slug=slug, title=title, article=article)
    (folder / f"{slug}.yaml").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
async def bot(engine: AsyncEngine, clock: Clock) -> AsyncIterator[Harness]:
    harness = await start_harness(engine, clock)
    try:
        yield harness
    finally:
        await harness.app.shutdown()


@pytest.fixture
async def mini(engine: AsyncEngine, clock: Clock, tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot with the two-item pack (:func:`write_mini_pack`) as its only content."""
    harness = await start_harness(engine, clock, content=write_mini_pack(tmp_path))
    try:
        yield harness
    finally:
        await harness.app.shutdown()


def buttons_to(calls: list[ApiCall], chat_id: int) -> list[str]:
    """The callback data of every button sent or edited into a chat, oldest first."""
    found: list[str] = []
    for call in calls:
        markup = call.params.get("reply_markup")
        if not markup or int(call.params.get("chat_id", 0)) != chat_id:
            continue
        rows = (json.loads(markup) if isinstance(markup, str) else markup)["inline_keyboard"]
        found += [button["callback_data"] for row in rows for button in row]
    return found


async def attempts(engine: AsyncEngine) -> dict[int, int]:
    """How many attempts each run has recorded."""
    async with make_sessionmaker(engine)() as session:
        rows = await session.execute(select(Attempt.run_id, func.count()).group_by(Attempt.run_id))
        return {int(run): int(n) for run, n in rows.all()}


async def game_row(engine: AsyncEngine, run: int) -> QuizRun:
    async with make_sessionmaker(engine)() as session:
        row = await session.get(QuizRun, run)
        assert row is not None
        return row


async def finish_question(bot: Harness, engine: AsyncEngine, game: int) -> None:
    """Let the clock pass a group game's question deadline and the pause after it, running
    timers."""
    row = await game_row(engine, game)
    assert row.deadline_at is not None
    bot.clock.now = row.deadline_at
    bot.clock.advance(seconds=1)
    await bot.run_jobs()
    bot.clock.advance(seconds=5)
    await bot.run_jobs()


# --------------------------------------------------------------------------- HTML checks
# A well-formedness check for the HTML the bot sends, as strict as Telegram's parser: only the
# tags Telegram allows, properly nested and closed, and no ``<``, ``>`` or ``&`` outside a tag
# or an entity (https://core.telegram.org/bots/api#html-style).

TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
        "a", "tg-emoji", "code", "pre", "blockquote",
    }
)  # fmt: skip
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAGS:
            self.problems.append(f"tag <{tag}> is not allowed")
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data:
            self.problems.append(f"a bare < or > in {data[:40]!r}")

    def handle_comment(self, data: str) -> None:
        self.problems.append("a comment")


def html_problems(text: str) -> list[str]:
    """What Telegram would refuse in ``text`` (empty when it is fine)."""
    problems = [
        f"broken entity at {n}: {text[n : n + 8]!r}"
        for n, char in enumerate(text)
        if char == "&" and not _ENTITY.match(text, n)
    ]
    checker = _Checker()
    checker.feed(text)
    checker.close()
    problems += checker.problems
    if checker.open:
        problems.append(f"unclosed tags: {checker.open}")
    if len(text) > MessageLimit.MAX_TEXT_LENGTH:
        problems.append(f"{len(text)} characters")
    return problems
