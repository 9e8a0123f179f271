"""Classes and assignments: `/assign <pack> [due] [accept|close] [zone]` in a group (a class).

A class is a Telegram group the bot is in; its students are everyone who opened one of its
assignments' Start links, plus the members the bot saw post in the group (Telegram gives bots
no member list). An assignment gives the class a pack, with an optional deadline in the
class's time zone (``chats.timezone``); the first run a student finishes through its link is
their submission (bot/store/classes.py records it in the answer's own transaction), marked
late after the deadline, or not counted when the assignment closes at its deadline.

Every deadline, reminder and progress-message edit is a timer row (bot/quiz/timers.py), set
in the same transaction as the assignment and claimed by one worker before it acts.

The service returns facts (counts, names, dates, refusal codes); the Telegram adapter
(bot/telegram/classes.py) puts them into words.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import Select, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.quiz import zones
from bot.quiz.service import Player, Question, QuizService
from bot.quiz.timers import set_timer
from bot.store import repo
from bot.store.classes import TIMER_KIND, add_member, schedule_summary, timer_key
from bot.store.engine import unit_of_work
from bot.store.models import (
    Assignment,
    Attempt,
    Chat,
    ClassMember,
    ItemRow,
    PackRow,
    QuizRun,
    ReminderSent,
    Submission,
    User,
)

TOKEN_PREFIX = "a_"
"""Start parameters of assignment links begin with this (pack slugs never hold ``_``)."""
_TOKEN = re.compile(r"^a_[A-Za-z0-9_-]{16}$")

REMINDER_BATCH = 25
"""Reminders sent per timer run; a larger class gets the rest one second later, and the bot's
rate limiter spreads the messages within Telegram's limits."""

REMINDERS = (("remind-1d", timedelta(days=1)), ("remind-2h", timedelta(hours=2)))
"""The reminders before a deadline: a day before, and two hours before."""

END_OF_DAY = time(23, 59)
"""A deadline given as a day (``fri``, ``2026-12-11``, ``in 3 days``) is that day's end."""

