"""Item analysis on a seeded data set whose statistics were computed by hand.

Six students' first complete runs of a five-item pack (1 = correct):

    student  range sumy nickname troops tricky  total   first sitting
    U1         1    1      1       1      0       4     private
    U2         1    1      1       0      0       3     private (after a stopped run)
    U3         1    1      1       0      0       3     private (after a review run)
    U4         1    1      0       0      1       3     terminal
    U5         0    1      0       0      1       2     group game
    U6         0    1      0       0      1       2     same group game (two timeouts)

By hand, with the rest score y = total − x and r = (nΣxy − ΣxΣy) / √((nΣx² − (Σx)²)(nΣy² − (Σy)²)):

    range:    x=[1,1,1,1,0,0], y=[3,2,2,2,2,2]; Σx=4 Σy=13 Σxy=9 Σx²=4 Σy²=29
              → r = (54−52)/√(8·5) = 2/√40 = 0.3162; p = 4/6
    sumy:     everyone right → p = 1, r undefined (no variance)
    nickname: x=[1,1,1,0,0,0], y=[3,2,2,3,2,2]; Σx=3 Σy=14 Σxy=7 Σy²=34 → r = (42−42)/… = 0
    troops:   x=[1,0,0,0,0,0], y=[3,3,3,3,2,2]; Σx=1 Σy=16 Σxy=3 Σy²=44 → r = (18−16)/√(5·8)
              = 0.3162; p = 1/6
    tricky:   x=[0,0,0,1,1,1], y=[4,3,3,2,1,1]; Σx=3 Σy=14 Σxy=4 Σy²=40 → r = (24−42)/√(9·44)
              = −18/√396 = −0.9045; p = 3/6
    mean score = 17/6
"""

from __future__ import annotations

import asyncio
import json
import math
import struct
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.packs import validate_pack_bytes
from bot.quiz import analysis
from bot.quiz.analysis import AttemptRecord, RunRecord, first_sittings, pearson
from bot.store import make_sessionmaker, repo
from bot.store.importer import import_pack
from bot.store.models import Attempt, Chat, ItemRow, PackRow, QuizRun

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

ARTICLE = (
    "The ATACMS missiles are capable of hitting targets nearly 200 miles away.\n\n"
    'Leonid Slutsky accused Biden of aiming to end his presidency as "Bloody Joe."\n\n'
    "Moscow deployed over 11,000 North Korean troops, the northern city of Sumy heard.\n"
)

PACK = """\
pack: analysis-demo
title: Analysis demo
description: Five items with known statistics.
article: demo.txt
items:
  - id: range
    type: choice
    question: How far can the missiles reach?
    answer: Nearly 200 miles
    distractors: [About 50 miles, About 500 miles, "About 1,000 miles"]
    explanation: Nearly 200 miles.
    source: capable of hitting targets nearly 200 miles away
    difficulty: easy
    skill: detail
  - id: sumy
    type: truefalse
    question: Sumy is in the north.
    answer: true
    explanation: The northern city of Sumy.
    source: the northern city of Sumy
    difficulty: easy
    skill: detail
  - id: nickname
    type: short
    question: What did Slutsky call Biden?
    answers: [Bloody Joe]
    explanation: Bloody Joe.
    source: Bloody Joe
    difficulty: medium
    skill: detail
  - id: troops
    type: number
    question: How many troops?
    answer: 11000
    tolerance: 100
    explanation: Over 11,000.
    source: deployed over 11,000 North Korean troops
    difficulty: hard
    skill: detail
  - id: tricky
    type: truefalse
    question: Slutsky praised Biden.
    answer: false
    explanation: He accused him.
    source: accused Biden
    difficulty: medium
    skill: inference
"""

