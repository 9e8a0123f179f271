"""An unchanged pack file is recognised by its source fingerprint and imported without being
parsed or validated; anything else takes the normal path (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.packs import source as pack_source
from bot.packs import validate, validate_pack_bytes, validate_pack_file
from bot.packs.source import read_pack_source, scan_article_name
from bot.store import create_engine, make_sessionmaker, migrate
from bot.store.importer import import_files, import_pack
from bot.store.models import ItemRow, PackRow
from botkit import ROOT

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SOURCE = "capable of hitting targets nearly 200 miles away"


def write_pack(folder: Path, items: int = 3, slug: str = "mini", extra: str = "") -> Path:
    """A valid pack next to its own copy of the article (``article: article.txt``)."""
    article = folder / "article.txt"
    if not article.exists():
        shutil.copy(ROOT / "seeds" / "biden-atacms-2024.txt", article)
    lines = [
        f"pack: {slug}",
        "title: Mini",
        "description: A small pack.",
        "article: article.txt   # next to the pack",
        "items:",
    ]
    for n in range(items):
        lines += [
            f"  - id: q{n}",
            "    type: truefalse",
            f"    question: Is statement {n} true?",
            # Alternating: all-true statements would be a quality warning (no fingerprint).
            f"    answer: {'true' if n % 2 == 0 else 'false'}",
            "    explanation: Because.",
            f"    source: {SOURCE}",
            "    difficulty: easy",
            "    skill: detail",
        ]
    path = folder / f"{slug}.yaml"
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def forbid_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, any parse or validation of a pack fails the test."""

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the pack was parsed or validated")

    monkeypatch.setattr(validate, "load_yaml", fail)
    monkeypatch.setattr(validate._Checker, "check", fail)


async def source_hash(engine: AsyncEngine, slug: str = "mini") -> str | None:
    async with make_sessionmaker(engine)() as session:
        return (
            await session.execute(select(PackRow.source_hash).where(PackRow.slug == slug))
        ).scalar_one()


