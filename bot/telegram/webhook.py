"""The webhook server of ``quizbot run --webhook-url``: Telegram's updates, ``GET /healthz``,
and Prometheus metrics on an optional second port.

PTB's ``Application.run_webhook`` serves only the update path, so this follows PTB's
documented "custom webhook bot" example instead: our own small web server (tornado, the one
PTB's ``webhooks`` extra already brings) checks the secret token and puts each update on
``application.update_queue``; the application processes it as ``run_webhook`` would. The
lifecycle is ``run_webhook``'s: initialize, ``post_init``, start, serve, set the webhook;
on SIGTERM or SIGINT stop serving, let the updates already received finish, stop,
``post_stop``, shutdown, ``post_shutdown``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from tornado.httpserver import HTTPServer
from tornado.web import Application as TornadoApp
from tornado.web import RequestHandler

from bot.metrics import Metrics
from bot.store import DATABASE_ERRORS, migrate
from bot.telegram.app import QuizApp, services_of, startup_call
from bot.telegram.inflight import UpdatesRefused

log = logging.getLogger("quizbot.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_TIMEOUT = 5.0
"""Seconds /healthz waits for the database before it answers 503."""
MAX_BODY_BYTES = 1024 * 1024
"""Telegram's updates are a few kilobytes; anything this big is not one."""

HEALTH_ERRORS: tuple[type[BaseException], ...] = (*DATABASE_ERRORS, TimeoutError)
"""A database that does not answer a health check or a metrics scrape in time."""


class WebhookError(Exception):
    """The webhook server cannot start (one line for the command line)."""


@dataclass(frozen=True)
class WebhookOptions:
    listen: str
    port: int
    url_path: str
    webhook_url: str
    secret_token: str | None
    allowed_updates: Sequence[str]
    metrics_address: str = "127.0.0.1"
    metrics_port: int | None = None


class Worker:
    """What the request handlers share: the PTB application, the options and the metrics."""

    def __init__(self, application: QuizApp, options: WebhookOptions, metrics: Metrics) -> None:
        self.application = application
        self.options = options
        self.metrics = metrics
        self.head = migrate.head_revision()

    async def health(self) -> tuple[HTTPStatus, dict[str, Any]]:
        """200 when the database answers and its schema is at head, else 503."""
        engine = services_of(self.application).engine
        try:
            current = await asyncio.wait_for(migrate.stored_revision(engine), HEALTH_TIMEOUT)
        except HEALTH_ERRORS as exc:
            log.warning("healthz: the database does not answer: %s", type(exc).__name__)
            return HTTPStatus.SERVICE_UNAVAILABLE, {"status": "unavailable", "database": "down"}
        if current != self.head:
            return HTTPStatus.SERVICE_UNAVAILABLE, {
                "status": "unavailable",
                "database": "up",
                "revision": current,
                "head": self.head,
            }
        return HTTPStatus.OK, {"status": "ok", "database": "up", "revision": current}


def _access_log(handler: RequestHandler) -> None:
    """Tornado's access log, with the successful requests (health checks, updates) at DEBUG
    (the refusals log their reason themselves)."""
    status = handler.get_status()
    level = logging.DEBUG if status < 400 else logging.INFO if status < 500 else logging.WARNING
    request = handler.request
    log.log(level, "%d %s %s (%s)", status, request.method, request.path, request.remote_ip)


class UpdateHandler(RequestHandler):
    """POST <url-path>: one update from Telegram."""

    def initialize(self, worker: Worker) -> None:
        self.worker = worker

    async def post(self) -> None:
        secret = self.worker.options.secret_token
        given = self.request.headers.get(SECRET_HEADER, "")
        if secret and not hmac.compare_digest(given.encode(), secret.encode()):
            self.worker.metrics.refused.labels("secret").inc()
            log.warning("refused a webhook request without the right secret token")
            self.send_error(HTTPStatus.FORBIDDEN)
            return
        application = self.worker.application
        try:
            data = json.loads(self.request.body)
            update = Update.de_json(data, application.bot)
        except (ValueError, TypeError, KeyError) as exc:
            self.worker.metrics.refused.labels("body").inc()
            log.warning("refused a webhook request that is not an update: %s", exc)
            self.send_error(HTTPStatus.BAD_REQUEST)
            return
        try:
            # Waits while the bot has its fill of updates in flight (bot/telegram/inflight.py):
            # Telegram's answer is delayed until there is room, never until it is processed.
            await application.update_queue.put(update)
        except UpdatesRefused:
            # Stopping: not taken, so not lost: Telegram sends it again on an error status.
            self.worker.metrics.refused.labels("stopping").inc()
            log.info("stopping: update %s not taken, Telegram will send it again", update.update_id)
            self.send_error(HTTPStatus.SERVICE_UNAVAILABLE)
            return
        self.set_status(HTTPStatus.OK)


