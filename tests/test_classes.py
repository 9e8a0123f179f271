"""Classes and assignments: /assign in a group, the Start link, submissions on time and late,
/assignments, the progress message, reminders (once, after a restart too) and the class
report, through the bot's full stack on SQLite and PostgreSQL with a fake clock."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.quiz.classes import AssignRefused, parse_due, split_assign
from bot.store import make_sessionmaker
from bot.store.models import Assignment, ClassMember, ReminderSent, Submission
from bot.telegram import callbacks
from bot.telegram.context import services_of
from bot.testing.offline import ApiCall
from botkit import Clock, Harness, html_problems, start_harness, user, write_mini_pack

GROUP = -1002
OTHER_GROUP = -1003
TEACHER = user(900, "Teacher")  # an admin of the bot (QUIZBOT_ADMIN_IDS)
INSTRUCTOR = user(301, "Ines")
STUDENT = user(401, "Stu")
ON_TIME = user(411, "Olga")
LATE = user(412, "Lev")
NEVER = user(413, "Nina")
HALF = user(414, "Hal")
TWICE = user(415, "Tom")

# Friday 2026-11-20 09:00 UTC (botkit's clock).
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def url_buttons(call: ApiCall) -> list[tuple[str, str]]:
    markup = call.params.get("reply_markup")
    if markup is None:
        return []
    data = json.loads(markup) if isinstance(markup, str) else markup
    return [
        (b["text"], b.get("url") or b.get("callback_data", ""))
        for row in data["inline_keyboard"]
        for b in row
    ]


def texts(calls: list[ApiCall]) -> str:
    return "\n".join(str(c.params.get("text", c.params.get("caption", ""))) for c in calls)


@pytest.fixture
def classroom(mini: Harness) -> Harness:
    mini.api.administrators[GROUP] = {TEACHER["id"], INSTRUCTOR["id"], STUDENT["id"]}
    return mini


async def assign(bot: Harness, words: str, who: dict[str, Any] = TEACHER) -> tuple[str, int]:
    """Run /assign in the group; returns the Start link's token and the posted message id."""
    calls = await bot.text(who, f"/assign {words}", chat_id=GROUP)
    posted = next(
        c for c in calls if c.method == "sendMessage" and "Assignment #" in c.params["text"]
    )
    assert html_problems(posted.params["text"]) == []
    [(label, url)] = url_buttons(posted)
    assert label == "▶ Start"
    assert url.startswith("https://t.me/article_quiz_bot?start=a_")
    token = url.split("start=")[1]
    assert len(token) <= 64
    return token, int(posted.result["message_id"])


async def open_link(bot: Harness, who: dict[str, Any], token: str) -> list[ApiCall]:
    return await bot.text(who, f"/start {token}")


async def answer(bot: Harness, who: dict[str, Any], text: str) -> list[ApiCall]:
    """Type an answer, then press Next when there is one."""
    calls = await bot.text(who, text)
    feedback = calls[-1]
    nexts = [data for label, data in url_buttons(feedback) if data.startswith("n:")]
    if nexts:
        calls += await bot.press(who, nexts[0])
    return calls


async def finish(bot: Harness, who: dict[str, Any], token: str, right: bool = True) -> str:
    """Open the link and answer both items of the mini pack; returns the summary's text."""
    await open_link(bot, who, token)
    await answer(bot, who, "Nearly 200 miles" if right else "About 50 miles")
    calls = await answer(bot, who, "Bloody Joe")
    return texts(calls)


async def count(engine: AsyncEngine, model: Any) -> int:
    async with make_sessionmaker(engine)() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("fri", datetime(2026, 11, 27, 23, 59, tzinfo=UTC)),  # Friday: a week ahead
        ("sat 18:00", datetime(2026, 11, 21, 18, 0, tzinfo=UTC)),
        ("tomorrow", datetime(2026, 11, 21, 23, 59, tzinfo=UTC)),
        ("2026-12-11", datetime(2026, 12, 11, 23, 59, tzinfo=UTC)),
        ("2026-12-11 18:00", datetime(2026, 12, 11, 18, 0, tzinfo=UTC)),
        ("in 3 days", datetime(2026, 11, 23, 23, 59, tzinfo=UTC)),
        ("in 5 hours", datetime(2026, 11, 20, 14, 0, tzinfo=UTC)),
    ],
)
def test_deadlines_are_read_in_the_class_zone(words: str, expected: datetime) -> None:
    assert parse_due(words.split(), START, None) == expected


