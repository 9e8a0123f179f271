"""The composition root: settings, engine, services and handlers wired into one PTB
``Application``. Nothing here runs at import time."""

from __future__ import annotations

import asyncio
import gc
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats
from telegram.error import InvalidToken, NetworkError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackContext,
    ContextTypes,
    ExtBot,
    JobQueue,
)
from telegram.request import BaseRequest

from bot.logs import redact
from bot.quiz.boards import Boards
from bot.quiz.catalog import Catalog
from bot.quiz.packadmin import PackAdmin
from bot.quiz.service import QuizService
from bot.quiz.uploads import Uploads
from bot.settings import Settings
from bot.store import create_engine, make_sessionmaker, migrate, repo
from bot.store.engine import POSTGRES_POOL, is_sqlite
from bot.store.importer import import_files

log = logging.getLogger("quizbot")

PRIVATE_COMMANDS = [
    ("start", "Welcome and the list of quizzes"),
    ("quiz", "Start or continue a quiz: /quiz [pack]"),
    ("packs", "The published quizzes"),
    ("read", "Read the article: /read [pack]"),
    ("skip", "Skip the current question"),
    ("review", "Re-ask the questions you missed, when due"),
    ("stop", "Stop the current quiz"),
    ("score", "Your scores per quiz"),
    ("leaderboard", "Rankings: /leaderboard [week|all] [pack]"),
    ("settings", "Privacy: show or hide me on leaderboards"),
    ("help", "How this bot works"),
]
INSTRUCTOR_COMMANDS = [
    *PRIVATE_COMMANDS,
    ("mypacks", "Instructor: your packs and their status"),
    ("stats", "Instructor: item analysis of a pack: /stats pack"),
    ("export", "Instructor: results as CSV: /export pack"),
    ("hide", "Instructor: hide a pack from students: /hide pack"),
    ("show", "Instructor: show a hidden pack again: /show pack"),
    ("retire", "Instructor: retire a pack for good: /retire pack"),
    ("instructor", "Instructor: how to publish a pack"),
]
"""The menu of instructors' private chats (set per chat, so students never see it)."""
ADMIN_COMMANDS = [
    *INSTRUCTOR_COMMANDS,
    ("grant", "Admin: make someone an instructor: /grant user-id"),
    ("revoke", "Admin: take the instructor role away: /revoke user-id"),
]
GROUP_COMMANDS = [
    ("quiz", "Open a game lobby: /quiz [pack]"),
    ("stop", "End the game now"),
    ("leaderboard", "This chat's ranking: /leaderboard [week|all] [pack]"),
    ("help", "How group games work"),
]


@dataclass
class Services:
    """Everything a handler needs, created once per process."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    catalog: Catalog
    quiz: QuizService
    boards: Boards
    clock: Callable[[], datetime]
    uploads: Uploads
    admin: PackAdmin
    extras: dict[str, Any] = field(default_factory=dict)
    store_ready: bool = False
    """The schema is upgraded and the content folder imported (once per process)."""


class BotApiUnreachable(Exception):
    """The Bot API could not be reached (or refused the token) at start-up."""


class BotData:
    """The typed ``context.bot_data``: it holds the services (set by build_application)."""

    services: Services


QuizContext = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]
AnyApp = Application[Any, Any, Any, Any, Any, Any]
"""What a handler's ``context.application`` is typed as."""

QuizApp = Application[
    ExtBot[None], QuizContext, dict[Any, Any], dict[Any, Any], BotData, JobQueue[QuizContext]
]

_DEFAULT = object()


class QuizApplication(Application[Any, Any, Any, Any, Any, Any]):
    """The PTB ``Application`` with a start-up order that fails clearly: the database is
    opened and upgraded before the first Bot API call (``getMe``), and a Bot API that cannot
    be reached gets a few retries with back-off, one log line each, then
    :class:`BotApiUnreachable`."""

    async def initialize(self) -> None:
        services = services_of(self)
        await prepare_store(services)
        await connect(services.settings, super().initialize)


