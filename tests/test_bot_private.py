"""Private-chat scenarios: real Update JSON through Application.process_update, with the
offline Bot API recording every call (DESIGN.md §6)."""

from __future__ import annotations

import html
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.constants import MessageLimit
from telegram.ext import AIORateLimiter

from bot.i18n import LANGUAGES
from bot.packs.model import ChoiceItem, Item, NumberItem, ShortItem, TrueFalseItem
from bot.quiz.grading import format_number
from bot.store import repo
from bot.store.models import Attempt, QuizRun, User
from bot.telegram import app as bot_app
from bot.telegram.app import build_application
from bot.telegram.delivery import RetryingRateLimiter
from bot.testing.offline import ApiCall, OfflineRequest
from botkit import ROOT, Clock, Harness, make_settings, start_harness, user, write_mini_pack

ANN = user(101, "Ann", "ann")
BOB = user(102, "Bob")


def keyboard(call: ApiCall) -> list[list[dict[str, Any]]]:
    markup = call.params.get("reply_markup")
    if markup is None:
        return []
    data = json.loads(markup) if isinstance(markup, str) else markup
    return data["inline_keyboard"]  # type: ignore[no-any-return]


def buttons(call: ApiCall) -> list[tuple[str, str]]:
    return [(b["text"], b["callback_data"]) for row in keyboard(call) for b in row]


def question_ids(bot: Harness) -> tuple[int, int, ApiCall]:
    """The run and item of the last question message sent."""
    for call in reversed(bot.api.sent("sendMessage")):
        for _, data in buttons(call):
            kind, *rest = data.split(":")
            if kind in ("a", "t", "s", "k"):
                return int(rest[0]), int(rest[1]), call
    raise AssertionError("no question message was sent")


async def item_of(bot: Harness, item_id: int) -> Item:
    services = bot.app.bot_data.services
    async with services.sessionmaker() as session:
        cached = await services.catalog.item(session, item_id)
    assert cached is not None
    return cached.item


async def answer_correctly(bot: Harness, who: dict[str, Any]) -> list[ApiCall]:
    """Answer the current question right, whatever its type."""
    run, item_id, _call = question_ids(bot)
    item = await item_of(bot, item_id)
    message_id = 1000
    if isinstance(item, ChoiceItem) and item.multiple:
        for index in sorted(item.correct_indices):
            await bot.press(who, f"t:{run}:{item_id}:{index}", message_id)
        return await bot.press(who, f"s:{run}:{item_id}", message_id)
    if isinstance(item, ChoiceItem | TrueFalseItem):
        (index,) = item.correct_indices
        return await bot.press(who, f"a:{run}:{item_id}:{index}", message_id)
    if isinstance(item, ShortItem):
        return await bot.text(who, item.model_answer)
    assert isinstance(item, NumberItem)
    return await bot.text(who, format_number(item.answer))


def next_data(calls: list[ApiCall]) -> str | None:
    for call in reversed(calls):
        for _, data in buttons(call):
            if data.startswith("n:"):
                return data
    return None


def texts(calls: list[ApiCall]) -> str:
    return "\n".join(str(c.params.get("text", "")) for c in calls)


async def count(engine: AsyncEngine, model: Any) -> int:
    from bot.store import make_sessionmaker

    async with make_sessionmaker(engine)() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


# --------------------------------------------------------------------------- start-up


async def test_startup_sets_commands_and_imports_the_pack(bot: Harness) -> None:
    commands = bot.api.sent("setMyCommands")
    # Private chats and groups, each in every shipped language (English: no language_code).
    assert len(commands) == 2 * len(LANGUAGES)
    private = (
        json.loads(commands[0].params["commands"])
        if isinstance(commands[0].params["commands"], str)
        else commands[0].params["commands"]
    )
    assert {c["command"] for c in private} >= {"start", "quiz", "read", "score", "leaderboard"}
    assert "language" in {c["command"] for c in private}
    codes = {c.params.get("language_code") for c in commands}
    assert codes == {None, "uk", "ru", "es"}
    calls = await bot.text(ANN, "/start")
    assert "Pick a quiz" in texts(calls)
    assert ("Biden approves ATACMS strikes deep into Russia", "pk:atacms-2024") in buttons(
        calls[-1]
    )


