"""Publish a validated pack into the store, item by item, so that history survives edits.

Items are matched on their id: a changed item is updated, a new one added, a removed one
retired (never deleted: attempts keep pointing at it), and one that comes back is restored.
An unchanged pack is recognised by its content hash and causes no write at all.

Pack files are recognised even before that, by the fingerprint of their source
(:mod:`bot.packs.source`). A pack row keeps the fingerprint of the file it was last imported
from, if that file validated without a single problem. A file with the same fingerprint would
give the same pack, so :func:`import_files` reports it unchanged without parsing or validating
it. Any write from another source (a Telegram upload, a file with warnings) clears the
fingerprint, and the importer is the only writer of items. So a pack row with a fingerprint
always holds exactly what that file gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Executable

from bot.packs import PackReport, find_pack_files, validate_pack_file
from bot.packs.model import Pack, body_hash, item_body
from bot.packs.source import PackSource, read_pack_source, validate_source
from bot.packs.yamlsafe import collector_paused
from bot.store.models import ItemRow, PackRow

IMPORT_LOCK_KEY = 0x5175_697A_626F_7403
"""The PostgreSQL advisory lock an import holds until its transaction ends."""


async def one_import_at_a_time(session: AsyncSession) -> None:
    """Wait for any other import to commit, on PostgreSQL (a transaction-level advisory lock).

    Two first imports of the same new pack (two workers starting, ``quizbot pack import``
    beside a running bot) would otherwise both plan an insert and collide on the packs' unique
    slug. Behind the lock the second plans afresh and finds the first one's pack (READ
    COMMITTED: every statement sees what committed before it). SQLite has one writer at a
    time already."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})


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


class _Stored:
    """A pack's items as the store holds them: each body, its hash and the pack's content hash,
    computed once (a 10,000-item pack spends a tenth of a second on each pass)."""

    def __init__(self, pack: Pack) -> None:
        self.pack = pack

    @cached_property
    def bodies(self) -> list[dict[str, Any]]:
        return [item_body(item) for item in self.pack.items]

    @cached_property
    def hashes(self) -> list[str]:
        return [body_hash(body) for body in self.bodies]

    @cached_property
    def content_hash(self) -> str:
        return self.pack.content_hash_of(self.hashes)


def _header(stored: _Stored) -> dict[str, Any]:
    pack = stored.pack
    return {
        "title": pack.title,
        "language": pack.language,
        "description": pack.description,
        "article_name": pack.article_name,
        "article_text": pack.article_text,
        "article_hash": pack.article_hash,
        "content_hash": stored.content_hash,
        "settings": pack.settings.model_dump(mode="json"),
    }


async def plan_import(session: AsyncSession, pack: Pack) -> ImportPlan:
    """Compute what :func:`import_pack` would do, without writing."""
    plan, _row, _existing = await _plan(session, _Stored(pack))
    return plan


async def _plan(
    session: AsyncSession, stored: _Stored
) -> tuple[ImportPlan, PackRow | None, dict[str, tuple[int, str, bool, int]]]:
    pack = stored.pack
    row = (
        await session.execute(select(PackRow).where(PackRow.slug == pack.slug))
    ).scalar_one_or_none()
    plan = ImportPlan(pack.slug)
    if row is None:
        plan.new_pack = True
        plan.added = [item.id for item in pack.items]
        return plan, None, {}
    plan.owner_id = row.owner_id
    if row.content_hash == stored.content_hash and row.article_hash == pack.article_hash:
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
    header = _header(stored)
    plan.header_changed = any(
        getattr(row, k) != v for k, v in header.items() if k != "content_hash"
    )
    wanted = set()
    for position, (item, hashed) in enumerate(zip(pack.items, stored.hashes, strict=True)):
        wanted.add(item.id)
        found = existing.get(item.id)
        if found is None:
            plan.added.append(item.id)
        elif found[1] != hashed or found[2] or found[3] != position:
            plan.updated.append(item.id)
        else:
            plan.unchanged += 1
    plan.retired = [
        key for key, (_, _, retired, _) in existing.items() if key not in wanted and not retired
    ]
    return plan, row, existing


_ITEMS = cast(Table, ItemRow.__table__)

# An item row's own values, bound per row; the rest are the same for every row.
_ROW_VALUES = {
    name: bindparam(name, type_=_ITEMS.c[name].type)
    for name in ("type", "position", "body", "content_hash")
}


async def _executemany(
    session: AsyncSession, statement: Executable, rows: Sequence[dict[str, Any]]
) -> None:
    """Run ``statement`` once for each of ``rows`` in the session's transaction (one
    executemany; SQLAlchemy batches an INSERT's rows into multi-row statements)."""
    await session.execute(statement, list(rows))


