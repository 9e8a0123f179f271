"""The SQL work of one answer, counted (not timed): statements, transactions and commits of an
ordinary answer (a tap on an option, then Next) and of a run's last answer, on SQLite and
PostgreSQL, so the answer path cannot silently grow (issue 15: "as few statements and commits
per answer as correctness allows")."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine
from test_bot_private import ANN, answer_correctly, item_of, next_data, question_ids

from bot.bench import StatementCount
from bot.packs.model import ChoiceItem, TrueFalseItem
from botkit import Harness

# One tap on an option: one transaction: the claim of the answer (UPDATE ... RETURNING, which
# also returns the player's language), the attempt (INSERT ... ON CONFLICT DO NOTHING) and the
# totals (one upsert). Next: the claim of the move (one conditional UPDATE, which also returns
# the player's language; its own transaction on PostgreSQL) and the new question's message id
# (one UPDATE, idem). Three units of work: the answer's, and Next's two (the message id is
# known only once Telegram has answered the send).
# Before issue 15 the same answer took 7 statements in 5 transactions, 3 commits and 2
# rollbacks on PostgreSQL too: 17 round trips; until the move returned the language, 6
# statements and 4 units of work.
ORDINARY = {
    "postgres": {
        "statements": 5,
        "transactions": 1,
        "commits": 1,
        "autocommit_writes": 2,
        "rollbacks": 0,
        "round_trips": 7,
        "checkouts": 3,  # a connection from the pool for each unit of work
    },
    # SQLite keeps a transaction around every unit of work (BEGIN IMMEDIATE): a thread hop
    # each, no network.
    "sqlite": {
        "statements": 5,
        "transactions": 3,
        "commits": 3,
        "autocommit_writes": 0,
        "rollbacks": 0,
        "round_trips": 11,
        "checkouts": 3,
    },
}
# The last answer (typed, in the article pack): the reader's language (one read, before the answer:
# it decides the option letters a typed answer is read with, issue 14), the player's run, the claim
# (which returns the run's counters, the question's message id, the player's language and the run's
# assignment), the attempt, the totals, the run's attempts read once (for its review cards and its
# summary), the cards, one statement writing them, and the player's rank on the pack (two reads);
# then, after a finished full run, the one-time /remind offer's check (one conditional UPDATE, its
# own unit: AUTOCOMMIT on PostgreSQL; issue 16). Before issue 15: 13 statements in three
# transactions for the answer itself (the language in a unit of its own, the run and its attempts
# read twice, the question's message id in a session of its own).
LAST = {
    "postgres": {"statements": 11, "transactions": 1, "commits": 1, "autocommit_writes": 1},
    "sqlite": {"statements": 11, "transactions": 3, "commits": 2},
}


async def test_statements_per_answer(bot: Harness, engine: AsyncEngine) -> None:
    backend = "sqlite" if engine.dialect.name == "sqlite" else "postgres"
    await bot.text(ANN, "/quiz atacms-2024")
    ordinary: list[dict[str, int]] = []
    last: dict[str, int] = {}
    counted = StatementCount(engine).listen()
    for number in range(1, 35):
        _run, item_id, _question = question_ids(bot)
        item = await item_of(bot, item_id)
        tapped = isinstance(item, TrueFalseItem) or (
            isinstance(item, ChoiceItem) and not item.multiple
        )
        with counted:
            calls = await answer_correctly(bot, ANN)
            if number < 34:
                data = next_data(calls)
                assert data is not None
                await bot.press(ANN, data)
        if number == 34:
            last = counted.snapshot()
        elif tapped and number > 1:  # the first answer also fills the caches
            ordinary.append(counted.snapshot())
    counted.remove()
    assert ordinary, "the article pack has tapped items"
    assert all(o == ORDINARY[backend] for o in ordinary), ordinary
    assert {k: last[k] for k in LAST[backend]} == LAST[backend], last


async def test_statements_per_leaderboard(bot: Harness, engine: AsyncEngine) -> None:
    """/leaderboard is one transaction: the viewer and their language (one read), the top ten
    and, for a viewer outside it, their rank."""
    await bot.text(ANN, "/quiz atacms-2024")
    await answer_correctly(bot, ANN)
    stranger = {"id": 555, "is_bot": False, "first_name": "Stranger"}
    counted = StatementCount(engine).listen()
    for who in (ANN, stranger):  # in the top ten; not on the board at all
        with counted:
            calls = await bot.text(who, "/leaderboard")
        assert "Everyone" in calls[-1].params["text"]
        found = counted.snapshot()
        assert (found["statements"], found["transactions"], found["commits"]) == (2, 1, 1)
        assert found["rollbacks"] == found["autocommit_writes"] == 0
    counted.remove()
