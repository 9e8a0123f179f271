"""Pack administration: list, import, publish, hide/show/retire, reports, and the instructor
role. One service that ``quizbot`` (the CLI) and the bot's instructor commands both call, so
that a change of status is made one way (with ``updated_at``, and the catalog told) whoever
makes it. Each method is one unit of work; adapters never open a session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import Row, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.packs.model import Pack
from bot.quiz import analysis
from bot.quiz.catalog import CachedPack, Catalog
from bot.quiz.export import Export, export_pack
from bot.store import repo, roles
from bot.store.engine import unit_of_work
from bot.store.importer import FolderImport, ImportPlan, import_files, import_pack, plan_import
from bot.store.models import ItemRow, PackRow, ScoreTotal, User

Status = Literal["active", "hidden", "retired"]
STATUS_OF_ACTION: dict[str, Status] = {"hide": "hidden", "show": "active", "retire": "retired"}
"""``quizbot pack hide|show|retire`` and the bot's /hide, /show, /retire."""


@dataclass(frozen=True)
class PackListing:
    id: int
    slug: str
    title: str
    status: str
    owner_id: int | None
    owner_name: str | None
    live_items: int
    retired_items: int
    players: int


@dataclass(frozen=True)
class StatusChange:
    pack: PackRow
    """The pack as it was before the change."""
    changed: bool


@dataclass(frozen=True)
class Published:
    plan: ImportPlan
    refusal: str | None
    """Why nothing was published (the caller may not replace that pack), or None."""
    status: str | None
    """The pack's status after publishing."""


@dataclass(frozen=True)
class RoleChange:
    changed: bool
    name: str | None
    """The user's name, when the store knows them."""


