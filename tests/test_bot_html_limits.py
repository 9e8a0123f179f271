"""Every message the bot builds from user or author text, at Telegram's 4,096-character limit,
with ``<``, ``&`` and long words: each must be well-formed HTML that Telegram accepts (issue 11,
bug 2). The texts go through the whole stack: real Update JSON, the offline Bot API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.telegram import render
from bot.testing.offline import ApiCall
from botkit import Clock, Harness, html_problems, start_harness, user

GROUP = -2002
HOSTILE = "Tom & Jerry <3 R&D <b>&amp; "
LONG_WORD = "&<" * 300 + "x" * 1500
QUOTE = ("The article says " + HOSTILE * 20 + "and that is all.").strip()
ANSWER = "Tom & Jerry"


def pack_files(folder: Path) -> Path:
    article = "\n\n".join(
        [
            "Opening paragraph about a cartoon.",
            QUOTE,
            (HOSTILE * 250).strip(),  # one paragraph longer than a message
            LONG_WORD,  # one word longer than a message
            "The end.",
        ]
    )
    (folder / "article.txt").write_text(article, encoding="utf-8")
    option = lambda n: f"Option {n}: " + HOSTILE * 6  # noqa: E731
    (folder / "hostile.yaml").write_text(
        f"""pack: hostile
title: "{(HOSTILE * 4).strip()}"
description: Texts at the limits.
article: article.txt
items:
  - id: long-choice
    type: choice
    question: "Which one? {HOSTILE * 18}"
    answer: "{option(1)}"
    distractors: ["{option(2)}", "{option(3)}", "{option(4)}"]
    explanation: "Because {HOSTILE * 40}end of the explanation."
    source: "{QUOTE}"
    difficulty: easy
    skill: detail
  - id: long-short
    type: short
    question: "Who? {HOSTILE * 10}"
    answers: ["{ANSWER}"]
    explanation: "Explained {HOSTILE * 50}end of the explanation."
    source: "{QUOTE}"
    difficulty: easy
    skill: detail
  - id: plain-number
    type: number
    question: "How many? {HOSTILE * 4}"
    answer: 3
    explanation: "Three, {HOSTILE * 30}end of the explanation."
    source: "{QUOTE}"
    difficulty: easy
    skill: detail
