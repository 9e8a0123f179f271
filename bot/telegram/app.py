"""The composition root: settings, engine, services and handlers wired into one PTB
``Application``. Nothing here runs at import time."""

from __future__ import annotations

import asyncio
import gc
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from telegram.constants import ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    PollAnswerHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.logs import redact
from bot.quiz.boards import Boards
from bot.quiz.catalog import Catalog
from bot.quiz.classes import Classes
from bot.quiz.game import GameService
from bot.quiz.habits import REMIND_KIND, Habits
from bot.quiz.packadmin import PackAdmin
from bot.quiz.players import Players
from bot.quiz.service import QuizService
from bot.quiz.uploads import Uploads
from bot.settings import Settings
from bot.store import create_engine, make_sessionmaker, make_statement_sessionmaker, migrate, repo
from bot.store.engine import POSTGRES_POOL, is_sqlite
from bot.telegram import (
    callbacks,
    classes,
    drafts,
    errors,
    group,
    habits,
    handlers,
    languages,
    menus,
    pack_status,
    publishing,
    results,
    roles,
    timers,
)
from bot.telegram.context import (
    AnyApp,
    BotData,
    QuizApp,
    QuizContext,
    Services,
    invalid_button,
    services_of,
)
from bot.telegram.delivery import RetryingRateLimiter
from bot.telegram.inflight import UpdateQueue

if TYPE_CHECKING:  # types only: the adapter reaches the database through the domain
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = [
    "BotApiUnreachable",
    "QuizApp",
    "QuizContext",
    "Services",
    "build_application",
    "services_of",
    "startup_call",
]

log = logging.getLogger("quizbot")

T = TypeVar("T")


class BotApiUnreachable(Exception):
    """The Bot API could not be reached (or refused the token) at start-up."""


_DEFAULT = object()

CONCURRENT_UPDATES = 256
"""Updates processed at once on SQLite: python-telegram-bot's own default for
``concurrent_updates(True)``."""


class QuizApplication(Application[Any, Any, Any, Any, Any, Any]):
    """The PTB ``Application`` with a start-up order that fails clearly: the database is
    opened and upgraded before the first Bot API call (``getMe``), and a Bot API that cannot
    be reached gets a few retries with back-off, one log line each, then
    :class:`BotApiUnreachable`."""

    async def initialize(self) -> None:
        services = services_of(self)
        await prepare_store(services)
        await startup_call(services.settings, super().initialize)

    async def start(self) -> None:
        if isinstance(self.update_queue, UpdateQueue):
            self.update_queue.reopen()
        await super().start()

    async def stop(self) -> None:
        """Refuse new updates (see :class:`UpdateQueue`), then stop as PTB does: the updates
        already queued are processed first."""
        if isinstance(self.update_queue, UpdateQueue):
            self.update_queue.close()
        await super().stop()


async def startup_call(settings: Settings, call: Callable[[], Awaitable[T]]) -> T:
    """A Bot API call the bot cannot start without (``getMe`` in ``initialize``, the command
    menus, ``setWebhook``), tried again with back-off while the Bot API cannot be reached or
    does not answer in time: one log line per retry, then :class:`BotApiUnreachable` after
    ``QUIZBOT_STARTUP_RETRIES``. A refusal (a bad token, a bad request) is not tried again.
    Without it, one slow answer to ``setWebhook`` stopped a worker that was already serving."""
    delay = settings.startup_backoff
    where = settings.telegram_api_base_url.removesuffix("/bot")
    attempt = 1
    while True:
        try:
            return await call()
        except InvalidToken:
            raise BotApiUnreachable(
                "the Bot API refused the token: check TELEGRAM_BOT_TOKEN (from @BotFather)"
            ) from None
        except BadRequest:
            raise
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
            attempt += 1


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
    if concurrent_updates is True:
        # PostgreSQL: one pooled connection for each update processed at once.
        slots = CONCURRENT_UPDATES if is_sqlite(engine) else POSTGRES_POOL
    else:
        slots = max(1, int(concurrent_updates))  # False: one at a time
    sessionmaker = make_sessionmaker(engine)
    catalog = Catalog()
    quiz = QuizService(sessionmaker, catalog, clock, rng, make_statement_sessionmaker(engine))
    services = Services(
        games=GameService(sessionmaker, catalog, quiz, clock, quiz.rng),
        players=Players(quiz),
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        catalog=catalog,
        quiz=quiz,
        boards=Boards(sessionmaker, catalog, clock),
        clock=clock,
        uploads=Uploads(sessionmaker, clock),
        admin=PackAdmin(sessionmaker, catalog, clock),
        habits=Habits(quiz),
        classes=Classes(sessionmaker, quiz, clock),
    )
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.file_base_url)
        .application_class(QuizApplication)
        .context_types(ContextTypes(bot_data=BotData))
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .concurrent_updates(slots)
        .update_queue(UpdateQueue(slots))
        .post_init(startup)
        .post_shutdown(shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if rate_limiter is _DEFAULT:
        limiter = RetryingRateLimiter(max_retries=2, overall_max_rate=settings.send_rate)
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]
    elif rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)  # type: ignore[arg-type]
    application: QuizApp = builder.build()  # type: ignore[assignment]
    application.bot_data.services = services
    register(application)
    return application


