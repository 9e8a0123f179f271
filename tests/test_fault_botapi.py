"""Bot API faults (issue 15), run by CI through ``pytest -m faults``: 429s with
``retry_after``, 500s and timeouts on a share of the calls during a group game and private
runs. Calls are tried again within Telegram's rules (bot/telegram/delivery.py); no question
is skipped and nothing is sent twice."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.error import TimedOut
from telegram.request import RequestData

from bot.store import create_engine, migrate
from bot.telegram.delivery import RetryingRateLimiter
from bot.testing.offline import OfflineRequest
from botkit import (
    Clock,
    Harness,
    attempts,
    buttons_to,
    finish_question,
    game_row,
    start_harness,
    user,
    write_mini_pack,
)

pytestmark = pytest.mark.faults

GROUP = -1003
HOST = user(6001, "Hana")
GAMERS = [user(6002 + n, f"Gamer {n}") for n in range(3)]
STUDENTS = [user(6100 + n, f"Student {n}") for n in range(5)]

FAULTS: dict[str, dict[int, str]] = {
    # method -> {n-th call of that method (0-based): fault}
    "sendPoll": {0: "500"},
    "sendMessage": {1: "500", 3: "429", 6: "500", 7: "timeout", 11: "500", 12: "500", 15: "429"},
    "editMessageText": {0: "timeout", 3: "timeout", 5: "500", 8: "timeout", 11: "500"},
    "answerCallbackQuery": {2: "timeout", 5: "500", 9: "timeout"},
}
"""Which calls fail and how. A timeout is the worst kind: Telegram carried the call out, the
answer never came (a sendMessage that timed out was delivered)."""


class FlakyApi(OfflineRequest):
    """The offline Bot API failing the calls :data:`FAULTS` names. ``calls`` holds what
    Telegram carried out (delivered), ``injected`` what failed and how."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self.edited: set[tuple[str, ...]] = set()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        fault = FAULTS.get(api_method, {}).get(self.seen[api_method])
        self.seen[api_method] += 1
        edit = tuple(str(params.get(k)) for k in ("chat_id", "message_id", "text", "reply_markup"))
        if api_method == "editMessageText" and edit in self.edited:
            return 400, _error(400, "Bad Request: message is not modified")  # as Telegram does
        if fault is not None:
            self.injected[f"{api_method} {fault}"] += 1
        if fault == "500":
            return 500, _error(500, "Internal Server Error")
        if fault == "429":
            return 429, _error(429, "Too Many Requests: retry after 1", retry_after=1)
        answer = await super().do_request(url, method, request_data)
        if api_method == "editMessageText":
            self.edited.add(edit)
        if fault == "timeout":
            raise TimedOut("the answer never came (the call was carried out)")
        return answer


def _error(code: int, description: str, retry_after: int | None = None) -> bytes:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return json.dumps(body).encode()


async def test_bot_api_429_500_and_timeouts_during_a_game_and_private_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'quizbot.db'}")
    await migrate.upgrade(engine)
    api = FlakyApi()
    limiter = RetryingRateLimiter(max_retries=2, server_error_delays=(0.01, 0.02))
    content = tmp_path / "content"
    content.mkdir()
    bot = await start_harness(
        engine, Clock(), content=write_mini_pack(content), api=api, rate_limiter=limiter
    )
    try:
        with caplog.at_level(logging.WARNING):
            await _scenario(bot, engine, api)
    finally:
        await bot.app.shutdown()
        await engine.dispose()
    retried = sum("trying again" in r.getMessage() for r in caplog.records)
    assert retried >= api.injected.total() - sum(
        n for fault, n in api.injected.items() if "429" in fault or "timeout" in fault
    )
    print(f"bot api: {dict(api.injected)}; {retried} calls tried again")


async def _scenario(bot: Harness, engine: AsyncEngine, api: FlakyApi) -> None:
    # The group game: a lobby, three players, two questions (a quiz poll, then a typed one).
    await bot.text(HOST, "/quiz mini", chat_id=GROUP)
    game = int(buttons_to(api.calls, GROUP)[-1].split(":")[1])
    for gamer in GAMERS:
        await bot.press(gamer, f"j:{game}", chat_id=GROUP)
    await bot.press(HOST, f"go:{game}", chat_id=GROUP)
    row = await game_row(engine, game)
    assert row.poll_id is not None
    await asyncio.gather(*(bot.send(bot.updates.poll_answer(g, row.poll_id, [0])) for g in GAMERS))

    # Meanwhile, five private runs.
    for student in STUDENTS:
        await bot.text(student, "/quiz mini")
        run, item = next(
            (int(d.split(":")[1]), int(d.split(":")[2]))
            for d in reversed(buttons_to(api.calls, student["id"]))
            if d.startswith("a:")
        )
        await bot.press(student, f"a:{run}:{item}:0", message_id=1000)
        moves = [d for d in buttons_to(api.calls, student["id"]) if d.startswith("n:")]
        await bot.press(student, moves[-1], message_id=1000)
        await bot.text(student, "Bloody Joe")

    await finish_question(bot, engine, game)
    row = await game_row(engine, game)
    assert row.position == 1 and row.message_id is not None
    for gamer in GAMERS:
        await bot.text(gamer, "Bloody Joe", chat_id=GROUP, reply_to=row.message_id)
    await finish_question(bot, engine, game)
    assert (await game_row(engine, game)).status == "finished"

    # Every fault kind happened.
    assert {f.split()[1] for f in api.injected} == {"500", "429", "timeout"}
    # No question skipped: both went out to the group, each once.
    group = [c for c in api.calls if c.params.get("chat_id") in (GROUP, str(GROUP))]
    asked = Counter(
        m.group(1)
        for c in group
        if c.method in ("sendPoll", "sendMessage")
        for m in [
            re.match(r"(?:<b>)?(\d)/2\b", str(c.params.get("question", c.params.get("text"))))
        ]
        if m
    )
    assert asked == {"1": 1, "2": 1}
    # Nothing sent twice: no chat got the same message two times.
    sent = Counter(
        (str(c.params.get("chat_id")), str(c.params.get("text", c.params.get("question"))))
        for c in api.calls
        if c.method in ("sendMessage", "sendPoll")
    )
    assert [m for m, n in sent.items() if n > 1] == []
    # Every answer recorded once: two per private run, two per gamer in the game.
    recorded = await attempts(engine)
    assert recorded.pop(game) == 2 * len(GAMERS)
    assert sorted(recorded.values()) == [2] * len(STUDENTS)
