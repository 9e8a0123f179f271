"""Prometheus metrics of one ``quizbot run`` process (prometheus-client), served by the
webhook server on ``QUIZBOT_METRICS_PORT`` (see docs/deploy-workers.md).

Each process has its own registry (no module-level metrics: nothing runs at import time, and
two applications in one test process never share counters). Every metric is per worker; sum
them across workers in Prometheus.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, TypeHandler

from bot.quiz.timers import claimable
from bot.store.models import QuizRun, Timer
from bot.telegram.delivery import RetryingRateLimiter

OPEN_STATUSES = ("lobby", "active")
RUN_KINDS = ("private", "group", "terminal")


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
            "Webhook requests refused, by reason (secret, body)",
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
        self.timers_due = Gauge(
            "quizbot_timers_due_unclaimed",
            "Timers due that no worker has claimed (should stay near 0: every worker polls)",
            registry=self.registry,
        )

    def watch(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Count every update the application receives (a handler in group -1, which runs
        before the bot's own handlers and never stops them)."""
        application.add_handler(TypeHandler(Update, self._count_update), group=-1)

    async def _count_update(self, update: Update, context: Any) -> None:
        """Count one update by its kind."""
        kind = next((k for k in Update.ALL_TYPES if getattr(update, k, None) is not None), "other")
        self.updates.labels(kind).inc()

    async def refresh(self, engine: AsyncEngine) -> None:
        """Read the gauges that live in the database (open runs and games, due timers)."""
        query = (
            select(QuizRun.kind, QuizRun.status, func.count())
            .where(QuizRun.status.in_(OPEN_STATUSES))
            .group_by(QuizRun.kind, QuizRun.status)
        )
        async with engine.connect() as connection:
            rows = (await connection.execute(query)).all()
            due = (
                await connection.execute(
                    select(func.count()).select_from(Timer).where(claimable(datetime.now(UTC)))
                )
            ).scalar_one()
        self.timers_due.set(int(due))
        counts = {(kind, status): int(n) for kind, status, n in rows}
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