""",
        encoding="utf-8",
    )
    return folder


def check_all(calls: list[ApiCall]) -> int:
    checked = 0
    for call in calls:
        if call.params.get("parse_mode") == "HTML" or call.method in (
            "sendMessage",
            "editMessageText",
        ):
            text = str(call.params.get("text", ""))
            assert html_problems(text) == [], (call.method, text[:200], text[-200:])
            checked += 1
    return checked


async def harness(engine: AsyncEngine, clock: Clock, tmp_path: Path) -> Harness:
    bot = await start_harness(engine, clock, content=pack_files(tmp_path))
    served = [c for c in bot.api.calls if c.method == "setMyCommands"]
    assert served, "the bot did not start"
    return bot


def long_name(n: int) -> dict[str, Any]:
    who = user(700 + n, ("<b>&" + "W" * 60)[:64])
    who["last_name"] = ("&amp<i>" * 10)[:64]
    return who


async def test_private_messages_at_the_limit_are_well_formed(
    engine: AsyncEngine, clock: Clock, tmp_path: Path
) -> None:
    bot = await harness(engine, clock, tmp_path)
    try:
        ann = long_name(1)
        start = len(bot.api.calls)
        await bot.text(ann, "/start")
        await bot.text(ann, "/packs")
        await bot.text(ann, "/quiz hostile")
        question = bot.api.last("sendMessage")
        run, item = (int(x) for x in render_data(question)[0].split(":")[1:3])
        await bot.press(ann, f"a:{run}:{item}:1", message_id=question.result["message_id"])
        await bot.press(ann, f"n:{run}:1")
        typed = (HOSTILE + LONG_WORD + " ") * 2
        calls = await bot.text(ann, typed[:4096])
        feedback = calls[-1].params["text"]
        # The echo is shortened; the explanation and the quote are there in full.
        assert "end of the explanation." in feedback
        assert render.quote_lines([QUOTE])[0] in feedback
        assert "Your answer: " in feedback and len(feedback) <= 4096
        await bot.press(ann, f"n:{run}:2")
        await bot.text(ann, "/skip")
        for command in ("/score", "/leaderboard", "/leaderboard hostile", "/read hostile"):
            await bot.text(ann, command)
        hostile_word = ("&<>" * 1400)[:4000]
        for command in ("/quiz", "/leaderboard", "/review", "/read", "/start"):
            await bot.text(ann, f"{command} {hostile_word}")
        await bot.text(ann, "/" + "x" * 4000)
        assert check_all(bot.api.calls[start:]) >= 20
    finally:
        await bot.app.shutdown()


def render_data(call: ApiCall) -> list[str]:
    import json

    markup = call.params["reply_markup"]
    data = json.loads(markup) if isinstance(markup, str) else markup
    return [b["callback_data"] for row in data["inline_keyboard"] for b in row]


async def test_group_messages_at_the_limit_are_well_formed(
    engine: AsyncEngine, clock: Clock, tmp_path: Path
) -> None:
    from datetime import timedelta

    from bot.store.models import QuizRun

    bot = await harness(engine, clock, tmp_path)
    try:
        host = long_name(0)
        players = [long_name(n) for n in range(1, 40)]
        start = len(bot.api.calls)
        await bot.text(host, "/quiz hostile speed", chat_id=GROUP)
        run = int(render_data(bot.api.last("sendMessage"))[0].split(":")[1])
        for player in players:
            await bot.press(player, f"j:{run}", chat_id=GROUP)
        await bot.press(host, f"go:{run}", chat_id=GROUP)
        services = bot.app.bot_data.services
        for number in range(3):
            async with services.sessionmaker() as session:
                row = await session.get(QuizRun, run)
                assert row is not None and row.status == "active"
            item = int(row.item_order[row.position])
            for n, player in enumerate(players):
                if number == 0:
                    await bot.press(player, f"ga:{run}:{item}:{n % 4}", chat_id=GROUP)
                else:
                    text = ANSWER if n % 2 else (HOSTILE + LONG_WORD) * 3
                    await bot.text(player, text[:4096], chat_id=GROUP, reply_to=row.message_id)
            assert row.deadline_at is not None
            bot.clock.now = row.deadline_at + timedelta(seconds=1)
            await bot.run_jobs()
            bot.clock.advance(seconds=5)
            await bot.run_jobs()
        assert "Game over" in bot.api.last("sendMessage").params["text"]
        await bot.text(host, "/leaderboard", chat_id=GROUP)
        await bot.text(host, "/quiz " + ("&<" * 2000), chat_id=GROUP)
        assert check_all(bot.api.calls[start:]) >= 10
    finally:
        await bot.app.shutdown()


def test_fit_keeps_tags_and_entities_whole() -> None:
    text = "<b>" + "a &amp; b " * 1000 + "</b>\n<i>" + "&lt;" * 2000 + "</i>"
    for limit in range(50, 4096, 97):
        cut = render.fit(text, limit)
        assert len(cut) <= limit and html_problems(cut) == [], (limit, cut[-40:])


async def test_instructor_upload_reports_at_the_limit_are_well_formed(
    engine: AsyncEngine, clock: Clock, tmp_path: Path
) -> None:
    """A pack file full of ``<``, ``&`` and long words, with many problems: the report quotes
    the author's text and must still be HTML that Telegram accepts."""
    bot = await harness(engine, clock, tmp_path)
    try:
        admin = user(900, "Ada & <Co>", "ada")
        items = "\n".join(
            f"""  - id: bad-{n}
    type: choice
    question: "{HOSTILE * 3}{LONG_WORD[:300]}"
    answer: "{HOSTILE}"
    distractors: ["{HOSTILE}", "{LONG_WORD[:150]}"]
    explanation: "{HOSTILE * 5}"
    source: "{HOSTILE * 4} not in the article"
    unknown_key_{n}: "{HOSTILE}"
"""
            for n in range(40)
        )
        data = f"""pack: hostile-upload
title: "{HOSTILE * 10}"
description: "{LONG_WORD}"
article: article.txt
items:
{items}""".encode()
        file_id = "hostile-file"
        path = f"documents/{file_id}/bad.yaml"
        bot.api.documents[file_id] = (path, len(data))
        bot.api.files[path] = data
        document = {
            "file_id": file_id,
            "file_unique_id": "u-hostile",
            "file_name": "bad <&> " + "x" * 200 + ".yaml",
            "file_size": len(data),
        }
        start = len(bot.api.calls)
        await bot.send(bot.updates.message(admin, None, document=document))
        for command in ("/mypacks", "/stats hostile", "/stats " + "&<" * 500, "/hide hostile"):
            await bot.text(admin, command)
        report = "\n".join(str(c.params.get("text", "")) for c in bot.api.calls[start:])
        assert "❌ <b>bad &lt;&amp;&gt; xxx" in report  # the report on the broken file
        assert check_all(bot.api.calls[start:]) >= 3
    finally:
        await bot.app.shutdown()
