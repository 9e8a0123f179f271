"""Timers in Telegram: run the deadlines kept in the database (bot/quiz/timers.py) on this
worker's JobQueue.

Two jobs lead to a timer, and both go through a claim, so it acts once whichever wins: the
alarm this worker arms for the exact moment (:func:`arm`; after a restart, :func:`rearm` arms
every pending timer, a past deadline for right now instead of dropping it as a misfire), and a
poll every :data:`POLL` seconds for due timers nobody claimed (:func:`poll`), which takes over
the timers of a worker that died. Each kind of timer has one handler (``game`` is
bot/telegram/group.py's), registered with :func:`handle`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.quiz.timers import MAX_TRIES, Timer, TimerService
from bot.store import DATABASE_ERRORS, describe_error
from bot.telegram.context import AnyApp, QuizContext, services_of

log = logging.getLogger("quizbot.timers")

POLL = 1.0
"""Seconds between two polls for due timers nobody claimed."""

GRACE = timedelta(seconds=1)
"""How long a due timer is left to the worker that armed it before the others take it over."""

Handler = Callable[[AnyApp, Timer], Awaitable[None]]


def timer_service(app: AnyApp) -> TimerService:
    svc = services_of(app)
    service: TimerService | None = svc.extras.get("timers")
    if service is None:
        service = TimerService(svc.sessionmaker, svc.clock)
        svc.extras["timers"] = service
    return service


def _handlers(app: AnyApp) -> dict[str, Handler]:
    handlers: dict[str, Handler] = services_of(app).extras.setdefault("timer_handlers", {})
    return handlers


def handle(app: AnyApp, kind: str, handler: Handler) -> None:
    """Run ``handler`` for the timers of ``kind``."""
    _handlers(app)[kind] = handler


def _queue(app: AnyApp) -> Any:
    queue = app.job_queue
    if queue is None:  # pragma: no cover - the job-queue extra is a dependency
        raise RuntimeError("the JobQueue is missing: install python-telegram-bot[job-queue]")
    return queue


def disarm(app: AnyApp, key: str) -> None:
    """Drop this worker's alarm for a timer (an alarm that still rings finds nothing to do)."""
    for job in _queue(app).get_jobs_by_name(key):
        job.schedule_removal()


def arm(app: AnyApp, key: str, due: datetime) -> None:
    """Ring this worker's alarm for the timer ``key`` at ``due``, or now if that is past (a
    past date would be dropped by the scheduler as a misfire)."""
    disarm(app, key)
    when = max(due, services_of(app).clock())
    _queue(app).run_once(on_alarm, when=when, data=key, name=key)


async def on_alarm(context: QuizContext) -> None:
    """An alarm rang: act on its timer if no other worker has."""
    assert context.job is not None
    key: str = context.job.data  # type: ignore[assignment]
    timer = await timer_service(context.application).claim(key)
    if timer is not None:
        await run(context.application, timer)


async def on_poll(context: QuizContext) -> None:
    """The regular poll: act on due timers nobody claimed, then set the next poll. While the
    database is out of reach, one line says so when it starts failing and one when it is back
    (not one a second)."""
    try:
        await _poll_once(context)
    finally:
        # The next poll is set when this one ends (not on a fixed interval): a poll slowed by
        # a busy database never overlaps the next, which the scheduler would log every second.
        start_polling(context.application)


async def _poll_once(context: QuizContext) -> None:
    extras = services_of(context.application).extras
    try:
        await poll(context.application)
    except DATABASE_ERRORS as exc:
        if not extras.get("timers_failing"):
            log.error(
                "timers: cannot reach the database (%s); retrying every %s s",
                describe_error(exc),
                POLL,
            )
            extras["timers_failing"] = True
        return
    if extras.pop("timers_failing", False):
        log.info("timers: the database is back")


async def poll(app: AnyApp) -> int:
    """Claim and run the timers due for :data:`GRACE` that nobody holds; returns how many."""
    claimed = await timer_service(app).claim_due(GRACE)
    for timer in claimed:
        await run(app, timer)
    return len(claimed)


async def run(app: AnyApp, timer: Timer) -> None:
    """Run a claimed timer's handler, then remove the timer. A handler that fails leaves the
    timer to run again when its claim lapses, up to :data:`MAX_TRIES` times."""
    service = timer_service(app)
    handler = _handlers(app).get(timer.kind)
    if handler is None or timer.tries > MAX_TRIES:
        log.error(
            "timer %s dropped: %s",
            timer.key,
            "no handler for its kind" if handler is None else f"failed {MAX_TRIES} times",
        )
        await service.done(timer)
        return
    try:
        await handler(app, timer)
    except Exception:
        log.exception("timer %s failed (try %d); it runs again later", timer.key, timer.tries)
        return
    await service.done(timer)


async def rearm(app: AnyApp) -> int:
    """Arm an alarm for every pending timer (at start-up); returns how many."""
    pending = await timer_service(app).pending()
    for timer in pending:
        arm(app, timer.key, timer.due_at)
    return len(pending)


def start_polling(app: AnyApp) -> None:
    """Poll for due timers nobody claimed every :data:`POLL` seconds."""
    _queue(app).run_once(on_poll, when=POLL, name="timers:poll")
