"""The Ukrainian pack (content/kyiv-metro-uk.yaml): valid, graded in Cyrillic with Ukrainian
numbers, and played through the bot with typed Ukrainian answers."""

from __future__ import annotations

from collections import Counter

import pytest
from test_bot_private import answer_correctly, item_of, next_data, question_ids, texts

from bot.packs import validate_pack_file
from bot.packs.model import ChoiceItem, Item, NumberItem, Pack, ShortItem, TrueFalseItem
from bot.quiz.grading import Note, grade_typed
from botkit import CONTENT, Harness, user

PACK_FILE = CONTENT / "kyiv-metro-uk.yaml"
OLENA = user(301, "Олена")


@pytest.fixture(scope="module")
def pack() -> Pack:
    report = validate_pack_file(PACK_FILE)
    assert report.pack is not None, [p.located() for p in report.problems]
    assert not report.problems
    return report.pack


def item(pack: Pack, item_id: str) -> Item:
    (found,) = [i for i in pack.items if i.id == item_id]
    return found


def test_the_pack_is_ukrainian_and_has_every_kind_of_item(pack: Pack) -> None:
    assert pack.language == "uk"
    assert len(pack.items) >= 15
    kinds = Counter(
        "multi" if isinstance(i, ChoiceItem) and i.multiple else i.type for i in pack.items
    )
    assert set(kinds) == {"choice", "multi", "truefalse", "short", "number"}
    answers = Counter(i.answer for i in pack.items if isinstance(i, TrueFalseItem))
    assert answers[True] == answers[False]  # balanced, so guessing "true" earns half
    for choice in (i for i in pack.items if isinstance(i, ChoiceItem)):
        # No "the longest option is right" cue: the right option is never the one longest.
        longest = max(len(text) for text in choice.option_texts)
        tied = sum(len(text) == longest for text in choice.option_texts) > 1
        assert tied or all(len(a) < longest for a in choice.answers), choice.id


# Typed answers as a Ukrainian student would type them: the item, the response, right or not.
TYPED = [
    ("first-section-count", "5", True),
    ("first-section-count", "п'ять", True),
    ("first-section-count", "пʼять", True),
    ("first-section-count", "П’ЯТЬ", True),
    ("first-section-count", "шість", False),
    ("first-section-length", "5,2", True),
    ("first-section-length", "5,2 км", True),
    ("first-section-length", "5.2", True),  # a lone dot: only a decimal point can it be
    ("first-section-length", "п'ять цілих дві десятих", True),
    ("first-section-length", "п'ять кома два", True),
    ("first-section-length", "52", False),
    ("first-section-metres", "5 200", True),
    ("first-section-metres", "5\u00a0200 м", True),
    ("first-section-metres", "5200", True),
    ("first-section-metres", "5.200", True),
    ("first-section-metres", "п'ять тисяч двісті", True),
    ("first-section-metres", "5,200", False),  # five point two in Ukrainian
    ("arsenalna-depth", "105,5", True),
    ("arsenalna-depth", "105,5 м", True),
    ("arsenalna-depth", "сто п'ять з половиною", True),
    ("arsenalna-depth", "105", False),
    ("bridge-year", "1965", True),
    ("bridge-year", "у 1965 році", True),
    ("bridge-year", "тисяча дев'ятсот шістдесят п'ятого", True),
    ("bridge-year", "тисяча дев'ятсот шістдесят п'ятий", True),
    ("bridge-year", "1976", False),
    ("network-length", "67,6", True),
    ("network-length", "67,6 км", True),
    ("network-length", "шістдесят сім цілих шість десятих", True),
    ("network-length", "шістдесят сім кома шість", True),
    ("network-length", "676", False),
    ("first-terminus", "Вокзальна", True),
    ("first-terminus", "вокзальної", True),
    ("first-terminus", "«Вокзальна»", True),
    ("first-terminus", "Vokzalna", False),  # Cyrillic is graded in Cyrillic
    ("first-terminus", "Арсенальна", False),
    ("second-ukrainian-city", "у Харкові", True),
    ("second-ukrainian-city", "ХАРКІВ", True),
    ("second-ukrainian-city", "Kharkiv", False),
    ("second-ukrainian-city", "Дніпро", False),
    ("hills-name", "печерські", True),
    ("hills-name", "на Печерських пагорбах", True),
    ("hills-name", "Печерскі пагорби", True),  # a near miss
    ("hills-name", "Святошинські", False),
    ("red-line-name", "святошинсько броварська", True),
    ("red-line-name", "Святошинсько-Броварська лінія", True),
    ("red-line-name", "Святошинско-Броварська", True),  # a near miss, accepted with a note
    ("red-line-name", "Сирецько-Печерська", False),
    ("mosaic-station", "Золоті ворота!", True),
    ("mosaic-station", "золоті  ворота", True),
    ("mosaic-station", "Золоти ворота", True),  # і typed as и: a near miss
    ("mosaic-station", "Теремки", False),
    ("first-in-ukraine", "так", True),
    ("first-in-ukraine", "правда", True),
    ("first-in-ukraine", "ні", False),
    ("dnipro-earlier", "ні", True),
    ("dnipro-earlier", "неправда", True),
    ("dnipro-earlier", "так", False),
    ("ussr-rank", "третім", True),
    ("ussr-rank", "Другим", False),
    ("deepest-station", "арсенальна", True),
    ("bridge-station", "гідропарк", True),
    ("bridge-station", "Теремки", False),
]


