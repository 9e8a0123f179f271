"""Group games and leaderboards: scenarios with several players, timers driven by hand."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.packs.model import ChoiceItem, Item, NumberItem, ShortItem, TrueFalseItem
from bot.quiz.game import speed_factor
from bot.quiz.grading import format_number
from bot.store import make_sessionmaker
from bot.store.models import Attempt, QuizRun
from bot.telegram import timers
from bot.testing.offline import ApiCall
from botkit import ROOT, Clock, Harness, start_harness, user, write_mini_pack

GROUP = -1001
HOST = user(201, "Hana")
ANN = user(202, "Ann")
BOB = user(203, "Bob")
CAT = user(204, "Cat")
ADMIN = user(205, "Dora")


def buttons(call: ApiCall) -> list[tuple[str, str]]:
    markup = call.params.get("reply_markup")
    if markup is None:
        return []
    data = json.loads(markup) if isinstance(markup, str) else markup
    return [(b["text"], b["callback_data"]) for row in data["inline_keyboard"] for b in row]


def toast(calls: list[ApiCall]) -> str:
    """The short text a button press was answered with."""
    return next(str(c.params.get("text")) for c in calls if c.method == "answerCallbackQuery")


def texts(calls: list[ApiCall]) -> str:
    return "\n".join(str(c.params.get("text", c.params.get("question", ""))) for c in calls)


async def open_lobby(bot: Harness, extra: str = "") -> int:
    calls = await bot.text(HOST, f"/quiz atacms-2024{extra}", chat_id=GROUP)
    lobby = calls[-1]
    assert "Players (0): nobody yet" in lobby.params["text"]
    run = int(buttons(lobby)[0][1].split(":")[1])
    assert buttons(lobby) == [("🙋 I'm in", f"j:{run}"), ("▶ Start", f"go:{run}")]
    return run


async def join_all(bot: Harness, run: int, players: list[dict[str, Any]]) -> None:
    for player in players:
        calls = await bot.press(player, f"j:{run}", chat_id=GROUP)
        assert toast(calls) == "You're in! 🎉"


async def current(bot: Harness, run: int) -> tuple[QuizRun, Item]:
    services = bot.app.bot_data.services
    async with services.sessionmaker() as session:
        row = await session.get(QuizRun, run)
        assert row is not None
        cached = await services.catalog.item(session, int(row.item_order[row.position]))
    assert cached is not None
    return row, cached.item


def shown_index(row: QuizRun, item: Item, authored: int) -> int:
    order = [int(i) for i in row.option_orders[str(row.item_order[row.position])]]
    return order.index(authored)


async def answer(bot: Harness, run: int, player: dict[str, Any], right: bool) -> list[ApiCall]:
    """A player answers the open question, right or wrong, the way Telegram delivers it."""
    row, item = await current(bot, run)
    if isinstance(item, ChoiceItem | TrueFalseItem):
        correct = sorted(item.correct_indices)
        wrong = [i for i in range(len(item.option_texts)) if i not in correct][:1]
        picked = correct if right else wrong
        if row.poll_id is not None:
            ids = [shown_index(row, item, i) for i in picked]
            return await bot.send(bot.updates.poll_answer(player, row.poll_id, ids))
        return await bot.press(
            player, f"ga:{run}:{row.item_order[row.position]}:{picked[0]}", chat_id=GROUP
        )
    if isinstance(item, ShortItem):
        text = item.model_answer if right else "no idea"
    else:
        assert isinstance(item, NumberItem)
        text = format_number(item.answer) if right else "1"
    assert row.message_id is not None
    return await bot.text(player, text, chat_id=GROUP, reply_to=row.message_id)


async def finish_question(bot: Harness, run: int) -> list[ApiCall]:
    """Let the clock pass the deadline and the pause, running the timers."""
    row, _item = await current(bot, run)
    before = len(bot.api.calls)
    assert row.deadline_at is not None
    bot.clock.now = row.deadline_at + timedelta(seconds=1)
    await bot.run_jobs()
    bot.clock.advance(seconds=5)
    await bot.run_jobs()
    return bot.api.calls[before:]


async def attempts(engine: AsyncEngine) -> int:
    async with make_sessionmaker(engine)() as session:
        return int((await session.execute(select(func.count()).select_from(Attempt))).scalar())


# --------------------------------------------------------------------------- lobby


async def test_lobby_join_and_permissions(bot: Harness) -> None:
    run = await open_lobby(bot)
    calls = await bot.text(ANN, "/quiz atacms-2024", chat_id=GROUP)
    assert "A game is already on in this chat" in calls[-1].params["text"]
    await join_all(bot, run, [ANN, BOB, CAT])
    again = await bot.press(ANN, f"j:{run}", chat_id=GROUP)
    assert toast(again) == "You are already in."
    edited = bot.api.last("editMessageText")
    assert "Players (3): Ann, Bob, Cat" in edited.params["text"]
    refused = await bot.press(BOB, f"go:{run}", chat_id=GROUP)
    assert toast(refused) == "Only the host or a group admin can start the game."
    bot.api.administrators[GROUP] = {205}
    calls = await bot.press(ADMIN, f"go:{run}", chat_id=GROUP)
    assert any(c.method == "sendPoll" for c in calls)
    # The lobby's buttons go when the game starts; a late tap is told to just answer.
    lobby = bot.api.sent("sendMessage")[0]
    dropped = [c for c in calls if c.method == "editMessageReplyMarkup"]
    assert [c.params["message_id"] for c in dropped] == [lobby.result["message_id"]]
    late_join = await bot.press(CAT, f"j:{run}", chat_id=GROUP)
    assert toast(late_join) == "The game is on: just answer the questions to play!"


async def test_lobby_starts_by_itself_after_the_first_join(bot: Harness) -> None:
    run = await open_lobby(bot)
    bot.clock.advance(seconds=60)
    assert await bot.run_jobs() == 0  # nobody joined: the idle timer is 10 minutes away
    await join_all(bot, run, [ANN])
    bot.clock.advance(seconds=29)
    assert not any(c.method == "sendPoll" for c in bot.api.calls)
    await bot.run_jobs()
    bot.clock.advance(seconds=2)
    await bot.run_jobs()
    assert any(c.method == "sendPoll" for c in bot.api.calls)


async def test_empty_lobby_closes(bot: Harness) -> None:
    await open_lobby(bot)
    bot.clock.advance(seconds=601)
    await bot.run_jobs()
    assert "Nobody joined" in bot.api.last("sendMessage").params["text"]
    lobby = bot.api.sent("sendMessage")[0].result["message_id"]
    assert bot.api.last("editMessageReplyMarkup").params["message_id"] == lobby
    calls = await bot.text(HOST, "/quiz atacms-2024", chat_id=GROUP)
    assert "Players (0)" in calls[-1].params["text"]  # a new lobby can open


# --------------------------------------------------------------------------- a full game


async def test_full_game_with_polls_and_replies(bot: Harness, engine: AsyncEngine) -> None:
    run = await open_lobby(bot)
    await join_all(bot, run, [ANN, BOB, CAT])
    await bot.press(HOST, f"go:{run}", chat_id=GROUP)
    polls = replies = 0
    for number in range(1, 35):
        row, item = await current(bot, run)
        question = bot.api.sent()[-1]
        if row.poll_id is not None:
            polls += 1
            assert question.method == "sendPoll"
            assert question.params["is_anonymous"] is False
            assert question.params["type"] == "quiz"
            assert question.params["open_period"] == (item.time_limit or 30)
            assert len(question.params["explanation"]) <= 200
            shown = sorted(shown_index(row, item, i) for i in item.correct_indices)
            assert question.params["correct_option_ids"] == shown
        else:
            replies += 1
            assert "Reply to this message" in question.params["text"]
        # Ann is always right and quick; Bob right but slower; Cat always wrong.
        before = len(bot.api.calls)
        await answer(bot, run, ANN, right=True)
        bot.clock.advance(seconds=3)
        await answer(bot, run, BOB, right=True)
        await answer(bot, run, CAT, right=False)
        # No chat message per answer: at most reactions.
        assert {c.method for c in bot.api.calls[before:]} <= {"setMessageReaction"}
        calls = await finish_question(bot, run)
        messages = [c for c in calls if c.method in ("sendMessage", "sendPoll")]
        assert len(messages) == 2, [c.method for c in calls]  # the result, then what follows
        result = messages[0].params["text"]
        assert f"{number}/34" in result and "3 answered" in result
        assert "✅ 2 right: Ann, Bob" in result and "💡" in result and "📖" in result
    assert polls >= 18 and replies >= 8
    final = bot.api.last("sendMessage").params["text"]
    assert "Game over" in final
    assert final.index("Ann") < final.index("Bob") < final.index("Cat")
    assert "34 points (34/34 right" in final
    assert await attempts(engine) == 34 * 3
    # The game counts towards the chat's and the global leaderboards.
    board = (await bot.text(BOB, "/leaderboard", chat_id=GROUP))[-1].params["text"]
    assert "This chat · all time" in board
    assert board.index("Ann") < board.index("Bob") < board.index("Cat")
    board = (await bot.text(CAT, "/leaderboard"))[-1].params["text"]
    assert "Everyone · all time" in board and "<b>Cat</b> (you)" in board


async def test_late_and_repeated_answers(bot: Harness, engine: AsyncEngine) -> None:
    run = await open_lobby(bot)
    await join_all(bot, run, [ANN, BOB, CAT])
    await bot.press(HOST, f"go:{run}", chat_id=GROUP)
    # Q1 is a poll: Bob answers after the time limit, before the timer has run.
    await answer(bot, run, ANN, right=True)
    row, _ = await current(bot, run)
    assert row.deadline_at is not None
    bot.clock.now = row.deadline_at + timedelta(seconds=2)
    await answer(bot, run, BOB, right=True)
    assert await attempts(engine) == 1  # the late answer scores nothing
    await finish_question(bot, run)
    # Move on to the first typed question; replies: the first counts, later ones are ignored.
    while True:
        row, item = await current(bot, run)
        if isinstance(item, ShortItem | NumberItem):
            break
        await finish_question(bot, run)
    before = await attempts(engine)
    await answer(bot, run, CAT, right=False)
    calls = await answer(bot, run, CAT, right=True)
    assert calls == []  # ignored, silently
    assert await attempts(engine) == before + 1
    calls = await answer(bot, run, ANN, right=True)
    assert calls[-1].method == "setMessageReaction"
    # A reply to some other message is not an answer.
    await bot.text(BOB, "Bloody Joe", chat_id=GROUP, reply_to=1)
    assert await attempts(engine) == before + 2


async def test_stop_by_non_admin_is_refused(bot: Harness, engine: AsyncEngine) -> None:
    run = await open_lobby(bot)
    await join_all(bot, run, [ANN, BOB, CAT])
    await bot.press(HOST, f"go:{run}", chat_id=GROUP)
    await answer(bot, run, ANN, right=True)
    calls = await bot.text(BOB, "/stop", chat_id=GROUP)
    assert calls[-1].params["text"] == "Only the host or a group admin can stop the game."
    async with make_sessionmaker(engine)() as session:
        assert (await session.get(QuizRun, run)).status == "active"  # type: ignore[union-attr]
    calls = await bot.text(HOST, "/stop", chat_id=GROUP)
    final = calls[-1].params["text"]
    assert "Game stopped" in final and "Ann — 1 point (" in final
    # The question's pending timer still fires, finds the game over and says nothing.
    bot.clock.advance(seconds=60)
    before = len(bot.api.calls)
    assert await bot.run_jobs() == 1
    assert not any(c.method in ("sendMessage", "sendPoll") for c in bot.api.calls[before:])


async def test_restart_in_the_middle_of_a_game(engine: AsyncEngine, clock: Clock) -> None:
    first = await start_harness(engine, clock)
    run = await open_lobby(first)
    await join_all(first, run, [ANN, BOB, CAT])
    await first.press(HOST, f"go:{run}", chat_id=GROUP)
    await finish_question(first, run)  # Q1 closed, Q2 asked
    await answer(first, run, ANN, right=True)
    await first.app.shutdown()

    second = await start_harness(engine, clock)  # the bot restarts
    try:
        assert [key for key, _ in second.timers()] == [f"game:{run}:close:1"]
        # Answers keep arriving after the restart (poll answers carry no chat id).
        await answer(second, run, BOB, right=True)
        calls = await finish_question(second, run)
        result = texts(calls)
        assert "2/34" in result and "2 answered" in result and "Ann, Bob" in result
        assert any(c.method in ("sendPoll", "sendMessage") for c in calls[-1:])
    finally:
        await second.app.shutdown()


async def test_a_deadline_that_passed_while_down_acts_at_restart(
    engine: AsyncEngine, clock: Clock
) -> None:
    first = await start_harness(engine, clock)
    run = await open_lobby(first)
    await join_all(first, run, [ANN, BOB])
    await first.press(HOST, f"go:{run}", chat_id=GROUP)
    await answer(first, run, ANN, right=True)
    row, _item = await current(first, run)
    await first.app.shutdown()  # the bot goes down with question 1 open

    assert row.deadline_at is not None
    clock.now = row.deadline_at + timedelta(minutes=3)  # and stays down past its deadline
    second = await start_harness(engine, clock)
    try:
        # The late timer is armed for now, not dropped as a misfire; the game goes on.
        assert [(key, due) for key, due in second.timers()] == [(f"game:{run}:close:0", clock.now)]
        assert await second.run_jobs() == 1
        result = texts(second.api.calls)
        assert "1/34" in result and "1 answered" in result and "Ann" in result
        clock.advance(seconds=5)
        assert await second.run_jobs() == 1
        assert [c.method for c in second.api.calls[-1:]] in (["sendPoll"], ["sendMessage"])
        row, _item = await current(second, run)
        assert (row.position, row.phase) == (1, "asking")
    finally:
        await second.app.shutdown()


async def test_a_timer_another_worker_armed_is_taken_over_once(
    engine: AsyncEngine, clock: Clock
) -> None:
    owner = await start_harness(engine, clock)  # asks the question and arms its close
    other = await start_harness(engine, clock)  # a second worker on the same database
    try:
        run = await open_lobby(owner)
        await join_all(owner, run, [ANN])
        await owner.press(HOST, f"go:{run}", chat_id=GROUP)
        await answer(other, run, ANN, right=True)
        row, _item = await current(owner, run)
        assert row.deadline_at is not None
        assert other.timers() == []  # only the owner has an alarm for it

        clock.now = row.deadline_at  # due: left to the owner's alarm for a moment
        assert await other.poll_timers() == 0
        clock.advance(seconds=2)  # the owner is gone: the other worker's poll takes over
        assert await other.poll_timers() == 1
        assert "1/34" in texts(other.api.calls) and "1 answered" in texts(other.api.calls)
        # The owner's alarm rings late and finds the question closed: nothing twice.
        before = len(owner.api.calls)
        assert await owner.run_jobs() == 1
        assert owner.api.calls[before:] == []
        assert await other.poll_timers() == 0  # the pause before question 2 is not due yet
        clock.advance(seconds=5)
        assert await other.poll_timers() == 1
        row, _item = await current(other, run)
        assert (row.position, row.phase) == (1, "asking")
    finally:
        await owner.app.shutdown()
        await other.app.shutdown()


async def test_speed_bonus(bot: Harness, engine: AsyncEngine) -> None:
    assert speed_factor(0, 30) == 1.0
    assert speed_factor(15_000, 30) == 0.75
    assert speed_factor(90_000, 30) == 0.5
    run = await open_lobby(bot, " speed")
    await join_all(bot, run, [ANN, BOB])
    await bot.press(HOST, f"go:{run}", chat_id=GROUP)
    await answer(bot, run, ANN, right=True)  # instantly: full points
    bot.clock.advance(seconds=15)
    await answer(bot, run, BOB, right=True)  # half-way: three quarters
    async with make_sessionmaker(engine)() as session:
        scores = dict((await session.execute(select(Attempt.user_id, Attempt.score))).all())
    assert sorted(scores.values()) == [750, 1000]


async def test_long_choice_falls_back_to_buttons(
    engine: AsyncEngine, clock: Clock, tmp_path: Path
) -> None:
    long_option = "An option written out at great length " * 3
    (tmp_path / "long.yaml").write_text(
        f"""pack: long
