"""Checked pack uploads waiting for their uploader to tap Publish, kept in the database.

A row lives until it is published or for :data:`PENDING_MINUTES`; because it is in the
database, Publish works after a restart and on any webhook worker. Claiming an upload deletes
its row with a conditional DELETE ... RETURNING: of two taps (or two workers), one gets the
pack, the other nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.packs.model import Pack
from bot.store.models import PendingUpload

PENDING_MINUTES = 30
"""How long a checked upload waits for Publish."""
HELD_PER_USER = 5
"""Uploads one instructor may have waiting; sending another drops the oldest."""


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
        async with self.sessionmaker() as session, session.begin():
            await session.execute(delete(PendingUpload).where(PendingUpload.expires_at <= now))
            mine = (
                await session.execute(
                    select(PendingUpload.token)
                    .where(PendingUpload.telegram_id == telegram_id)
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
        return upload

    async def uploader_of(self, token: str) -> int | None:
        """Who sent a waiting upload; None when it is gone (published, expired, unknown)."""
        async with self.sessionmaker() as session:
            return (
                await session.execute(
                    select(PendingUpload.telegram_id).where(
                        PendingUpload.token == token, PendingUpload.expires_at > self.clock()
                    )
                )
            ).scalar_one_or_none()

    async def claim(self, token: str, telegram_id: int) -> Pack | None:
        """Take a waiting upload of ``telegram_id`` out of the store, once: the pack, or None
        when it is gone or belongs to someone else."""
        async with self.sessionmaker() as session, session.begin():
            body = (
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
        return None if body is None else Pack.model_validate(body)