# student -> item -> (correct, response); a missing item is a timeout in the group game.
FIRST: dict[str, dict[str, tuple[bool, str | None]]] = {
    "U1": {
        "range": (True, '["Nearly 200 miles"]'),
        "sumy": (True, '["True"]'),
        "nickname": (True, "Bloody Joe"),
        "troops": (True, "11000"),
        "tricky": (False, '["True"]'),
    },
    "U2": {
        "range": (True, '["Nearly 200 miles"]'),
        "sumy": (True, '["True"]'),
        "nickname": (True, "bloody joe"),
        "troops": (False, "12000"),
        "tricky": (False, '["True"]'),
    },
    "U3": {
        "range": (True, '["Nearly 200 miles"]'),
        "sumy": (True, '["True"]'),
        "nickname": (True, "Bloody Joe"),
        "troops": (False, "9000"),
        "tricky": (False, '["True"]'),
    },
    "U4": {
        "range": (True, '["Nearly 200 miles"]'),
        "sumy": (True, '["True"]'),
        "nickname": (False, "Sleepy Joe"),
        "troops": (False, None),  # skipped
        "tricky": (True, '["False"]'),
    },
    "U5": {
        "range": (False, '["About 50 miles"]'),
        "sumy": (True, '["True"]'),
        "nickname": (False, "sleepy joe!"),
        "troops": (False, "500"),
        "tricky": (True, '["False"]'),
    },
    "U6": {
        "range": (False, '["About 500 miles"]'),
        "sumy": (True, '["True"]'),
        "tricky": (True, '["False"]'),
    },
}
ALL_WRONG = {
    "range": (False, '["About 50 miles"]'),
    "sumy": (False, '["False"]'),
    "nickname": (False, "Biden"),
    "troops": (False, "1"),
    "tricky": (False, '["True"]'),
}
ALL_RIGHT = {
    "range": (True, '["Nearly 200 miles"]'),
    "sumy": (True, '["True"]'),
    "nickname": (True, "Bloody Joe"),
    "troops": (True, "11000"),
    "tricky": (True, '["False"]'),
}


class Seeder:
    """Writes runs and attempts straight into the store."""

    def __init__(self, session: Any, pack_id: int, items: dict[str, int]) -> None:
        self.session = session
        self.pack_id = pack_id
        self.items = items
        self.users: dict[str, int] = {}

    async def user(self, name: str) -> int:
        if name not in self.users:
            telegram_id = 500 + len(self.users)
            self.users[name] = await repo.upsert_telegram_user(
                self.session, telegram_id, name, None, T0
            )
        return self.users[name]

    async def run(
        self,
        kind: str,
        owner: str,
        answers: dict[str, dict[str, tuple[bool, str | None]]],
        finished_at: datetime,
        status: str = "finished",
        mode: str = "full",
        chat_id: int | None = None,
        keys: list[str] | None = None,
    ) -> int:
        order = [self.items[k] for k in (keys or list(self.items))]
        run = QuizRun(
            kind=kind,
            mode=mode,
            chat_id=chat_id,
            user_id=await self.user(owner),
            pack_id=self.pack_id,
            status=status,
            item_order=order,
            option_orders={},
            position=len(order) - 1,
            phase="answered",
            selected=[],
            options={},
            score=0,
            correct=0,
            answered=0,
            started_at=finished_at - timedelta(minutes=5),
            updated_at=finished_at,
            finished_at=finished_at if status != "active" else None,
        )
        self.session.add(run)
        await self.session.flush()
        for who, given in answers.items():
            user_id = await self.user(who)
            for key, (correct, response) in given.items():
                self.session.add(
                    Attempt(
                        run_id=run.id,
                        item_id=self.items[key],
                        user_id=user_id,
                        chat_id=chat_id,
                        pack_id=self.pack_id,
                        response=response,
                        correct=correct,
                        score=1000 if correct else 0,
                        answered_at=finished_at - timedelta(minutes=1),
                        latency_ms=4200,
                    )
                )
        await self.session.flush()
        return run.id


async def publish(session: Any, text: str = PACK) -> tuple[int, dict[str, int]]:
    report = validate_pack_bytes(text.encode(), "demo.yaml", lambda name: ARTICLE)
    assert report.ok, [str(p) for p in report.problems]
    assert report.pack is not None
    await import_pack(session, report.pack, T0)
    pack_id = (
        await session.execute(select(PackRow.id).where(PackRow.slug == report.pack.slug))
    ).scalar_one()
    rows = await session.execute(select(ItemRow.key, ItemRow.id).where(ItemRow.pack_id == pack_id))
    return pack_id, {key: item_id for key, item_id in rows.all()}


