"""Every fact the pack tools report has words in every shipped language: the validator's and the
checker's problems, summaries, the drafter's notes (bot/packs/facts.py, bot/packs/wording.py)."""

from __future__ import annotations

from string import Formatter

import pytest

from bot.i18n import LANGUAGES, translator
from bot.packs import validate_pack_bytes
from bot.packs.facts import Fact, Say, Value, fact
from bot.packs.wording import TEMPLATES, english, say

FIELDS = Formatter()


def fields(text: str) -> list[tuple[str, str, str]]:
    return sorted(
        (name, spec or "", conversion or "")
        for _, name, spec, conversion in FIELDS.parse(text)
        if name is not None
    )


def sample(code: Say, count: int) -> Fact:
    """``code`` with a value for each of its fields: numbers where a number is formatted."""
    template = TEMPLATES[code]
    text = template if isinstance(template, str) else template[0]
    counted = None if isinstance(template, str) else template[2]
    values: dict[str, Value] = {}
    for name, spec, _ in fields(text):
        if name == counted:
            values[name] = count
        elif "%" in spec or "f" in spec:
            values[name] = 0.25
        elif "," in spec:
            values[name] = 12345
        else:
            values[name] = "«x»"
    return fact(code, **values)


def test_every_code_has_a_sentence() -> None:
    assert set(TEMPLATES) == set(Say)


@pytest.mark.parametrize("code", list(Say))
@pytest.mark.parametrize("count", [1, 3, 5, 21])
def test_every_code_is_said_in_every_language(code: Say, count: int) -> None:
    said = {language: say(translator(language), sample(code, count)) for language in LANGUAGES}
    for language, text in said.items():
        assert text.strip(), (language, code)
        assert code.value not in text, (language, text)
        template = TEMPLATES[code]
        names = [
            name for name, _, _ in fields(template[0] if isinstance(template, tuple) else template)
        ]
        assert not [name for name in names if "{" + name in text], (language, text)
    template = TEMPLATES[code]
    words = "".join(
        literal
        for literal, *_ in FIELDS.parse(template if isinstance(template, str) else template[0])
    )
    if not any(c.isalpha() for c in words):
        return  # only the author's words and punctuation: nothing to translate
    for language in LANGUAGES:
        if language != "en":
            assert said[language] != said["en"], (language, code, said[language])


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_translations_keep_every_field_and_format(language: str) -> None:
    catalog = translator(language).catalog
    for code, template in TEMPLATES.items():
        if isinstance(template, str):
            pairs = [(template, catalog.gettext(template))]
        else:
            singular, plural, _ = template
            pairs = [(plural, catalog.ngettext(singular, plural, n)) for n in (1, 2, 5)]
        for source, translated in pairs:
            assert fields(translated) == fields(source), (code, translated)


def test_numbers_take_the_readers_separators() -> None:
    big = fact(Say.FILE_TOO_BIG, size=8_388_609, limit=8_388_608)
    assert english(big) == "the file is 8,388,609 bytes; a pack may be at most 8,388,608 bytes"
    assert "8\u00a0388\u00a0609" in say(translator("uk"), big)
    assert "8.388.609" in say(translator("es"), big)
    flagged = fact(Say.QUALITY_FLAGGED, flagged=1, n=3, share=1 / 3)
    assert english(flagged) == "quality: 1 of 3 items (33%) with a warning"
    assert say(translator("ru"), flagged) == "качество: 1 из 3 вопросов (33%) с предупреждением"


def test_plurals_follow_each_language() -> None:
    uk = translator("uk")
    assert [say(uk, fact(Say.SUMMARY_ITEMS, n=n)) for n in (1, 2, 5, 21)] == [
        "1 запитання",
        "2 запитання",
        "5 запитань",
        "21 запитання",
    ]
    ru = translator("ru")
    assert [say(ru, fact(Say.DRAFT_FIGURES, n=n)) for n in (1, 3, 11)] == [
        "1 число",
        "3 числа",
        "11 чисел",
    ]


BROKEN = b"""pack: broken
title: Broken
language: en
items:
  - id: one
    type: choice
    question: Which city?
    answer: Kyiv
    options: [Lviv, Odesa]
    explanation: It says so.
    skil: detail
"""


def test_a_broken_pack_is_reported_in_the_readers_language() -> None:
    report = validate_pack_bytes(BROKEN, "broken.yaml", lambda name: "")
    lines = [p.located() for p in report.problems]
    assert any("the answer 'Kyiv' is not among the options" in line for line in lines), lines
    assert any("unknown key 'skil' (did you mean 'skill'?)" in line for line in lines), lines
    uk = translator("uk")
    ukrainian = [p.located(uk) for p in report.problems]
    assert any("відповіді 'Kyiv' немає серед варіантів" in line for line in ukrainian), ukrainian
    assert any("невідомий ключ 'skil' (може, 'skill'?)" in line for line in ukrainian)
    # The places and the item ids stay as they are: line:column: item: message.
    assert [line.split(": ")[0] for line in ukrainian] == [line.split(": ")[0] for line in lines]
    assert [line.split(": ")[1] for line in ukrainian if "one: " in line] == ["one"] * 3


def test_a_problem_about_the_pack_or_an_unnamed_item_is_labelled_in_words() -> None:
    report = validate_pack_bytes(b"pack: x\ntitle: X\nitems:\n  - type: truefalse\n", "x.yaml", str)
    es = translator("es")
    labels = {p.label(es) for p in report.problems}
    assert {"pregunta n.º 1", "paquete"} <= labels, labels
