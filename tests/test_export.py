"""Results export: CSV files that survive a round trip through :mod:`csv` with hostile names,
and that no spreadsheet runs as formulas."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.packs import validate_pack_bytes
from bot.quiz.export import (
    ATTEMPT_COLUMNS,
    STUDENT_COLUMNS,
    csv_bytes,
    export_pack,
    safe_cell,
)
from bot.store import make_sessionmaker, repo
from bot.store.importer import import_pack
from bot.store.models import Attempt, ItemRow, PackRow, QuizRun

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

ARTICLE = "Bees visit about 100 flowers on each trip. Honey is made from nectar.\n"
PACK = """\
pack: bees
title: Bees
description: Two items.
article: bees.txt
items:
  - id: flowers
    type: choice
    question: How many flowers per trip?
    answer: About 100
    distractors: ["-5 or fewer", "=SUM(1;2)"]
    explanation: About 100.
    source: about 100 flowers on each trip
    difficulty: easy
    skill: detail
  - id: honey
    type: short
    question: What is honey made from?
    answers: [nectar]
    explanation: From nectar.
    source: Honey is made from nectar
    difficulty: easy
    skill: detail
"""

HOSTILE = [
    '=HYPERLINK("http://evil.example","click me")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    '  =1+1 "spaced"',
    'Smith, "Jr."\nsecond line',
    "\tTabby",
    "Zoë 🐝 اسم",
]


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # a byte-order mark, for Excel
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_safe_cell() -> None:
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("+1") == "'+1"
    assert safe_cell("-1") == "'-1"
    assert safe_cell("@A1") == "'@A1"
    assert safe_cell("\t=1") == "'\t=1"
    assert safe_cell("\rx") == "'\rx"
    assert safe_cell("  =1") == "'  =1"
    assert safe_cell("a=1") == "a=1"
    assert safe_cell("Ann") == "Ann"
    assert safe_cell(None) == ""
    assert safe_cell("nul\x00byte") == "nulbyte"
    # Numbers the export writes itself are numbers, never formulas.
    assert safe_cell(-0.25) == "-0.25"
    assert safe_cell(3) == "3"


def test_round_trip_of_hostile_cells() -> None:
    rows = [["name", "response"], *([name, name[::-1]] for name in HOSTILE)]
    back = read_csv(csv_bytes(rows))
    assert back[0] == ["name", "response"]
    for original, (name, response) in zip(HOSTILE, back[1:], strict=True):
        assert name == safe_cell(original)
        assert response == safe_cell(original[::-1])
        for cell in (name, response):
            assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))
        # Only the apostrophe was added: the text itself is intact.
        assert name.removeprefix("'") == original


async def seed(engine: AsyncEngine) -> tuple[int, list[int]]:
    """One student per hostile name; the first also has a second, stopped run and a review."""
    async with make_sessionmaker(engine)() as session, session.begin():
        report = validate_pack_bytes(PACK.encode(), "bees.yaml", lambda name: ARTICLE)
        assert report.ok and report.pack is not None, [str(p) for p in report.problems]
        await import_pack(session, report.pack, T0)
        pack_id = (await session.execute(select(PackRow.id))).scalar_one()
        items = dict((await session.execute(select(ItemRow.key, ItemRow.id))).all())
        users = []
        for n, name in enumerate(HOSTILE):
            users.append(await repo.upsert_telegram_user(session, 7000 + n, name, None, T0))

        async def run(
            user_id: int,
            answers: list[tuple[str, str | None, bool, int]],
            start: datetime,
            status: str = "finished",
            mode: str = "full",
        ) -> None:
            quiz_run = QuizRun(
                kind="private",
                mode=mode,
                user_id=user_id,
                pack_id=pack_id,
                status=status,
                item_order=list(items.values()),
                option_orders={},
                position=1,
                phase="answered",
                selected=[],
                options={},
                score=0,
                correct=0,
                answered=0,
                started_at=start,
                updated_at=start,
                finished_at=start,
            )
            session.add(quiz_run)
            await session.flush()
            for n, (key, response, correct, score) in enumerate(answers):
                session.add(
                    Attempt(
                        run_id=quiz_run.id,
                        item_id=items[key],
                        user_id=user_id,
                        pack_id=pack_id,
                        response=response,
                        correct=correct,
                        score=score,
                        answered_at=start + timedelta(seconds=10 * (n + 1)),
                        latency_ms=2500 + n,
                    )
                )

        for n, user_id in enumerate(users):
            await run(
                user_id,
                [
                    ("flowers", '["=SUM(1;2)"]', False, 0),
                    ("honey", HOSTILE[n], n == 0, 1000 if n == 0 else 0),
                ],
                T0 + timedelta(minutes=n),
            )
        first = users[0]
        await run(
            first, [("flowers", '["About 100"]', True, 1000)], T0 + timedelta(hours=1), "stopped"
        )
        await run(
            first,
            [("flowers", '["-5 or fewer"]', False, 0)],
            T0 + timedelta(hours=2),
            mode="review",
        )
        await run(first, [("honey", None, False, 0)], T0 + timedelta(hours=3), "stopped")
    return pack_id, users


async def test_attempts_csv_round_trip(engine: AsyncEngine) -> None:
    pack_id, users = await seed(engine)
    async with make_sessionmaker(engine)() as session:
        exported = await export_pack(session, pack_id, "bees")
    assert exported.attempts_name == "bees-attempts.csv"
    rows = read_csv(exported.attempts_csv)
    assert tuple(rows[0]) == ATTEMPT_COLUMNS
    assert len(rows) == 1 + exported.attempts == 1 + 2 * len(HOSTILE) + 3
    first = dict(zip(ATTEMPT_COLUMNS, rows[1], strict=True))
    assert first == {
        "user_id": str(users[0]),
        "telegram_id": "7000",
        "name": "'" + HOSTILE[0],
        "username": "",
        "run_id": first["run_id"],
        "run_kind": "private",
        "run_mode": "full",
        "run_status": "finished",
        "item": "flowers",
        "item_type": "choice",
        "response": "'=SUM(1;2)",
        "correct": "no",
        "score": "0",
        "answered_at": "2026-11-20T09:00:10Z",
        "seconds": "2.5",
    }
    names = {row[2] for row in rows[1:]}
    assert names == {safe_cell(name) for name in HOSTILE}
    assert 'Smith, "Jr."\nsecond line' in names  # commas, quotes and newlines survive
    typed = [dict(zip(ATTEMPT_COLUMNS, r, strict=True)) for r in rows[1:] if r[8] == "honey"]
    assert [t["response"] for t in typed[: len(HOSTILE)]] == [safe_cell(h) for h in HOSTILE]
    assert typed[0]["correct"] == "yes" and typed[0]["score"] == "1"
    assert typed[-1]["response"] == "" and typed[-1]["run_status"] == "stopped"  # a skip
    review = next(r for r in rows[1:] if r[6] == "review")
    assert review[10] == "'-5 or fewer"
    for row in rows[1:]:
        assert all(not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t")) for cell in row)


async def test_students_csv_by_hand(engine: AsyncEngine) -> None:
    pack_id, users = await seed(engine)
    async with make_sessionmaker(engine)() as session:
        exported = await export_pack(session, pack_id, "bees")
    rows = read_csv(exported.students_csv)
    assert tuple(rows[0]) == STUDENT_COLUMNS
    assert exported.students == len(HOSTILE) == len(rows) - 1
    by_id = {int(r[0]): dict(zip(STUDENT_COLUMNS, r, strict=True)) for r in rows[1:]}
    # The first student: a finished run (1 of 2 right, 1 point), a stopped run with one right
    # answer (1 point) and one with a skip; the review run does not count but is activity.
    assert by_id[users[0]] == {
        "user_id": str(users[0]),
        "telegram_id": "7000",
        "name": "'" + HOSTILE[0],
        "username": "",
        "runs": "3",
        "finished_runs": "1",
        "answered": "4",
        "correct": "2",
        "accuracy": "0.5000",
        "best_score": "1",
        "last_active": "2026-11-20T12:00:10Z",
    }
    other = by_id[users[5]]
    assert (other["name"], other["runs"], other["answered"], other["correct"]) == (
        HOSTILE[5],
        "1",
        "2",
        "0",
    )
    assert (other["accuracy"], other["best_score"]) == ("0.0000", "0")
    assert other["last_active"] == "2026-11-20T09:05:20Z"


async def test_cli_export_writes_both_files(
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from bot.cli import main

    await seed(engine)
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    out = tmp_path / "results"
    assert await asyncio.to_thread(main, ["export", "bees", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{out / 'bees-attempts.csv'}: {2 * len(HOSTILE) + 3} attempts" in printed
    assert f"{out / 'bees-students.csv'}: {len(HOSTILE)} students" in printed
    assert len(read_csv((out / "bees-attempts.csv").read_bytes())) == 2 * len(HOSTILE) + 4
    assert len(read_csv((out / "bees-students.csv").read_bytes())) == len(HOSTILE) + 1
    assert await asyncio.to_thread(main, ["export", "wasps", "--out", str(out)]) == 1
    assert "no pack 'wasps'" in capsys.readouterr().err