async def seed(engine: AsyncEngine) -> int:
    """The data set of the module docstring, with runs that must be left out."""
    async with make_sessionmaker(engine)() as session, session.begin():
        pack_id, items = await publish(session)
        other_id, other_items = await publish(session, PACK.replace("analysis-demo", "other"))
        s = Seeder(session, pack_id, items)
        for name in ("U1", "U2", "U3", "U4", "U5", "U6", "U7"):
            await s.user(name)
        session.add(Chat(id=-100, type="supergroup", title="Class", created_at=T0))
        await session.flush()
        minute = timedelta(minutes=1)
        # Left out: a stopped run, an unfinished run, a review run, a stopped group game.
        await s.run("private", "U2", {"U2": ALL_WRONG}, T0, status="stopped")
        await s.run("private", "U7", {"U7": ALL_WRONG}, T0, status="active")
        await s.run("private", "U3", {"U3": {"nickname": ALL_WRONG["nickname"]}}, T0, mode="review")
        await s.run(
            "group", "U7", {"U7": ALL_WRONG, "U1": ALL_WRONG}, T0, status="stopped", chat_id=-100
        )
        # The first complete runs.
        await s.run("private", "U1", {"U1": FIRST["U1"]}, T0 + 1 * minute)
        await s.run("private", "U2", {"U2": FIRST["U2"]}, T0 + 2 * minute)
        await s.run("private", "U3", {"U3": FIRST["U3"]}, T0 + 3 * minute)
        await s.run("terminal", "U4", {"U4": FIRST["U4"]}, T0 + 4 * minute)
        await s.run(
            "group", "U5", {"U5": FIRST["U5"], "U6": FIRST["U6"]}, T0 + 5 * minute, chat_id=-100
        )
        # Later complete runs: left out, the students had seen the answers.
        await s.run("private", "U1", {"U1": ALL_WRONG}, T0 + 10 * minute)
        await s.run("private", "U6", {"U6": ALL_RIGHT}, T0 + 11 * minute)
        # Another pack's runs never count (this one is U1's first finished run of any pack).
        other = Seeder(session, other_id, other_items)
        other.users = s.users
        await other.run("private", "U1", {"U1": ALL_RIGHT}, T0 - minute)
    return pack_id


async def analyse(engine: AsyncEngine, pack_id: int) -> analysis.Analysis:
    async with make_sessionmaker(engine)() as session:
        row = await session.get(PackRow, pack_id)
        assert row is not None
        return await analysis.analyse_pack(session, row)


def by_key(result: analysis.Analysis) -> dict[str, analysis.ItemStats]:
    return {i.key: i for i in result.items}


# --------------------------------------------------------------------------- pure pieces


def test_pearson_by_hand() -> None:
    assert pearson([1, 1, 1, 1, 0, 0], [3, 2, 2, 2, 2, 2]) == pytest.approx(2 / math.sqrt(40))
    assert pearson([0, 0, 0, 1, 1, 1], [4, 3, 3, 2, 1, 1]) == pytest.approx(-18 / math.sqrt(396))
    assert pearson([1, 1, 1], [1, 2, 3]) is None  # the item does not vary
    assert pearson([0, 1], [2, 2]) is None  # the rest score does not vary
    assert pearson([1], [1]) is None


def test_first_sittings_picks_each_students_first_finished_run() -> None:
    runs = [
        RunRecord(3, "private", 1, (10, 11), T0 + timedelta(minutes=9)),
        RunRecord(2, "group", 7, (10, 11), T0 + timedelta(minutes=5)),
        RunRecord(1, "private", 1, (10, 11), T0 + timedelta(minutes=1)),
        RunRecord(4, "terminal", 3, (10, 11), None),
    ]
    attempts = [
        AttemptRecord(1, 1, 10, True, "a"),
        AttemptRecord(1, 1, 11, False, "b"),
        AttemptRecord(2, 1, 10, False, "c"),  # user 1 also played the later group game
        AttemptRecord(2, 2, 10, True, "d"),  # user 2 answered one question of the game
        AttemptRecord(3, 1, 10, False, "e"),
    ]
    sittings = first_sittings(runs, attempts)
    assert [(s.user_id, s.run_id, s.kind) for s in sittings] == [
        (1, 1, "private"),
        (2, 2, "group"),  # the host (7) answered nothing: no sitting
        (3, 4, "terminal"),
    ]
    assert sittings[0].total == 1
    assert sittings[1].score(11) == 0  # a timeout scores 0


