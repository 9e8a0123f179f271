"""Spaced repetition: cards scheduled when a run ends, and /review re-asks what is due."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from test_bot_private import answer_correctly, item_of, next_data, question_ids

from bot.packs.model import NumberItem, ShortItem
from bot.store import make_sessionmaker
from bot.store.models import ReviewCard
from botkit import Harness, user

ANN = user(101, "Ann")


async def cards(engine: AsyncEngine) -> list[ReviewCard]:
    async with make_sessionmaker(engine)() as session:
        return list((await session.execute(select(ReviewCard))).scalars())


async def play_run(bot: Harness, miss: set[int]) -> list[int]:
    """A full run of the article pack, skipping the questions numbered in ``miss``."""
    await bot.text(ANN, "/quiz atacms-2024")
    missed = []
    for number in range(1, 35):
        run, item_id, _ = question_ids(bot)
        item = await item_of(bot, item_id)
        if number in miss:
            if isinstance(item, ShortItem | NumberItem):
                calls = await bot.press(ANN, f"k:{run}:{item_id}")
            else:
                calls = await bot.text(ANN, "/skip")
            missed.append(item_id)
        else:
            calls = await answer_correctly(bot, ANN)
        data = next_data(calls)
        if data is None:
            break
        await bot.press(ANN, data)
    return missed


async def test_missed_items_come_back_in_review(bot: Harness, engine: AsyncEngine) -> None:
    calls = await bot.text(ANN, "/review")
    assert "Answer some questions first" in calls[-1].params["text"]
    missed = await play_run(bot, miss={2, 7})
    stored = {c.item_id: c for c in await cards(engine)}
    assert len(stored) == 34  # every answered item has a card, scheduled when the run ended
    now = bot.clock()
    for item_id, card in stored.items():
        if item_id in missed:
            assert card.lapses == 1 and card.due_at <= now + timedelta(minutes=30)
        else:
            assert card.lapses == 0 and card.due_at >= now + timedelta(hours=12)

    calls = await bot.text(ANN, "/review")
    assert "Nothing to review right now" in calls[-1].params["text"]
    bot.clock.advance(seconds=31 * 60)
    calls = await bot.text(ANN, "/review")
    assert "2 questions are due" in calls[0].params["text"]
    _run, first, question = question_ids(bot)
    assert "Review 1 of 2" in question.params["text"]
    assert first == missed[0]
    calls = await answer_correctly(bot, ANN)
    await bot.press(ANN, next_data(calls) or "")
    calls = await answer_correctly(bot, ANN)
    assert "Review finished" in "\n".join(str(c.params.get("text")) for c in calls)

    # Both are now known: nothing due until days later.
    calls = await bot.text(ANN, "/review")
    assert "Nothing to review right now" in calls[-1].params["text"]
    again = {c.item_id: c for c in await cards(engine)}
    for item_id in missed:
        assert again[item_id].reviews == 2
        assert again[item_id].due_at > bot.clock() + timedelta(hours=12)


async def test_review_of_an_unknown_pack(bot: Harness) -> None:
    calls = await bot.text(ANN, "/review nope")
    assert calls[-1].params["text"] == "There is no quiz called <b>nope</b>. See /packs."
    calls = await bot.text(ANN, "/review atacms-2024")
    assert "Answer some questions first" in calls[-1].params["text"]


async def test_stopping_a_run_schedules_what_was_answered(
    bot: Harness, engine: AsyncEngine
) -> None:
    await bot.text(ANN, "/quiz atacms-2024")
    await bot.text(ANN, "/skip")
    await bot.text(ANN, "/stop")
    (card,) = await cards(engine)
    assert card.lapses == 1 and card.reviews == 1
    # Stopping again, or a new run, does not count the same answer twice.
    await bot.text(ANN, "/stop")
    (card,) = await cards(engine)
    assert card.reviews == 1