title: Long options
description: One item too long for a poll.
article: {ROOT / "seeds" / "biden-atacms-2024.txt"}
items:
  - id: long
    type: choice
    question: Which one?
    answer: "{long_option.strip()}"
    distractors: [Short one, Another short one]
    explanation: Because.
    source: nearly 200 miles away
    difficulty: easy
    skill: detail
""",
        encoding="utf-8",
    )
    bot = await start_harness(engine, clock, content=tmp_path)
    try:
        calls = await bot.text(HOST, "/quiz long", chat_id=GROUP)
        run = int(buttons(calls[-1])[0][1].split(":")[1])
        await join_all(bot, run, [ANN, BOB])
        calls = await bot.press(HOST, f"go:{run}", chat_id=GROUP)
        question = calls[-1]
        assert question.method == "sendMessage"
        labels = [label for label, _ in buttons(question)]
        assert labels == ["A", "B", "C"]
        calls = await answer(bot, run, ANN, right=True)
        assert toast(calls) == "Answer recorded ✍"
        calls = await answer(bot, run, ANN, right=False)
        assert toast(calls) == "Your first answer counts."
        calls = await finish_question(bot, run)
        assert any(c.method == "editMessageReplyMarkup" for c in calls)
        assert "Game over" in texts(calls)
    finally:
        await bot.app.shutdown()


# --------------------------------------------------------------------------- leaderboards


@pytest.fixture
async def scored(bot: Harness) -> Harness:
    """Three players with a tie, a hidden player and hostile names, in one group game."""
    hostile = [user(301, "<b>"), user(302, "_*[", "x"), user(303, "Zed")]
    run = await open_lobby(bot)
    await join_all(bot, run, hostile)
    await bot.press(HOST, f"go:{run}", chat_id=GROUP)
    for _ in range(2):
        await answer(bot, run, hostile[0], right=True)
        await answer(bot, run, hostile[1], right=True)
        await answer(bot, run, hostile[2], right=False)
        await finish_question(bot, run)
    await bot.text(HOST, "/stop", chat_id=GROUP)
    return bot


async def test_leaderboard_ties_hidden_and_hostile_names(scored: Harness) -> None:
    bot = scored
    board = (await bot.text(user(303, "Zed"), "/leaderboard", chat_id=GROUP))[-1]
    text = board.params["text"]
    assert board.params["parse_mode"] == "HTML"
    # Tied on points and time: the tie is broken consistently (earlier, then by id).
    assert "🥇 &lt;b&gt; — 2 points" in text and "🥈 _*[ — 2 points" in text
    assert "<b>Zed</b> (you) — 0 points" in text
    # _*[ hides: others see "anonymous", they still see themselves.
    await bot.press(user(302, "_*[", "x"), "priv:1")
    text = (await bot.text(user(303, "Zed"), "/leaderboard", chat_id=GROUP))[-1].params["text"]
    assert "<i>anonymous</i>" in text and "_*[" not in text
    mine = (await bot.text(user(302, "_*[", "x"), "/leaderboard", chat_id=GROUP))[-1]
    assert "<b>_*[</b> (you)" in mine.params["text"]


async def test_leaderboard_week_window_and_own_rank_outside_top(scored: Harness) -> None:
    bot = scored
    bot.clock.advance(days=8)
    text = (await bot.text(HOST, "/leaderboard week", chat_id=GROUP))[-1].params["text"]
    assert "This chat · last 7 days" in text and "No answers yet" in text
    text = (await bot.text(HOST, "/leaderboard all atacms-2024", chat_id=GROUP))[-1].params["text"]
    assert "This chat · Biden approves ATACMS strikes deep into Russia · all time" in text
    assert "You are not on this board yet." in text  # the host did not play
    bad = (await bot.text(HOST, "/leaderboard week all extra", chat_id=GROUP))[-1]
    assert bad.params["text"] == "Usage: /leaderboard [week|all] [pack]"


async def test_own_rank_beyond_the_top_ten(bot: Harness, engine: AsyncEngine) -> None:
    from bot.store import repo

    services = bot.app.bot_data.services
    async with services.sessionmaker() as session, session.begin():
        for n in range(12):
            uid = await repo.upsert_telegram_user(session, 500 + n, f"P{n}", None, bot.clock())
            await session.execute(
                repo.dialect_insert(session, repo.ScoreTotal).values(
                    scope="g",
                    period="all",
                    user_id=uid,
                    points=(20 - n) * 1000,
                    answered=20,
                    correct=20 - n,
                    seconds_ms=1000,
                    reached_at=bot.clock(),
                )
            )
    text = (await bot.text(user(511, "P11"), "/leaderboard"))[-1].params["text"]
    assert text.count(" points") == 11 and "…\n12. <b>P11</b> (you)" in text


# --------------------------------------------------------------------------- the Bot API says no


async def test_a_refused_poll_is_sent_with_buttons(bot: Harness, engine: AsyncEngine) -> None:
    bot.api.failures["sendPoll"] = (400, "Bad Request: polls are not allowed in this chat")
    run = await open_lobby(bot)
    await join_all(bot, run, [ANN, BOB])
    calls = await bot.press(HOST, f"go:{run}", chat_id=GROUP)
    assert [c.method for c in calls].count("answerCallbackQuery") == 1
    question = calls[-1]
    assert question.method == "sendMessage" and "1/34" in question.params["text"]
    assert [label for label, _ in buttons(question)] == ["A", "B", "C", "D"]
    row, _ = await current(bot, run)
    assert row.message_id == question.result["message_id"] and row.deadline_at is not None
    assert toast(await answer(bot, run, ANN, right=True)) == "Answer recorded ✍"
    calls = await finish_question(bot, run)
    dropped = [c for c in calls if c.method == "editMessageReplyMarkup"]
    assert [c.params["message_id"] for c in dropped] == [row.message_id]
    assert "1 answered · ✅ 1 right: Ann" in texts(calls)
    assert await attempts(engine) == 1


async def test_a_question_that_cannot_be_sent_ends_the_game(
    bot: Harness, engine: AsyncEngine
) -> None:
    run = await open_lobby(bot)
    await join_all(bot, run, [ANN, BOB])
    await bot.press(HOST, f"go:{run}", chat_id=GROUP)
    await answer(bot, run, ANN, right=True)

    def second_question(method: str, params: dict[str, Any]) -> tuple[int, str] | None:
        if method == "sendPoll" or str(params.get("text", "")).startswith("<b>2/34</b>"):
            return 400, "Bad Request: not enough rights to send messages to the chat"
        return None

    bot.api.refuse.append(second_question)
    calls = await finish_question(bot, run)
    said = texts([c for c in calls if c.method == "sendMessage"])
    assert "I could not send question 2 to this chat, so the game has ended." in said
    assert "Game stopped" in said and "Ann — 1 point (" in said
    async with make_sessionmaker(engine)() as session:
        assert (await session.get(QuizRun, run)).status == "stopped"  # type: ignore[union-attr]
    assert bot.timers() == []
    bot.api.refuse.clear()
    calls = await bot.text(HOST, "/quiz atacms-2024", chat_id=GROUP)
    assert "Players (0)" in calls[-1].params["text"]  # nothing is left "on"


async def test_the_first_question_failing_ends_the_game_after_one_answer_to_the_press(
    bot: Harness, engine: AsyncEngine
) -> None:
    bot.api.refuse.append(
        lambda method, params: (
            (403, "Forbidden: bot can't send polls and messages here")
            if method == "sendPoll" or str(params.get("text", "")).startswith("<b>1/34</b>")
            else None
        )
    )
    run = await open_lobby(bot)
    await join_all(bot, run, [ANN])
    calls = await bot.press(HOST, f"go:{run}", chat_id=GROUP)
    assert [c.method for c in calls].count("answerCallbackQuery") == 1
    assert "so the game has ended" in texts(calls) and "Nobody answered." in texts(calls)
    assert await bot.app.bot_data.services.games.running_in(GROUP) is None


async def mini_harness(engine: AsyncEngine, clock: Clock, tmp_path: Path) -> Harness:
    return await start_harness(engine, clock, content=write_mini_pack(tmp_path))


async def test_score_counts_each_players_points_in_a_finished_game(
    engine: AsyncEngine, clock: Clock, tmp_path: Path
) -> None:
    bot = await mini_harness(engine, clock, tmp_path)
    try:
        calls = await bot.text(HOST, "/quiz mini", chat_id=GROUP)
        run = int(buttons(calls[-1])[0][1].split(":")[1])
        await join_all(bot, run, [ANN, BOB])
        await bot.press(HOST, f"go:{run}", chat_id=GROUP)
        for _ in range(2):
            await answer(bot, run, ANN, right=True)
            await answer(bot, run, BOB, right=False)
            await answer(bot, run, HOST, right=False)
            await finish_question(bot, run)
        assert "Game over" in bot.api.last("sendMessage").params["text"]
        for who, best in ((ANN, "2 of 2"), (BOB, "0 of 2"), (HOST, "0 of 2")):
            text = (await bot.text(who, "/score"))[-1].params["text"]
            assert f"Best run: {best}" in text, (who, text)
            assert "Answered 2, skipped 0" in text
    finally:
        await bot.app.shutdown()


async def test_speed_survives_the_choice_of_a_pack_and_unknown_words_get_usage(
    engine: AsyncEngine, clock: Clock, tmp_path: Path
) -> None:
    write_mini_pack(tmp_path, "mini-two")
    bot = await mini_harness(engine, clock, tmp_path)
    try:
        calls = await bot.text(HOST, "/quiz fast", chat_id=GROUP)
        usage = calls[-1].params["text"]
        assert "I don't know “fast”" in usage and "Packs: mini, mini-two" in usage
        assert "<i>speed</i>" in usage
        calls = await bot.text(HOST, "/quiz mini fast", chat_id=GROUP)
        assert "I don't know “fast”" in calls[-1].params["text"]
        calls = await bot.text(HOST, "/quiz speed", chat_id=GROUP)
        assert calls[-1].params["text"] == "Which quiz?"
        assert ("Mini", "pks:mini") in buttons(calls[-1])
        calls = await bot.press(HOST, "pks:mini", chat_id=GROUP)
        assert "⚡ Speed bonus on." in calls[-1].params["text"]
    finally:
        await bot.app.shutdown()


async def test_leaderboard_of_a_hidden_pack_is_no_quiz(bot: Harness) -> None:
    run = await open_lobby(bot)
    await join_all(bot, run, [ANN])
    await bot.press(HOST, f"go:{run}", chat_id=GROUP)
    await answer(bot, run, ANN, right=True)
    await bot.text(HOST, "/stop", chat_id=GROUP)
    calls = await bot.text(user(900, "Admin"), "/hide atacms-2024")
    assert "hidden" in calls[-1].params["text"].lower()
    for chat in (GROUP, None):
        text = (await bot.text(ANN, "/leaderboard atacms-2024", chat_id=chat))[-1].params["text"]
        assert text == "There is no quiz called 'atacms-2024'. See /packs.", text
        assert "Biden" not in text


async def test_feedback_for_late_answers_and_group_commands(
    engine: AsyncEngine, clock: Clock, tmp_path: Path
) -> None:
    bot = await mini_harness(engine, clock, tmp_path)
    try:
        calls = await bot.text(HOST, "/quiz mini", chat_id=GROUP)
        assert "just answer once the game is on: your first answer joins you" in texts(calls)
        run = int(buttons(calls[-1])[0][1].split(":")[1])
        await join_all(bot, run, [ANN])
        await bot.press(HOST, f"go:{run}", chat_id=GROUP)
        # Q1, a poll: Bob never tapped "I'm in" and still plays; a late vote is told privately.
        await answer(bot, run, BOB, right=True)
        row, _ = await current(bot, run)
        assert row.deadline_at is not None
        bot.clock.now = row.deadline_at + timedelta(seconds=1)
        calls = await answer(bot, run, ANN, right=True)
        assert [(c.method, c.params["chat_id"]) for c in calls] == [("sendMessage", ANN["id"])]
        assert calls[0].params["text"].startswith("⏱ Too late")
        calls = await finish_question(bot, run)
        assert "1 answered · ✅ 1 right: Bob" in texts(calls)
        # Q2, typed: a right answer gets ✍ like any other until the question closes.
        calls = await answer(bot, run, BOB, right=True)
        assert [[r["emoji"] for r in c.params["reaction"]] for c in calls] == [["✍"]]
        row, _ = await current(bot, run)
        assert row.deadline_at is not None
        bot.clock.now = row.deadline_at + timedelta(seconds=1)
        calls = await answer(bot, run, ANN, right=True)
        assert calls[-1].params["text"].startswith("⏱ Too late")
        calls = await bot.text(ANN, "/skip", chat_id=GROUP)
        assert "Nobody skips in a group game" in calls[-1].params["text"]
        calls = await bot.text(ANN, "/review", chat_id=GROUP)
        assert "send /review to https://t.me/article_quiz_bot" in calls[-1].params["text"]
        calls = await finish_question(bot, run)
        assert "Game over" in texts(calls) and "Bob — 2 points" in texts(calls)
    finally:
        await bot.app.shutdown()


async def test_the_timer_poll_says_once_that_the_database_is_gone(
    bot: Harness, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """A poll a second must not log a second: one line when the database fails, one when it
    is back."""
    context: Any = SimpleNamespace(application=bot.app)
    async with engine.begin() as connection:  # the table goes away, as the database would
        await connection.execute(text("ALTER TABLE timers RENAME TO timers_away"))
    with caplog.at_level(logging.INFO, logger="quizbot.timers"):
        for _ in range(3):
            await timers.on_poll(context)
        async with engine.begin() as connection:
            await connection.execute(text("ALTER TABLE timers_away RENAME TO timers"))
        await timers.on_poll(context)
        await timers.on_poll(context)
    lines = [r.getMessage() for r in caplog.records if r.name == "quizbot.timers"]
    assert len(lines) == 2, lines
    assert "cannot reach the database" in lines[0] and "back" in lines[1]
