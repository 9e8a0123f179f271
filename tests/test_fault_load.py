"""1,000 students answering at once (issue 15), run by CI through ``pytest -m faults``: on
SQLite in this process through ``process_update`` and the offline Bot API, every answer is
recorded once and every student gets a reply; the answer-latency histogram
(``quizbot_answer_seconds``) times each one, and its p95 is printed (speed figures belong in
docs/deploy-workers.md, never in an assert)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import Metrics
from bot.store import create_engine, make_sessionmaker, migrate
from bot.store.engine import POSTGRES_POOL
from bot.store.models import Attempt
from bot.testing.offline import ApiCall
from botkit import Clock, Harness, empty_pg_database, start_harness, user, write_mini_pack

pytestmark = pytest.mark.faults

STUDENTS = 1_000
IN_FLIGHT = {"sqlite": 256, "postgresql": POSTGRES_POOL}
"""Updates handled at once, as the bot sets ``concurrent_updates`` (bot/telegram/app.py): 256
on SQLite (python-telegram-bot's default), one per pooled connection on PostgreSQL. The
webhook queues the rest, as this test does."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "postgres":
        yield from empty_pg_database("quizbot_load")
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'quizbot.db'}"


def answer_button(calls: list[ApiCall], chat_id: int) -> str:
    """The first answer button of the question sent to a chat."""
    for call in calls:
        markup = call.params.get("reply_markup")
        if call.method == "sendMessage" and markup and int(call.params["chat_id"]) == chat_id:
            rows = (json.loads(markup) if isinstance(markup, str) else markup)["inline_keyboard"]
            for row in rows:
                for button in row:
                    if button["callback_data"].startswith("a:"):
                        return str(button["callback_data"])
    raise AssertionError(f"no question was sent to {chat_id}")


async def attempts_per_run(engine: AsyncEngine) -> list[int]:
    async with make_sessionmaker(engine)() as session:
        rows = await session.execute(
            select(func.count()).select_from(Attempt).group_by(Attempt.run_id)
        )
        return [int(n) for (n,) in rows.all()]


async def test_1000_students_answer_at_once(store_url: str, tmp_path: Path) -> None:
    engine = create_engine(store_url)
    await migrate.upgrade(engine)
    content = tmp_path / "content"
    content.mkdir()
    bot = await start_harness(engine, Clock(), content=write_mini_pack(content))
    metrics = Metrics()
    metrics.watch(bot.app)
    try:
        await _answer_at_once(bot, engine, metrics)
    finally:
        await bot.app.shutdown()
        await engine.dispose()


async def _answer_at_once(bot: Harness, engine: AsyncEngine, metrics: Metrics) -> None:
    students = [user(100_000 + n, f"Student {n}") for n in range(STUDENTS)]
    in_flight = asyncio.Semaphore(IN_FLIGHT[engine.dialect.name])

    async def send(update: dict[str, Any]) -> None:
        async with in_flight:
            await bot.send(update)

    started = time.perf_counter()
    await asyncio.gather(*(send(bot.updates.message(s, "/quiz mini")) for s in students))
    runs_started = time.perf_counter() - started
    presses: list[dict[str, Any]] = [
        bot.updates.callback(s, answer_button(bot.api.calls, s["id"]), 1000) for s in students
    ]
    before = len(bot.api.calls)
    started = time.perf_counter()
    await asyncio.gather(*(send(update) for update in presses))
    answering = time.perf_counter() - started

    # Nothing lost: every answer recorded once, every student answered (the verdict).
    assert await attempts_per_run(engine) == [1] * STUDENTS
    replies = bot.api.calls[before:]
    verdicts = {int(c.params["chat_id"]) for c in replies if c.method == "editMessageText"}
    assert verdicts == {s["id"] for s in students}
    toasts = [c for c in replies if c.method == "answerCallbackQuery"]
    assert len(toasts) == STUDENTS
    # The histogram timed each answer once.
    assert metrics.registry.get_sample_value("quizbot_answer_seconds_count") == STUDENTS
    p50, p95 = metrics.answer_quantile(0.5), metrics.answer_quantile(0.95)
    assert p50 is not None and p95 is not None
    print(
        f"{STUDENTS} students on {engine.dialect.name}: runs started in {runs_started:.1f} s; "
        f"answers in {answering:.1f} s ({STUDENTS / answering:.0f}/s); "
        f"quizbot_answer_seconds p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
    )
