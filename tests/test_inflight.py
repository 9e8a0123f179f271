"""The bound on updates in flight (issue 12, bot/telegram/inflight.py): a burst put through
``Application.update_queue``, as polling, the webhook and the benchmark put updates, never has
more than the bound's parsed updates in the process; every update is processed once; and
``Application.stop()`` during a burst finishes, refusing the updates that come too late
(the webhook answers those 503, so that Telegram sends them again)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot.metrics import Metrics
from bot.telegram.app import QuizApp
from bot.telegram.inflight import IN_FLIGHT_PER_SLOT, UpdateQueue, UpdatesRefused
from bot.telegram.webhook import WebhookOptions, _start_servers
from bot.testing.offline import OfflineRequest, UpdateFactory
from botkit import Clock, start_harness, user
from workers import free_port

BURST = 120
SLOTS = 4
WAIT = 60.0
"""Seconds before a stop or a producer that never ends fails the test (a deadlock guard,
not a speed target: the burst takes a few seconds)."""

MODES = [pytest.param(False, id="sequential"), pytest.param(SLOTS, id="concurrent")]


class Burst:
    """Counts the parsed updates alive: made by :meth:`produce`, done when the last handler
    group (100) has seen them; the first group (-100) notes which updates were processed."""

    def __init__(self, app: QuizApp) -> None:
        self.app = app
        self.factory = UpdateFactory()
        self.alive = 0
        self.most = 0
        self.processed: list[int] = []
        self.accepted: list[int] = []
        self.refused = 0
        self.some_processed = asyncio.Event()
        app.add_handler(TypeHandler(Update, self.first), group=-100)
        app.add_handler(TypeHandler(Update, self.last), group=100)

    def note(self) -> None:
        self.most = max(self.most, self.alive)

    async def first(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        self.note()
        self.processed.append(update.update_id)
        if len(self.processed) >= 10:
            self.some_processed.set()

    async def last(self, _update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        self.alive -= 1

    async def produce(self, count: int) -> None:
        """``count`` students each send /help, parsed one at a time as a webhook does."""
        for n in range(count):
            data = self.factory.message(user(5000 + n), "/help")
            update = Update.de_json(json.loads(json.dumps(data)), self.app.bot)
            self.alive += 1
            self.note()
            try:
                await self.app.update_queue.put(update)
            except UpdatesRefused:
                self.alive -= 1
                self.refused += 1
                continue
            self.accepted.append(update.update_id)


@pytest.fixture
async def make_app(engine: AsyncEngine, clock: Clock) -> AsyncIterator[Any]:
    apps: list[QuizApp] = []

    async def make(concurrent: int | bool) -> QuizApp:
        harness = await start_harness(
            engine, clock, api=OfflineRequest(record=False), concurrent_updates=concurrent
        )
        apps.append(harness.app)
        return harness.app

    yield make
    for app in apps:
        if app.running:
            await app.stop()
        await app.shutdown()


def limit_of(app: QuizApp) -> int:
    queue = app.update_queue
    assert isinstance(queue, UpdateQueue)
    return queue.limit


@pytest.mark.parametrize("concurrent", MODES)
async def test_a_burst_never_has_more_than_the_bound_in_the_process(
    make_app: Any, concurrent: int | bool
) -> None:
    app: QuizApp = await make_app(concurrent)
    slots = app.update_processor.max_concurrent_updates
    assert slots == (SLOTS if concurrent else 1)
    limit = limit_of(app)
    assert limit == IN_FLIGHT_PER_SLOT * slots < BURST
    burst = Burst(app)
    await app.start()
    await asyncio.wait_for(burst.produce(BURST), WAIT)
    await asyncio.wait_for(app.update_queue.join(), WAIT)
    # At most the bound in flight, and the one the producer has parsed and waits to put;
    # an unbounded queue would have had the whole burst (the producer never waits).
    assert limit <= burst.most <= limit + 1
    assert burst.alive == 0
    assert sorted(burst.processed) == sorted(burst.accepted)
    assert len(burst.accepted) == BURST and burst.refused == 0
    assert max(Counter(burst.processed).values()) == 1
    queue = app.update_queue
    assert isinstance(queue, UpdateQueue)
    assert queue.in_flight == 0


@pytest.mark.parametrize("concurrent", MODES)
async def test_stop_during_a_burst_finishes_and_refuses_the_rest(
    make_app: Any, concurrent: int | bool
) -> None:
    app: QuizApp = await make_app(concurrent)
    burst = Burst(app)
    await app.start()
    producer = asyncio.create_task(burst.produce(BURST))
    await asyncio.wait_for(burst.some_processed.wait(), WAIT)
    # The producer waits for a slot now: stop() must neither wait for one for its own stop
    # signal, nor leave the producer waiting, nor wait for an update put after the signal.
    await asyncio.wait_for(app.stop(), WAIT)
    await asyncio.wait_for(producer, WAIT)
    assert 10 <= len(burst.accepted) < BURST
    assert burst.refused == BURST - len(burst.accepted)
    # Every update taken was processed, once; none refused was.
    assert sorted(burst.processed) == sorted(burst.accepted)
    assert max(Counter(burst.processed).values()) == 1
    assert burst.alive == 0
    # Started again, the bot takes updates again.
    await app.start()
    more = Burst(app)
    await asyncio.wait_for(more.produce(3), WAIT)
    await asyncio.wait_for(app.update_queue.join(), WAIT)
    assert len(more.accepted) == 3 and more.refused == 0


async def test_a_slot_freed_for_a_cancelled_put_goes_to_the_next(make_app: Any) -> None:
    app: QuizApp = await make_app(False)
    queue = app.update_queue
    assert isinstance(queue, UpdateQueue)
    factory = UpdateFactory()

    def update(n: int) -> Update:
        return Update.de_json(factory.message(user(n), "/help"), app.bot)

    for n in range(queue.limit):
        queue.put_nowait(update(n))
    with pytest.raises(asyncio.QueueFull):
        queue.put_nowait(update(99))
    first = asyncio.create_task(queue.put(update(100)))
    second = asyncio.create_task(queue.put(update(101)))
    await asyncio.sleep(0)
    queue.get_nowait()
    queue.task_done()  # wakes `first`, which is cancelled before it takes the slot
    first.cancel()
    await asyncio.wait_for(second, WAIT)
    assert first.cancelled()
    assert queue.in_flight == queue.limit


async def test_the_webhook_answers_503_to_an_update_it_cannot_take(make_app: Any) -> None:
    app: QuizApp = await make_app(SLOTS)
    port = free_port()
    options = WebhookOptions("127.0.0.1", port, "tg", "https://example.org/tg", None, [])
    metrics = Metrics()
    servers = _start_servers(app, options, metrics)
    factory = UpdateFactory()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            taken = await client.post("/tg", json=factory.message(user(1), "/help"))
            assert taken.status_code == 200
            assert app.update_queue.qsize() == 1  # not started: taken, not processed
            queue = app.update_queue
            assert isinstance(queue, UpdateQueue)
            queue.close()  # as QuizApplication.stop() does first
            refused = await client.post("/tg", json=factory.message(user(2), "/help"))
            assert refused.status_code == 503
            assert app.update_queue.qsize() == 1
    finally:
        for server in servers:
            server.stop()
    assert b'quizbot_webhook_refused_total{reason="stopping"} 1.0' in metrics.exposition()