# --------------------------------------------------------------------------- on the store


async def test_item_analysis_matches_hand_computed_values(engine: AsyncEngine) -> None:
    pack_id = await seed(engine)
    result = await analyse(engine, pack_id)
    assert result.students == 6
    assert result.sittings_by_kind == {"private": 3, "terminal": 1, "group": 2}
    assert result.mean_score == pytest.approx(17 / 6)
    items = by_key(result)
    assert [i.key for i in result.items] == ["range", "sumy", "nickname", "troops", "tricky"]
    assert {k: (i.students, i.correct) for k, i in items.items()} == {
        "range": (6, 4),
        "sumy": (6, 6),
        "nickname": (6, 3),
        "troops": (6, 1),
        "tricky": (6, 3),
    }
    assert items["range"].facility == pytest.approx(4 / 6)
    assert items["range"].discrimination == pytest.approx(0.316228, abs=1e-6)
    assert items["sumy"].facility == 1.0
    assert items["sumy"].discrimination is None
    assert items["nickname"].facility == 0.5
    assert items["nickname"].discrimination == pytest.approx(0.0, abs=1e-12)
    assert items["troops"].facility == pytest.approx(1 / 6)
    assert items["troops"].discrimination == pytest.approx(0.316228, abs=1e-6)
    assert items["tricky"].facility == 0.5
    assert items["tricky"].discrimination == pytest.approx(-0.904534, abs=1e-6)
    # Answers given: U6 timed out on nickname and troops; U4 skipped troops.
    assert items["nickname"].answered == 5
    assert items["troops"].answered == 4


async def test_flags_options_and_candidate_answers(engine: AsyncEngine) -> None:
    pack_id = await seed(engine)
    items = by_key(await analyse(engine, pack_id))
    assert {k: i.flags for k, i in items.items()} == {
        "range": ("unused-distractor",),
        "sumy": ("too-easy",),
        "nickname": ("low-discrimination", "candidate-answer"),
        "troops": ("too-hard",),
        "tricky": ("negative-discrimination",),
    }
    assert [(o.text, o.correct, o.picks) for o in items["range"].options] == [
        ("Nearly 200 miles", True, 4),
        ("About 50 miles", False, 1),
        ("About 500 miles", False, 1),
        ("About 1,000 miles", False, 0),
    ]
    assert items["range"].unused_distractors == ["About 1,000 miles"]
    assert [(o.text, o.picks) for o in items["tricky"].options] == [("True", 3), ("False", 3)]
    # "Sleepy Joe" and "sleepy joe!" are one answer to the grader: 2 of 6 students.
    (candidate,) = items["nickname"].candidates
    assert (candidate.text, candidate.count) == ("Sleepy Joe", 2)
    assert candidate.share == pytest.approx(2 / 6)
    notes = items["nickname"].flag_notes()
    assert notes == [
        "near-zero discrimination (+0.00)",
        "frequent wrong answers, accept them? “Sleepy Joe” ×2",
    ]
    assert items["tricky"].flag_notes() == ["negative discrimination (-0.90)"]


async def test_fewer_than_five_students_raise_no_flags(engine: AsyncEngine) -> None:
    async with make_sessionmaker(engine)() as session, session.begin():
        pack_id, items = await publish(session)
        s = Seeder(session, pack_id, items)
        for n, name in enumerate(("U1", "U2", "U3", "U4")):
            await s.run("private", name, {name: FIRST[name]}, T0 + timedelta(minutes=n))
    result = await analyse(engine, pack_id)
    assert result.students == 4
    assert all(i.flags == () for i in result.items)
    assert by_key(result)["sumy"].facility == 1.0