def test_a_deadline_in_kyiv_is_two_hours_before_utc() -> None:
    due = parse_due(["2026-12-11", "18:00"], START, "Europe/Kyiv")
    assert isinstance(due, datetime)
    assert due.astimezone(UTC) == datetime(2026, 12, 11, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize("words", ["friyay", "2026-13-01", "in three days", "fri 25:00", "a b c"])
def test_an_unreadable_deadline_is_returned_as_typed(words: str) -> None:
    assert parse_due(words.split(), START, None) == words


def test_the_policy_and_the_zone_come_last_in_any_order() -> None:
    request = split_assign(["ATACMS-2024", "fri", "18:00", "Europe/Kyiv", "close"])
    assert not isinstance(request, AssignRefused)
    assert (request.slug, request.due_words, request.late, request.zone) == (
        "atacms-2024",
        ("fri", "18:00"),
        "close",
        "Europe/Kyiv",
    )
    assert split_assign([]) == AssignRefused("usage")


# --------------------------------------------------------------------------- /assign


async def test_bad_assign_input_gets_a_clear_reply_and_changes_nothing(
    classroom: Harness, engine: AsyncEngine
) -> None:
    bot = classroom
    cases = [
        (STUDENT, "mini fri", "is for instructors"),  # a group admin, not an instructor
        (TEACHER, "nope fri", "no published quiz called <b>nope</b>"),
        (TEACHER, "mini 2026-11-01", "already past"),
        (TEACHER, "mini someday", "cannot read <b>someday</b> as a deadline"),
        (TEACHER, "", "Usage: /assign"),
    ]
    for who, words, expected in cases:
        calls = await bot.text(who, f"/assign {words}".strip(), chat_id=GROUP)
        assert expected in texts(calls), (words, texts(calls))
    # An instructor of the bot who is not an administrator of the group.
    await bot.text(TEACHER, f"/grant {INSTRUCTOR['id']}")
    bot.api.administrators[GROUP].discard(INSTRUCTOR["id"])
    calls = await bot.text(INSTRUCTOR, "/assign mini fri", chat_id=GROUP)
    assert "Only an administrator of this group" in texts(calls)
    assert await count(engine, Assignment) == 0
    calls = await open_link(bot, STUDENT, "a_" + "x" * 16)
    assert "This assignment link is not valid" in texts(calls)
    calls = await open_link(bot, STUDENT, "a_forged")
    assert "This assignment link is not valid" in texts(calls)
    async with make_sessionmaker(engine)() as session:
        joined = await session.execute(select(ClassMember).where(ClassMember.source == "link"))
        assert joined.first() is None
    calls = await bot.text(TEACHER, "/assign mini fri")
    assert "Send /assign in your class's group" in texts(calls)
    assert "/assign <i>pack</i>" in texts(await bot.text(STUDENT, "/help", chat_id=GROUP))
    assert "Classes: /assign" in texts(await bot.text(TEACHER, "/instructor"))


async def test_assign_with_a_zone_sets_the_class_zone(classroom: Harness) -> None:
    bot = classroom
    calls = await bot.text(TEACHER, "/assign mini 2026-12-11 18:00 Europe/Kyiv", chat_id=GROUP)
    assert "2026-12-11 18:00 (Europe/Kyiv)" in texts(calls)
    assert "This class's time zone is now Europe/Kyiv." in texts(calls)
    # The next assignment's deadline is read in Kyiv time without naming the zone.
    calls = await bot.text(TEACHER, "/assign mini 2026-12-12 09:30", chat_id=GROUP)
    assert "2026-12-12 09:30 (Europe/Kyiv)" in texts(calls)
    assert "time zone is now" not in texts(calls)


# --------------------------------------------------------------------------- the scenario


async def test_an_assignment_from_assign_to_the_class_report(
    classroom: Harness, engine: AsyncEngine, clock: Clock
) -> None:
    bot = classroom
    token, message_id = await assign(bot, "mini tomorrow 18:00")
    due = datetime(2026, 11, 21, 18, 0, tzinfo=UTC)
    # Nina posts in the group and never starts; the others open the link.
    await bot.text(NEVER, "hello class", chat_id=GROUP)
    assert "Olga" not in texts(await bot.text(TEACHER, "/assignments", chat_id=GROUP))

    summary = await finish(bot, ON_TIME, token)
    assert "Handed in: this run is your submission" in summary
    await finish(bot, TWICE, token, right=False)
    again = await finish(bot, TWICE, token)
    assert "already your submission; this one was practice" in again
    calls = await open_link(bot, HALF, token)
    assert "📚 Assignment: <b>Mini</b>" in texts(calls)
    await answer(bot, HALF, "Nearly 200 miles")
    await open_link(bot, LATE, token)

    # The progress message is edited (not reposted) by its timer, at most once per 30 s
    # (it was posted a moment ago): one edit for all these finishes.
    bot.api.clear()
    await bot.poll_timers()
    assert bot.api.sent("editMessageText") == []
    clock.advance(seconds=31)
    await bot.poll_timers()
    edits = bot.api.sent("editMessageText")
    assert len(edits) == 1 and edits[0].params["message_id"] == message_id
    assert "done 2 / started 2 / not started 1" in edits[0].params["text"]
    assert bot.api.sent("sendMessage") == []

    group = texts(await bot.text(NEVER, "/assignments", chat_id=GROUP))
    assert "done 2 / started 2 / not started 1" in group
    assert "Olga" not in group  # counts only in the group
    assert "#1 <b>Mini</b> · open · 2026-11-21 18:00 (UTC)" in group

    # The day before: one reminder each to Hal, Lev and Nina (never to who has finished).
    clock.now = due - timedelta(days=1)
    bot.api.clear()
    await bot.run_jobs()
    reminded = {c.params["chat_id"] for c in bot.api.sent("sendMessage")}
    assert reminded == {HALF["id"], LATE["id"], NEVER["id"]}
    reminder = bot.api.sent("sendMessage")[0]
    assert "⏰ Reminder: <b>Mini</b>" in reminder.params["text"]
    assert ("🔕 No reminders for this class", callbacks.mute(1)) in url_buttons(reminder)

    # Lev finishes after the deadline: accepted, marked late.
    clock.now = due + timedelta(hours=1)
    await open_link(bot, LATE, token)
    await answer(bot, LATE, "Nearly 200 miles")
    summary = texts(await answer(bot, LATE, "Bloody Joe"))
    assert "Handed in late" in summary

    # The instructor's views: names in private, and the class report.
    private = texts(await bot.text(TEACHER, "/assignments"))
    assert "#1 Class: <b>Mini</b> · past · 2026-11-21 18:00 (UTC)" in private
    assert "Done: Lev (late), Olga, Tom" in private
    assert "Started: Hal" in private
    assert "Not started: Nina" in private
    report = texts(await bot.text(TEACHER, "/report 1"))
    assert html_problems(report) == []
    assert "• Olga: 2 of 2" in report
    assert "• Tom: 1 of 2" in report  # his first finished run, not the second
    assert "• Lev: 2 of 2" in report and "late" in report
    assert "• Hal: Started" in report
    assert "• Nina: Not started" in report
    assert "1. <code>range</code> 67% (2/3)" in report  # Tom missed it the first time
    assert "2. <code>nickname</code> 100% (3/3)" in report
    calls = await bot.text(TEACHER, "/report 1 csv")
    [document] = [c for c in calls if c.method == "sendDocument"]
    csv_text = document.files["document"].decode("utf-8-sig")
    assert csv_text.splitlines()[0] == (
        "student,status,score,correct,total,seconds,late,finished_at"
    )
    assert any(
        line.startswith("Lev,done,2,2,2,") and ",yes," in line for line in csv_text.splitlines()
    )
    # A second class with the same pack: results never mix.
    bot.api.administrators[OTHER_GROUP] = {TEACHER["id"]}
    calls = await bot.text(TEACHER, "/assign mini", chat_id=OTHER_GROUP)
    other = url_buttons(next(c for c in calls if "Assignment #2" in str(c.params.get("text"))))
    await finish(bot, STUDENT, other[0][1].split("start=")[1], right=False)
    assert "Which class?" in texts(await bot.text(TEACHER, "/stats mini class"))
    stats = texts(await bot.text(TEACHER, "/stats mini class 1"))
    assert "· class: Class" in stats
    assert "3 students, first complete runs" in stats
    other_report = texts(await bot.text(TEACHER, "/report 2"))
    assert "• Stu: 1 of 2" in other_report and "Olga" not in other_report
    assert "1. <code>range</code> 0% (0/1)" in other_report
    # Another instructor sees only the classes they assigned in.
    await bot.text(TEACHER, f"/grant {INSTRUCTOR['id']}")
    assert "no assignment #1 of yours" in texts(await bot.text(INSTRUCTOR, "/report 1"))
    assert "You have given no assignments yet" in texts(await bot.text(INSTRUCTOR, "/assignments"))
    assert "Usage: /report" in texts(await bot.text(TEACHER, "/report one"))
    assert "works in a private chat" in texts(await bot.text(TEACHER, "/report 1", chat_id=GROUP))
    async with make_sessionmaker(engine)() as session:
        subs = (
            (await session.execute(select(Submission).where(Submission.assignment_id == 1)))
            .scalars()
            .all()
        )
    assert sorted((s.finished_at is not None, s.late) for s in subs) == [
        (False, False),
        (True, False),
        (True, False),
        (True, True),
    ]


async def test_reminders_are_sent_once_even_after_a_restart(
    engine: AsyncEngine, clock: Clock, tmp_path: Path
) -> None:
    content = write_mini_pack(tmp_path)
    bot = await start_harness(engine, clock, content=content)
    bot.api.administrators[GROUP] = {TEACHER["id"]}
    token, _ = await assign(bot, "mini in 3 days")
    for who in (HALF, LATE):
        await open_link(bot, who, token)
    await bot.app.shutdown()
    # A new process after the reminder's moment: it sends the reminders once...
    clock.now = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)
    bot = await start_harness(engine, clock, content=content)
    await bot.run_jobs()
    await bot.poll_timers()
    first = [c.params["chat_id"] for c in bot.api.sent("sendMessage")]
    assert sorted(first) == sorted([HALF["id"], LATE["id"]])
    await bot.app.shutdown()
    # ...and a third process, later the same day, sends nothing more.
    clock.advance(seconds=3600)
    bot = await start_harness(engine, clock, content=content)
    await bot.run_jobs()
    await bot.poll_timers()
    assert bot.api.sent("sendMessage") == []
    assert await count(engine, ReminderSent) == 2
    await bot.app.shutdown()


