"""Classes and assignments in the store: the rows behind ``/assign`` (bot/quiz/classes.py).

Functions here take a session and never commit. :func:`record_finish` is called by the quiz
engine in the transaction of the answer that finishes a run started through an assignment's
Start link, so a submission is recorded exactly when its run finishes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store import repo
from bot.store.models import Assignment, Attempt, ClassMember, QuizRun, Submission, Timer

SUMMARY_EVERY = timedelta(seconds=30)
"""At most one edit of an assignment's progress message in this time (Telegram allows a
group about 20 messages a minute, edits included)."""

TIMER_KIND = "assignment"
"""The kind of every assignment timer (its payload's ``what`` says which)."""

FinishOutcome = Literal["counted", "late", "again", "closed"]
"""What a finished run did to its assignment: the submission (on time, or late), nothing
(the student had already submitted: this run is practice), or nothing because the
assignment closed at its deadline."""


def timer_key(assignment_id: int, what: str) -> str:
    """The key of an assignment's timer: ``due``, ``summary``, ``remind-1d``, ``remind-2h``."""
    return f"asg:{assignment_id}:{what}"


async def add_member(
    session: AsyncSession, chat_id: int, user_id: int, source: str, now: datetime
) -> None:
    """Count ``user_id`` as a student of the class ``chat_id`` (once; the first way in stays)."""
    stmt = repo.dialect_insert(session, ClassMember).values(
        chat_id=chat_id, user_id=user_id, source=source, muted=False, joined_at=now
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["chat_id", "user_id"]))


async def schedule_summary(
    session: AsyncSession, assignment: Assignment, now: datetime, soonest: datetime | None = None
) -> None:
    """Ask for the progress message to be edited: now, or :data:`SUMMARY_EVERY` after the last
    edit. A pending edit is kept as it is, so many finishes make one edit."""
    due = now if soonest is None else max(now, soonest)
    if assignment.summary_at is not None:
        due = max(due, assignment.summary_at + SUMMARY_EVERY)
    stmt = repo.dialect_insert(session, Timer).values(
        kind=TIMER_KIND,
        key=timer_key(assignment.id, "summary"),
        run_id=None,
        payload={"what": "summary", "assignment": assignment.id},
        due_at=due,
        claim=None,
        claimed_until=None,
        tries=0,
        created_at=now,
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))


async def record_finish(session: AsyncSession, run: QuizRun, now: datetime) -> FinishOutcome:
    """A run started through an assignment's link has finished: the first such run of the
    student is their submission (late after the deadline; not counted when the assignment
    closes at its deadline)."""
    assert run.assignment_id is not None and run.user_id is not None
    assignment = await session.get(Assignment, run.assignment_id)
    if assignment is None:
        return "again"
    late = assignment.due_at is not None and now > assignment.due_at
    if late and assignment.late == "close":
        return "closed"
    seconds_ms = (
        await session.execute(
            select(func.coalesce(func.sum(Attempt.latency_ms), 0)).where(
                Attempt.run_id == run.id, Attempt.user_id == run.user_id
            )
        )
    ).scalar_one()
    insert = repo.dialect_insert(session, Submission).values(
        assignment_id=assignment.id,
        user_id=run.user_id,
        run_id=None,
        started_at=run.started_at,
        finished_at=None,
        score=0,
        correct=0,
        total=0,
        seconds_ms=0,
        late=False,
    )
    await session.execute(
        insert.on_conflict_do_nothing(index_elements=["assignment_id", "user_id"])
    )
    claimed = (
        await session.execute(
            update(Submission)
            .where(
                Submission.assignment_id == assignment.id,
                Submission.user_id == run.user_id,
                Submission.finished_at.is_(None),
            )
            .values(
                run_id=run.id,
                finished_at=now,
                score=run.score,
                correct=run.correct,
                total=len(run.item_order),
                seconds_ms=int(seconds_ms),
                late=late,
            )
            .returning(Submission.user_id)
        )
    ).first()
    if claimed is None:
        return "again"
    await schedule_summary(session, assignment, now)
    return "late" if late else "counted"