async def test_unchanged_file_is_not_validated(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessionmaker = make_sessionmaker(engine)
    path = write_pack(tmp_path)
    first = await import_files(sessionmaker, [path], NOW)
    assert first.ok and first.plans[0].new_pack and first.skipped == []
    source = read_pack_source(path)
    assert source is not None and await source_hash(engine) == source.fingerprint

    forbid_validation(monkeypatch)
    again = await import_files(sessionmaker, [path], NOW + timedelta(hours=1))
    assert again.ok and again.skipped == [str(path)] and again.reports == []
    assert [p.describe() for p in again.plans] == ["mini: unchanged (3 items)"]
    async with sessionmaker() as session:
        row = (await session.execute(select(PackRow))).scalar_one()
    assert row.updated_at == NOW  # nothing written


@pytest.mark.parametrize("edit", ["pack", "article", "version"])
async def test_any_change_is_validated_again(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    sessionmaker = make_sessionmaker(engine)
    path = write_pack(tmp_path)
    await import_files(sessionmaker, [path], NOW)
    before = await source_hash(engine)
    calls: list[str] = []
    real = validate.validate_pack_bytes

    def counted(data: bytes, name: str, load: Any) -> Any:
        calls.append(name)
        return real(data, name, load)

    monkeypatch.setattr(pack_source, "validate_pack_bytes", counted)
    if edit == "pack":
        write_pack(tmp_path, items=4)
        expected = "mini: 1 added, 0 updated, 0 retired, 3 unchanged"
    elif edit == "article":
        article = tmp_path / "article.txt"
        article.write_text(article.read_text(encoding="utf-8") + "\nA new line.\n", "utf-8")
        expected = "mini: 0 added, 0 updated, 0 retired, 3 unchanged, header updated"
    else:
        monkeypatch.setattr(pack_source, "FORMAT_VERSION", pack_source.FORMAT_VERSION + 1)
        expected = "mini: unchanged (3 items)"
    outcome = await import_files(sessionmaker, [path], NOW + timedelta(days=1))
    assert calls == [str(path)] and outcome.skipped == []
    assert outcome.ok and [p.describe() for p in outcome.plans] == [expected]
    after = await source_hash(engine)
    assert after is not None and after != before
    # ... and the new fingerprint is the one taken next time.
    calls.clear()
    again = await import_files(sessionmaker, [path], NOW + timedelta(days=2))
    assert calls == [] and again.skipped == [str(path)]
    assert again.plans[0].describe() == f"mini: unchanged ({4 if edit == 'pack' else 3} items)"


async def test_new_fingerprint_of_unchanged_pack_is_stored_without_a_change(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """A pack imported before fingerprints existed (NULL) gets one at its next import, and
    nothing else about the row changes."""
    sessionmaker = make_sessionmaker(engine)
    path = write_pack(tmp_path)
    await import_files(sessionmaker, [path], NOW)
    async with sessionmaker() as session, session.begin():
        await session.execute(update(PackRow).values(source_hash=None))
    outcome = await import_files(sessionmaker, [path], NOW + timedelta(days=1))
    assert outcome.skipped == [] and outcome.plans[0].describe() == "mini: unchanged (3 items)"
    source = read_pack_source(path)
    assert source is not None and await source_hash(engine) == source.fingerprint
    async with sessionmaker() as session:
        assert (await session.execute(select(PackRow.updated_at))).scalar_one() == NOW


async def test_broken_file_reports_as_before(engine: AsyncEngine, tmp_path: Path) -> None:
    sessionmaker = make_sessionmaker(engine)
    path = write_pack(tmp_path)
    await import_files(sessionmaker, [path], NOW)
    before = await source_hash(engine)
    text = path.read_text(encoding="utf-8").replace("answer: true", "answr: true", 1)
    path.write_text(text, encoding="utf-8")
    outcome = await import_files(sessionmaker, [path], NOW + timedelta(days=1))
    assert not outcome.ok and outcome.plans == [] and outcome.skipped == []
    assert [str(p) for p in outcome.reports[0].problems] == [
        str(p) for p in validate_pack_file(path).problems
    ]
    assert any("answr" in str(p) for p in outcome.reports[0].problems)
    assert await source_hash(engine) == before

    # A missing article: no fingerprint can be computed; the normal path reports it.
    path.write_text(text.replace("answr", "answer"), encoding="utf-8")
    (tmp_path / "article.txt").unlink()
    outcome = await import_files(sessionmaker, [path], NOW + timedelta(days=2))
    assert not outcome.ok and outcome.skipped == []
    problems = [str(p) for p in outcome.reports[0].problems]
    assert problems == [str(p) for p in validate_pack_file(path).problems]
    assert any("does not exist" in p for p in problems)


async def test_all_or_nothing_keeps_failing_and_duplicates_are_refused(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    sessionmaker = make_sessionmaker(engine)
    good = write_pack(tmp_path, slug="good")
    await import_files(sessionmaker, [good], NOW)
    broken = write_pack(tmp_path, slug="broken", extra="oops: [\n")
    outcome = await import_files(sessionmaker, [good, broken], NOW + timedelta(days=1))
    assert not outcome.ok and outcome.plans == [] and outcome.skipped == [str(good)]
    assert [r.file for r in outcome.reports] == [str(broken)]
    async with sessionmaker() as session:
        slugs = (await session.execute(select(PackRow.slug))).scalars().all()
    assert slugs == ["good"]

    # The same unchanged file twice (a copy in another folder): still two files, one slug.
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(good, copy / "good.yaml")
    shutil.copy(tmp_path / "article.txt", copy / "article.txt")
    with pytest.raises(ValueError, match="same pack slug: good"):
        await import_files(sessionmaker, [good, copy / "good.yaml"], NOW)


async def test_upload_clears_the_fingerprint(engine: AsyncEngine, tmp_path: Path) -> None:
    """A pack published from elsewhere (a Telegram upload goes through ``import_pack`` with no
    fingerprint) is never taken for the file's pack: the file is validated and wins again."""
    sessionmaker = make_sessionmaker(engine)
    path = write_pack(tmp_path)
    await import_files(sessionmaker, [path], NOW)
    data = path.read_bytes().replace(b"Is statement 0 true?", b"Is statement zero true?")
    article = (tmp_path / "article.txt").read_text(encoding="utf-8")
    uploaded = validate_pack_bytes(data, "mini.yaml", lambda name: article)
    assert uploaded.pack is not None
    async with sessionmaker() as session, session.begin():
        plan = await import_pack(session, uploaded.pack, NOW + timedelta(days=1), owner_id=None)
    assert plan.updated == ["q0"]
    assert await source_hash(engine) is None
    outcome = await import_files(sessionmaker, [path], NOW + timedelta(days=2))
    assert outcome.skipped == [] and outcome.plans[0].updated == ["q0"]
    assert await source_hash(engine) is not None
    async with sessionmaker() as session:
        question = (
            await session.execute(select(ItemRow.body).where(ItemRow.key == "q0"))
        ).scalar_one()["question"]
    assert question == "Is statement 0 true?"


async def test_pack_with_warnings_is_not_fingerprinted(engine: AsyncEngine, tmp_path: Path) -> None:
    """Its warnings are printed at every import, as before."""
    sessionmaker = make_sessionmaker(engine)
    number = (
        "  - id: range\n    type: number\n    question: How many miles?\n    answer: 200\n"
        f"    tolerance: 300\n    explanation: Because.\n    source: {SOURCE}\n"
        "    difficulty: easy\n    skill: detail\n"
    )
    path = write_pack(tmp_path, items=2, extra=number)
    first = await import_files(sessionmaker, [path], NOW)
    assert first.ok and first.reports[0].warnings
    assert await source_hash(engine) is None
    again = await import_files(sessionmaker, [path], NOW + timedelta(days=1))
    assert again.skipped == [] and again.reports[0].warnings
    assert again.plans[0].describe() == "mini: unchanged (3 items)"


@pytest.mark.parametrize(
    ("line", "name"),
    [
        (b"article: ../seeds/a.txt", "../seeds/a.txt"),
        (b"article:   a b.txt   # the article\r", "a b.txt"),
        (b"article: 'it''s.txt'", "it's.txt"),
        (b'article: "a#b.txt"', "a#b.txt"),
        (b'article: "a\\tb.txt"', None),
        (b"article: |\n  a.txt", None),
        (b"article:", None),
        (b"  article: nested.txt", None),
    ],
)
def test_scan_article_name(line: bytes, name: str | None) -> None:
    assert scan_article_name(b"pack: x\n" + line + b"\nitems: []\n") == name


def test_two_article_lines_are_never_certified(tmp_path: Path) -> None:
    """The scan reads the first `article:` line only; a second one is a duplicate key."""
    assert scan_article_name(b"article: a.txt\narticle: b.txt\n") == "a.txt"
    path = write_pack(tmp_path, extra="article: article.txt\n")
    source = read_pack_source(path)
    assert source is not None
    report, certified = pack_source.validate_source(source)
    assert not report.ok and not certified


def test_misread_article_is_never_certified(tmp_path: Path) -> None:
    """When the YAML names another article than the one the scan found, the fingerprint (which
    covers the scanned file) is not certified, even though the pack is valid."""
    path = write_pack(tmp_path)
    shutil.copy(tmp_path / "article.txt", tmp_path / "article.txt more.txt")
    (tmp_path / "article.txt").write_text("Something else entirely.", encoding="utf-8")
    text = path.read_text(encoding="utf-8").replace(
        "article: article.txt   # next to the pack", "article: article.txt\n  more.txt"
    )
    path.write_text(text, encoding="utf-8")  # YAML folds the value: "article.txt more.txt"
    source = read_pack_source(path)
    assert source is not None and source.article_name == "article.txt"
    report, certified = pack_source.validate_source(source)
    assert report.ok and not report.problems and not certified


async def test_downgrade_keeps_packs_and_items(engine: AsyncEngine, tmp_path: Path) -> None:
    """0003's downgrade drops the column in place: no copy of `packs`, whose drop would
    cascade to the items."""
    sessionmaker = make_sessionmaker(engine)
    await import_files(sessionmaker, [write_pack(tmp_path)], NOW)
    try:
        await migrate.downgrade(engine, "0002")
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda c: [col["name"] for col in c.dialect.get_columns(c, "packs")]  # type: ignore[attr-defined]
            )
            items = (await connection.execute(text("SELECT count(*) FROM items"))).scalar()
        assert "source_hash" not in columns and items == 3
    finally:
        await migrate.upgrade(engine)
    assert await source_hash(engine) is None


async def test_two_first_imports_of_a_new_pack_at_once(engine: AsyncEngine, tmp_path: Path) -> None:
    """Two processes importing the same new pack together (two engines here): the second
    waits for the first to commit, then finds the pack in place; no unique-slug collision."""
    report = validate_pack_file(write_pack(tmp_path, items=40))
    assert report.pack is not None
    pack = report.pack
    second = create_engine(engine.url.render_as_string(hide_password=False))

    async def import_beside() -> bool:
        async with make_sessionmaker(second)() as session, session.begin():
            return (await import_pack(session, pack, NOW)).changes_anything

    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            first = await import_pack(session, pack, NOW)
            beside = asyncio.create_task(import_beside())
            await asyncio.sleep(0.5)  # the other import has started, and must wait
            assert not beside.done()
        assert first.new_pack
        assert await asyncio.wait_for(beside, 10) is False
    finally:
        await second.dispose()
    async with make_sessionmaker(engine)() as session:
        packs = (await session.execute(select(func.count()).select_from(PackRow))).scalar_one()
        items = (await session.execute(select(func.count()).select_from(ItemRow))).scalar_one()
    assert (packs, items) == (1, 40)
