"""Spaced repetition: every item a player answers gets an FSRS card that says when to ask it
again; ``/review`` re-asks the items that are due.

Cards are scheduled when a run ends (finished or stopped), from that run's attempts, so the
answer path stays one short transaction. A wrong or skipped answer rates the card *Again*
(due again within the hour), a right one *Good* (due again after days, then weeks).

An item missed :data:`LEECH_MISSES` times in review runs is a *leech* (Anki's word): the run
that makes it one shows it once in full, and from then on it is suspended from this
student's reviews (``leech_at`` is set; :func:`due_items` leaves it out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fsrs import Card, Rating, Scheduler
from sqlalchemy import JSON, bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Attempt, ItemRow, PackRow, QuizRun, ReviewCard, UtcDateTime

LEECH_MISSES = 4
"""Misses in review runs after which an item is a leech, suspended from the student's reviews."""

SCHEDULER = Scheduler(
    learning_steps=(timedelta(minutes=30),),
    relearning_steps=(timedelta(minutes=30),),
    enable_fuzzing=False,
)
"""A missed item comes back after half an hour; a known one after days, then weeks."""


# One statement, built once and run over every card (an executemany). The run's last answer
# used to build sqlite.insert(...).values(rows).on_conflict_do_update(...): SQLAlchemy never
# caches the dialects' ON CONFLICT constructs, so a 34-row, 238-parameter INSERT was compiled
# anew at the end of every run, ~40 ms of Python on this machine (quizbot bench).
_UPSERT_CARD = text(
    "INSERT INTO review_cards (user_id, item_id, state, due_at, reviews, lapses, "
    "review_misses, leech_at, updated_at) "
    "VALUES (:user_id, :item_id, :state, :due_at, :reviews, :lapses, :review_misses, "
    ":leech_at, :updated_at) "
    "ON CONFLICT (user_id, item_id) DO UPDATE SET state = excluded.state, "
    "due_at = excluded.due_at, reviews = excluded.reviews, lapses = excluded.lapses, "
    "review_misses = excluded.review_misses, leech_at = excluded.leech_at, "
    "updated_at = excluded.updated_at"
).bindparams(
    bindparam("state", type_=JSON()),
    bindparam("due_at", type_=UtcDateTime()),
    bindparam("leech_at", type_=UtcDateTime()),
    bindparam("updated_at", type_=UtcDateTime()),
)


@dataclass(frozen=True)
class Scheduled:
    """What :func:`schedule_run` did: cards scheduled, and the items that became leeches."""

    cards: int
    leeches: tuple[int, ...] = ()


async def schedule_run(
    session: AsyncSession, run_id: int, user_id: int, now: datetime
) -> Scheduled:
    """Rate every item the player answered in ``run_id`` and store the cards; returns how many
    were scheduled, and the items that this run made leeches. Idempotent per run: a card
    already reviewed at or after ``now`` is left."""
    results = (
        await session.execute(
            select(Attempt.item_id, Attempt.correct, Attempt.answered_at, QuizRun.mode)
            .join(QuizRun, QuizRun.id == Attempt.run_id)
            .where(Attempt.run_id == run_id, Attempt.user_id == user_id)
        )
    ).all()
    mode = results[0].mode if results else "full"
    return await schedule_answers(session, user_id, results, mode)


async def schedule_answers(
    session: AsyncSession, user_id: int, results: Sequence[Any], mode: str
) -> Scheduled:
    """:func:`schedule_run` for a run's attempts already read (rows with ``item_id``,
    ``correct`` and ``answered_at``) of a run in ``mode`` (misses in ``"review"`` runs count
    toward leeches), so that the end of a run reads them once."""
    if not results:
        return Scheduled(0)
    existing = {
        card.item_id: card
        for card in (
            await session.execute(
                select(ReviewCard).where(
                    ReviewCard.user_id == user_id,
                    ReviewCard.item_id.in_([r.item_id for r in results]),
                )
            )
        ).scalars()
    }
    rows = []
    leeches: list[int] = []
    for result in results:
        item_id, correct, answered_at = result.item_id, result.correct, result.answered_at
        stored = existing.get(item_id)
        if stored is not None and stored.updated_at >= answered_at:
            continue  # this answer was already counted
        # A new card gets an explicit id: without one, fsrs's Card() sleeps 1 ms (time.sleep,
        # to make its clock-based ids unique), which held the event loop for 34 ms at the end
        # of every 34-item run. Nothing reads the id; the item's is unique per player.
        card = Card.from_dict(stored.state) if stored is not None else Card(card_id=item_id)  # type: ignore[arg-type]
        card, _ = SCHEDULER.review_card(card, Rating.Good if correct else Rating.Again, answered_at)
        misses = (stored.review_misses if stored else 0) + (
            1 if mode == "review" and not correct else 0
        )
        leech_at = stored.leech_at if stored is not None else None
        if leech_at is None and misses >= LEECH_MISSES:
            leech_at = answered_at
            leeches.append(item_id)
        rows.append(
            {
                "user_id": user_id,
                "item_id": item_id,
                "state": card.to_dict(),
                "due_at": card.due,
                "reviews": (stored.reviews if stored else 0) + 1,
                "lapses": (stored.lapses if stored else 0) + (0 if correct else 1),
                "review_misses": misses,
                "leech_at": leech_at,
                "updated_at": answered_at,
            }
        )
    if rows:
        await session.execute(_UPSERT_CARD, rows)
    return Scheduled(len(rows), tuple(leeches))


@dataclass(frozen=True)
class DueItems:
    """What a player has to review: per pack, the items due now, and the next due time."""

    by_pack: dict[str, list[int]]
    next_due: datetime | None


async def due_items(
    session: AsyncSession, user_id: int, now: datetime, slugs: Sequence[str] | None = None
) -> DueItems:
    """Items whose card is due, of live items in packs students can see, oldest due first
    (leeches are suspended: never due)."""
    rows = (
        await session.execute(
            select(PackRow.slug, ReviewCard.item_id)
            .join(ItemRow, ItemRow.id == ReviewCard.item_id)
            .join(PackRow, PackRow.id == ItemRow.pack_id)
            .where(
                ReviewCard.user_id == user_id,
                ReviewCard.due_at <= now,
                ReviewCard.leech_at.is_(None),
                ItemRow.retired.is_(False),
                PackRow.status == "active",
            )
            .order_by(ReviewCard.due_at, ItemRow.position)
        )
    ).all()
    by_pack: dict[str, list[int]] = {}
    for slug, item_id in rows:
        if slugs is None or slug in slugs:
            by_pack.setdefault(slug, []).append(item_id)
    next_due = (
        await session.execute(
            select(func.min(ReviewCard.due_at)).where(
                ReviewCard.user_id == user_id,
                ReviewCard.due_at > now,
                ReviewCard.leech_at.is_(None),
            )
        )
    ).scalar()
    return DueItems(by_pack, next_due)


async def leeches_among(
    session: AsyncSession, user_id: int | None, item_ids: Sequence[int]
) -> list[int]:
    """Which of ``item_ids`` are the user's leeches (suspended from their reviews)."""
    if user_id is None or not item_ids:
        return []
    rows = await session.execute(
        select(ReviewCard.item_id).where(
            ReviewCard.user_id == user_id,
            ReviewCard.item_id.in_(list(item_ids)),
            ReviewCard.leech_at.is_not(None),
        )
    )
    return list(rows.scalars())
