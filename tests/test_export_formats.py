"""Exporting packs to Moodle XML, GIFT, Aiken, Anki and YAML, and the round trips back: every
item of the article pack is graded the same after YAML → Moodle XML → YAML and YAML → GIFT →
YAML (items are read generically, whatever the pack holds)."""

from __future__ import annotations

import html
import re
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import genanki
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.packs import validate_pack_bytes, validate_pack_file
from bot.packs.convert import convert
from bot.packs.exporters import FORMATS, export_pack, gift_escape
from bot.packs.model import (
    ChoiceItem,
    Item,
    NumberItem,
    Pack,
    PackSettings,
    ShortItem,
    TrueFalseItem,
)
from bot.packs.wording import english
from bot.quiz.grading import Grade, grade_choice, grade_typed
from botkit import CONTENT

ARTICLE_PACK = CONTENT / "atacms-2024.yaml"


@pytest.fixture(scope="module")
def pack() -> Pack:
    report = validate_pack_file(ARTICLE_PACK)
    assert report.pack is not None, [str(p) for p in report.problems]
    return report.pack


def round_trip(pack: Pack, fmt: str, suffix: str) -> Pack:
    exported = export_pack(pack, fmt)
    result = convert(f"{pack.slug}{suffix}", exported.data)
    assert not result.problems and not result.skipped
    assert result.report is not None and result.report.pack is not None, [
        str(p) for p in result.report.problems
    ]
    return result.report.pack


def outcome(grade: Grade) -> tuple[bool, float]:
    return grade.correct, round(grade.score, 4)


def probes(item: ShortItem | NumberItem) -> list[str]:
    """Typed responses worth comparing: every accepted and anticipated answer, and for numbers
    the answer, both ends of the tolerance and a value just outside it."""
    if isinstance(item, ShortItem):
        return [a.text.replace("*", "x") for a in item.accepted] + ["something else entirely"]
    tolerance = item.absolute_tolerance
    values = [item.answer, item.answer + tolerance, item.answer - tolerance]
    values += [item.answer + tolerance + max(1.0, abs(item.answer) * 0.01)]
    return [repr(v) for v in values]


def assert_same_grading(original: Item, copy: Item, feedback: bool = True) -> None:
    assert copy.type == original.type, original.id
    assert copy.question == original.question
    if isinstance(original, ChoiceItem | TrueFalseItem):
        assert isinstance(copy, ChoiceItem | TrueFalseItem)
        copy_texts = copy.option_texts
        assert sorted(copy_texts) == sorted(original.option_texts), original.id
        right = {original.option_texts[i] for i in original.correct_indices}
        # Every accepted answer is still accepted (all of them, for a multi-select)...
        picked = {copy_texts.index(t) for t in right}
        assert grade_choice(copy, picked).correct, original.id
        # ...and every distractor, picked alone, is still wrong and earns nothing.
        for text in original.option_texts:
            if text not in right:
                alone = grade_choice(copy, {copy_texts.index(text)})
                assert outcome(alone) == (False, 0.0), (original.id, text)
                mine = grade_choice(original, {original.option_texts.index(text)})
                assert alone.feedback == (mine.feedback if feedback else None)
        return
    assert isinstance(original, ShortItem | NumberItem)
    for response in probes(original):
        mine = grade_typed(original, response)
        theirs = grade_typed(copy, response)
        assert outcome(theirs) == outcome(mine), (original.id, response)
        assert theirs.feedback == mine.feedback, (original.id, response)


@pytest.mark.parametrize(("fmt", "suffix"), [("moodle-xml", ".xml"), ("gift", ".gift")])
def test_every_item_survives_the_round_trip_with_the_same_grading(
    pack: Pack, fmt: str, suffix: str
) -> None:
    copy = round_trip(pack, fmt, suffix)
    assert [i.id for i in copy.items] == [i.id for i in pack.items]
    for original, item in zip(pack.items, copy.items, strict=True):
        assert_same_grading(original, item)
        # The explanation comes back as general feedback, with the quote appended.
        assert item.explanation.startswith(" ".join(original.explanation.split()))
        for quote in original.sources:
            assert quote in item.explanation


def test_moodle_export_keeps_units_tags_and_fixed_order(pack: Pack) -> None:
    copy = round_trip(pack, "moodle-xml", ".xml")
    for original, item in zip(pack.items, copy.items, strict=True):
        assert set(original.tags) <= set(item.tags)
        if isinstance(original, NumberItem):
            assert isinstance(item, NumberItem)
            assert item.unit == original.unit
            assert item.absolute_tolerance == pytest.approx(original.absolute_tolerance)


def test_gift_escapes_every_special_character() -> None:
    assert gift_escape("a=b~c#d{e}f:g\\h\ni") == "a\\=b\\~c\\#d\\{e\\}f\\:g\\\\h\\ni"


def test_a_hostile_text_round_trips_through_gift_and_moodle() -> None:
    text = (
        "pack: hostile\ntitle: Hostile\ndescription: d\nitems:\n"
        "  - id: h1\n    type: choice\n"
        "    question: 'Is {a} = b ~ c # d :: e \\ f <b>g</b> & h?'\n"
        "    answer: '=yes{}'\n    distractors: ['~no#', '<i>maybe</i> & :: so']\n"
        "    explanation: 'Because: x = y'\n    difficulty: easy\n    skill: detail\n"
    )
    report = validate_pack_bytes(text.encode(), "hostile.yaml", lambda name: "")
    assert report.pack is not None, [str(p) for p in report.problems]
    for fmt, suffix in (("moodle-xml", ".xml"), ("gift", ".gift")):
        (item,) = round_trip(report.pack, fmt, suffix).items
        (original,) = report.pack.items
        assert_same_grading(original, item)
        assert item.explanation == "Because: x = y"


