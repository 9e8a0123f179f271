"""A bound on the updates in the bot's process at once (issue 12).

python-telegram-bot's ``Application.update_queue`` is an unbounded ``asyncio.Queue``, and with
concurrent updates its fetcher turns every queued update into a task at once. A burst of
5,000 updates (a class answering together, a webhook backlog after a restart) then lives in
the process all at once: about 2.5–3 KiB each, parsed and queued or as a task waiting for a
processing slot, and the memory freed after the burst stays with the allocator.

:class:`UpdateQueue` bounds the updates *in flight*: put in the queue and not yet processed,
whether still queued, waiting for one of the update processor's slots, or being processed.
``put`` waits while the bound is reached. Every way updates come in goes through ``put``:
PTB's ``Updater`` (polling), our webhook server (bot/telegram/webhook.py), the benchmark and
the tests. A slot is released by ``task_done``, which the ``Application`` calls once for
every item it takes from the queue, when processing it has ended (sequential and concurrent
alike), and for the updates it drops when it stops; so the queue needs no help from the
update processor to know when an update is done.

Waiting for a slot is back-pressure: the update is not lost, its sender (the ``Updater``'s
``getUpdates`` loop, Telegram waiting for the webhook's answer) is slowed to the bot's pace.
"""

from __future__ import annotations

import asyncio
from collections import deque

from telegram import Update

__all__ = ["IN_FLIGHT_PER_SLOT", "UpdateQueue", "UpdatesRefused"]

IN_FLIGHT_PER_SLOT = 4
"""Updates in flight for each processing slot (``concurrent_updates``): 1,024 with the 256
slots on SQLite, 128 with PostgreSQL's 32, 4 when updates are processed one at a time.

Why four: with one spare update per slot, a freed slot already finds the next update parsed
and queued; the others absorb what arrives together (Telegram opens up to 40 webhook
connections at once, ``getUpdates`` returns up to 100 updates) without making the sender
wait while the bot still has slots free. Beyond that, more updates in the process only
hold memory (about 3 KiB each, 3 MiB for 1,024) and make the newest wait longer: they
cannot be processed any sooner."""


class UpdatesRefused(Exception):
    """The application is stopping and takes no more updates (the webhook answers 503, so
    that Telegram sends the update again, to this worker once restarted or to another)."""


class UpdateQueue(asyncio.Queue[object]):
    """``Application.update_queue`` with at most :attr:`limit` updates in flight.

    Only :class:`telegram.Update` objects wait and can be refused. Anything else the
    application puts (``Application.stop()``'s stop signal) goes in at once, so stopping never
    waits for a slot; it is still counted, as ``task_done`` is called for it too.

    :meth:`close` (the application is stopping) refuses further updates with
    :class:`UpdatesRefused`, the waiting ones included: an update put after the stop signal
    would never be processed, and ``Application.stop()``, which waits until every queued item
    is done, would wait for it forever. :meth:`reopen` (the application starts again) undoes it.
    """

    def __init__(self, slots: int) -> None:
        super().__init__()
        if slots < 1:
            raise ValueError("an update queue needs at least one processing slot")
        self.limit = IN_FLIGHT_PER_SLOT * slots
        self.in_flight = 0
        """Items put and not yet done (queued, waiting for a slot, or being processed)."""
        self.open = True
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def put(self, item: object) -> None:
        """Put ``item``, waiting while :attr:`limit` updates are in flight."""
        if isinstance(item, Update):
            while self.open and self.in_flight >= self.limit:
                waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._waiting.append(waiter)
                try:
                    await waiter
                except asyncio.CancelledError:
                    if waiter.done() and not waiter.cancelled():
                        self._wake_one()  # it was woken for a slot it will not take
                    raise
                finally:
                    if waiter in self._waiting:
                        self._waiting.remove(waiter)
        self.put_nowait(item)

    def put_nowait(self, item: object) -> None:
        """Put ``item`` now; :class:`asyncio.QueueFull` if it is an update and there is no
        room, :class:`UpdatesRefused` once closed."""
        if isinstance(item, Update):
            if not self.open:
                raise UpdatesRefused("the bot is stopping")
            if self.in_flight >= self.limit:
                raise asyncio.QueueFull
        super().put_nowait(item)
        self.in_flight += 1

    def task_done(self) -> None:
        """An item taken from the queue is done: its slot goes to the longest waiting put."""
        super().task_done()  # raises ValueError (and counts nothing) if called too often
        self.in_flight -= 1
        self._wake_one()

    def close(self) -> None:
        """Refuse updates from now on, those waiting for a slot included."""
        self.open = False
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def reopen(self) -> None:
        self.open = True

    def _wake_one(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