async def connect(settings: Settings, initialize: Callable[[], Any]) -> None:
    """Call ``initialize`` (which calls ``getMe``), retrying network failures."""
    delay = settings.startup_backoff
    where = settings.telegram_api_base_url.removesuffix("/bot")
    for attempt in range(1, settings.startup_retries + 2):
        try:
            await initialize()
            return
        except InvalidToken:
            raise BotApiUnreachable(
                "the Bot API refused the token: check TELEGRAM_BOT_TOKEN (from @BotFather)"
            ) from None
        except NetworkError as exc:
            if attempt > settings.startup_retries:
                raise BotApiUnreachable(
                    f"cannot reach the Telegram Bot API at {where} ({exc}); gave up after "
                    f"{attempt} tries"
                ) from None
            log.warning(
                "cannot reach the Telegram Bot API at %s (%s); retry %d of %d in %.1f s",
                where,
                exc,
                attempt,
                settings.startup_retries,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    engine: AsyncEngine | None = None,
    clock: Callable[[], datetime] = repo.utcnow,
    rng: random.Random | None = None,
    rate_limiter: BaseRateLimiter[Any] | object | None = _DEFAULT,
    concurrent_updates: int | bool = True,
) -> QuizApp:
    """Build the bot. ``request`` replaces the HTTP transport (the tests' offline Bot API);
    ``rate_limiter`` defaults to ``AIORateLimiter`` (None turns it off, for tests)."""
    token = settings.token or "0:offline"
    redact(settings.token)
    engine = engine or create_engine(settings.database_url)
    if concurrent_updates is True and not is_sqlite(engine):
        concurrent_updates = POSTGRES_POOL  # one connection for each update in flight
    sessionmaker = make_sessionmaker(engine)
    catalog = Catalog()
    quiz = QuizService(sessionmaker, catalog, clock, rng)
    services = Services(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        catalog=catalog,
        quiz=quiz,
        boards=Boards(sessionmaker, catalog, clock),
        clock=clock,
        uploads=Uploads(sessionmaker, clock),
        admin=PackAdmin(sessionmaker, catalog, clock),
    )
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.file_base_url)
        .application_class(QuizApplication)
        .context_types(ContextTypes(bot_data=BotData))
        .concurrent_updates(concurrent_updates)
        .post_init(startup)
        .post_shutdown(shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if rate_limiter is _DEFAULT:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=2))  # type: ignore[arg-type]
    elif rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)  # type: ignore[arg-type]
    application: QuizApp = builder.build()  # type: ignore[assignment]
    application.bot_data.services = services

    from bot.telegram import handlers

    handlers.register(application)
    return application


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    services: Services = application.bot_data.services
    return services


async def import_content(services: Services, folder: Path) -> list[str]:
    """Validate and import every pack in ``folder`` (idempotent); returns the served packs.

    A broken pack is logged with every problem and skipped, so one bad file cannot keep the
    bot from serving the others.
    """
    outcome = await import_files(
        services.sessionmaker, [folder], services.clock(), all_or_nothing=False
    )
    for name in outcome.missing:
        log.warning("content folder %s does not exist; no pack imported from it", name)
    for report in outcome.reports:
        for problem in report.problems:
            log.warning("%s", problem)
        if not report.ok:
            log.error("pack %s not imported: %d error(s)", report.file, len(report.errors))
    for plan in outcome.plans:
        if plan.changes_anything:
            log.info("imported %s", plan.describe())
    services.catalog.forget()
    async with services.sessionmaker() as session:
        packs = await services.quiz.visible_packs(session)
    return [f"{p.slug} ({len(p.items)} items)" for p in packs]


async def prepare_store(services: Services) -> None:
    """Upgrade the schema and import the content folder (once): before any Bot API call, so
    that a database problem is the first and only thing reported."""
    if services.store_ready:
        return
    await migrate.upgrade(services.engine)
    services.extras["served"] = await import_content(services, services.settings.content_dir)
    services.store_ready = True


async def startup(application: QuizApp) -> None:
    """Set the command menus, re-arm game timers and log the packs (after
    :meth:`QuizApplication.initialize` has prepared the store and reached the Bot API)."""
    services = services_of(application)
    await prepare_store(services)
    served: list[str] = services.extras.get("served", [])
    await application.bot.set_my_commands(
        [BotCommand(c, d) for c, d in PRIVATE_COMMANDS], scope=BotCommandScopeAllPrivateChats()
    )
    await application.bot.set_my_commands(
        [BotCommand(c, d) for c, d in GROUP_COMMANDS], scope=BotCommandScopeAllGroupChats()
    )
    from bot.telegram import group, instructor

    await instructor.set_menus(application)
    rearmed = await group.rearm_timers(application)
    log.info(
        "serving %d pack(s): %s%s",
        len(served),
        ", ".join(served) or "none (add YAML packs to the content folder)",
        f"; re-armed {rearmed} game timer(s)" if rearmed else "",
    )
    # Everything loaded so far (modules, the catalog, the Application) lives as long as the
    # process: out of the collector's sight, a full collection no longer walks it, and no
    # longer holds the event loop for ~90 ms (quizbot bench, 60 users).
    gc.freeze()


async def shutdown(application: QuizApp) -> None:
    services = services_of(application)
    await services.engine.dispose()