async def test_authored_wrong_answers_are_not_candidates(engine: AsyncEngine) -> None:
    """A wrong answer the author anticipated (credit 0 with feedback) is not suggested."""
    text = PACK.replace(
        "answers: [Bloody Joe]",
        "answers:\n      - Bloody Joe\n"
        "      - {text: Sleepy Joe, credit: 0, feedback: That is another nickname.}",
    )
    async with make_sessionmaker(engine)() as session, session.begin():
        pack_id, items = await publish(session, text)
        s = Seeder(session, pack_id, items)
        for n, name in enumerate(FIRST):
            await s.run("private", name, {name: FIRST[name]}, T0 + timedelta(minutes=n))
    nickname = by_key(await analyse(engine, pack_id))["nickname"]
    assert nickname.candidates == ()
    assert "candidate-answer" not in nickname.flags


async def test_retired_items_keep_their_statistics(engine: AsyncEngine) -> None:
    pack_id = await seed(engine)
    edited = PACK.split("  - id: tricky")[0]  # the edit removes `tricky`
    async with make_sessionmaker(engine)() as session, session.begin():
        await publish(session, edited)
    result = await analyse(engine, pack_id)
    tricky = by_key(result)["tricky"]
    assert tricky.retired and tricky.discrimination == pytest.approx(-0.904534, abs=1e-6)
    assert result.items[-1].key == "tricky"  # retired items come last


async def test_no_finished_run_means_no_students(engine: AsyncEngine) -> None:
    async with make_sessionmaker(engine)() as session, session.begin():
        pack_id, _ = await publish(session)
    result = await analyse(engine, pack_id)
    assert result.students == 0 and result.mean_score is None
    assert all(i.students == 0 and i.facility is None for i in result.items)


# --------------------------------------------------------------------------- the chart


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The chunks of a PNG file, checking the signature and every CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks = []
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        body = data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        at += 12 + length
    return chunks


async def test_chart_is_a_valid_png_with_flagged_items_labelled(engine: AsyncEngine) -> None:
    pack_id = await seed(engine)
    result = await analyse(engine, pack_id)
    png = await asyncio.to_thread(analysis.chart_png, result)
    chunks = png_chunks(png)
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert (width, height) == (800, 600)
    image = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    assert len(image) > width * height  # the pixels are all there
    figure = analysis.chart_figure(result)
    (axes,) = figure.get_axes()
    labels = sorted(t.get_text() for t in axes.texts)
    # Every flagged item is labelled, sumy (no discrimination: everyone was right) included.
    assert labels == ["nickname", "range", "sumy", "tricky", "troops"]
    assert "6 students" in axes.get_title()


# --------------------------------------------------------------------------- the CLI


async def test_cli_report_formats(
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
) -> None:
    from bot.cli import main

    await seed(engine)
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    chart = tmp_path / "chart.png"
    status = await asyncio.to_thread(
        main, ["report", "analysis-demo", "--format", "json", "--chart", str(chart)]
    )
    assert status == 0
    data = json.loads(capsys.readouterr().out)
    assert data["students"] == 6
    tricky = next(i for i in data["items"] if i["item"] == "tricky")
    assert tricky["discrimination"] == pytest.approx(-0.9045, abs=1e-4)
    assert tricky["flags"] == ["negative-discrimination"]
    assert tricky["leeches"] == 0
    png_chunks(chart.read_bytes())

    assert await asyncio.to_thread(main, ["report", "analysis-demo"]) == 0
    table = capsys.readouterr().out
    assert "6 students, first complete runs (3 private, 1 terminal, 2 group)" in table
    assert "tricky" in table and "-0.90" in table and "negative discrimination" in table
    assert "range: nobody picks “About 1,000 miles”" in table

    assert await asyncio.to_thread(main, ["report", "analysis-demo", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("position,item,type,retired,students")
    assert (
        lines[5]
        == "5,tricky,truefalse,no,6,6,3,0.5,-0.9045,negative-discrimination,True=3 | False=3,,0"
    )  # the last column: leeches

    assert await asyncio.to_thread(main, ["report", "nope"]) == 1
    assert "no pack 'nope' in the store" in capsys.readouterr().err