@pytest.mark.parametrize(("item_id", "response", "correct"), TYPED)
def test_typed_ukrainian_answers(pack: Pack, item_id: str, response: str, correct: bool) -> None:
    grade = grade_typed(item(pack, item_id), response, pack.language, pack.settings)
    assert not grade.unreadable
    assert grade.correct is correct, grade


def test_a_wrong_number_is_echoed_in_ukrainian_digits(pack: Pack) -> None:
    grade = grade_typed(item(pack, "first-section-metres"), "5,200", pack.language)
    assert grade.note == Note("you_answered", "5,2")
    right = grade_typed(item(pack, "first-section-metres"), "5 200", pack.language)
    assert right.matched == "5\u00a0200"


# Ukrainian typed answers for the bot scenario, by item id (choices are tapped).
BOT_ANSWERS = {
    "first-section-count": "п'ять",
    "first-section-length": "5,2 км",
    "first-section-metres": "5 200",
    "arsenalna-depth": "105,5",
    "bridge-year": "тисяча дев'ятсот шістдесят п'ятого",
    "network-length": "67,6 км",
    "first-terminus": "вокзальної",
    "second-ukrainian-city": "у Харкові",
    "hills-name": "Печерські пагорби",
    "red-line-name": "Святошинсько-Броварська",
    "mosaic-station": "«Золоті ворота»",
}


async def test_a_private_quiz_on_the_ukrainian_pack(bot: Harness) -> None:
    calls = await bot.text(OLENA, "/quiz kyiv-metro-uk")
    total = len(validate_pack_file(PACK_FILE).pack.items)  # type: ignore[union-attr]
    assert "Київський метрополітен" in texts(calls)
    typed = set()
    for _ in range(total):
        _run, item_id, question = question_ids(bot)
        asked = await item_of(bot, item_id)
        assert asked.question in question.params["text"]
        if isinstance(asked, ShortItem | NumberItem):
            calls = await bot.text(OLENA, BOT_ANSWERS[asked.id])
            typed.add(asked.id)
        else:
            calls = await answer_correctly(bot, OLENA)
        shown = texts(calls)
        assert "✅" in shown, (asked.id, shown)
        assert asked.explanation.split()[0] in shown  # the explanation, in Ukrainian
        data = next_data(calls)
        if data is None:
            break
        await bot.press(OLENA, data)
    assert typed == set(BOT_ANSWERS)
    summary = calls[-1].params["text"]
    assert f"Score: <b>{total}</b> of {total}" in summary