class HealthHandler(RequestHandler):
    """GET /healthz: is this worker fit to take updates (database up, schema at head)?"""

    def initialize(self, worker: Worker) -> None:
        self.worker = worker

    async def get(self) -> None:
        status, body = await self.worker.health()
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body))


class MetricsHandler(RequestHandler):
    """GET /metrics on the metrics port: Prometheus' text format."""

    def initialize(self, worker: Worker) -> None:
        self.worker = worker

    async def get(self) -> None:
        sessionmaker = services_of(self.worker.application).sessionmaker
        try:
            await asyncio.wait_for(self.worker.metrics.refresh(sessionmaker), HEALTH_TIMEOUT)
        except HEALTH_ERRORS as exc:
            # The counters are still worth reporting; the run gauges keep their last values.
            log.warning("metrics: cannot count open runs: %s", type(exc).__name__)
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.finish(self.worker.metrics.exposition())


def _update_path(url_path: str) -> str:
    return "/" + url_path.strip("/")


def _listen(app: TornadoApp, address: str, port: int, what: str) -> HTTPServer:
    server = HTTPServer(app, max_body_size=MAX_BODY_BYTES)
    try:
        server.listen(port, address)
    except OSError as exc:
        raise WebhookError(f"cannot serve the {what} on {address}:{port}: {exc.strerror}") from None
    return server


async def serve(application: QuizApp, options: WebhookOptions, metrics: Metrics) -> None:
    """Run the bot on a webhook until SIGTERM or SIGINT."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    servers: list[HTTPServer] = []
    try:
        async with application:  # initialize(), and shutdown() on the way out
            try:
                if application.post_init is not None:
                    await application.post_init(application)
                await application.start()
                servers.extend(_start_servers(application, options, metrics))
                await _set_webhook(application, options)
                await stopping.wait()
                log.info("stopping: no new updates; finishing the ones received")
            finally:
                for server in servers:
                    server.stop()
                if application.running:
                    # Application.stop() processes the updates already queued first.
                    await application.stop()
                    if application.post_stop is not None:
                        await application.post_stop(application)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
        log.info("stopped")


async def _set_webhook(application: QuizApp, options: WebhookOptions) -> None:
    """Tell Telegram where to post (every worker does; the calls are identical). A Bot API
    that does not answer in time is asked again (:func:`startup_call`): the server is up by
    now, and a worker that gave up here would drop the updates it is already serving."""
    set_webhook = partial(
        application.bot.set_webhook,
        url=options.webhook_url,
        allowed_updates=list(options.allowed_updates),
        secret_token=options.secret_token,
    )
    try:
        await startup_call(services_of(application).settings, set_webhook)
    except TelegramError as exc:
        raise WebhookError(f"cannot set the webhook to {options.webhook_url}: {exc}") from None


def _start_servers(
    application: QuizApp, options: WebhookOptions, metrics: Metrics
) -> list[HTTPServer]:
    """Listen for updates and /healthz, and for /metrics when a metrics port is set."""
    worker = Worker(application, options, metrics)
    path = _update_path(options.url_path)
    routes: list[Any] = [(r"/healthz", HealthHandler, {"worker": worker})]
    if path != "/healthz":
        routes.append((re.escape(path), UpdateHandler, {"worker": worker}))
    servers = [
        _listen(
            TornadoApp(routes, log_function=_access_log), options.listen, options.port, "webhook"
        )
    ]
    where = ""
    if options.metrics_port is not None:
        metrics_app = TornadoApp(
            [(r"/metrics", MetricsHandler, {"worker": worker})], log_function=_access_log
        )
        try:
            servers.append(
                _listen(metrics_app, options.metrics_address, options.metrics_port, "metrics")
            )
        except WebhookError:
            servers[0].stop()
            raise
        where = f", metrics on {options.metrics_address}:{options.metrics_port}"
    log.info(
        "webhook: serving %s and /healthz on %s:%d%s", path, options.listen, options.port, where
    )
    return servers