async def test_a_closed_assignment_refuses_late_runs_and_a_muted_class_gets_no_reminder(
    classroom: Harness, engine: AsyncEngine, clock: Clock
) -> None:
    bot = classroom
    token, _ = await assign(bot, "mini in 3 days close")
    await open_link(bot, HALF, token)
    await open_link(bot, LATE, token)
    await answer(bot, LATE, "Nearly 200 miles")
    # Hal mutes the class from his first reminder; Lev gets both.
    clock.now = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)
    await bot.run_jobs()
    muted = await bot.press(HALF, callbacks.mute(1))
    assert "No more reminders from this class." in texts(muted)
    forged = await bot.press(NEVER, callbacks.mute(1))
    assert "no longer valid" in texts(forged)
    bot.api.clear()
    clock.now = datetime(2026, 11, 23, 21, 59, tzinfo=UTC)
    await bot.run_jobs()
    assert [c.params["chat_id"] for c in bot.api.sent("sendMessage")] == [LATE["id"]]
    # At the deadline the message says so and loses its Start button (the assignment closed).
    clock.now = datetime(2026, 11, 23, 23, 59, tzinfo=UTC)
    bot.api.clear()
    await bot.run_jobs()
    [edit] = bot.api.sent("editMessageText")
    assert "The deadline has passed." in edit.params["text"]
    assert "reply_markup" not in edit.params
    # After the deadline: the link refuses, and a run finished late does not count.
    clock.now = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)
    calls = await open_link(bot, NEVER, token)
    assert "This assignment closed at its deadline, 2026-11-23 23:59 (UTC)." in texts(calls)
    summary = texts(await answer(bot, LATE, "Bloody Joe"))
    assert "closed at its deadline, so this run does not count" in summary
    async with make_sessionmaker(engine)() as session:
        done = (
            await session.execute(select(func.count()).where(Submission.finished_at.is_not(None)))
        ).scalar_one()
    assert done == 0


