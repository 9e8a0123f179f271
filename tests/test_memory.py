"""The bot's memory does not grow with the number of students: everything it keeps per
student is in the quiz service's caches, each bounded by the bytes it holds.

Students play through the update queue as in ``quizbot bench`` (``/quiz``, an answer, Next),
and tracemalloc counts what the process holds after each batch. No timing."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import bench, text
from bot.quiz.service import BoundedCache, QuizService
from bot.store import create_engine, migrate
from bot.telegram.app import QuizApp, services_of
from bot.testing.offline import OfflineRequest, UpdateFactory
from bot.text import normalize
from botkit import CONTENT, Clock, start_harness

BATCH = 32
ANSWERS = 1
NOISE_BYTES = 64 * 1024
"""What the process may grow by in a few batches without holding anything per student: a
dict that doubles (the pool's weakref registry, 18 KiB), the rows aiosqlite's thread has in
hand when the count is taken (measured: up to 20 KiB either way)."""
LEEWAY_PER_STUDENT = 200
"""So the test catches anything kept per student from about 0.9 KiB (96 students): a run's
plan held outside its cache is 4.5 KiB, PTB's ``user_data`` dict for a user 0.25 KiB."""


@pytest.fixture
async def app(tmp_path: Path, clock: Clock) -> AsyncIterator[QuizApp]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'quizbot.db'}")
    await migrate.upgrade(engine)
    harness = await start_harness(engine, clock, api=OfflineRequest(record=False))
    await harness.app.start()  # the update queue's fetcher, as polling and webhooks use
    try:
        yield harness.app
    finally:
        await harness.app.stop()
        await harness.app.shutdown()
        await engine.dispose()


async def play(app: QuizApp, first: int) -> None:
    """A batch of new students: each starts the article pack's run and answers an item."""
    runs = await bench.start_runs(app, range(first, first + BATCH))
    factory = UpdateFactory()
    streams: list[Iterator[dict[str, Any]]] = [
        bench.answer_updates(factory, run, ANSWERS, n) for n, run in enumerate(runs)
    ]
    await bench.drive(app, streams)


def held() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def cached(quiz: QuizService) -> int:
    caches: list[BoundedCache[Any, Any]] = [quiz.plans, quiz.user_ids]
    return sum(cache.held_bytes for cache in caches)


async def test_memory_per_student_is_what_the_bounded_caches_account_for(app: QuizApp) -> None:
    quiz = services_of(app).quiz
    # Traced from the start: a plan made before tracing began and evicted later would not
    # count as freed, and a new one in its place would look like growth.
    tracemalloc.start(1)
    try:
        await play(app, 1000)  # warm-up: statement caches, the pack's items, first allocations
        await play(app, 2000)
        # While the caches fill, the process grows by what they say they hold, or less: their
        # estimates of a plan's and a user id's bytes are not below the real ones.
        process, caches = held(), cached(quiz)
        await play(app, 3000)
        process, caches = held() - process, cached(quiz) - caches
        print(f"filling: {process / BATCH:.0f} B/student, caches say {caches / BATCH:.0f}")
        assert caches > 0
        assert process <= caches + NOISE_BYTES

        # Full caches: more students leave the process the same size.
        for cache in (quiz.plans, quiz.user_ids):
            cache.budget_bytes = cache.held_bytes
        await play(app, 4000)  # the caches now evict one entry for each new one
        process, caches = held(), cached(quiz)
        students = 0
        for first in (5000, 6000, 7000):
            await play(app, first)
            students += BATCH
        process, caches = held() - process, cached(quiz) - caches
        print(f"full: {process / students:.0f} B/student, caches say {caches / students:.0f}")
        assert caches <= 0
        assert process <= NOISE_BYTES + students * LEEWAY_PER_STUDENT
    finally:
        tracemalloc.stop()


def test_only_short_texts_are_kept_in_the_normal_form_cache() -> None:
    """Typed answers are normalised through a cache of 4,096 entries: a whole message (up to
    4,096 characters) is worked out each time instead, so the cache stays a few MiB."""
    cache = text._cached_normal_form
    short, long = "Bloody  JOE!", "Bloody Joe, " * 300
    before = cache.cache_info().currsize
    assert normalize(short) == "bloody joe"
    assert normalize(long) == " ".join(["bloody joe"] * 300)
    assert cache.cache_info().currsize == before + 1
    assert len(long) > text.CACHED_TEXT_CHARS >= len(short)


PACK_TOOLS = ("rapidfuzz", "snowballstemmer", "pysbd", "genanki", "openpyxl")
"""Libraries of the pack tools (quality checks, draft, exporters, converters): loaded where
they are used, not by a bot serving students (about 4.5 MB, docs/benchmark.md)."""

START_UP = f"""
import asyncio, json, sys
import bot.cli, bot.telegram.webhook  # what `quizbot run` loads
from bot.settings import Settings
from bot.telegram.app import build_application, startup
from bot.testing.offline import OfflineRequest

async def main():
    application = build_application(Settings(), request=OfflineRequest(record=False))
    await application.initialize()
    await startup(application)
    await application.start()
    await application.stop()
    await application.shutdown()

asyncio.run(main())
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
loaded = [name for name in {PACK_TOOLS!r} if name in sys.modules]
print(json.dumps({{"loaded": loaded, "rss": status["VmRSS"].strip()}}))
"""


def start_up_in_a_fresh_interpreter(folder: Path) -> dict[str, Any]:
    """The bot's composition root and start-up (the store upgraded, the content folder
    imported, the Bot API reached) in a new Python process, on a SQLite file in ``folder``."""
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "123456:TEST-TOKEN",
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'quizbot.db'}",
        "QUIZBOT_CONTENT_DIR": str(CONTENT),
    }
    done = subprocess.run(
        [sys.executable, "-c", START_UP],
        cwd=folder,  # no stray .env
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    print(f"start-up: {result}")
    return result


def test_a_bot_serving_students_does_not_load_the_pack_tools(tmp_path: Path) -> None:
    # The first start imports the content folder: validating it runs the quality checks.
    first = start_up_in_a_fresh_interpreter(tmp_path)
    assert {"rapidfuzz", "snowballstemmer"} <= set(first["loaded"])
    # Every later start finds the packs unchanged (their fingerprints certified, no warning),
    # validates nothing, and loads none of the tools.
    assert start_up_in_a_fresh_interpreter(tmp_path)["loaded"] == []
