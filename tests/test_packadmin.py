"""Pack administration (bot.quiz.packadmin), the one service behind ``quizbot pack ...``,
``quizbot role ...`` and the bot's instructor commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.quiz.catalog import Catalog
from bot.quiz.packadmin import PackAdmin
from bot.store import make_sessionmaker

CONTENT = Path(__file__).resolve().parent.parent / "content"
NOW = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)


async def test_a_status_change_is_stamped_and_told_to_the_catalog(engine: AsyncEngine) -> None:
    """The CLI's copy of this used to forget updated_at."""
    now = [NOW]
    catalog = Catalog()
    admin = PackAdmin(make_sessionmaker(engine), catalog, lambda: now[0])
    outcome = await admin.import_files([CONTENT / "atacms-2024.yaml"], all_or_nothing=True)
    assert outcome.ok and [p.slug for p in outcome.plans] == ["atacms-2024"]
    async with make_sessionmaker(engine)() as session:
        assert await catalog.by_slug(session, "atacms-2024") is not None  # cached
    now[0] += timedelta(hours=1)
    change = await admin.set_status("ATACMS-2024", "hidden")
    assert change is not None and change.changed and change.pack.status == "active"
    assert catalog.cached_pack(change.pack.id) is None  # forgotten: the next read is fresh
    row = await admin.find("atacms-2024")
    assert row is not None and row.status == "hidden" and row.updated_at == now[0]
    again = await admin.set_status("atacms-2024", "hidden")
    assert again is not None and not again.changed
    assert await admin.set_status("nope", "active") is None
    (listed,) = await admin.list_packs()
    assert (listed.slug, listed.status, listed.live_items, listed.players) == (
        "atacms-2024",
        "hidden",
        34,
        0,
    )


async def test_roles_are_granted_and_revoked_once(engine: AsyncEngine) -> None:
    admin = PackAdmin(make_sessionmaker(engine), Catalog(), lambda: NOW)
    assert (await admin.revoke(55)).changed is False  # never met: nothing created
    assert await admin.known_telegram_ids([55]) == []
    granted = await admin.grant(55, "Ms Rivera", granted_by=1)
    assert granted.changed and granted.name == "Ms Rivera"
    assert (await admin.grant(55)).changed is False
    assert [h.telegram_id for h in await admin.holders()] == [55]
    assert (await admin.revoke(55)).changed is True
    assert await admin.holders() == []
    assert await admin.known_telegram_ids([55, 56]) == [55]
