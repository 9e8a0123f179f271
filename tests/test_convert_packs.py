"""Packs without an article (as ``quizbot pack convert`` writes them without --article): the
validator, the import fingerprint, the store, /read and feedback; and the two CLI commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import main
from bot.packs import validate_pack_bytes, validate_pack_file
from bot.packs.convert import convert
from bot.packs.source import read_pack_source, validate_source
from botkit import CONTENT, ROOT, Clock, start_harness, user

SAMPLES = Path(__file__).parent / "convert"

NO_ARTICLE = """\
pack: bees
title: Bees
description: Questions without an article.
items:
  - id: trips
    type: choice
    question: How many flowers does a bee visit on each trip?
    answer: About 100
    distractors: [About 10, About 1000]
    explanation: Bees visit about 100 flowers on each trip.
    difficulty: easy
    skill: detail
"""


def check(text: str) -> Any:
    def load(name: str) -> str:
        return (SAMPLES / name).read_text(encoding="utf-8")

    return validate_pack_bytes(text.encode(), "bees.yaml", load)


def test_a_pack_without_article_needs_no_source() -> None:
    report = check(NO_ARTICLE)
    assert report.ok and not report.problems
    assert report.pack.article_name == "" and not report.pack.has_article
    assert report.pack.items[0].sources == []


def test_a_pack_with_an_article_still_needs_a_source_for_every_item() -> None:
    report = check(NO_ARTICLE.replace("items:", "article: bees.txt\nitems:"))
    assert [p.located() for p in report.problems] == [
        "6:5: trips: missing key 'source': a quote from the article that supports the answer "
        "(only a pack without `article:` may leave it out)"
    ]


def test_a_quote_in_a_pack_without_article_is_not_checked_and_says_so() -> None:
    report = check(NO_ARTICLE + "    source: anything at all\n")
    assert report.ok
    assert [p.located() for p in report.problems] == [
        "13:5: trips: warning: the pack has no `article:`, so this quote is not checked"
    ]


def test_an_article_less_pack_gets_a_certified_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "bees.yaml"
    path.write_text(NO_ARTICLE, encoding="utf-8")
    source = read_pack_source(path)
    assert source is not None and source.article_name is None
    report, certified = validate_source(source)
    assert report.ok and certified


def test_an_article_written_where_the_scan_cannot_see_it_is_never_certified(
    tmp_path: Path,
) -> None:
    (tmp_path / "bees.txt").write_text("Bees visit about 100 flowers on each trip.\n")
    text = NO_ARTICLE.replace("pack: bees", "{pack: bees, article: bees.txt}\n", 1)
    path = tmp_path / "bees.yaml"
    path.write_text(text.split("\n", 1)[0] + "\n", encoding="utf-8")
    source = read_pack_source(path)
    assert source is not None and source.article_name is None
    assert not validate_source(source)[1]


async def test_read_and_feedback_of_a_pack_without_article(
    engine: AsyncEngine, clock: Clock, tmp_path: Path
) -> None:
    (tmp_path / "bees.yaml").write_text(NO_ARTICLE, encoding="utf-8")
    harness = await start_harness(engine, clock, content=tmp_path)
    try:
        ann = user(301, "Ann")
        calls = await harness.text(ann, "/read bees")
        (reply,) = [c.params["text"] for c in calls if c.method == "sendMessage"]
        assert reply == (
            "<b>Bees</b> has no article: its questions stand on their own, and each answer is "
            "explained without a quote."
        )
        await harness.text(ann, "/start bees")
        calls = await harness.text(ann, "About 10")
        shown = "\n".join(str(c.params.get("text", "")) for c in calls)
        assert "Bees visit about 100 flowers on each trip." in shown  # the explanation
        assert "📖" not in shown  # no quote line
    finally:
        await harness.app.shutdown()


async def test_an_instructor_publishes_a_converted_pack_from_telegram(
    engine: AsyncEngine, clock: Clock, tmp_path: Path
) -> None:
    """The YAML that `pack convert` writes without an article can be sent to the bot as it is."""
    harness = await start_harness(engine, clock, content=tmp_path)
    try:
        teacher, admin, student = user(201, "Tess"), user(900, "Ada"), user(301, "Sam")
        await harness.text(teacher, "/start")
        await harness.text(admin, "/grant 201")
        converted = convert("bees.gift", (SAMPLES / "gift-sample.gift").read_bytes())
        data = converted.yaml_text.encode()
        harness.api.documents["f1"] = ("documents/f1/bees.yaml", len(data))
        harness.api.files["documents/f1/bees.yaml"] = data
        document = {"file_id": "f1", "file_unique_id": "uf1", "file_name": "bees.yaml"}
        calls = await harness.send(harness.updates.message(teacher, None, document=document))
        reply = "\n".join(str(c.params.get("text", "")) for c in calls)
        assert "is valid" in reply and "Article:" not in reply
        publish = next(
            button["callback_data"]
            for call in calls
            if call.params.get("reply_markup")
            for row in _keyboard(call.params["reply_markup"])
            for button in row
            if button["callback_data"].startswith("pub:")
        )
        calls = await harness.press(teacher, publish)
        assert any("Published" in str(c.params.get("text", "")) for c in calls)
        calls = await harness.text(student, "/read bees")
        assert "has no article" in str(calls[-1].params["text"])
    finally:
        await harness.app.shutdown()


def _keyboard(markup: Any) -> list[list[dict[str, Any]]]:
    data = json.loads(markup) if isinstance(markup, str) else markup
    rows: list[list[dict[str, Any]]] = data["inline_keyboard"]
    return rows


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    database = tmp_path / "quizbot.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    monkeypatch.setenv("QUIZBOT_CONTENT_DIR", str(CONTENT))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_convert_writes_a_valid_pack(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = env / "bees.yaml"
    status = main(["pack", "convert", str(SAMPLES / "gift-sample.gift"), "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert f"{out}: 14 item(s) from" in printed
    assert "skipped: 'Essay': an essay (no answers)" in printed
    assert validate_pack_file(out).ok
    # Never overwrites without --force.
    assert main(["pack", "convert", str(SAMPLES / "gift-sample.gift"), "--out", str(out)]) == 1
    assert "exists" in capsys.readouterr().err


def test_cli_convert_with_article_names_it_relative_to_the_pack(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (env / "packs").mkdir()
    out = env / "packs" / "bees.yaml"
    args = ["pack", "convert", str(SAMPLES / "moodle-sample.xml"), "--out", str(out)]
    assert main([*args, "--article", str(SAMPLES / "bees.txt")]) == 0, capsys.readouterr()
    report = validate_pack_file(out)
    assert report.ok and report.pack is not None and report.pack.has_article
    assert (out.parent / report.pack.article_name).resolve() == (SAMPLES / "bees.txt").resolve()


def test_cli_convert_reports_problems_with_line_and_column(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = SAMPLES / "broken.gift"
    assert main(["pack", "convert", str(source), "--out", str(env / "b.yaml")]) == 1
    assert f"{source}:5:37: the answer block is not closed with '}}'" in capsys.readouterr().out
    assert main(["pack", "convert", str(SAMPLES / "xxe.xml"), "--out", "x.yaml"]) == 1
    assert "refused" in capsys.readouterr().out and not (env / "x.yaml").exists()


def test_cli_export_from_a_file_and_from_the_store(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack_file = ROOT / "content" / "atacms-2024.yaml"
    assert main(["pack", "export", str(pack_file), "--format", "gift"]) == 0
    assert (env / "atacms-2024.gift").read_text(encoding="utf-8").count("::") >= 2
    assert main(["pack", "import"]) == 0
    capsys.readouterr()
    out = env / "deck.apkg"
    assert main(["pack", "export", "atacms-2024", "--format", "anki", "--out", str(out)]) == 0
    assert out.read_bytes()[:2] == b"PK"
    assert "items of 'atacms-2024' as anki" in capsys.readouterr().out.replace("item(s)", "items")
    assert main(["pack", "export", "atacms-2024", "--format", "aiken", "--out", "a.txt"]) == 0
    assert "skipped:" in capsys.readouterr().err
    assert main(["pack", "export", "no-such-pack", "--format", "yaml"]) == 1
    assert "no pack 'no-such-pack' in the store" in capsys.readouterr().err


def test_cli_export_refuses_an_invalid_pack_file(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = env / "broken.yaml"
    broken.write_text("pack: x\n", encoding="utf-8")
    assert main(["pack", "export", str(broken), "--format", "gift"]) == 1
    assert "is not a valid pack: nothing exported" in capsys.readouterr().err


def test_cli_offers_every_export_format() -> None:
    from bot.cli import build_parser
    from bot.packs.exporters import FORMATS

    for fmt in FORMATS:
        args = build_parser().parse_args(["pack", "export", "x", "--format", fmt])
        assert args.format == fmt
    with pytest.raises(SystemExit):
        build_parser().parse_args(["pack", "export", "x", "--format", "qti"])
