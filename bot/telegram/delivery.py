"""Bot API calls that fail on the way: tried again within Telegram's rules, never delivered
twice.

PTB's ``AIORateLimiter`` keeps the flood limits and, on a 429, waits the ``retry_after``
Telegram names and tries again. It lets every other failure through. This limiter adds the
rest, in its documented ``process_request`` hook (every Bot API call passes through it,
with the method's name):

- An answer from Telegram that says it failed (a 5xx, or no connection at all): nothing was
  done, so the call is tried again after a short pause (:data:`SERVER_ERROR_DELAYS`).
- No answer in time (``TimedOut``): the call may have been carried out. Reads and edits are
  tried again (an edit that was made already answers "message is not modified", which is
  then a success); a button's toast (``answerCallbackQuery``) is taken as shown, since a
  second one is refused and the press itself was handled; anything that sends a message or
  a poll is never tried again, so a result is never sent twice: the caller hears the
  failure (a game logs it and goes on; a private chat gets the error handler's apology).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger("quizbot.telegram")

SERVER_ERROR_DELAYS: tuple[float, ...] = (0.5, 2.0)
"""Seconds before each new try of a call that failed on Telegram's side (two more tries)."""

READS = frozenset(
    {"getMe", "getChat", "getChatMember", "getChatAdministrators", "getFile", "getWebhookInfo"}
)
EDITS = frozenset({"editMessageText", "editMessageReplyMarkup", "editMessageCaption"})
TOASTS = frozenset({"answerCallbackQuery"})
OWN_RETRIES = frozenset({"getMe", "getUpdates", "setWebhook", "deleteWebhook", "setMyCommands"})
"""Calls whose callers try again themselves (start-up in bot/telegram/app.py, python-telegram-
bot's long polling), each failure with its own log line: passed through untouched."""

ApiResult = bool | dict[str, Any] | list[dict[str, Any]]


class RetryingRateLimiter(AIORateLimiter):
    """``AIORateLimiter`` (flood limits, 429 with ``retry_after``) that also tries again
    what failed on Telegram's side, and never repeats a send whose outcome is unknown."""

    def __init__(
        self, *, server_error_delays: Sequence[float] = SERVER_ERROR_DELAYS, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.server_error_delays = tuple(server_error_delays)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, ApiResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> ApiResult:
        async def deliver(*call_args: Any, **call_kwargs: Any) -> ApiResult:
            return await self._deliver(callback, call_args, call_kwargs, endpoint)

        chosen = callback if endpoint in OWN_RETRIES else deliver
        return await super().process_request(chosen, args, kwargs, endpoint, data, rate_limit_args)

    async def _deliver(
        self,
        callback: Callable[..., Coroutine[Any, Any, ApiResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
    ) -> ApiResult:
        timed_out = False
        failure: NetworkError
        for delay in self.server_error_delays:
            try:
                return await self._once(callback, args, kwargs, endpoint, timed_out)
            except BadRequest:
                raise  # Telegram refused the call itself: trying again changes nothing
            except TimedOut as exc:
                if endpoint not in READS | EDITS:
                    raise  # a send may have gone out: never twice
                timed_out, failure = True, exc
            except NetworkError as exc:  # a 5xx, or no connection: nothing was done
                failure = exc
            log.warning("Bot API %s failed (%s); trying again in %s s", endpoint, failure, delay)
            await asyncio.sleep(delay)
        return await self._once(callback, args, kwargs, endpoint, timed_out)

    @staticmethod
    async def _once(
        callback: Callable[..., Coroutine[Any, Any, ApiResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        timed_out: bool,
    ) -> ApiResult:
        """One try; an edit refused as "not modified" after a timeout was made, and a toast
        that timed out is taken as shown."""
        try:
            return await callback(*args, **kwargs)
        except BadRequest as exc:
            if timed_out and endpoint in EDITS and "not modified" in exc.message.lower():
                return True
            raise
        except TimedOut:
            if endpoint in TOASTS:
                log.warning("Bot API %s timed out; taken as shown", endpoint)
                return True
            raise