async def test_a_class_of_300_gets_its_reminders_spread_not_dropped(
    classroom: Harness, engine: AsyncEngine, clock: Clock
) -> None:
    bot = classroom
    await assign(bot, "mini in 3 days")
    for n in range(300):
        await bot.text(user(10_000 + n, f"S{n}"), "hi", chat_id=GROUP)
    # Every tenth student blocked the bot (or never opened it): skipped, not retried.
    bot.api.refuse.append(
        lambda method, params: (
            (403, "Forbidden: bot was blocked by the user")
            if method == "sendMessage" and int(params["chat_id"]) % 10 == 0
            else None
        )
    )
    clock.now = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)
    bot.api.clear()
    batches = 0
    while await bot.run_jobs() or await bot.poll_timers():
        batches += 1
        clock.advance(seconds=1)
    sent = bot.api.sent("sendMessage")
    assert len({c.params["chat_id"] for c in sent}) == 300
    assert len(sent) == 300
    assert batches >= 300 // 25
    assert await count(engine, ReminderSent) == 300


async def test_two_workers_claiming_the_same_reminders_send_each_once(
    classroom: Harness, clock: Clock
) -> None:
    bot = classroom
    token, _ = await assign(bot, "mini in 3 days")
    for n in range(30):
        await open_link(bot, user(20_000 + n, f"W{n}"), token)
    clock.now = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)
    classes = services_of(bot.app).classes
    # Two claims at once (two workers' polls): every student is claimed by exactly one.
    first, second = await asyncio.gather(classes.claim_reminders(1), classes.claim_reminders(1))
    assert first is not None and second is not None
    ids = [r.telegram_id for r in first.recipients + second.recipients]
    assert len(ids) == len(set(ids))
    third = await classes.claim_reminders(1)
    assert third is not None
    ids += [r.telegram_id for r in third.recipients]
    assert sorted(ids) == [20_000 + n for n in range(30)]
    assert (await classes.claim_reminders(1)).recipients == ()  # type: ignore[union-attr]


async def test_the_class_commands_are_in_every_language_s_menus(classroom: Harness) -> None:
    def scope(call: ApiCall) -> dict[str, Any]:
        raw = call.params["scope"]
        found: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else raw
        return found

    def commands(call: ApiCall) -> list[dict[str, str]]:
        raw = call.params["commands"]
        found: list[dict[str, str]] = json.loads(raw) if isinstance(raw, str) else raw
        return found

    menus = classroom.api.sent("setMyCommands")
    group = [c for c in menus if scope(c)["type"] == "all_group_chats"]
    assert len(group) == 4  # English (the default) and uk, ru, es
    for call in group:
        names = [c["command"] for c in commands(call)]
        assert "assign" in names and "assignments" in names
    ukrainian = next(c for c in group if c.params.get("language_code") == "uk")
    assert any("Завдання цього класу" in c["description"] for c in commands(ukrainian))
    # An instructor's own menu (set when the role is granted) has the private class tools.
    granted = await classroom.text(TEACHER, f"/grant {INSTRUCTOR['id']}")
    mine = [c for c in granted if c.method == "setMyCommands"]
    assert len(mine) == 4
    for call in mine:
        names = [c["command"] for c in commands(call)]
        assert "assignments" in names and "report" in names