async def import_pack(
    session: AsyncSession,
    pack: Pack,
    now: datetime,
    owner_id: int | None = None,
    source_hash: str | None = None,
) -> ImportPlan:
    """Publish ``pack`` in the caller's transaction and return what changed.

    ``source_hash`` is the certified fingerprint of the file the pack was read from (see
    :func:`import_files`). Any write stores it, or clears the old one when it is None, as for an
    upload. An unchanged pack keeps its fingerprint: it still holds what that file gives. The
    only exception is a new fingerprint for an unchanged pack (an edit that changes nothing, or
    a new :data:`~bot.packs.source.FORMAT_VERSION`), which is stored without touching anything
    else, not even ``updated_at``.

    New items are inserted, and changed ones updated, with one statement each run over every
    item's parameters, whatever the number of items.
    """
    await one_import_at_a_time(session)
    stored = _Stored(pack)
    plan, row, existing = await _plan(session, stored)
    if not plan.changes_anything:
        if row is not None and source_hash is not None and row.source_hash != source_hash:
            await session.execute(
                update(PackRow).where(PackRow.id == row.id).values(source_hash=source_hash)
            )
            await session.refresh(row)
        return plan
    header = {**_header(stored), "source_hash": source_hash}
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
    new_rows: list[dict[str, Any]] = []
    changed_rows: list[dict[str, Any]] = []
    for position, (item, body, hashed) in enumerate(
        zip(pack.items, stored.bodies, stored.hashes, strict=True)
    ):
        if item.id in added:
            new_rows.append(
                {
                    "key": item.id,
                    "type": item.type,
                    "position": position,
                    "body": body,
                    "content_hash": hashed,
                }
            )
        elif item.id in updated:
            changed_rows.append(
                {
                    "item_id": existing[item.id][0],
                    "type": item.type,
                    "position": position,
                    "body": body,
                    "content_hash": hashed,
                }
            )
    if changed_rows:
        await _executemany(
            session,
            update(_ITEMS)
            .where(_ITEMS.c.id == bindparam("item_id"))
            .values(**_ROW_VALUES, retired=False, updated_at=now),
            changed_rows,
        )
    if new_rows:
        await _executemany(
            session,
            insert(_ITEMS).values(
                **_ROW_VALUES,
                key=bindparam("key", type_=_ITEMS.c.key.type),
                pack_id=pack_id,
                retired=False,
                created_at=now,
                updated_at=now,
            ),
            new_rows,
        )
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
    """The outcome of importing pack files: a validation report per validated file and a plan
    per imported pack, in the order of the files."""

    reports: list[PackReport] = field(default_factory=list)
    plans: list[ImportPlan] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Files recognised by their fingerprint as unchanged: not parsed, not validated (so they
    have no report), reported unchanged in ``plans``."""

    @property
    def ok(self) -> bool:
        return not self.missing and all(r.ok for r in self.reports)


async def _known_sources(
    sessionmaker: async_sessionmaker[AsyncSession], sources: Sequence[PackSource]
) -> dict[str, tuple[str, int | None, int]]:
    """Packs whose fingerprint is one of ``sources``': fingerprint -> (slug, owner, live items)."""
    fingerprints = sorted({s.fingerprint for s in sources})
    if not fingerprints:
        return {}
    live = (
        select(func.count())
        .where(ItemRow.pack_id == PackRow.id, ItemRow.retired.is_(False))
        .correlate(PackRow)
        .scalar_subquery()
    )
    async with sessionmaker() as session:
        rows = await session.execute(
            select(PackRow.source_hash, PackRow.slug, PackRow.owner_id, live).where(
                PackRow.source_hash.in_(fingerprints)
            )
        )
        return {fp: (slug, owner, count) for fp, slug, owner, count in rows if fp is not None}


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

    A file whose source fingerprint is stored with a pack is that pack, unchanged: it is
    reported unchanged without being parsed or validated. Any other file takes the normal path.
    That includes a file whose fingerprint cannot be computed, such as one whose article is
    missing. Its report is the one ``validate_pack_file`` gives.

    The cyclic garbage collector is paused throughout, as it is while a pack is validated
    (:func:`~bot.packs.yamlsafe.collector_paused`): the items, their bodies and the rows'
    parameters are hundreds of thousands of acyclic objects that it would scan again and
    again, a third of the time the writes of a 10,000-item pack take.
    """
    with collector_paused():
        return await _import_files(sessionmaker, paths, now, all_or_nothing)


async def _import_files(
    sessionmaker: async_sessionmaker[AsyncSession],
    paths: Sequence[Path],
    now: datetime,
    all_or_nothing: bool,
) -> FolderImport:
    files, missing = find_pack_files(paths)
    outcome = FolderImport(missing=missing)
    sources = [read_pack_source(path) for path in files]
    known = await _known_sources(sessionmaker, [s for s in sources if s is not None])
    # In the order of the files: a plan already known, or a pack to import and its fingerprint.
    steps: list[ImportPlan | tuple[Pack, str | None]] = []
    for path, source in zip(files, sources, strict=True):
        if source is not None and source.fingerprint in known:
            slug, owner_id, live = known[source.fingerprint]
            outcome.skipped.append(str(path))
            steps.append(ImportPlan(slug, unchanged=live, owner_id=owner_id))
            continue
        if source is None:
            report, certified = validate_pack_file(path), None
        else:
            report, ok = validate_source(source)
            certified = source.fingerprint if ok else None
        outcome.reports.append(report)
        if report.ok and report.pack is not None:
            steps.append((report.pack, certified))
    if all_or_nothing and not outcome.ok:
        return outcome
    slugs = [s.slug if isinstance(s, ImportPlan) else s[0].slug for s in steps]
    if len(set(slugs)) != len(slugs):
        duplicated = sorted({s for s in slugs if slugs.count(s) > 1})
        raise ValueError(f"two files define the same pack slug: {', '.join(duplicated)}")
    if all(isinstance(s, ImportPlan) for s in steps):
        outcome.plans = [s for s in steps if isinstance(s, ImportPlan)]
        return outcome
    async with sessionmaker() as session, session.begin():
        for step in steps:
            if isinstance(step, ImportPlan):
                outcome.plans.append(step)
            else:
                pack, source_hash = step
                outcome.plans.append(await import_pack(session, pack, now, source_hash=source_hash))
    return outcome
