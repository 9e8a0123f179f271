"""Faults (issue 15), run by CI through ``pytest -m faults``: a pack import SIGKILLed in the
middle of its transaction leaves the old pack whole, never a mix of old and new."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.bench import write_generated_pack
from bot.store import create_engine, make_sessionmaker, migrate
from bot.store.models import ItemRow, PackRow
from botkit import empty_pg_database
from workers import quizbot_command

ITEMS = 10_000
"""Items of the new pack: its import takes a few seconds, long enough to be caught."""


@pytest.fixture
def database() -> Iterator[str]:
    yield from empty_pg_database("quizbot_faults")


async def pack_state(url: str) -> tuple[str | None, int, int]:
    """The generated pack's content hash, its live items and every item row."""
    engine = create_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            row = (
                await session.execute(
                    select(PackRow.id, PackRow.content_hash).where(
                        PackRow.slug == "bench-generated"
                    )
                )
            ).first()
            if row is None:
                return None, 0, 0
            live = (
                await session.execute(
                    select(func.count()).where(
                        ItemRow.pack_id == row.id, ItemRow.retired.is_(False)
                    )
                )
            ).scalar_one()
            every = (
                await session.execute(select(func.count()).where(ItemRow.pack_id == row.id))
            ).scalar_one()
            return row.content_hash, int(live), int(every)
    finally:
        await engine.dispose()


async def import_writing(url: str) -> bool:
    """Whether another session holds a transaction that has written (the import's)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(
                text(
                    "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
                )
            )
            return found.first() is not None
    finally:
        await engine.dispose()


def run_import(url: str, pack: Path, folder: Path) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "DATABASE_URL": url,
        "QUIZBOT_CONTENT_DIR": str(folder),
    }
    log = (folder / "import.log").open("wb")
    return subprocess.Popen(
        [*quizbot_command(), "pack", "import", str(pack)],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


@pytest.mark.postgres
@pytest.mark.faults
def test_sigkill_during_a_pack_import_leaves_the_old_pack_whole(
    database: str, tmp_path: Path
) -> None:
    asyncio.run(migrate_to_head(database))
    old_folder, new_folder = tmp_path / "old", tmp_path / "new"
    old_folder.mkdir()
    new_folder.mkdir()
    old_pack = write_generated_pack(old_folder, 40)
    new_pack = write_generated_pack(new_folder, ITEMS)
    first = run_import(database, old_pack, old_folder)
    assert first.wait(timeout=120) == 0, (old_folder / "import.log").read_text()
    old = asyncio.run(pack_state(database))
    assert old[0] is not None and old[1] == old[2] == 40

    killed = run_import(database, new_pack, new_folder)
    deadline = time.monotonic() + 120
    while not asyncio.run(import_writing(database)):  # bounded by the deadline
        assert killed.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline, "the import never started writing"
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)  # in the middle of its transaction
    assert killed.wait(timeout=30) == -signal.SIGKILL
    assert asyncio.run(pack_state(database)) == old  # the old pack, whole

    again = run_import(database, new_pack, new_folder)
    assert again.wait(timeout=300) == 0, (new_folder / "import.log").read_text()
    new_hash, live, _every = asyncio.run(pack_state(database))
    assert new_hash not in (None, old[0]) and live == ITEMS  # then the new one, whole


async def migrate_to_head(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
