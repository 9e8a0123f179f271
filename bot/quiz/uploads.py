"""Checked pack uploads waiting for their uploader to tap Publish, kept in the database.

A row lives until it is published or for :data:`PENDING_MINUTES`; because it is in the
database, Publish works after a restart and on any webhook worker. Claiming an upload deletes
its row with a conditional DELETE ... RETURNING: of two taps (or two workers), one gets the
pack, the other nothing.

The same table keeps the rest of an upload in flight, so the whole flow survives a restart and
works across workers: the articles an instructor sent (token ``art-…``), and a pack waiting
for its article (token ``wait-…``, one per instructor). Their JSON body says which
(``{"kind": "article", "text": …}``, ``{"kind": "waiting", "data": base64, "article": name}``);
a Publish token is plain hex, so it never names one of them.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.packs.model import Pack
from bot.store.engine import unit_of_work
from bot.store.models import PendingUpload

PENDING_MINUTES = 30
"""How long a checked upload waits for Publish."""
HELD_PER_USER = 5
"""Uploads one instructor may have waiting; sending another drops the oldest."""


ARTICLE = "art-"
WAITING = "wait-"


@dataclass(frozen=True)
class WaitingPack:
    """A pack whose article has not arrived yet: checked again when it does."""

    file_name: str
    data: bytes
    article: str


@dataclass(frozen=True)
class Upload:
    token: str
    telegram_id: int
    file_name: str
    expires_at: datetime


class Uploads:
    """The waiting uploads (one transaction per call)."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock

    async def hold(self, telegram_id: int, pack: Pack, file_name: str) -> Upload:
        """Keep a checked pack for its uploader; returns the token for the Publish button."""
        now = self.clock()
        upload = Upload(
            secrets.token_hex(8),
            telegram_id,
            file_name[:256],
            now + timedelta(minutes=PENDING_MINUTES),
        )

        async def work(session: AsyncSession) -> None:
            await session.execute(delete(PendingUpload).where(PendingUpload.expires_at <= now))
            mine = (
                await session.execute(
                    select(PendingUpload.token)
                    .where(
                        PendingUpload.telegram_id == telegram_id,
                        ~PendingUpload.token.startswith(ARTICLE),
                        ~PendingUpload.token.startswith(WAITING),
                    )
                    .order_by(PendingUpload.created_at.desc(), PendingUpload.token)
                    .offset(HELD_PER_USER - 1)
                )
            ).scalars()
            dropped = list(mine)
            if dropped:
                await session.execute(delete(PendingUpload).where(PendingUpload.token.in_(dropped)))
            session.add(
                PendingUpload(
                    token=upload.token,
                    telegram_id=telegram_id,
                    file_name=upload.file_name,
                    pack=pack.model_dump(mode="json"),
                    created_at=now,
                    expires_at=upload.expires_at,
                )
            )

        await unit_of_work(self.sessionmaker, work)
        return upload

    async def uploader_of(self, token: str) -> int | None:
        """Who sent a waiting upload; None when it is gone (published, expired, unknown)."""

        async def work(session: AsyncSession) -> int | None:
            return (
                await session.execute(
                    select(PendingUpload.telegram_id).where(
                        PendingUpload.token == token, PendingUpload.expires_at > self.clock()
                    )
                )
            ).scalar_one_or_none()

        return await unit_of_work(self.sessionmaker, work, commit=False)

    async def claim(self, token: str, telegram_id: int) -> Pack | None:
        """Take a waiting upload of ``telegram_id`` out of the store, once: the pack, or None
        when it is gone or belongs to someone else."""

        async def work(session: AsyncSession) -> Any:
            return (
                await session.execute(
                    delete(PendingUpload)
                    .where(
                        PendingUpload.token == token,
                        PendingUpload.telegram_id == telegram_id,
                        PendingUpload.expires_at > self.clock(),
                    )
                    .returning(PendingUpload.pack)
                )
            ).scalar_one_or_none()

        body = await unit_of_work(self.sessionmaker, work)
        return None if body is None else Pack.model_validate(body)

    # ------------------------------------------------------------------ articles, waiting packs

    async def hold_article(self, telegram_id: int, name: str, text: str) -> None:
        """Keep an article an instructor sent (by file name; a newer one replaces it; at most
        :data:`HELD_PER_USER`, the oldest goes first)."""
        now = self.clock()

        async def work(session: AsyncSession) -> None:
            await session.execute(delete(PendingUpload).where(PendingUpload.expires_at <= now))
            held = (
                await session.execute(
                    select(PendingUpload.token, PendingUpload.file_name)
                    .where(
                        PendingUpload.telegram_id == telegram_id,
                        PendingUpload.token.startswith(ARTICLE),
                    )
                    .order_by(PendingUpload.created_at.desc(), PendingUpload.token)
                )
            ).all()
            same = [row.token for row in held if row.file_name == name]
            others = [row.token for row in held if row.file_name != name]
            dropped = same + others[HELD_PER_USER - 1 :]
            if dropped:
                await session.execute(delete(PendingUpload).where(PendingUpload.token.in_(dropped)))
            session.add(
                PendingUpload(
                    token=ARTICLE + secrets.token_hex(8),
                    telegram_id=telegram_id,
                    file_name=name[:256],
                    pack={"kind": "article", "text": text},
                    created_at=now,
                    expires_at=now + timedelta(minutes=PENDING_MINUTES),
                )
            )

        await unit_of_work(self.sessionmaker, work)

    async def articles_of(self, telegram_id: int) -> dict[str, str]:
        """The articles an instructor sent that have not expired, by file name."""

        async def work(session: AsyncSession) -> Sequence[Row[Any]]:
            return (
                await session.execute(
                    select(PendingUpload.file_name, PendingUpload.pack)
                    .where(
                        PendingUpload.telegram_id == telegram_id,
                        PendingUpload.token.startswith(ARTICLE),
                        PendingUpload.expires_at > self.clock(),
                    )
                    .order_by(PendingUpload.created_at)
                )
            ).all()

        rows = await unit_of_work(self.sessionmaker, work, commit=False)
        return {row.file_name: str(row.pack["text"]) for row in rows}

    async def hold_waiting(self, telegram_id: int, waiting: WaitingPack) -> None:
        """Keep a pack until its article arrives (one per instructor: the latest)."""
        now = self.clock()

        async def work(session: AsyncSession) -> None:
            await session.execute(
                delete(PendingUpload).where(PendingUpload.token == WAITING + str(telegram_id))
            )
            session.add(
                PendingUpload(
                    token=WAITING + str(telegram_id),
                    telegram_id=telegram_id,
                    file_name=waiting.file_name[:256],
                    pack={
                        "kind": "waiting",
                        "data": base64.b64encode(waiting.data).decode("ascii"),
                        "article": waiting.article,
                    },
                    created_at=now,
                    expires_at=now + timedelta(minutes=PENDING_MINUTES),
                )
            )

        await unit_of_work(self.sessionmaker, work)

    async def waiting_of(self, telegram_id: int, take: bool = False) -> WaitingPack | None:
        """The instructor's pack waiting for its article; ``take`` removes it (once: of two
        workers, one gets it)."""
        where = (
            PendingUpload.token == WAITING + str(telegram_id),
            PendingUpload.expires_at > self.clock(),
        )

        async def work(session: AsyncSession) -> Row[Any] | None:
            if take:
                statement = delete(PendingUpload).where(*where)
                found = await session.execute(
                    statement.returning(PendingUpload.file_name, PendingUpload.pack)
                )
            else:
                found = await session.execute(
                    select(PendingUpload.file_name, PendingUpload.pack).where(*where)
                )
            return found.first()

        row = await unit_of_work(self.sessionmaker, work)
        if row is None:
            return None
        body = row.pack
        return WaitingPack(row.file_name, base64.b64decode(body["data"]), str(body["article"]))