LatePolicy = Literal["accept", "close"]
_POLICIES: dict[str, LatePolicy] = {
    "accept": "accept",
    "late": "accept",
    "close": "close",
    "closed": "close",
}
_WEEKDAYS = {
    name: n
    for n, names in enumerate(
        [
            ("mon", "monday"),
            ("tue", "tues", "tuesday"),
            ("wed", "wednesday"),
            ("thu", "thur", "thurs", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        ]
    )
    for name in names
}
_UNITS = {
    "hour": timedelta(hours=1),
    "hours": timedelta(hours=1),
    "day": timedelta(days=1),
    "days": timedelta(days=1),
    "week": timedelta(weeks=1),
    "weeks": timedelta(weeks=1),
}
_CLOCK = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")

AssignProblem = Literal[
    "usage",  # no pack named
    "not_staff",  # the caller is not an instructor or admin of the bot
    "not_group_admin",  # ... or not an administrator of this group
    "unknown_pack",
    "unreadable_due",  # `word` is the text that could not be read as a deadline
    "past",  # the deadline is already past
]


@dataclass(frozen=True)
class AssignRefused:
    reason: AssignProblem
    word: str = ""


@dataclass(frozen=True)
class AssignRequest:
    """What `/assign` asked for, before the pack and the deadline are checked."""

    slug: str
    due_words: tuple[str, ...]
    late: LatePolicy
    zone: str | None


def split_assign(words: Sequence[str]) -> AssignRequest | AssignRefused:
    """``<pack> [due words...] [accept|close] [zone]`` (the policy and zone in any order at
    the end)."""
    if not words:
        return AssignRefused("usage")
    slug, rest = words[0].strip().lower(), list(words[1:])
    late: LatePolicy = "accept"
    zone = None
    for _ in range(2):
        if not rest:
            break
        last = rest[-1].lower()
        if last in _POLICIES:
            late = _POLICIES[last]
            rest.pop()
        elif zone is None and last not in _WEEKDAYS and last not in _UNITS:
            found = zones.parse_zone(rest[-1])
            if found is not None:
                zone = found
                rest.pop()
    return AssignRequest(slug, tuple(rest), late, zone)


def parse_due(words: Sequence[str], now: datetime, zone: str | None) -> datetime | str | None:
    """The deadline ``words`` name, in ``zone``: None for no words; the text that could not
    be read otherwise. Accepts ``fri`` (the coming Friday; a week ahead on a Friday),
    ``tomorrow``, ``today``, ``2026-12-11``, each with an optional ``18:00``, and ``in 3 days``
    (also ``hours``, ``weeks``). A day without a time ends at 23:59."""
    if not words:
        return None
    typed = " ".join(words)
    lowered = [w.lower() for w in words]
    tz = zones.to_tzinfo(zone)
    local_now = now.astimezone(tz)
    if lowered[0] == "in":
        if len(lowered) != 3 or not lowered[1].isdigit() or lowered[2] not in _UNITS:
            return typed
        amount = int(lowered[1])
        if amount < 1 or amount > 366:
            return typed
        step = _UNITS[lowered[2]]
        if step < timedelta(days=1):
            return now + amount * step
        last_day = local_now.date() + amount * step
        return datetime.combine(last_day, END_OF_DAY, tzinfo=tz)
    at = END_OF_DAY
    if len(lowered) == 2:
        clock = _CLOCK.match(lowered[1])
        if clock is None:
            return typed
        at = time(int(clock.group(1)), int(clock.group(2)))
    elif len(lowered) != 1:
        return typed
    word = lowered[0]
    day: date
    if word in _WEEKDAYS:
        ahead = (_WEEKDAYS[word] - local_now.weekday()) % 7 or 7
        day = local_now.date() + timedelta(days=ahead)
    elif word == "today":
        day = local_now.date()
    elif word == "tomorrow":
        day = local_now.date() + timedelta(days=1)
    else:
        found = _DATE.match(word)
        if found is None:
            return typed
        try:
            day = date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
        except ValueError:
            return typed
    return datetime.combine(day, at, tzinfo=tz)


def new_token() -> str:
    """An unguessable Start parameter: 96 random bits (18 characters; Telegram allows 64)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(12)


def is_token(text: str) -> bool:
    """Whether a Start parameter is shaped like an assignment token (it may still be forged)."""
    return text.startswith(TOKEN_PREFIX)


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class Posted:
    """An assignment just made: the adapter posts it and arms its timers."""

    assignment_id: int
    token: str
    pack_slug: str
    pack_title: str
    items: int
    due_at: datetime | None
    zone: str | None
    late: LatePolicy
    zone_changed: bool
    timers: tuple[tuple[str, datetime], ...]


@dataclass(frozen=True)
class Student:
    name: str
    status: Literal["done", "started", "not_started"]
    late: bool = False


@dataclass(frozen=True)
class Progress:
    """Where an assignment stands: counts for the group, names for its instructor."""

    assignment_id: int
    chat_id: int
    chat_title: str
    pack_slug: str
    pack_title: str
    token: str
    due_at: datetime | None
    zone: str | None
    late: LatePolicy
    is_open: bool
    message_id: int | None
    done: int
    started: int
    not_started: int
    students: tuple[Student, ...] = ()


@dataclass(frozen=True)
class Opened:
    """A student opened an assignment's link: a new run (``question``), or the run they had
    not finished (``resumed``); ``submitted`` when they already handed it in (practice now)."""

    assignment_id: int
    pack_title: str
    due_at: datetime | None
    zone: str | None
    late: LatePolicy
    question: Question | None
    resumed: bool
    submitted: bool
    overdue: bool


LinkProblem = Literal["unknown", "closed", "pack_gone"]


@dataclass(frozen=True)
class LinkRefused:
    reason: LinkProblem
    due_at: datetime | None = None
    zone: str | None = None


@dataclass(frozen=True)
class Recipient:
    telegram_id: int
    language: str | None


@dataclass(frozen=True)
class ReminderBatch:
    """Reminders claimed for sending (each once, whichever worker sends it)."""

    assignment_id: int
    chat_id: int
    chat_title: str
    pack_title: str
    token: str
    due_at: datetime
    zone: str | None
    recipients: tuple[Recipient, ...]
    more_at: datetime | None
    """When the next batch is due (a timer was set), or None when this was the last."""
    more_key: str | None = None
    """That timer's key."""


@dataclass(frozen=True)
class StudentResult:
    name: str
    status: Literal["done", "started", "not_started"]
    score: int = 0
    """Thousandths of a point."""
    correct: int = 0
    total: int = 0
    seconds: float = 0.0
    late: bool = False
    finished_at: datetime | None = None


@dataclass(frozen=True)
class ItemFacility:
    position: int
    key: str
    answered: int
    correct: int

    @property
    def facility(self) -> float | None:
        return self.correct / self.answered if self.answered else None


@dataclass(frozen=True)
class ClassReport:
    progress: Progress
    students: tuple[StudentResult, ...]
    items: tuple[ItemFacility, ...]


@dataclass(frozen=True)
class Viewer:
    """Who asks for private class results: an instructor sees the assignments they made,
    an admin every one."""

    player: Player
    admin: bool


# --------------------------------------------------------------------------- the service


def _members_with_submission(assignment: Assignment, *columns: Any) -> Select[Any]:
    """The class's members (id, name, then ``columns`` of their submission to
    ``assignment``, None where they have none), by name."""
    return (
        select(User.id, User.name, *columns)
        .select_from(ClassMember)
        .join(User, User.id == ClassMember.user_id)
        .outerjoin(
            Submission,
            and_(
                Submission.user_id == ClassMember.user_id,
                Submission.assignment_id == assignment.id,
            ),
        )
        .where(ClassMember.chat_id == assignment.chat_id)
        .order_by(User.name, User.id)
    )


class Classes:
    """Assignments of packs to classes: one unit of work per call."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        quiz: QuizService,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessionmaker = sessionmaker
        self.quiz = quiz
        self.clock = clock
        self._seen: set[tuple[int, int]] = set()

    # ------------------------------------------------------------------ /assign

    async def assign(
        self,
        chat_id: int,
        chat_type: str,
        chat_title: str | None,
        player: Player,
        *,
        staff: bool,
        group_admin: bool,
        words: Sequence[str],
    ) -> Posted | AssignRefused:
        """Give the class ``chat_id`` a pack. Nothing changes unless everything is right."""
        if not staff:
            return AssignRefused("not_staff")
        if not group_admin:
            return AssignRefused("not_group_admin")
        request = split_assign(words)
        if isinstance(request, AssignRefused):
            return request
        now = self.clock()

        async def work(session: AsyncSession) -> Posted | AssignRefused:
            pack = await self.quiz.find_pack(session, request.slug)
            if pack is None:
                return AssignRefused("unknown_pack", request.slug)
            await repo.upsert_chat(session, chat_id, chat_type, chat_title, now)
            chat = await session.get(Chat, chat_id)
            assert chat is not None
            zone = request.zone or chat.timezone
            due = parse_due(request.due_words, now, zone)
            if isinstance(due, str):
                return AssignRefused("unreadable_due", due)
            if due is not None and due <= now:
                return AssignRefused("past", " ".join(request.due_words))
            zone_changed = request.zone is not None and request.zone != chat.timezone
            if zone_changed:
                chat.timezone = request.zone
            user_id = await self.quiz.user_id(session, player)
            assignment = Assignment(
                chat_id=chat_id,
                pack_id=pack.id,
                token=new_token(),
                created_by=user_id,
                due_at=due,
                late=request.late,
                created_at=now,
            )
            session.add(assignment)
            await session.flush()
            timers: list[tuple[str, datetime]] = []
            if due is not None:
                key = timer_key(assignment.id, "due")
                payload = {"what": "due", "assignment": assignment.id}
                await set_timer(session, TIMER_KIND, key, due, now, payload)
                timers.append((key, due))
                for what, before in REMINDERS:
                    if due - before > now:
                        key = timer_key(assignment.id, what)
                        payload = {"what": "remind", "assignment": assignment.id}
                        await set_timer(session, TIMER_KIND, key, due - before, now, payload)
                        timers.append((key, due - before))
            return Posted(
                assignment.id,
                assignment.token,
                pack.slug,
                pack.title,
                len(pack.items),
                due,
                zone,
                request.late,
                zone_changed,
                tuple(timers),
            )

        return await self.quiz.in_transaction(player, work)

    async def set_message(self, assignment_id: int, message_id: int) -> None:
        """Remember the group message that shows an assignment (its progress is edited in)."""

        async def work(session: AsyncSession) -> None:
            await session.execute(
                update(Assignment)
                .where(Assignment.id == assignment_id)
                .values(message_id=message_id, summary_at=self.clock())
            )

        await unit_of_work(self.quiz.statements, work)

    # ------------------------------------------------------------------ members

    async def seen(self, chat_id: int, chat_type: str, title: str | None, player: Player) -> None:
        """A member posted in a group: count them as a student of that class (written once
        per process and member)."""
        key = (chat_id, player.telegram_id or 0)
        if key in self._seen:
            return
        now = self.clock()

        async def work(session: AsyncSession) -> None:
            await repo.upsert_chat(session, chat_id, chat_type, title, now)
            user_id = await self.quiz.user_id(session, player)
            await add_member(session, chat_id, user_id, "seen", now)

        await self.quiz.in_transaction(player, work)
        if len(self._seen) > 100_000:
            self._seen.clear()
        self._seen.add(key)

    # ------------------------------------------------------------------ the Start link

    async def open_link(self, player: Player, token: str, chat_id: int) -> Opened | LinkRefused:
        """A student opened an assignment's Start link (``/start <token>`` in their private
        chat ``chat_id``): they join the class, and their run through the link starts (or
        the unfinished one continues)."""
        if not _TOKEN.match(token):
            return LinkRefused("unknown")
        now = self.clock()

        async def work(session: AsyncSession) -> tuple[Opened | LinkRefused, QuizRun | None]:
            found = (
                await session.execute(
                    select(Assignment, Chat.timezone)
                    .join(Chat, Chat.id == Assignment.chat_id)
                    .where(Assignment.token == token)
                )
            ).first()
            if found is None:
                return LinkRefused("unknown"), None
            assignment, zone = found
            overdue = assignment.due_at is not None and now > assignment.due_at
            if overdue and assignment.late == "close":
                return LinkRefused("closed", assignment.due_at, zone), None
            pack_row = await session.get(PackRow, assignment.pack_id)
            pack = await self.quiz.find_pack(session, pack_row.slug) if pack_row else None
            if pack is None:
                return LinkRefused("pack_gone"), None
            user_id = await self.quiz.user_id(session, player)
            await add_member(session, assignment.chat_id, user_id, "link", now)
            await session.execute(
                repo.dialect_insert(session, Submission)
                .values(
                    assignment_id=assignment.id,
                    user_id=user_id,
                    run_id=None,
                    started_at=now,
                    finished_at=None,
                    score=0,
                    correct=0,
                    total=0,
                    seconds_ms=0,
                    late=False,
                )
                .on_conflict_do_nothing(index_elements=["assignment_id", "user_id"])
            )
            submitted = (
                await session.execute(
                    select(Submission.finished_at).where(
                        Submission.assignment_id == assignment.id,
                        Submission.user_id == user_id,
                    )
                )
            ).scalar_one() is not None
            if not submitted:
                await schedule_summary(session, assignment, now)
            unfinished = (
                await session.execute(
                    select(QuizRun)
                    .where(
                        QuizRun.user_id == user_id,
                        QuizRun.assignment_id == assignment.id,
                        QuizRun.status == "active",
                    )
                    .order_by(QuizRun.id.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
            late: LatePolicy = "close" if assignment.late == "close" else "accept"

            def opened(question: Question | None, resumed: bool) -> Opened:
                return Opened(
                    assignment.id,
                    pack.title,
                    assignment.due_at,
                    zone,
                    late,
                    question,
                    resumed,
                    submitted,
                    overdue,
                )

            if unfinished is not None:
                question = await self.quiz.question_of(session, unfinished)
                return opened(question, True), None
            started = await self.quiz.start_run_in(
                session, pack, user_id, chat_id, assignment_id=assignment.id
            )
            assert started is not None
            run, question = started
            return opened(question, False), run

        outcome, run = await self.quiz.in_transaction(player, work)
        if run is not None:
            # Cached once committed: a run id from a transaction that rolled back may be reused.
            self.quiz.remember_run(run)
        return outcome

    # ------------------------------------------------------------------ progress

    async def in_chat(self, chat_id: int) -> list[Progress]:
        """The assignments of a class, newest first, with counts only."""

        async def work(session: AsyncSession) -> list[Progress]:
            ids = (
                await session.execute(
                    select(Assignment.id)
                    .where(Assignment.chat_id == chat_id)
                    .order_by(Assignment.created_at.desc(), Assignment.id.desc())
                    .limit(20)
                )
            ).scalars()
            return [p for p in [await self._progress(session, i, False) for i in ids] if p]

        return await unit_of_work(self.sessionmaker, work, commit=False)

    async def visible_to(self, viewer: Viewer, with_names: bool = True) -> list[Progress]:
        """The assignments an instructor made (every one for an admin), newest first."""

        async def work(session: AsyncSession) -> list[Progress]:
            user_id = await self.quiz.known_user_id(session, viewer.player)
            query = select(Assignment.id)
            if not viewer.admin:
                query = query.where(Assignment.created_by == user_id)
            ids = (
                await session.execute(
                    query.order_by(Assignment.created_at.desc(), Assignment.id.desc()).limit(20)
                )
            ).scalars()
            return [p for p in [await self._progress(session, i, with_names) for i in ids] if p]

        return await unit_of_work(self.sessionmaker, work, commit=False)

    async def progress(self, assignment_id: int) -> Progress | None:
        """Counts for one assignment (its progress message)."""

        async def work(session: AsyncSession) -> Progress | None:
            return await self._progress(session, assignment_id, False)

        return await unit_of_work(self.sessionmaker, work, commit=False)

    async def summary_edited(self, assignment_id: int) -> None:
        async def work(session: AsyncSession) -> None:
            await session.execute(
                update(Assignment)
                .where(Assignment.id == assignment_id)
                .values(summary_at=self.clock())
            )

        await unit_of_work(self.quiz.statements, work)

    async def _progress(
        self, session: AsyncSession, assignment_id: int, with_names: bool
    ) -> Progress | None:
        found = (
            await session.execute(
                select(Assignment, Chat.title, Chat.timezone, PackRow.slug, PackRow.title)
                .join(Chat, Chat.id == Assignment.chat_id)
                .join(PackRow, PackRow.id == Assignment.pack_id)
                .where(Assignment.id == assignment_id)
            )
        ).first()
        if found is None:
            return None
        assignment, chat_title, zone, slug, title = found
        students = await self._students(session, assignment)
        counts = {s: sum(1 for x in students if x.status == s) for s in _STATUSES}
        now = self.clock()
        is_open = assignment.due_at is None or now < assignment.due_at
        return Progress(
            assignment.id,
            assignment.chat_id,
            chat_title or "",
            slug,
            title,
            assignment.token,
            assignment.due_at,
            zone,
            assignment.late,  # type: ignore[arg-type]
            is_open,
            assignment.message_id,
            counts["done"],
            counts["started"],
            counts["not_started"],
            tuple(students) if with_names else (),
        )

    async def _students(self, session: AsyncSession, assignment: Assignment) -> list[Student]:
        """The class's students (without the assignment's author) and where each stands."""
        rows = (
            await session.execute(
                _members_with_submission(assignment, Submission.finished_at, Submission.started_at)
            )
        ).all()
        late = set(
            (
                await session.execute(
                    select(Submission.user_id).where(
                        Submission.assignment_id == assignment.id, Submission.late.is_(True)
                    )
                )
            ).scalars()
        )
        students = []
        for user_id, name, finished_at, started_at in rows:
            if user_id == assignment.created_by:
                continue
            status: Literal["done", "started", "not_started"] = (
                "done"
                if finished_at is not None
                else "started"
                if started_at is not None
                else "not_started"
            )
            students.append(Student(name, status, user_id in late))
        return students

    # ------------------------------------------------------------------ reminders

    async def claim_reminders(self, assignment_id: int) -> ReminderBatch | None:
        """Claim the next reminders of an assignment: students of the class who have not
        finished it, have not muted the class and got no reminder of it today (their class's
        local day). Each is claimed (a row in ``reminders_sent``) before it is sent, so none
        is sent twice. A batch of :data:`REMINDER_BATCH`; when more are left, the timer is set
        again a second later (``more_at``)."""
        now = self.clock()

        async def work(session: AsyncSession) -> ReminderBatch | None:
            found = (
                await session.execute(
                    select(Assignment, Chat.title, Chat.timezone, PackRow.title)
                    .join(Chat, Chat.id == Assignment.chat_id)
                    .join(PackRow, PackRow.id == Assignment.pack_id)
                    .where(Assignment.id == assignment_id)
                )
            ).first()
            if found is None:
                return None
            assignment, chat_title, zone, title = found
            if assignment.due_at is None or now >= assignment.due_at:
                return None
            day = zones.local_date(now, zone)
            reminded = select(ReminderSent.user_id).where(
                ReminderSent.assignment_id == assignment.id, ReminderSent.day == day
            )
            finished = select(Submission.user_id).where(
                Submission.assignment_id == assignment.id, Submission.finished_at.is_not(None)
            )
            candidates = (
                await session.execute(
                    select(User.id, User.telegram_id, User.language)
                    .join(ClassMember, ClassMember.user_id == User.id)
                    .where(
                        ClassMember.chat_id == assignment.chat_id,
                        ClassMember.muted.is_(False),
                        User.telegram_id.is_not(None),
                        User.active.is_(True),
                        User.id != (assignment.created_by or 0),
                        User.id.not_in(reminded),
                        User.id.not_in(finished),
                    )
                    .order_by(User.id)
                    .limit(REMINDER_BATCH)
                )
            ).all()
            claimed: set[int] = set()
            if candidates:
                claimed = set(
                    (
                        await session.execute(
                            repo.dialect_insert(session, ReminderSent)
                            .values(
                                [
                                    {
                                        "assignment_id": assignment.id,
                                        "user_id": c.id,
                                        "day": day,
                                        "sent_at": now,
                                    }
                                    for c in candidates
                                ]
                            )
                            .on_conflict_do_nothing()
                            .returning(ReminderSent.user_id)
                        )
                    ).scalars()
                )
            more_at = more_key = None
            if len(candidates) == REMINDER_BATCH:
                more_at = now + timedelta(seconds=1)
                more_key = timer_key(assignment.id, f"remind-more-{day.isoformat()}")
                await set_timer(
                    session,
                    TIMER_KIND,
                    more_key,
                    more_at,
                    now,
                    {"what": "remind", "assignment": assignment.id},
                )
            return ReminderBatch(
                assignment.id,
                assignment.chat_id,
                chat_title or "",
                title,
                assignment.token,
                assignment.due_at,
                zone,
                tuple(Recipient(c.telegram_id, c.language) for c in candidates if c.id in claimed),
                more_at,
                more_key,
            )

        return await unit_of_work(self.sessionmaker, work)

    async def mute(self, player: Player, assignment_id: int) -> bool:
        """Mute the reminders of the class an assignment belongs to, for this student; False
        when they are not a student of it (a forged button)."""

        async def work(session: AsyncSession) -> bool:
            user_id = await self.quiz.known_user_id(session, player)
            chat_id = (
                await session.execute(
                    select(Assignment.chat_id).where(Assignment.id == assignment_id)
                )
            ).scalar_one_or_none()
            if user_id is None or chat_id is None:
                return False
            changed = await session.execute(
                update(ClassMember)
                .where(ClassMember.chat_id == chat_id, ClassMember.user_id == user_id)
                .values(muted=True)
                .returning(ClassMember.user_id)
            )
            return changed.first() is not None

        return await unit_of_work(self.sessionmaker, work)

    # ------------------------------------------------------------------ results

    async def report(self, viewer: Viewer, assignment_id: int) -> ClassReport | None:
        """The class report of an assignment (None when the viewer may not see it)."""

        async def work(session: AsyncSession) -> ClassReport | None:
            assignment = await self._visible(session, viewer, assignment_id)
            if assignment is None:
                return None
            progress = await self._progress(session, assignment.id, True)
            assert progress is not None
            rows = (await session.execute(_members_with_submission(assignment, Submission))).all()
            students = []
            for user_id, name, sub in rows:
                if user_id == assignment.created_by:
                    continue
                if sub is None:
                    students.append(StudentResult(name, "not_started"))
                elif sub.finished_at is None:
                    students.append(StudentResult(name, "started"))
                else:
                    students.append(
                        StudentResult(
                            name,
                            "done",
                            sub.score,
                            sub.correct,
                            sub.total,
                            sub.seconds_ms / 1000,
                            sub.late,
                            sub.finished_at,
                        )
                    )
            items = await self._facility(session, assignment)
            return ClassReport(progress, tuple(students), tuple(items))

        return await unit_of_work(self.sessionmaker, work, commit=False)

    async def _facility(self, session: AsyncSession, assignment: Assignment) -> list[ItemFacility]:
        """Per item of the pack: how many submissions answered it and how many correctly."""
        submitted = select(Submission.run_id).where(
            Submission.assignment_id == assignment.id, Submission.run_id.is_not(None)
        )
        answers = (
            await session.execute(
                select(Attempt.item_id, Attempt.correct).where(Attempt.run_id.in_(submitted))
            )
        ).all()
        items = (
            await session.execute(
                select(ItemRow.id, ItemRow.key, ItemRow.position)
                .where(ItemRow.pack_id == assignment.pack_id, ItemRow.retired.is_(False))
                .order_by(ItemRow.position, ItemRow.id)
            )
        ).all()
        tally: dict[int, list[int]] = {}
        for item_id, correct in answers:
            counts = tally.setdefault(item_id, [0, 0])
            counts[0] += 1
            counts[1] += int(correct)
        return [ItemFacility(row.position, row.key, *tally.get(row.id, [0, 0])) for row in items]

    async def submitted_runs(
        self, viewer: Viewer, assignment_id: int
    ) -> tuple[str, list[int]] | None:
        """The pack slug and the submitted runs of an assignment the viewer may see (for the
        class's item analysis and export)."""

        async def work(session: AsyncSession) -> tuple[str, list[int]] | None:
            assignment = await self._visible(session, viewer, assignment_id)
            if assignment is None:
                return None
            slug = (
                await session.execute(select(PackRow.slug).where(PackRow.id == assignment.pack_id))
            ).scalar_one()
            runs = (
                await session.execute(
                    select(Submission.run_id).where(
                        Submission.assignment_id == assignment.id, Submission.run_id.is_not(None)
                    )
                )
            ).scalars()
            return slug, [int(r) for r in runs if r is not None]

        return await unit_of_work(self.sessionmaker, work, commit=False)

    async def _visible(
        self, session: AsyncSession, viewer: Viewer, assignment_id: int
    ) -> Assignment | None:
        assignment = await session.get(Assignment, assignment_id)
        if assignment is None:
            return None
        if viewer.admin:
            return assignment
        user_id = await self.quiz.known_user_id(session, viewer.player)
        return assignment if user_id is not None and assignment.created_by == user_id else None


_STATUSES = ("done", "started", "not_started")
