"""Checked uploads waiting for Publish live in the database (bot.quiz.uploads): another
process (a restarted bot, a second webhook worker) finds them, only the uploader can claim
one, a claim succeeds once, and they expire after 30 minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.packs import validate_pack_file
from bot.quiz.uploads import HELD_PER_USER, PENDING_MINUTES, Uploads
from bot.store import make_sessionmaker

PACK = Path(__file__).parent / "packs" / "minimal.yaml"
NOW = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)


async def test_an_upload_survives_a_restart_and_is_claimed_once(engine: AsyncEngine) -> None:
    pack = validate_pack_file(PACK).pack
    assert pack is not None
    now = [NOW]
    first = Uploads(make_sessionmaker(engine), lambda: now[0])
    held = await first.hold(42, pack, "minimal.yaml")
    # Another process: nothing shared but the database.
    second = Uploads(make_sessionmaker(engine), lambda: now[0])
    assert await second.uploader_of(held.token) == 42
    assert await second.claim(held.token, 43) is None  # not the uploader's
    claimed = await second.claim(held.token, 42)
    assert claimed == pack
    assert await first.claim(held.token, 42) is None  # a second tap publishes nothing
    assert await first.uploader_of(held.token) is None


async def test_uploads_expire_and_each_instructor_keeps_a_few(engine: AsyncEngine) -> None:
    pack = validate_pack_file(PACK).pack
    assert pack is not None
    now = [NOW]
    uploads = Uploads(make_sessionmaker(engine), lambda: now[0])
    old = await uploads.hold(7, pack, "a.yaml")
    now[0] += timedelta(minutes=PENDING_MINUTES, seconds=1)
    assert await uploads.uploader_of(old.token) is None
    assert await uploads.claim(old.token, 7) is None
    tokens = []
    for n in range(HELD_PER_USER + 2):
        now[0] += timedelta(seconds=1)
        tokens.append((await uploads.hold(7, pack, f"{n}.yaml")).token)
    kept = [t for t in tokens if await uploads.uploader_of(t) == 7]
    assert kept == tokens[-HELD_PER_USER:]
