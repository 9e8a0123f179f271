"""Publish a validated pack into the store, item by item, so that history survives edits.

Items are matched on their id: a changed item is updated, a new one added, a removed one
retired (never deleted: attempts keep pointing at it), and one that comes back is restored.
An unchanged pack is recognised by its content hash and causes no write at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.packs import PackReport, find_pack_files, validate_pack_file
from bot.packs.model import Pack, item_body, item_hash
from bot.store.models import ItemRow, PackRow


@dataclass
class ImportPlan:
    """What publishing a pack would change (or did change)."""

    slug: str
    new_pack: bool = False
    header_changed: bool = False
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    unchanged: int = 0
    owner_id: int | None = None
    """The current owner of an existing pack (None for a new pack or an unowned one)."""

    @property
    def changes_anything(self) -> bool:
        return (
            self.new_pack or self.header_changed or bool(self.added or self.updated or self.retired)
        )

    def describe(self) -> str:
        if self.new_pack:
            return f"{self.slug}: new pack, {len(self.added)} items added"
        if not self.changes_anything:
            return f"{self.slug}: unchanged ({self.unchanged} items)"
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.retired)} retired",
            f"{self.unchanged} unchanged",
        ]
        header = ", header updated" if self.header_changed else ""
        return f"{self.slug}: " + ", ".join(parts) + header

    def details(self) -> list[str]:
        lines = []
        for label, keys in (
            ("added", self.added),
            ("updated", self.updated),
            ("retired", self.retired),
        ):
            if keys and not self.new_pack:
                lines.append(f"  {label}: {', '.join(keys)}")
        return lines


def _header(pack: Pack) -> dict[str, Any]:
    return {
        "title": pack.title,
        "language": pack.language,
        "description": pack.description,
        "article_name": pack.article_name,
        "article_text": pack.article_text,
        "article_hash": pack.article_hash,
        "content_hash": pack.content_hash,
        "settings": pack.settings.model_dump(mode="json"),
    }


async def plan_import(session: AsyncSession, pack: Pack) -> ImportPlan:
    """Compute what :func:`import_pack` would do, without writing."""
    plan, _row, _existing = await _plan(session, pack)
    return plan


async def _plan(
    session: AsyncSession, pack: Pack
) -> tuple[ImportPlan, PackRow | None, dict[str, tuple[int, str, bool, int]]]:
    row = (
        await session.execute(select(PackRow).where(PackRow.slug == pack.slug))
    ).scalar_one_or_none()
    plan = ImportPlan(pack.slug)
    if row is None:
        plan.new_pack = True
        plan.added = [item.id for item in pack.items]
        return plan, None, {}
    plan.owner_id = row.owner_id
    if row.content_hash == pack.content_hash and row.article_hash == pack.article_hash:
        # Unchanged, unless items were retired by hand: a count, not every item row.
        live = (
            await session.execute(
                select(func.count()).where(ItemRow.pack_id == row.id, ItemRow.retired.is_(False))
            )
        ).scalar_one()
        if live == len(pack.items):
            plan.unchanged = len(pack.items)
            return plan, row, {}
    existing: dict[str, tuple[int, str, bool, int]] = {
        key: (item_id, content_hash, retired, position)
        for item_id, key, content_hash, retired, position in (
            await session.execute(
                select(
                    ItemRow.id,
                    ItemRow.key,
                    ItemRow.content_hash,
                    ItemRow.retired,
                    ItemRow.position,
                ).where(ItemRow.pack_id == row.id)
            )
        ).all()
    }
    header = _header(pack)
    plan.header_changed = any(
        getattr(row, k) != v for k, v in header.items() if k != "content_hash"
    )
    wanted = set()
    for position, item in enumerate(pack.items):
        wanted.add(item.id)
        found = existing.get(item.id)
        if found is None:
            plan.added.append(item.id)
        elif found[1] != item_hash(item) or found[2] or found[3] != position:
            plan.updated.append(item.id)
        else:
            plan.unchanged += 1
    plan.retired = [
        key for key, (_, _, retired, _) in existing.items() if key not in wanted and not retired
    ]
    return plan, row, existing


async def import_pack(
    session: AsyncSession, pack: Pack, now: datetime, owner_id: int | None = None
) -> ImportPlan:
    """Publish ``pack`` in the caller's transaction and return what changed."""
    plan, row, existing = await _plan(session, pack)
    if not plan.changes_anything:
        return plan
    header = _header(pack)
    if row is None:
        pack_id = (
            await session.execute(
                insert(PackRow)
                .values(
                    slug=pack.slug,
                    status="active",
                    owner_id=owner_id,
                    created_at=now,
                    updated_at=now,
                    **header,
                )
                .returning(PackRow.id)
            )
        ).scalar_one()
    else:
        pack_id = row.id
        values: dict[str, Any] = {**header, "updated_at": now}
        if row.owner_id is None and owner_id is not None:
            values["owner_id"] = owner_id
        await session.execute(update(PackRow).where(PackRow.id == pack_id).values(**values))
    added = set(plan.added)
    updated = set(plan.updated)
    new_rows = []
    for position, item in enumerate(pack.items):
        if item.id in added:
            new_rows.append(
                {
                    "pack_id": pack_id,
                    "key": item.id,
                    "type": item.type,
                    "position": position,
                    "body": item_body(item),
                    "content_hash": item_hash(item),
                    "retired": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        elif item.id in updated:
            await session.execute(
                update(ItemRow)
                .where(ItemRow.id == existing[item.id][0])
                .values(
                    type=item.type,
                    position=position,
                    body=item_body(item),
                    content_hash=item_hash(item),
                    retired=False,
                    updated_at=now,
                )
            )
    if new_rows:
        await session.execute(insert(ItemRow), new_rows)
    if plan.retired:
        await session.execute(
            update(ItemRow)
            .where(ItemRow.pack_id == pack_id, ItemRow.key.in_(plan.retired))
            .values(retired=True, updated_at=now)
        )
    # Keep the ORM identity map honest for callers that loaded the row earlier.
    if row is not None:
        await session.refresh(row)
    return plan


@dataclass
class FolderImport:
    """The outcome of importing pack files: one validation report and plan per file."""

    reports: list[PackReport] = field(default_factory=list)
    plans: list[ImportPlan] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and all(r.ok for r in self.reports)


async def import_files(
    sessionmaker: async_sessionmaker[AsyncSession],
    paths: Sequence[Path],
    now: datetime,
    all_or_nothing: bool = True,
) -> FolderImport:
    """Validate pack files (folders are searched), then import the valid ones.

    With ``all_or_nothing`` (``quizbot pack import``) one broken pack means nothing is
    imported, and everything else goes in one transaction. Without it (the bot's start-up),
    each valid pack is imported and broken ones are skipped.
    """
    files, missing = find_pack_files(paths)
    outcome = FolderImport(missing=missing)
    outcome.reports = [validate_pack_file(path) for path in files]
    packs = [r.pack for r in outcome.reports if r.ok and r.pack is not None]
    if all_or_nothing and not outcome.ok:
        return outcome
    slugs = [p.slug for p in packs]
    if len(set(slugs)) != len(slugs):
        duplicated = sorted({s for s in slugs if slugs.count(s) > 1})
        raise ValueError(f"two files define the same pack slug: {', '.join(duplicated)}")
    async with sessionmaker() as session, session.begin():
        for pack in packs:
            outcome.plans.append(await import_pack(session, pack, now))
    return outcome
