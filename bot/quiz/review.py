"""Spaced repetition: every item a player answers gets an FSRS card that says when to ask it
again; ``/review`` re-asks the items that are due.

Cards are scheduled when a run ends (finished or stopped), from that run's attempts, so the
answer path stays one short transaction. A wrong or skipped answer rates the card *Again*
(due again within the hour), a right one *Good* (due again after days, then weeks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fsrs import Card, Rating, Scheduler
from sqlalchemy import JSON, bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Attempt, ItemRow, PackRow, ReviewCard, UtcDateTime

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
    "INSERT INTO review_cards (user_id, item_id, state, due_at, reviews, lapses, updated_at) "
    "VALUES (:user_id, :item_id, :state, :due_at, :reviews, :lapses, :updated_at) "
    "ON CONFLICT (user_id, item_id) DO UPDATE SET state = excluded.state, "
    "due_at = excluded.due_at, reviews = excluded.reviews, lapses = excluded.lapses, "
    "updated_at = excluded.updated_at"
).bindparams(
    bindparam("state", type_=JSON()),
    bindparam("due_at", type_=UtcDateTime()),
    bindparam("updated_at", type_=UtcDateTime()),
)


async def schedule_run(session: AsyncSession, run_id: int, user_id: int, now: datetime) -> int:
    """Rate every item the player answered in ``run_id`` and store the cards; returns how many
    were scheduled. Idempotent per run: a card already reviewed at or after ``now`` is left."""
    results = (
        await session.execute(
            select(Attempt.item_id, Attempt.correct, Attempt.answered_at).where(
                Attempt.run_id == run_id, Attempt.user_id == user_id
            )
        )
    ).all()
    return await schedule_answers(session, user_id, results)


async def schedule_answers(session: AsyncSession, user_id: int, results: Sequence[Any]) -> int:
    """:func:`schedule_run` for a run's attempts already read (rows with ``item_id``,
    ``correct`` and ``answered_at``), so that the end of a run reads them once."""
    if not results:
        return 0
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
        rows.append(
            {
                "user_id": user_id,
                "item_id": item_id,
                "state": card.to_dict(),
                "due_at": card.due,
                "reviews": (stored.reviews if stored else 0) + 1,
                "lapses": (stored.lapses if stored else 0) + (0 if correct else 1),
                "updated_at": answered_at,
            }
        )
    if rows:
        await session.execute(_UPSERT_CARD, rows)
    return len(rows)


@dataclass(frozen=True)
class DueItems:
    """What a player has to review: per pack, the items due now, and the next due time."""

    by_pack: dict[str, list[int]]
    next_due: datetime | None


async def due_items(
    session: AsyncSession, user_id: int, now: datetime, slugs: Sequence[str] | None = None
) -> DueItems:
    """Items whose card is due, of live items in packs students can see, oldest due first."""
    rows = (
        await session.execute(
            select(PackRow.slug, ReviewCard.item_id)
            .join(ItemRow, ItemRow.id == ReviewCard.item_id)
            .join(PackRow, PackRow.id == ItemRow.pack_id)
            .where(
                ReviewCard.user_id == user_id,
                ReviewCard.due_at <= now,
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
                ReviewCard.user_id == user_id, ReviewCard.due_at > now
            )
        )
    ).scalar()
    return DueItems(by_pack, next_due)