class PackAdmin:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        catalog: Catalog,
        clock: Callable[[], datetime] = repo.utcnow,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.catalog = catalog
        self.clock = clock

    # ------------------------------------------------------------------ packs

    async def find(self, slug: str) -> PackRow | None:
        async def work(session: AsyncSession) -> PackRow | None:
            return (
                await session.execute(select(PackRow).where(PackRow.slug == slug.strip().lower()))
            ).scalar_one_or_none()

        return await unit_of_work(self.sessionmaker, work, commit=False)

    async def published_pack(self, slug: str) -> Pack | None:
        """The published version of a pack as the bot serves it (for exports), or None."""
        row = await self.find(slug)
        if row is None:
            return None

        async def work(session: AsyncSession) -> CachedPack | None:
            return await self.catalog.by_slug(session, row.slug)

        cached = await unit_of_work(self.sessionmaker, work, commit=False)
        if cached is None:
            return None
        return Pack(
            slug=cached.slug,
            title=cached.title,
            language=cached.language,
            description=cached.description,
            article_name=row.article_name,
            article_text=cached.article_text,
            settings=cached.settings,
            items=tuple(c.item for c in cached.items),
        )

    async def list_packs(self, owner_id: int | None = None) -> list[PackListing]:
        """Every pack (or those of ``owner_id``), by slug, with item and player counts."""
        live = func.sum(case((ItemRow.retired.is_(False), 1), else_=0))
        stmt = (
            select(
                PackRow.id,
                PackRow.slug,
                PackRow.title,
                PackRow.status,
                PackRow.owner_id,
                User.name,
                live,
                func.count(ItemRow.id),
            )
            .outerjoin(ItemRow, ItemRow.pack_id == PackRow.id)
            .outerjoin(User, User.id == PackRow.owner_id)
            .group_by(PackRow.id, User.name)
            .order_by(PackRow.slug)
        )
        if owner_id is not None:
            stmt = stmt.where(PackRow.owner_id == owner_id)

        async def work(session: AsyncSession) -> list[PackListing]:
            rows = (await session.execute(stmt)).all()
            scopes = {repo.scope_key(pack_id=r.id): r.id for r in rows}
            players = dict.fromkeys(scopes.values(), 0)
            if scopes:
                for scope, count in (
                    await session.execute(
                        select(ScoreTotal.scope, func.count())
                        .where(ScoreTotal.scope.in_(list(scopes)), ScoreTotal.period == "all")
                        .group_by(ScoreTotal.scope)
                    )
                ).all():
                    players[scopes[scope]] = int(count)
            return [
                PackListing(
                    id=r[0],
                    slug=r[1],
                    title=r[2],
                    status=r[3],
                    owner_id=r[4],
                    owner_name=r[5],
                    live_items=int(r[6] or 0),
                    retired_items=int(r[7]) - int(r[6] or 0),
                    players=players[r[0]],
                )
                for r in rows
            ]

        return await unit_of_work(self.sessionmaker, work, commit=False)

    async def set_status(self, slug: str, status: Status) -> StatusChange | None:
        """Make a pack active, hidden or retired; None when there is no such pack."""

        async def work(session: AsyncSession) -> StatusChange | None:
            row = (
                await session.execute(select(PackRow).where(PackRow.slug == slug.strip().lower()))
            ).scalar_one_or_none()
            if row is None:
                return None
            session.expunge(row)
            changed = row.status != status
            if changed:
                await session.execute(
                    update(PackRow)
                    .where(PackRow.id == row.id)
                    .values(status=status, updated_at=self.clock())
                )
            return StatusChange(row, changed)

        change = await unit_of_work(self.sessionmaker, work)
        if change is not None and change.changed:
            self.catalog.forget(change.pack.id)
        return change

    async def import_files(self, paths: Sequence[Path], all_or_nothing: bool) -> FolderImport:
        """Validate and import pack files (see :func:`bot.store.importer.import_files`)."""
        outcome = await import_files(self.sessionmaker, paths, self.clock(), all_or_nothing)
        if any(plan.changes_anything for plan in outcome.plans):
            self.catalog.forget()
        return outcome

    async def plan_upload(self, pack: Pack) -> tuple[ImportPlan, PackRow | None]:
        """What publishing ``pack`` would change, and the stored pack of its slug."""

        async def work(session: AsyncSession) -> tuple[ImportPlan, PackRow | None]:
            plan = await plan_import(session, pack)
            row = (
                await session.execute(select(PackRow).where(PackRow.slug == pack.slug))
            ).scalar_one_or_none()
            return plan, row

        return await unit_of_work(self.sessionmaker, work, commit=False)

    async def publish(
        self, pack: Pack, user_id: int, refusal_of: Callable[[ImportPlan], str | None]
    ) -> Published:
        """Publish an upload by ``user_id``, unless ``refusal_of`` the plan (checked in the
        same transaction) says why not. A new pack is theirs; a pack without an owner stays
        without one."""

        async def work(
            session: AsyncSession,
        ) -> tuple[ImportPlan, str | None, Row[int, str] | None]:
            plan = await plan_import(session, pack)
            refusal = refusal_of(plan)
            if refusal is None:
                owner = user_id if plan.new_pack or plan.owner_id == user_id else None
                plan = await import_pack(session, pack, self.clock(), owner_id=owner)
            row = (
                await session.execute(
                    select(PackRow.id, PackRow.status).where(PackRow.slug == pack.slug)
                )
            ).one_or_none()
            return plan, refusal, row

        plan, refusal, row = await unit_of_work(self.sessionmaker, work)
        if row is not None and refusal is None:
            self.catalog.forget(row.id)
        return Published(plan, refusal, row.status if row is not None else None)

    async def stored_article(
        self, key: str, user_id: int, admin: bool, matches: Callable[[str], bool]
    ) -> tuple[str, str] | None:
        """``(slug, text)`` of the article kept with a published pack that ``matches`` its
        article name and that the caller may read (their own, an active one, or any for an
        admin): their own first, then the most recently updated."""

        async def work(session: AsyncSession) -> tuple[str, str] | None:
            rows = (
                await session.execute(
                    select(
                        PackRow.id,
                        PackRow.slug,
                        PackRow.article_name,
                        PackRow.owner_id,
                        PackRow.status,
                        PackRow.updated_at,
                    )
                )
            ).all()
            usable = [
                r
                for r in rows
                if matches(r.article_name)
                and (admin or r.status == "active" or r.owner_id == user_id)
            ]
            if not usable:
                return None
            best = min(
                usable, key=lambda r: (r.owner_id != user_id, -r.updated_at.timestamp(), r.id)
            )
            text = (
                await session.execute(select(PackRow.article_text).where(PackRow.id == best.id))
            ).scalar_one()
            return best.slug, text

        return await unit_of_work(self.sessionmaker, work, commit=False)

    # ------------------------------------------------------------------ reports

    async def analyse(
        self, row: PackRow, in_thread: bool = False, run_ids: Sequence[int] | None = None
    ) -> analysis.Analysis:
        """Item analysis of a pack: of every student's first run, or of ``run_ids`` only."""

        async def work(session: AsyncSession) -> analysis.Analysis:
            return await analysis.analyse_pack(session, row, in_thread=in_thread, run_ids=run_ids)

        return await unit_of_work(self.sessionmaker, work, commit=False)

    async def export(self, row: PackRow, in_thread: bool = False) -> Export:
        async def work(session: AsyncSession) -> Export:
            return await export_pack(session, row.id, row.slug, in_thread=in_thread)

        return await unit_of_work(self.sessionmaker, work, commit=False)

    # ------------------------------------------------------------------ roles

    async def is_instructor(self, user_id: int) -> bool:
        async def work(session: AsyncSession) -> bool:
            return await roles.has_role(session, user_id)

        return await unit_of_work(self.sessionmaker, work, commit=False)

    async def holders(self) -> list[roles.RoleHolder]:
        async def work(session: AsyncSession) -> list[roles.RoleHolder]:
            return await roles.holders(session)

        return await unit_of_work(self.sessionmaker, work, commit=False)

    async def known_telegram_ids(self, telegram_ids: Sequence[int]) -> list[int]:
        """Which of ``telegram_ids`` the bot has met."""
        if not telegram_ids:
            return []

        async def work(session: AsyncSession) -> list[int]:
            found = await session.execute(
                select(User.telegram_id).where(User.telegram_id.in_(list(telegram_ids)))
            )
            return [int(t) for t in found.scalars() if t is not None]

        return await unit_of_work(self.sessionmaker, work, commit=False)

    async def find_by_username(self, username: str) -> tuple[int, int] | None:
        async def work(session: AsyncSession) -> tuple[int, int] | None:
            return await roles.find_by_username(session, username)

        return await unit_of_work(self.sessionmaker, work, commit=False)

    async def grant(
        self,
        telegram_id: int,
        name: str | None = None,
        username: str | None = None,
        granted_by: int | None = None,
    ) -> RoleChange:
        """Make a Telegram user an instructor (creating the user if the bot never met them)."""
        now = self.clock()

        async def work(session: AsyncSession) -> RoleChange:
            user_id = await roles.ensure_telegram_user(session, telegram_id, now, name, username)
            changed = await roles.grant(session, user_id, now, granted_by=granted_by)
            shown = await session.scalar(select(User.name).where(User.id == user_id))
            return RoleChange(changed, shown)

        return await unit_of_work(self.sessionmaker, work)

    async def revoke(self, telegram_id: int) -> RoleChange:
        """Take the instructor role away; never creates a user."""

        async def work(session: AsyncSession) -> RoleChange:
            user_id = await repo.user_id_for_telegram(session, telegram_id)
            if user_id is None:
                return RoleChange(False, None)
            changed = await roles.revoke(session, user_id)
            shown = await session.scalar(select(User.name).where(User.id == user_id))
            return RoleChange(changed, shown)

        return await unit_of_work(self.sessionmaker, work)
