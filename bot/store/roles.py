"""Roles: admins are the Telegram ids in the settings; instructors are granted in the store.

An admin can do everything an instructor can, on every pack. The ``roles`` table holds the
instructors (``user_id`` -> ``users.id``). Functions here take a session and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store import repo
from bot.store.models import Role, User

INSTRUCTOR = "instructor"


@dataclass(frozen=True)
class RoleHolder:
    """A user with a granted role, as listed by ``/grant`` and ``quizbot role list``."""

    user_id: int
    telegram_id: int | None
    name: str
    username: str | None
    granted_by: int | None
    """The Telegram id of the admin who granted it (None from the shell)."""
    granted_at: datetime


async def ensure_telegram_user(
    session: AsyncSession,
    telegram_id: int,
    now: datetime,
    name: str | None = None,
    username: str | None = None,
) -> int:
    """The user id of a Telegram user, creating the row for someone the bot has not met yet.

    Without a ``name`` an existing row is left as it is, and a new one is called
    ``user <id>`` until that person first writes to the bot (which refreshes the name)."""
    if name is not None:
        return await repo.upsert_telegram_user(session, telegram_id, name, username, now)
    found = await repo.user_id_for_telegram(session, telegram_id)
    if found is not None:
        return found
    stmt = (
        repo.dialect_insert(session, User)
        .values(
            telegram_id=telegram_id,
            name=f"user {telegram_id}",
            username=None,
            hidden=False,
            active=True,
            created_at=now,
            last_seen_at=now,
        )
        .on_conflict_do_nothing(index_elements=[User.telegram_id])
    )
    await session.execute(stmt)
    found = await repo.user_id_for_telegram(session, telegram_id)
    assert found is not None
    return found


async def find_by_username(session: AsyncSession, username: str) -> tuple[int, int] | None:
    """``(user id, Telegram id)`` of the user the bot knows as ``@username`` (any case)."""
    wanted = username.lstrip("@").lower()
    row = (
        await session.execute(
            select(User.id, User.telegram_id)
            .where(User.username.is_not(None), User.telegram_id.is_not(None))
            .where(func.lower(User.username) == wanted)
            .order_by(User.last_seen_at.desc())
            .limit(1)
        )
    ).first()
    if row is None or row[1] is None:
        return None
    return int(row[0]), int(row[1])


async def has_role(session: AsyncSession, user_id: int, role: str = INSTRUCTOR) -> bool:
    found = (
        await session.execute(
            select(Role.user_id).where(Role.user_id == user_id, Role.role == role)
        )
    ).scalar_one_or_none()
    return found is not None


async def grant(
    session: AsyncSession,
    user_id: int,
    now: datetime,
    granted_by: int | None = None,
    role: str = INSTRUCTOR,
) -> bool:
    """Grant ``role``; False (and nothing changes) when the user already holds it."""
    stmt = (
        repo.dialect_insert(session, Role)
        .values(user_id=user_id, role=role, granted_by=granted_by, granted_at=now)
        .on_conflict_do_nothing(index_elements=["user_id", "role"])
        .returning(Role.user_id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def revoke(session: AsyncSession, user_id: int, role: str = INSTRUCTOR) -> bool:
    """Revoke ``role``; False when the user did not hold it."""
    result = await session.execute(
        delete(Role).where(Role.user_id == user_id, Role.role == role).returning(Role.user_id)
    )
    return result.first() is not None


async def holders(session: AsyncSession, role: str = INSTRUCTOR) -> list[RoleHolder]:
    """Everyone holding ``role``, by name."""
    rows = (
        await session.execute(
            select(
                User.id,
                User.telegram_id,
                User.name,
                User.username,
                Role.granted_by,
                Role.granted_at,
            )
            .join(User, User.id == Role.user_id)
            .where(Role.role == role)
            .order_by(User.name, User.id)
        )
    ).all()
    return [RoleHolder(*row) for row in rows]
