"""Prometheus metrics of one ``quizbot run`` process (prometheus-client), served by the
webhook server on ``QUIZBOT_METRICS_PORT`` (see docs/deploy-workers.md).

Each process has its own registry (no module-level metrics: nothing runs at import time, and
two applications in one test process never share counters). Every metric is per worker; sum
them across workers in Prometheus.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, TypeHandler

from bot.quiz.timers import claimable
from bot.store.engine import unit_of_work
from bot.store.models import QuizRun, Timer
from bot.telegram.delivery import RetryingRateLimiter

OPEN_STATUSES = ("lobby", "active")
ANSWER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
ANSWER_BUTTONS = ("a:", "s:", "ga:")
"""Buttons that answer a question (bot/telegram/callbacks.py): an option, Submit, a game's."""
AFTER_ALL = 1_000
"""The handler group that runs after the bot's own (group 0)."""
ANSWERS_IN_FLIGHT = 10_000
"""Answers remembered while they are handled (beyond that, the oldest is dropped)."""
RUN_KINDS = ("private", "group", "terminal")


def is_answer(update: Update) -> bool:
    """A vote on a game's poll, an answer button, or a typed answer: text that is no
    command, in a private chat or as a reply in a group."""
    if update.poll_answer is not None:
        return True
    if update.callback_query is not None:
        return (update.callback_query.data or "").startswith(ANSWER_BUTTONS)
    message = update.message
    if message is None or not message.text or message.text.startswith("/"):
        return False
    return message.chat.type == ChatType.PRIVATE or message.reply_to_message is not None


def histogram_quantile(registry: CollectorRegistry, name: str, q: float) -> float | None:
    """The ``q`` quantile of histogram ``name``, by linear interpolation within the bucket
    that holds it (Prometheus' ``histogram_quantile``); None when it is empty."""
    buckets: list[tuple[float, float]] = []
    for metric in registry.collect():
        if metric.name != name:
            continue
        for sample in metric.samples:
            if sample.name == f"{name}_bucket":
                buckets.append((float(sample.labels["le"]), sample.value))
    buckets.sort()
    total = buckets[-1][1] if buckets else 0.0
    if total == 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if upper == float("inf"):
                return lower
            return lower + (upper - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = upper, count
    return lower


class Metrics:
    """The metrics of one worker, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "quizbot_updates",
            "Updates received, by kind (message, callback_query, poll_answer, ...)",
            ["kind"],
            registry=self.registry,
        )
        self.refused = Counter(
            "quizbot_webhook_refused",
            "Webhook requests refused, by reason (secret, body, stopping)",
            ["reason"],
            registry=self.registry,
        )
        self.api_errors = Counter(
            "quizbot_bot_api_errors",
            "Failed Bot API calls (each try, retried or not), by method and error",
            ["method", "error"],
            registry=self.registry,
        )
        self.limiter_wait = Histogram(
            "quizbot_rate_limiter_wait_seconds",
            "Time a Bot API call spent waiting in the rate limiter (flood limits, retry_after)",
            buckets=(0.001, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.open_runs = Gauge(
            "quizbot_open_runs",
            "Runs (private, terminal) and games (group) not finished, by kind and status",
            ["kind", "status"],
            registry=self.registry,
        )
        self.answer_seconds = Histogram(
            "quizbot_answer_seconds",
            "Time from an answer's update reaching the bot (poll vote, answer button, typed "
            "text) to the end of its handling, replies included",
            buckets=ANSWER_BUCKETS,
            registry=self.registry,
        )
        self._answering: OrderedDict[int, float] = OrderedDict()
        self.timers_due = Gauge(
            "quizbot_timers_due_unclaimed",
            "Timers due that no worker has claimed (should stay near 0: every worker polls)",
            registry=self.registry,
        )

    def watch(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Count every update the application receives (a handler in group -1, which runs
        before the bot's own handlers and never stops them), and time the answers (from that
        handler to one in the last group, which runs when the bot's handlers are done)."""
        application.add_handler(TypeHandler(Update, self._count_update), group=-1)
        application.add_handler(TypeHandler(Update, self._answer_done), group=AFTER_ALL)

    async def _count_update(self, update: Update, context: Any) -> None:
        """Count one update by its kind; note when an answer arrived."""
        kind = next((k for k in Update.ALL_TYPES if getattr(update, k, None) is not None), "other")
        self.updates.labels(kind).inc()
        if is_answer(update):
            self._answering[update.update_id] = time.perf_counter()
            while len(self._answering) > ANSWERS_IN_FLIGHT:  # one never finished: forget it
                self._answering.popitem(last=False)

    async def _answer_done(self, update: Update, context: Any) -> None:
        """Time an answer whose handling is over (a failed one too: the user waited)."""
        started = self._answering.pop(update.update_id, None)
        if started is not None:
            self.answer_seconds.observe(time.perf_counter() - started)

    def answer_quantile(self, q: float) -> float | None:
        """The ``q`` quantile of the answer times, interpolated within the histogram's
        buckets as Prometheus' ``histogram_quantile`` does (None before any answer)."""
        return histogram_quantile(self.registry, "quizbot_answer_seconds", q)

    async def refresh(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Read the gauges that live in the database (open runs and games, due timers)."""
        query = (
            select(QuizRun.kind, QuizRun.status, func.count())
            .where(QuizRun.status.in_(OPEN_STATUSES))
            .group_by(QuizRun.kind, QuizRun.status)
        )

        async def work(session: AsyncSession) -> tuple[list[tuple[str, str, int]], int]:
            rows = (await session.execute(query)).all()
            due = (
                await session.execute(
                    select(func.count()).select_from(Timer).where(claimable(datetime.now(UTC)))
                )
            ).scalar_one()
            return [(kind, status, int(n)) for kind, status, n in rows], int(due)

        rows, due = await unit_of_work(sessionmaker, work, commit=False)
        self.timers_due.set(due)
        counts = {(kind, status): n for kind, status, n in rows}
        for kind in RUN_KINDS:
            for status in OPEN_STATUSES:
                self.open_runs.labels(kind, status).set(counts.get((kind, status), 0))

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


class MeteredRateLimiter(RetryingRateLimiter):
    """The bot's rate limiter (:class:`~bot.telegram.delivery.RetryingRateLimiter`) that also
    counts failed calls by method and times the waits.

    ``process_request`` is the documented hook every Bot API call goes through, with the
    method name; wrapping the callback it is given sees each try, including the ones tried
    again after a 429, a 5xx or a timeout (the pauses between tries count as waits).
    """

    def __init__(self, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metrics = metrics

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        calling = 0.0

        async def call(
            *call_args: Any, **call_kwargs: Any
        ) -> bool | dict[str, Any] | list[dict[str, Any]]:
            nonlocal calling
            started = time.perf_counter()
            try:
                return await callback(*call_args, **call_kwargs)
            except TelegramError as exc:
                self.metrics.api_errors.labels(endpoint, type(exc).__name__).inc()
                raise
            finally:
                calling += time.perf_counter() - started

        started = time.perf_counter()
        try:
            return await super().process_request(
                call, args, kwargs, endpoint, data, rate_limit_args
            )
        finally:
            waited = time.perf_counter() - started - calling
            self.metrics.limiter_wait.observe(max(0.0, waited))
