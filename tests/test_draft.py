"""`quizbot pack draft`: a draft pack that validates, from the seed article and two other texts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.packs import ChoiceItem, NumberItem, PackReport, ShortItem, validate_pack_file
from bot.packs.draft import Draft, draft_pack
from botkit import ROOT

SEED = ROOT / "seeds" / "biden-atacms-2024.txt"
ENGLISH = ROOT / "tests" / "articles" / "harbour-bridge-en.txt"
FRENCH = ROOT / "tests" / "articles" / "pont-fr.txt"


def drafted(tmp_path: Path, article: Path, language: str = "en") -> tuple[Draft, PackReport]:
    draft = draft_pack(
        article.read_text(encoding="utf-8"),
        article_name=str(article),
        language=language,
        slug="draft-test",
    )
    path = tmp_path / "draft.yaml"
    path.write_text(draft.yaml, encoding="utf-8")
    report = validate_pack_file(path)
    assert report.errors == [], [str(p) for p in report.errors]
    assert report.pack is not None
    return draft, report


def by_answer(report: PackReport) -> dict[Any, list[Any]]:
    assert report.pack is not None
    found: dict[Any, list[Any]] = {}
    for item in report.pack.items:
        if isinstance(item, ChoiceItem):
            key: Any = item.answers[0]
        elif isinstance(item, ShortItem):
            key = item.accepted[0].text
        else:
            assert isinstance(item, NumberItem)
            key = (item.answer, item.unit)
        found.setdefault(key, []).append(item)
    return found


def test_seed_article_draft(tmp_path: Path) -> None:
    draft, report = drafted(tmp_path, SEED)
    assert report.pack is not None
    items = report.pack.items
    assert len(items) >= 25 and draft.stats.total == len(items)
    assert {i.type for i in items} == {"choice", "short", "number"}
    assert all(i.difficulty == "medium" and i.skill == "detail" for i in items)
    assert draft.yaml.startswith("# DRAFT")
    assert draft.yaml.count("\n  # draft: check") == len(items)
    answers = by_answer(report)
    # Figures with their units, and the sentence as the quote.
    assert (200, "miles") in answers and (11000, "troops") not in answers
    assert (11, "people") in answers and (2, "months") in answers and (2, "children") in answers
    [miles] = answers[(200, "miles")]
    assert "___ miles away" in miles.question and "200" not in miles.question
    assert miles.sources[0].endswith("nearly 200 miles away.")
    # People among people, places among places.
    [dzhabarov, *_] = answers["Vladimir Dzhabarov"]
    assert isinstance(dzhabarov, ChoiceItem)
    assert set(dzhabarov.distractors or []) <= {
        "Leonid Slutsky",
        "Vladimir Putin",
        "James Nixey",
        "Volodymyr Zelenskyy",
        "Biden",
        "Trump",
    }
    [kursk, *_] = answers["Kursk"]
    assert isinstance(kursk, ChoiceItem)
    assert set(kursk.distractors or []) <= {"Moscow", "Russia", "Sumy", "Ukraine", "Kyiv"}
    assert "Chatham House" in answers and "James Nixey" in answers
    assert "North Korean" not in answers  # a demonym is not a name
    assert "person 7" in draft.stats.line() and "6 figures" in draft.stats.line()


def test_short_items_accept_the_surname_and_the_title(tmp_path: Path) -> None:
    _draft, report = drafted(tmp_path, SEED)
    assert report.pack is not None
    shorts = [i for i in report.pack.items if isinstance(i, ShortItem)]
    zelenskyy = next(i for i in shorts if i.accepted[0].text == "Volodymyr Zelenskyy")
    assert [a.text for a in zelenskyy.accepted] == [
        "Volodymyr Zelenskyy",
        "Zelenskyy",
        "President Volodymyr Zelenskyy",
        "President Zelenskyy",
    ]
    assert "___" in zelenskyy.question


def test_english_text_names_grouped_by_kind(tmp_path: Path) -> None:
    draft, report = drafted(tmp_path, ENGLISH)
    answers = by_answer(report)
    assert (640, "metres") in answers and (85, "million euros") in answers
    assert (20, "%") in answers and (2026, None) in answers and (3, "years") in answers
    okafor = answers["Helen Okafor"][0]
    assert isinstance(okafor, ChoiceItem)
    assert set(okafor.distractors or []) <= {"David Brennan", "Tomas Reilly", "Anna Lindqvist"}
    assert "Marlow Partners Group" in answers and "Northfield University" in answers
    assert "Westport" in answers and "Eastbay" in answers
    assert draft.stats.names == {"person": 4, "place": 2, "organisation": 2}


def test_french_text(tmp_path: Path) -> None:
    draft, report = drafted(tmp_path, FRENCH, language="fr")
    assert report.pack is not None and report.pack.language == "fr"
    answers = by_answer(report)
    # "15 000" groups thousands with a space; "32 millions d'euros" keeps its noun.
    assert (15000, "personnes") in answers and (32, "millions euros") in answers
    assert (210, "mètres") in answers and (10, "%") in answers and (2019, None) in answers
    assert "Claire Dumont" in answers and "Lyon" in answers and "Université Lumière" in answers
    assert "Atelier Moreau Architectes" in answers
    assert isinstance(answers["Atelier Moreau Architectes"][0], ShortItem)  # the only firm
    assert draft.stats.total >= 15


def test_an_article_without_names_or_figures_is_refused() -> None:
    with pytest.raises(ValueError, match="nothing to draft from"):
        draft_pack("just some words here.\n\nand more words here.", article_name="a.txt")


def test_cli_writes_a_draft_that_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "packs" / "atacms-draft.yaml"
    out.parent.mkdir()
    assert main(["pack", "draft", str(SEED), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    count = re.search(rf"{re.escape(str(out))}: (\d+) candidate items", said)
    assert count is not None and int(count.group(1)) >= 25 and "quality:" in said
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert data["pack"] == "atacms-draft"
    assert (out.parent / data["article"]).resolve() == SEED.resolve()  # relative to the pack
    assert main(["pack", "validate", str(out)]) == 0
    capsys.readouterr()
    # An existing file is kept unless --force; a missing article is one clear line.
    assert main(["pack", "draft", str(SEED), "--out", str(out)]) == 1
    assert "exists; pass --force" in capsys.readouterr().err
    assert main(["pack", "draft", str(SEED), "--out", str(out), "--force"]) == 0
    assert main(["pack", "draft", str(tmp_path / "nope.txt"), "--out", str(out)]) == 1
    assert "does not exist" in capsys.readouterr().err
