"""An in-memory cache of published packs and their items.

Items are immutable between imports, so the answer path never reads an item from the
database: it looks the item up here by id. The cache is refreshed for a pack whenever its
content hash in the database differs from the cached one (checked when a run starts and when a
pack list is shown), and dropped at once by :meth:`Catalog.forget` after an import in this
process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.packs.model import Item, PackSettings, item_from_body
from bot.store.models import ItemRow, PackRow


@dataclass(frozen=True)
class CachedItem:
    id: int
    key: str
    pack_id: int
    position: int
    retired: bool
    item: Item


@dataclass(frozen=True)
class CachedPack:
    id: int
    slug: str
    title: str
    language: str
    description: str
    status: str
    content_hash: str
    owner_id: int | None
    settings: PackSettings
    article_text: str
    items: tuple[CachedItem, ...]
    """Live (not retired) items in pack order."""
    by_id: dict[int, CachedItem] = field(repr=False)
    """Every item, retired ones included (an old run may still point at one)."""


class Catalog:
    """Packs by id and slug, loaded on first use and refreshed when their content changes."""

    def __init__(self) -> None:
        self._packs: dict[int, CachedPack] = {}
        self._slugs: dict[str, int] = {}
        self._items: dict[int, CachedItem] = {}

    def forget(self, pack_id: int | None = None) -> None:
        """Drop one cached pack (or all), e.g. after an import or a status change."""
        ids = [pack_id] if pack_id is not None else list(self._packs)
        for pid in ids:
            pack = self._packs.pop(pid, None)
            if pack is not None:
                self._slugs.pop(pack.slug, None)
                for item_id in pack.by_id:
                    self._items.pop(item_id, None)

    async def _load(self, session: AsyncSession, row: PackRow) -> CachedPack:
        rows = (
            await session.execute(
                select(ItemRow).where(ItemRow.pack_id == row.id).order_by(ItemRow.position)
            )
        ).scalars()
        by_id = {
            r.id: CachedItem(r.id, r.key, r.pack_id, r.position, r.retired, item_from_body(r.body))
            for r in rows
        }
        pack = CachedPack(
            id=row.id,
            slug=row.slug,
            title=row.title,
            language=row.language,
            description=row.description,
            status=row.status,
            content_hash=row.content_hash,
            owner_id=row.owner_id,
            settings=PackSettings.model_validate(row.settings),
            article_text=row.article_text,
            items=tuple(i for i in by_id.values() if not i.retired),
            by_id=by_id,
        )
        self.forget(row.id)
        self._packs[row.id] = pack
        self._slugs[row.slug] = row.id
        self._items.update(by_id)
        return pack

    async def _fresh(self, session: AsyncSession, row: PackRow) -> CachedPack:
        cached = self._packs.get(row.id)
        if (
            cached is not None
            and cached.content_hash == row.content_hash
            and cached.status == row.status
            and cached.owner_id == row.owner_id
        ):
            return cached
        return await self._load(session, row)

    def cached_pack(self, pack_id: int) -> CachedPack | None:
        """The pack if it is cached (no database, no freshness check)."""
        return self._packs.get(pack_id)

    def cached_item(self, item_id: int) -> CachedItem | None:
        return self._items.get(item_id)

    async def by_slug(self, session: AsyncSession, slug: str) -> CachedPack | None:
        """The current version of a pack (one light query to check it is still current)."""
        row = (
            await session.execute(select(PackRow).where(PackRow.slug == slug))
        ).scalar_one_or_none()
        return None if row is None else await self._fresh(session, row)

    async def by_id(self, session: AsyncSession, pack_id: int) -> CachedPack | None:
        cached = self._packs.get(pack_id)
        if cached is not None:
            return cached
        row = await session.get(PackRow, pack_id)
        return None if row is None else await self._fresh(session, row)

    async def all(self, session: AsyncSession) -> list[CachedPack]:
        """Every pack, whatever its status, ordered by title."""
        rows = (await session.execute(select(PackRow).order_by(PackRow.title))).scalars()
        return [await self._fresh(session, row) for row in rows]

    async def item(self, session: AsyncSession, item_id: int) -> CachedItem | None:
        cached = self._items.get(item_id)
        if cached is not None:
            return cached
        row = await session.get(ItemRow, item_id)
        if row is None:
            return None
        pack = await self.by_id(session, row.pack_id)
        return pack.by_id.get(item_id) if pack else None