def test_aiken_holds_single_answer_choices_and_lists_the_rest(pack: Pack) -> None:
    exported = export_pack(pack, "aiken")
    fits = [i for i in pack.items if isinstance(i, TrueFalseItem) or not _multi_or_typed(i)]
    assert exported.items == len(fits)
    assert len(exported.skipped) == len(pack.items) - len(fits)
    assert all("Aiken holds one-answer choices only" in english(s) for s in exported.skipped)
    result = convert("back.txt", exported.data)
    assert result.format == "Aiken" and result.items == len(fits)
    assert result.report is not None and result.report.pack is not None
    for original, item in zip(fits, result.report.pack.items, strict=True):
        if isinstance(original, ChoiceItem):
            assert_same_grading(original, item, feedback=False)  # Aiken has no feedback


def _multi_or_typed(item: Item) -> bool:
    return not isinstance(item, ChoiceItem) or item.multiple


def test_anki_deck_has_one_note_per_item_with_stable_ids(pack: Pack, tmp_path: Path) -> None:
    first = export_pack(pack, "anki")
    second = export_pack(pack, "anki")
    assert first.file_name == "atacms-2024.apkg" and first.items == len(pack.items)
    notes = anki_notes(first.data, tmp_path / "one")
    assert notes == anki_notes(second.data, tmp_path / "two")  # re-exports update, not add
    assert [guid for guid, _, _ in notes] == [
        genanki.guid_for(pack.slug, item.id) for item in pack.items
    ]
    for (_, model, fields), item in zip(notes, pack.items, strict=True):
        typed = isinstance(item, ShortItem | NumberItem)
        assert model == ("quizbot typed answer" if typed else "quizbot question")
        assert fields[-2] == item.explanation.replace("&", "&amp;").replace("<", "&lt;").replace(
            ">", "&gt;"
        ).replace("\n", "<br>")
        if item.sources:
            assert fields[-1].startswith("\u201c")
        if isinstance(item, ShortItem):
            assert fields[1] == html.escape(item.model_answer, quote=False)


def anki_notes(data: bytes, folder: Path) -> list[tuple[str, str, list[str]]]:
    """(guid, note type name, fields) of each note in an .apkg, in the order added."""
    folder.mkdir()
    path = folder / "deck.apkg"
    path.write_bytes(data)
    with zipfile.ZipFile(path) as archive:
        archive.extract("collection.anki2", folder)
    connection = sqlite3.connect(folder / "collection.anki2")
    try:
        import json

        (models_json,) = connection.execute("select models from col").fetchone()
        names = {int(k): v["name"] for k, v in json.loads(models_json).items()}
        rows = connection.execute("select guid, mid, flds from notes order by id").fetchall()
    finally:
        connection.close()
    return [(guid, names[mid], flds.split("\x1f")) for guid, mid, flds in rows]


def test_yaml_export_validates_to_the_same_items(pack: Pack) -> None:
    exported = export_pack(pack, "yaml")
    report = validate_pack_bytes(exported.data, "copy.yaml", lambda name: pack.article_text)
    assert report.pack is not None, [str(p) for p in report.problems]
    assert report.pack.items == pack.items
    assert report.pack.content_hash == pack.content_hash


def test_every_format_has_an_exporter(pack: Pack) -> None:
    for fmt in FORMATS:
        assert export_pack(pack, fmt).data


# The characters the formats treat specially, often; any other printable character sometimes.
_PLAIN = st.text(
    alphabet=st.one_of(
        st.sampled_from("~=#{}:\\%<>&;\"'/*[]n ->T"),
        st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
    ),
    min_size=1,
    max_size=40,
).map(lambda text: " ".join(text.split()))


@settings(max_examples=150, deadline=None)
@given(
    question=_PLAIN,
    answer=_PLAIN,
    distractor=_PLAIN,
    feedback=_PLAIN,
    explanation=_PLAIN,
    fmt=st.sampled_from([("moodle-xml", ".xml"), ("gift", ".gift")]),
)
def test_any_text_survives_both_formats(
    question: str, answer: str, distractor: str, feedback: str, explanation: str, fmt: Any
) -> None:
    """Whatever characters an author uses, they come back as they were written."""
    assume(all([question, answer, distractor, feedback, explanation]))
    assume(answer.casefold() != distractor.casefold())
    # GIFT has no escape for '%': an answer that starts like a weight ("%50%…") is one.
    assume(not re.match(r"%-?\d", answer) and not re.match(r"%-?\d", distractor))
    item = ChoiceItem(
        id="q",
        type="choice",
        question=question,
        answer=answer,
        distractors=[distractor],
        feedback={distractor: feedback},
        explanation=explanation,
        difficulty="easy",
        skill="detail",
    )
    pack = Pack(
        slug="any",
        title="Any",
        language="en",
        description="d",
        article_name="",
        article_text="",
        settings=PackSettings(),
        items=(item,),
    )
    name, suffix = fmt
    result = convert(f"any{suffix}", export_pack(pack, name).data)
    assert not result.problems and result.report is not None
    assert result.report.pack is not None, [str(p) for p in result.report.problems]
    (copy,) = result.report.pack.items
    assert isinstance(copy, ChoiceItem)
    assert (copy.question, copy.answer, copy.distractors) == (question, answer, [distractor])
    assert (copy.feedback, copy.explanation) == ({distractor: feedback}, explanation)