PRIVATE = filters.ChatType.PRIVATE
GROUPS = filters.ChatType.GROUPS
ASSIGNMENT_LINK = filters.Regex(r"^/start(@\w+)?\s+a_")

BUTTONS = [
    # private runs
    (handlers.answer_button, ("a", "t", "s", "k")),
    (handlers.next_button, ("n",)),
    (handlers.resume_button, ("c",)),
    (handlers.review_button, ("rv", "rvn")),
    (handlers.review_pack_button, ("rvp",)),
    (handlers.review_due_button, ("rvd",)),
    # packs (in a group, a pack button opens a lobby)
    (handlers.pack_button, ("pk", "new")),
    (handlers.read_button, ("rd",)),
    (handlers.board_button, ("lb",)),
    (handlers.privacy_button, ("priv",)),
    (languages.language_button, ("lang",)),
    # group games
    (group.speed_pack_button, ("pks",)),
    (group.join_button, ("j",)),
    (group.start_button, ("go",)),
    (group.group_answer_button, ("ga",)),
    # instructors
    (publishing.publish_button, ("pub",)),
    # classes
    (classes.mute_button, ("mu",)),
]
"""Which handler each kind of button (:mod:`bot.telegram.callbacks`) goes to."""


def register(application: AnyApp) -> None:
    """Add every handler. Order matters: PTB runs the first handler that matches in a group,
    so specific handlers come before the catch-alls of the same update kind."""
    add = application.add_handler
    # Before everything else, in a group of its own (so the update goes on to the handlers
    # below): whoever posts in a group is a student of that class.
    add(MessageHandler(GROUPS, classes.seen_in_group), group=-1)
    # Commands of every chat, and their private/group variants. An assignment's Start link
    # (/start a_...) before the other deep links.
    add(CommandHandler("start", classes.start_link_command, filters=ASSIGNMENT_LINK))
    add(CommandHandler("start", handlers.start))
    add(CommandHandler("help", handlers.help_command, filters=PRIVATE))
    add(CommandHandler("help", group.help_command, filters=GROUPS))
    add(CommandHandler("packs", handlers.packs_command))
    add(CommandHandler("quiz", handlers.quiz_command, filters=PRIVATE))
    add(CommandHandler("quiz", group.quiz_command, filters=GROUPS))
    add(CommandHandler("stop", handlers.stop_command, filters=PRIVATE))
    add(CommandHandler("stop", group.stop_command, filters=GROUPS))
    add(CommandHandler("read", handlers.read_command))
    add(CommandHandler("skip", handlers.skip_command, filters=PRIVATE))
    add(CommandHandler("skip", group.skip_command, filters=GROUPS))
    add(CommandHandler("review", handlers.review_command, filters=PRIVATE))
    add(CommandHandler("review", group.review_command, filters=GROUPS))
    add(CommandHandler("score", handlers.score_command))
    add(CommandHandler("leaderboard", handlers.leaderboard_command))
    add(CommandHandler(["settings", "privacy"], handlers.settings_command))
    add(CommandHandler("language", languages.language_command))
    add(CommandHandler("timezone", habits.timezone_command))
    add(CommandHandler("remind", habits.remind_command))
    # Instructor tools: private chats only (results stay private); in a group, a pointer.
    add(CommandHandler("grant", roles.grant_command))
    add(CommandHandler("revoke", roles.revoke_command))
    add(CommandHandler("mypacks", pack_status.mypacks_command, filters=PRIVATE))
    add(CommandHandler("stats", results.stats_command, filters=PRIVATE))
    add(CommandHandler("export", results.export_command, filters=PRIVATE))
    add(CommandHandler("draft", drafts.draft_command, filters=PRIVATE))
    add(CommandHandler(["hide", "show", "retire"], pack_status.status_command, filters=PRIVATE))
    add(CommandHandler("instructor", roles.instructor_help, filters=PRIVATE))
    # Classes: /assign in a group; /assignments in both; /report in private.
    add(CommandHandler("assign", classes.assign_command, filters=GROUPS))
    add(CommandHandler("assign", classes.assign_in_private, filters=PRIVATE))
    add(CommandHandler("assignments", classes.assignments_command))
    add(CommandHandler("report", classes.report_command, filters=PRIVATE))
    timers.handle(application, "assignment", classes.fire_timer)
    add(CommandHandler(list(roles.PRIVATE_TOOLS), roles.in_private_only, filters=GROUPS))
    # Group games: their timers, votes on quiz polls, typed answers by reply.
    timers.handle(application, "game", group.fire_timer)
    timers.handle(application, REMIND_KIND, habits.fire_reminder)
    add(PollAnswerHandler(group.poll_answer))
    add(MessageHandler(GROUPS & filters.REPLY & filters.TEXT & ~filters.COMMAND, group.group_reply))
    # Buttons, one handler per kind; then anything else (forged, or from an old version).
    for handler, kinds in BUTTONS:
        add(CallbackQueryHandler(handler, pattern=callbacks.pattern(*kinds)))
    add(CallbackQueryHandler(invalid_button))
    # Private messages: documents (uploads) before the catch-all for non-text messages.
    add(MessageHandler(PRIVATE & filters.Document.ALL, publishing.document_upload))
    add(MessageHandler(PRIVATE & filters.LOCATION, habits.location_message))
    add(MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, handlers.private_text))
    add(MessageHandler(PRIVATE & filters.COMMAND, handlers.unknown_command))
    add(MessageHandler(PRIVATE & ~filters.TEXT, handlers.private_other))
    add(ChatMemberHandler(handlers.member_update, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_error_handler(errors.on_error)


async def import_content(services: Services, folder: Path) -> list[str]:
    """Validate and import every pack in ``folder`` (idempotent); returns the served packs.

    A broken pack is logged with every problem and skipped, so one bad file cannot keep the
    bot from serving the others.
    """
    outcome = await services.admin.import_files([folder], all_or_nothing=False)
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
    packs = await services.players.visible_packs()
    return [f"{p.slug} ({len(p.items)} items)" for p in packs]


async def prepare_store(services: Services) -> None:
    """Upgrade the schema and import the content folder (once): before any Bot API call, so
    that a database problem is the first and only thing reported."""
    if services.store_ready:
        return
    # Workers started together take turns where it matters: the migration and each pack's
    # import hold PostgreSQL advisory locks (bot/store/migrate.py, bot/store/importer.py).
    await migrate.upgrade(services.engine)
    services.extras["served"] = await import_content(services, services.settings.content_dir)
    services.store_ready = True


async def startup(application: QuizApp) -> None:
    """Set the command menus, re-arm game timers and log the packs (after
    :meth:`QuizApplication.initialize` has prepared the store and reached the Bot API)."""
    services = services_of(application)
    await prepare_store(services)
    served: list[str] = services.extras.get("served", [])
    await startup_call(services.settings, partial(menus.set_default_menus, application.bot))
    await menus.set_menus(application)
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