async def test_token_is_never_logged(
    engine: AsyncEngine, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    harness = await start_harness(engine, clock)
    try:
        await harness.text(ANN, "/start")
    finally:
        await harness.app.shutdown()
    assert "TEST-TOKEN" not in caplog.text
    assert "serving 2 pack(s): atacms-2024 (34 items), kyiv-metro-uk" in caplog.text
    assert "TEST-TOKEN" not in repr(make_settings())


def test_rate_limiter_and_api_base_url() -> None:
    settings = make_settings(TELEGRAM_API_BASE_URL="http://bot-api.local:8081/bot")
    app = build_application(settings, request=OfflineRequest())
    assert isinstance(app.bot.rate_limiter, AIORateLimiter)
    assert app.bot.base_url.startswith("http://bot-api.local:8081/bot")
    assert app.bot.base_file_url.startswith("http://bot-api.local:8081/file/bot")


def test_send_rate_is_the_limiters_overall_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """QUIZBOT_SEND_RATE (30 / N for N workers of one bot) becomes the limiter's rate."""
    made: list[dict[str, Any]] = []

    class Recorded(RetryingRateLimiter):
        def __init__(self, **kwargs: Any) -> None:
            made.append(kwargs)
            super().__init__(**kwargs)

    monkeypatch.setattr(bot_app, "RetryingRateLimiter", Recorded)
    build_application(make_settings(), request=OfflineRequest())
    build_application(make_settings(QUIZBOT_SEND_RATE="15"), request=OfflineRequest())
    assert [kwargs["overall_max_rate"] for kwargs in made] == [30.0, 15.0]


# --------------------------------------------------------------------------- a full run


async def test_full_run_every_item_type(bot: Harness, engine: AsyncEngine) -> None:
    calls = await bot.text(ANN, "/start atacms-2024")  # the deep link
    assert "34 questions" in texts(calls)
    seen_types = set()
    for number in range(1, 35):
        run, item_id, question = question_ids(bot)
        assert f"Question {number} of 34" in question.params["text"]
        item = await item_of(bot, item_id)
        seen_types.add(
            item.type if not (isinstance(item, ChoiceItem) and item.multiple) else "multi"
        )
        calls = await answer_correctly(bot, ANN)
        shown = texts(calls)
        assert "✅" in shown, shown
        assert "💡" in shown and "📖" in shown  # explanation and the article's own words
        if number < 34:
            data = next_data(calls)
            assert data == f"n:{run}:{number}"
            await bot.press(ANN, data)
    assert seen_types == {"choice", "multi", "truefalse", "short", "number"}
    summary = calls[-1]
    assert "Quiz finished" in summary.params["text"]
    assert "Score: <b>34</b> of 34" in summary.params["text"]
    assert "Accuracy: 100%" in summary.params["text"]
    assert "Rank on this quiz: <b>#1</b> of 1" in summary.params["text"]
    labels = [text for text, _ in buttons(summary)]
    assert labels == ["↻ Try again", "🏆 Leaderboard"]  # no mistakes to review
    assert await count(engine, Attempt) == 34


async def test_typo_and_number_formats(bot: Harness) -> None:
    """A near miss is accepted with a spelling note; 11,000 is a number."""
    await bot.text(ANN, "/quiz atacms-2024")
    seen = {}
    quoted_source = ""
    for _ in range(34):
        run, item_id, _ = question_ids(bot)
        item = await item_of(bot, item_id)
        if item.id == "trump-priority":
            assert isinstance(item, ShortItem)
            expected = item.model_answer
            calls = await bot.text(ANN, expected.replace("ti", "t", 1))  # one letter missing
            seen["typo"] = texts(calls)
        elif item.id == "north-korean-troops":
            calls = await bot.text(ANN, "11,000")
            seen["number"] = texts(calls)
        elif len(item.sources) == 1 and item.sources[0].startswith("“") and "quote" not in seen:
            calls = await answer_correctly(bot, ANN)
            seen["quote"] = texts(calls)
            quoted_source = item.sources[0]
        else:
            calls = (
                await bot.press(ANN, f"k:{run}:{item_id}")
                if isinstance(item, ShortItem | NumberItem)
                else await answer_correctly(bot, ANN)
            )
        data = next_data(calls)
        if data is None:
            break
        await bot.press(ANN, data)
    assert "✅" in seen["typo"] and f"Check the spelling: {expected}." in seen["typo"]
    assert "✅" in seen["number"] and "Answer: <b>11,000 troops</b>" in seen["number"]
    # A source that quotes a speech keeps its own quotation marks, once.
    assert f"📖 <i>{html.escape(quoted_source, quote=False)}</i>" in seen["quote"]
    assert "““" not in seen["quote"]


async def test_unreadable_number_is_not_recorded(bot: Harness, engine: AsyncEngine) -> None:
    await bot.text(ANN, "/quiz atacms-2024")
    # Q1 is a choice: typing "2" answers by number; typing nonsense asks again.
    _run, _item, question = question_ids(bot)
    labels = [label for label, _ in buttons(question)]
    lettered = labels[:2] == ["A", "B"]  # long options are lettered in the text
    calls = await bot.text(ANN, "banana")
    assert texts(calls) == (
        f"Tap a button, or type the letter of an option (A to {labels[-1]})."
        if lettered
        else "Tap a button, or type an option as it reads on its button."
    )
    assert await count(engine, Attempt) == 0
    # "b" is the second option, echoed as that option's text (from the text or the button).
    second = (
        html.unescape(re.search(r"<b>B\.</b> (.*)", question.params["text"]).group(1))
        if lettered
        else labels[1]
    )
    calls = await bot.text(ANN, "b")
    assert f"Your answer: {html.escape(second, quote=False)}" in texts(calls)
    assert await count(engine, Attempt) == 1
    # Answered by typing: the question's buttons are removed.
    dropped = [c for c in calls if c.method == "editMessageReplyMarkup"]
    assert [c.params["message_id"] for c in dropped] == [question.result["message_id"]]


async def test_multi_select_toggles_then_submit(bot: Harness) -> None:
    await bot.text(ANN, "/quiz atacms-2024")
    for _ in range(34):
        run, item_id, call = question_ids(bot)
        item = await item_of(bot, item_id)
        if isinstance(item, ChoiceItem) and item.multiple:
            break
        calls = await answer_correctly(bot, ANN)
        await bot.press(ANN, next_data(calls) or "")
    assert "Select all that apply" in call.params["text"]
    assert ("Submit ✔", f"s:{run}:{item_id}") in buttons(call)
    empty = await bot.press(ANN, f"s:{run}:{item_id}")
    assert empty[0].params["text"] == "Select at least one option, then Submit."
    first = sorted(item.correct_indices)[0]
    calls = await bot.press(ANN, f"t:{run}:{item_id}:{first}")
    assert calls[-1].method == "editMessageText" and "☑" in calls[-1].params["text"]
    calls = await bot.press(ANN, f"s:{run}:{item_id}")
    assert "Partly right" in texts(calls) or "Not quite" in texts(calls)


# --------------------------------------------------------------------------- never trust


async def test_double_tap_records_one_attempt(bot: Harness, engine: AsyncEngine) -> None:
    await bot.text(ANN, "/quiz atacms-2024")
    run, item_id, _ = question_ids(bot)
    first = await bot.press(ANN, f"a:{run}:{item_id}:0")
    second = await bot.press(ANN, f"a:{run}:{item_id}:1")
    assert first[0].method == "answerCallbackQuery"
    assert second[0].params["text"] == "You have already answered this question."
    assert [c.method for c in second] == ["answerCallbackQuery"]
    assert await count(engine, Attempt) == 1


async def test_forged_and_malformed_callbacks_change_nothing(
    bot: Harness, engine: AsyncEngine
) -> None:
    await bot.text(ANN, "/quiz atacms-2024")
    run, item_id, _ = question_ids(bot)
    forged = [
        f"a:{run}:{item_id}:99",  # no such option
        f"a:{run + 999}:{item_id}:0",  # no such run
        f"a:{run}:{item_id + 1}:0",  # not the current item
        f"a:{run}:{item_id}",  # malformed
        "a:1:2:3:4",
        "zz:1",
        "a:99999999999999999999:1:1",  # beyond 64 bits
        "pk:../../etc",
        "",
        "x" * 64,
    ]
    for data in forged:
        calls = await bot.press(ANN, data)
        assert [c.method for c in calls] == ["answerCallbackQuery"], data
    # A shape no button has (routed by pattern, then parsed), or a kind of button no handler
    # knows (the last catch-all), is answered the same way.
    for data in (f"a:{run}:{item_id}", "a:1:2:3:4", "zz:1", "pk:../../etc", "x" * 64, "pub:zz"):
        calls = await bot.press(ANN, data)
        assert calls[0].params["text"] == "This button is no longer valid.", data
    # Someone else's run.
    calls = await bot.press(BOB, f"a:{run}:{item_id}:0")
    assert calls[0].params["text"] == "This quiz belongs to someone else."
    assert await count(engine, Attempt) == 0
    # The real question still works.
    calls = await bot.press(ANN, f"a:{run}:{item_id}:0")
    assert "Your answer:" in texts(calls)


async def test_stale_button_is_closed(bot: Harness, engine: AsyncEngine) -> None:
    await bot.text(ANN, "/quiz atacms-2024")
    run, item_id, _ = question_ids(bot)
    calls = await bot.press(ANN, f"a:{run}:{item_id}:0")
    next_button = next_data(calls)
    assert next_button is not None
    await bot.press(ANN, next_button)
    stale = await bot.press(ANN, f"a:{run}:{item_id}:1")
    assert stale[0].params["text"] == "This question is closed."
    again = await bot.press(ANN, next_button)
    assert again[0].params["text"] == "You have already moved on."
    assert await count(engine, Attempt) == 1


async def test_text_outside_a_run_gets_a_hint(bot: Harness) -> None:
    calls = await bot.text(ANN, "hello?")
    assert calls[-1].params["text"] == "No quiz is running. Send /quiz to start one, or /help."
    calls = await bot.text(ANN, "/frobnicate")
    assert "I don't know /frobnicate" in calls[-1].params["text"]
    sticker = bot.updates.message(ANN, None)
    sticker["message"]["sticker"] = {
        "file_id": "s",
        "file_unique_id": "s",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
        "type": "regular",
    }
    calls = await bot.send(sticker)
    assert calls[-1].params["text"] == "I read text only: send /quiz to start, or /help."


# --------------------------------------------------------------------------- restart


async def test_run_survives_a_restart(engine: AsyncEngine, clock: Clock) -> None:
    first = await start_harness(engine, clock)
    await first.text(ANN, "/quiz atacms-2024")
    for _ in range(3):
        calls = await answer_correctly(first, ANN)
        await first.press(ANN, next_data(calls) or "")
    run, _item_id, before = question_ids(first)
    await first.app.shutdown()

    second = await start_harness(engine, clock)  # a new process over the same database
    try:
        calls = await second.text(ANN, "/quiz atacms-2024")
        assert "unfinished run" in calls[-1].params["text"]
        assert "question 4 of 34" in calls[-1].params["text"]
        assert ("▶ Continue", f"c:{run}") in buttons(calls[-1])
        calls = await second.press(ANN, f"c:{run}")
        resumed = calls[-1]
        assert "Question 4 of 34" in resumed.params["text"]
        assert buttons(resumed) == buttons(before)  # the same shuffled option order
        calls = await answer_correctly(second, ANN)
        assert "✅" in texts(calls)
    finally:
        await second.app.shutdown()


async def test_start_over_stops_the_old_run(bot: Harness, engine: AsyncEngine) -> None:
    await bot.text(ANN, "/quiz atacms-2024")
    run, item_id, _ = question_ids(bot)
    calls = await bot.text(ANN, "/quiz atacms-2024")
    assert ("↻ Start over", "new:atacms-2024") in buttons(calls[-1])
    await bot.press(ANN, "new:atacms-2024")
    new_run, _, _ = question_ids(bot)
    assert new_run != run
    stale = await bot.press(ANN, f"a:{run}:{item_id}:0")
    assert stale[0].params["text"] == "This quiz has ended."


# --------------------------------------------------------------------------- end of a run


async def test_review_my_mistakes_reasks_only_missed_items(bot: Harness) -> None:
    await bot.text(ANN, "/quiz atacms-2024")
    missed = []
    for n in range(34):
        run, item_id, _ = question_ids(bot)
        item = await item_of(bot, item_id)
        if n in (0, 5):
            calls = (
                await bot.press(ANN, f"k:{run}:{item_id}")
                if isinstance(item, ShortItem | NumberItem)
                else await bot.text(ANN, "/skip")
            )
            missed.append(item_id)
        else:
            calls = await answer_correctly(bot, ANN)
        data = next_data(calls)
        if data is None:
            break
        await bot.press(ANN, data)
    summary = bot.api.last("sendMessage")
    assert "Score: <b>32</b> of 34" in summary.params["text"]
    assert ("🔁 Review my mistakes", f"rv:{run}") in buttons(summary)
    await bot.press(ANN, f"rv:{run}")
    _review_run, first_item, call = question_ids(bot)
    assert "Review 1 of 2" in call.params["text"]
    assert first_item == missed[0]
    calls = await answer_correctly(bot, ANN)
    await bot.press(ANN, next_data(calls) or "")
    _, second_item, _ = question_ids(bot)
    assert second_item == missed[1]
    calls = await answer_correctly(bot, ANN)
    assert "Review finished" in texts(calls)
    assert "practice" in texts(calls)
    # Practice does not change the leaderboard: still 32 points.
    calls = await bot.text(ANN, "/leaderboard")
    assert "32 points" in calls[-1].params["text"]


async def test_stop_skip_score_and_leaderboard(bot: Harness) -> None:
    calls = await bot.text(ANN, "/stop")
    assert "No quiz is running" in calls[-1].params["text"]
    calls = await bot.text(ANN, "/score")
    assert "not answered any question" in calls[-1].params["text"]
    await bot.text(ANN, "/quiz atacms-2024")
    calls = await answer_correctly(bot, ANN)
    await bot.press(ANN, next_data(calls) or "")
    calls = await bot.text(ANN, "/skip")
    assert "Skipped" in texts(calls)
    calls = await bot.text(ANN, "/skip")
    assert "tap Next" in calls[-1].params["text"]
    calls = await bot.text(ANN, "/stop")
    assert "Quiz stopped" in calls[-1].params["text"]
    assert "Score: <b>1</b> of 34" in calls[-1].params["text"]
    calls = await bot.text(ANN, "/score")
    text = calls[-1].params["text"]
    assert "Answered 1, skipped 1, correct 1 (100% of answered)" in text
    assert "Best run: no finished run yet" in text
    assert "🔥 Streak: 1 day · longest: 1 day" in text
    assert "Days are counted in UTC: set your time zone with /timezone." in text
    # Bob scores nothing, and sees Ann on top and himself below.
    await bot.text(BOB, "/quiz atacms-2024")
    await bot.text(BOB, "/skip")
    calls = await bot.text(BOB, "/leaderboard")
    board = calls[-1].params["text"]
    assert "Everyone · all time" in board
    assert board.index("Ann") < board.index("Bob")
    assert "<b>Bob</b> (you)" in board
    calls = await bot.text(BOB, "/leaderboard week atacms-2024")
    assert (
        "Everyone · Biden approves ATACMS strikes deep into Russia · last 7 days"
        in calls[-1].params["text"]
    )
    calls = await bot.text(BOB, "/leaderboard nope")
    assert "There is no quiz called 'nope'" in calls[-1].params["text"]


async def test_a_stranger_sees_the_board_and_nothing_is_written(bot: Harness) -> None:
    """Showing a board looks the asker up and writes nothing: no user row for a stranger."""
    await bot.text(ANN, "/quiz atacms-2024")
    await answer_correctly(bot, ANN)
    stranger = user(555, "Stranger")
    calls = await bot.text(stranger, "/leaderboard")
    board = calls[-1].params["text"]
    assert "Ann" in board and "You are not on this board yet." in board
    services = bot.app.bot_data.services
    async with services.sessionmaker() as session:
        assert await repo.user_id_for_telegram(session, 555) is None
        assert await repo.user_id_for_telegram(session, 101) is not None


async def test_read_sends_the_article_in_parts(bot: Harness) -> None:
    calls = await bot.text(ANN, "/read atacms-2024")
    parts = [c.params["text"] for c in calls if c.method == "sendMessage"]
    assert len(parts) >= 2
    assert all(len(p) <= MessageLimit.MAX_TEXT_LENGTH for p in parts)
    assert parts[0].startswith("📰 <b>Biden approves")
    joined = "\n\n".join(parts)
    assert "The missiles will speak for themselves." in joined
    assert parts[-1].endswith("risks of a broader global conflict.")
    # Parts are cut between paragraphs: each part ends a paragraph of the article.
    article = (ROOT / "seeds" / "biden-atacms-2024.txt").read_text(encoding="utf-8")
    paragraphs = {p.strip() for p in article.split("\n\n")}
    assert all(p.rsplit("\n\n", 1)[-1] in paragraphs for p in parts)


async def test_settings_hide_me(bot: Harness, engine: AsyncEngine) -> None:
    calls = await bot.text(ANN, "/settings")
    assert ("Hide me (anonymous)", "priv:1") in buttons(calls[-1])
    calls = await bot.press(ANN, "priv:1")
    assert "You are <b>hidden</b>" in calls[-1].params["text"]
    from bot.store import make_sessionmaker

    async with make_sessionmaker(engine)() as session:
        hidden = (
            await session.execute(select(User.hidden).where(User.telegram_id == 101))
        ).scalar_one()
    assert hidden is True


# --------------------------------------------------------------------------- failures


async def test_blocked_user_is_marked_inactive_quietly(
    bot: Harness, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.text(ANN, "/start")
    bot.api.failures["sendMessage"] = (403, "Forbidden: bot was blocked by the user")
    calls = await bot.text(ANN, "/help")
    assert [c.method for c in calls] == ["sendMessage"]  # one failed try, no error spam
    from bot.store import make_sessionmaker

    async with make_sessionmaker(engine)() as session:
        active = (
            await session.execute(select(User.active).where(User.telegram_id == 101))
        ).scalar_one()
    assert active is False
    assert "Traceback" not in caplog.text
    bot.api.failures.clear()
    await bot.send(bot.updates.my_chat_member(ANN, 101, "member"))
    async with make_sessionmaker(engine)() as session:
        active = (
            await session.execute(select(User.active).where(User.telegram_id == 101))
        ).scalar_one()
    assert active is True


async def test_database_outage_gets_a_clear_message(
    bot: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bot.text(ANN, "/quiz atacms-2024")
    run, item_id, _ = question_ids(bot)
    services = bot.app.bot_data.services

    def gone(*args: object, **kwargs: object) -> object:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("server is down"))

    monkeypatch.setattr(services.quiz, "sessionmaker", gone)
    calls = await bot.press(ANN, f"a:{run}:{item_id}:0")
    assert calls[-1].method == "answerCallbackQuery"
    assert "quiz store is unavailable" in calls[-1].params["text"]
    assert calls[-1].params["show_alert"] is True
    calls = await bot.text(ANN, "an answer")
    assert "quiz store is unavailable" in calls[-1].params["text"]
    assert "Traceback" not in texts(calls)
    assert any("update" in r.getMessage() and "failed" in r.getMessage() for r in caplog.records)
    monkeypatch.undo()
    # Nothing was lost: the question is still open and can be answered.
    calls = await bot.press(ANN, f"a:{run}:{item_id}:0")
    assert "Your answer:" in texts(calls)


async def test_unexpected_error_apologises(bot: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    services = bot.app.bot_data.services

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(services.quiz, "visible_packs", broken)
    calls = await bot.text(ANN, "/packs")
    assert calls[-1].params["text"] == (
        "😕 Sorry, something went wrong on our side. Please try again."
    )


async def test_active_runs_are_counted_per_user(bot: Harness, engine: AsyncEngine) -> None:
    await bot.text(ANN, "/quiz atacms-2024")
    await bot.text(BOB, "/quiz atacms-2024")
    assert await count(engine, QuizRun) == 2


# --------------------------------------------------------------------------- one run at a time


async def active_runs(engine: AsyncEngine) -> list[tuple[int, str]]:
    from bot.store import make_sessionmaker

    async with make_sessionmaker(engine)() as session:
        rows = await session.execute(
            select(QuizRun.id, QuizRun.mode).where(QuizRun.status == "active").order_by(QuizRun.id)
        )
        return [(r.id, r.mode) for r in rows]


async def test_one_run_in_progress_per_chat(
    engine: AsyncEngine, clock: Clock, tmp_path: Path
) -> None:
    bot = await start_harness(engine, clock, content=write_mini_pack(tmp_path))
    try:
        await bot.text(ANN, "/quiz mini")
        first, _, _ = question_ids(bot)
        calls = await bot.text(ANN, "/skip")  # missed: the summary will offer a review
        await bot.press(ANN, next_data(calls) or "")
        calls = await bot.text(ANN, "Bloody Joe")
        assert ("🔁 Review my mistakes", f"rv:{first}") in buttons(calls[-1])
        await bot.text(ANN, "/quiz mini")
        second, _, _ = question_ids(bot)
        # The old summary's button, in the middle of the new run: an offer, not a second run.
        calls = await bot.press(ANN, f"rv:{first}")
        offer = calls[-1]
        assert "You are in the middle of <b>Mini</b> (question 1 of 2)" in offer.params["text"]
        assert buttons(offer) == [
            ("▶ Start it", f"rvn:{first}"),
            ("↩ Back to my run", f"c:{second}"),
        ]
        assert await active_runs(engine) == [(second, "full")]
        # Going back sends the run's question again.
        calls = await bot.press(ANN, f"c:{second}")
        assert "Question 1 of 2" in calls[-1].params["text"]
        # Switching starts the review; the quiz is kept and /skip acts on the review.
        calls = await bot.press(ANN, f"rvn:{first}")
        review_run, _, question = question_ids(bot)
        assert "Review 1 of 1" in question.params["text"]
        assert await active_runs(engine) == [(second, "full"), (review_run, "review")]
        calls = await bot.text(ANN, "/skip")
        assert "Review finished" in texts(calls)
        calls = await bot.text(ANN, "/quiz mini")
        assert "unfinished run of <b>Mini</b> at question 1 of 2" in calls[-1].params["text"]
        # /review in the middle of a run asks first too; /review of no such quiz says so.
        calls = await bot.text(ANN, "/review nosuch")
        assert calls[-1].params["text"] == "There is no quiz called <b>nosuch</b>. See /packs."
        bot.clock.advance(days=2)
        calls = await bot.text(ANN, "/review")
        assert ("▶ Start it", "rvp:mini") in buttons(calls[-1])
        await bot.press(ANN, "rvp:mini")
        _, _, question = question_ids(bot)
        assert "Review 1 of" in question.params["text"]
    finally:
        await bot.app.shutdown()
