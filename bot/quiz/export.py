"""Results export: one CSV row per attempt, and one per student, for a pack.

The files open in a spreadsheet as they are: UTF-8 with a byte-order mark (so that Excel reads
the accents right), comma-separated, quoted where needed by :mod:`csv`. A cell that a
spreadsheet would run as a formula (one that starts with ``=``, ``+``, ``-`` or ``@``, or with a
tab or carriage return, after any leading spaces) is written with a leading apostrophe, the
OWASP remedy for CSV injection: student names and typed answers are anyone's text.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Attempt, ItemRow, QuizRun, User

POINT = 1000
"""Scores are stored in thousandths of a point."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

ATTEMPT_COLUMNS = (
    "user_id",
    "telegram_id",
    "name",
    "username",
    "run_id",
    "run_kind",
    "run_mode",
    "run_status",
    "item",
    "item_type",
    "response",
    "correct",
    "score",
    "answered_at",
    "seconds",
)

STUDENT_COLUMNS = (
    "user_id",
    "telegram_id",
    "name",
    "username",
    "runs",
    "finished_runs",
    "answered",
    "correct",
    "accuracy",
    "best_score",
    "last_active",
)


def safe_cell(value: object) -> str:
    """The cell as text; text that a spreadsheet would read as a formula is neutralised."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a number is never a formula, and its minus sign must stay
    text = "" if value is None else str(value)
    text = text.replace("\x00", "")
    if text.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    """Rows as CSV text (``\\r\\n`` line ends, minimal quoting), every cell made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()


def csv_bytes(rows: Iterable[Sequence[object]]) -> bytes:
    """Rows as a CSV file: UTF-8 with a byte-order mark."""
    return csv_text(rows).encode("utf-8-sig")


def points(milli: int) -> str:
    """1000 -> '1', 500 -> '0.5', 873 -> '0.873'."""
    return f"{milli / POINT:.3f}".rstrip("0").rstrip(".")


def seconds(ms: int) -> str:
    return f"{ms / 1000:.3f}".rstrip("0").rstrip(".")


def timestamp(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def readable_response(response: str | None, item_type: str) -> str:
    """Chosen options (stored as a JSON list) joined with `` | ``; typed text as it is."""
    if response is None:
        return ""
    if item_type in ("choice", "truefalse"):
        try:
            value = json.loads(response)
        except ValueError:
            return response
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return " | ".join(value)
    return response


@dataclass(frozen=True)
class AttemptRow:
    user_id: int
    telegram_id: int | None
    name: str
    username: str | None
    run_id: int
    run_kind: str
    run_mode: str
    run_status: str
    item: str
    item_type: str
    response: str | None
    correct: bool
    score: int
    answered_at: datetime
    latency_ms: int

    def cells(self) -> list[object]:
        return [
            self.user_id,
            self.telegram_id or "",
            self.name,
            self.username or "",
            self.run_id,
            self.run_kind,
            self.run_mode,
            self.run_status,
            self.item,
            self.item_type,
            readable_response(self.response, self.item_type),
            "yes" if self.correct else "no",
            points(self.score),
            timestamp(self.answered_at),
            seconds(self.latency_ms),
        ]


@dataclass(frozen=True)
class StudentRow:
    user_id: int
    telegram_id: int | None
    name: str
    username: str | None
    runs: int
    """Full (not review) runs in which the student answered at least one question."""
    finished_runs: int
    answered: int
    """Answers in full runs (review runs are practice)."""
    correct: int
    best_score: int
    """Most points in one full run, in thousandths."""
    last_active: datetime
    """The student's last answer on this pack, review runs included."""

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0

    def cells(self) -> list[object]:
        return [
            self.user_id,
            self.telegram_id or "",
            self.name,
            self.username or "",
            self.runs,
            self.finished_runs,
            self.answered,
            self.correct,
            f"{self.accuracy:.4f}" if self.answered else "",
            points(self.best_score) if self.runs else "",
            timestamp(self.last_active),
        ]


async def attempt_rows(session: AsyncSession, pack_id: int) -> list[AttemptRow]:
    """Every attempt at the pack, oldest first, with who, which run and which item."""
    rows = (
        await session.execute(
            select(
                Attempt.user_id,
                User.telegram_id,
                User.name,
                User.username,
                Attempt.run_id,
                QuizRun.kind,
                QuizRun.mode,
                QuizRun.status,
                ItemRow.key,
                ItemRow.type,
                Attempt.response,
                Attempt.correct,
                Attempt.score,
                Attempt.answered_at,
                Attempt.latency_ms,
            )
            .join(User, User.id == Attempt.user_id)
            .join(QuizRun, QuizRun.id == Attempt.run_id)
            .join(ItemRow, ItemRow.id == Attempt.item_id)
            .where(Attempt.pack_id == pack_id)
            .order_by(Attempt.answered_at, Attempt.id)
        )
    ).all()
    return [AttemptRow(*tuple(row)) for row in rows]


def student_rows(attempts: Sequence[AttemptRow]) -> list[StudentRow]:
    """One row per student, from their attempts, by name."""
    by_user: dict[int, list[AttemptRow]] = {}
    for attempt in attempts:
        by_user.setdefault(attempt.user_id, []).append(attempt)
    students = []
    for mine in by_user.values():
        full = [a for a in mine if a.run_mode == "full"]
        run_scores: dict[int, int] = {}
        for a in full:
            run_scores[a.run_id] = run_scores.get(a.run_id, 0) + a.score
        finished = {a.run_id for a in full if a.run_status == "finished"}
        last = mine[-1]
        students.append(
            StudentRow(
                user_id=last.user_id,
                telegram_id=last.telegram_id,
                name=last.name,
                username=last.username,
                runs=len(run_scores),
                finished_runs=len(finished),
                answered=len(full),
                correct=sum(1 for a in full if a.correct),
                best_score=max(run_scores.values(), default=0),
                last_active=max(a.answered_at for a in mine),
            )
        )
    students.sort(key=lambda s: (s.name.casefold(), s.user_id))
    return students


@dataclass(frozen=True)
class Export:
    """The two CSV files of a pack's results."""

    attempts_name: str
    attempts_csv: bytes
    students_name: str
    students_csv: bytes
    attempts: int
    students: int


async def export_pack(
    session: AsyncSession, pack_id: int, slug: str, in_thread: bool = False
) -> Export:
    """The pack's two CSV files; ``in_thread`` writes them in a worker thread, so that a
    server's event loop is not held up by a long history."""
    attempts = await attempt_rows(session, pack_id)
    if in_thread:
        return await asyncio.to_thread(build_export, attempts, slug)
    return build_export(attempts, slug)


def build_export(attempts: Sequence[AttemptRow], slug: str) -> Export:
    students = student_rows(attempts)
    return Export(
        attempts_name=f"{slug}-attempts.csv",
        attempts_csv=csv_bytes([ATTEMPT_COLUMNS, *(a.cells() for a in attempts)]),
        students_name=f"{slug}-students.csv",
        students_csv=csv_bytes([STUDENT_COLUMNS, *(s.cells() for s in students)]),
        attempts=len(attempts),
        students=len(students),
    )
