"""The grader: typed answers, numbers and choices, as tables and as properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from bot import phrases
from bot.i18n import translator
from bot.packs.model import (
    ChoiceItem,
    NumberItem,
    PackSettings,
    ShortItem,
    TrueFalseItem,
)
from bot.quiz.grading import (
    Grade,
    Note,
    NumberParseError,
    format_number,
    grade_choice,
    grade_number,
    grade_short,
    grade_typed,
    normalize,
    parse_choice,
    parse_number,
    typo_allowance,
)
from bot.text import answer_form

COMMON: dict[str, Any] = {
    "question": "A question?",
    "explanation": "An explanation.",
    "source": "a quote",
    "difficulty": "easy",
    "skill": "detail",
}


def short(*answers: str | dict[str, Any], **fields: Any) -> ShortItem:
    return ShortItem(id="short", type="short", answers=list(answers), **COMMON, **fields)


def number(answer: float, **fields: Any) -> NumberItem:
    return NumberItem(id="number", type="number", answer=answer, **COMMON, **fields)


def choice(answer: str | list[str], **fields: Any) -> ChoiceItem:
    return ChoiceItem(id="choice", type="choice", answer=answer, **COMMON, **fields)


def truefalse(answer: bool) -> TrueFalseItem:
    return TrueFalseItem(id="tf", type="truefalse", answer=answer, **COMMON)


NICKNAME = short("Bloody Joe")
CHECK_BLOODY_JOE = Note("check_spelling", "Bloody Joe")
RANGE = choice(
    "Nearly 200 miles",
    distractors=["About 50 miles", "About 500 miles", "About 1,000 miles"],
    feedback={"About 500 miles": "That is further than ATACMS can reach."},
)
SHOWN = [2, 0, 3, 1]  # a shuffled order: shown position -> authored index


# --------------------------------------------------------------------------- normal form


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("Bloody Joe", "bloody joe"),
        ("  BLOODY\t\tjoe \n", "bloody joe"),
        ("Bloody Joe!!", "bloody joe"),
        ("“Bloody Joe.”", "bloody joe"),
        ("'Bloody Joe'", "bloody joe"),
        ("Bloody-Joe", "bloody joe"),
        ("ＢＬＯＯＤＹ　ＪＯＥ", "bloody joe"),  # full-width letters and space (NFKC)
        ("Blóody Jöe", "bloody joe"),
        ("Zelenskyy", "zelenskyy"),
        ("Straße", "strasse"),
        ("ﬁnal", "final"),  # a ligature
        ("Ukraine's", "ukraines"),
        ("Ukraine’s", "ukraines"),
        ("U.S.", "us"),
        ("U.S.-supplied", "us supplied"),
        ("AT&T", "at and t"),
        ("Chatham House & NATO", "chatham house and nato"),
        ("The Kursk region", "kursk region"),
        ("a missile", "missile"),
        ("An ally", "ally"),
        ("the", "the"),  # an article alone is the answer
        ("11,000", "11000"),
        ("11 000", "11000"),
        ("11\u202f000", "11000"),
        ("3.5 miles", "3.5 miles"),
        ("nearly 200 miles.", "nearly 200 miles"),
        ("???", ""),
    ],
)
def test_normal_form(text: str, form: str) -> None:
    assert normalize(text) == form


def test_normal_form_by_language() -> None:
    assert normalize("L’Ukraine", "fr") == normalize("Ukraine", "fr") == "ukraine"
    assert normalize("Der Krieg & die Folgen", "de") == "krieg und die folgen"
    assert normalize("The war", "xx") == "the war"  # no articles known for the language


# --------------------------------------------------------------------------- short answers


@pytest.mark.parametrize(
    "response",
    [
        "Bloody Joe",
        "bloody joe",
        "BLOODY JOE",
        "  Bloody    Joe ",
        "Bloody Joe!",
        "Bloody Joe.",
        "“Bloody Joe”",
        '"Bloody Joe"',
        "Bloody-Joe",
        "Blóody Joé",
        "The Bloody Joe",
        "ＢＬＯＯＤＹ ＪＯＥ",
    ],
)
def test_a_short_answer_ignores_case_spacing_punctuation_accents_and_articles(
    response: str,
) -> None:
    assert grade_short(NICKNAME, response) == Grade(True, 1.0, "Bloody Joe")


@pytest.mark.parametrize("response", ["Joe", "Bloody", "Sleepy Joe", "Bloody Joe Biden", "Joe B"])
def test_a_different_short_answer_is_wrong(response: str) -> None:
    assert grade_short(NICKNAME, response) == Grade(False, 0.0)


@pytest.mark.parametrize("response", ["", "   ", "?!", "…", "\u200b"])
def test_an_empty_short_answer_is_unreadable(response: str) -> None:
    grade = grade_short(NICKNAME, response)
    assert grade.unreadable
    assert not grade.correct
    assert grade.note == Note("type_words") and grade.feedback is None


@pytest.mark.parametrize(
    ("answers", "response", "correct"),
    [
        (["*Kursk*"], "the Kursk region", True),
        (["*Kursk*"], "Kursk", True),
        (["*Kursk*"], "in kursk, russia", True),
        (["*Kursk*"], "Kurks", False),  # no typo tolerance for a pattern
        (["North Korea*"], "North Korean troops", True),
        (["North Korea*"], "South Korea", False),
        (["*war"], "the third world war", True),
        (["*war"], "a warning", False),
        (["Leonid * Slutsky"], "Leonid Eduardovich Slutsky", True),
        (["Leonid * Slutsky"], "Leonid Slutsky", False),  # `*` here stands for a word
    ],
)
def test_wildcards(answers: list[str], response: str, correct: bool) -> None:
    grade = grade_short(short(*answers), response)
    assert grade.correct is correct
    assert not grade.near_miss


PARTIAL = short(
    "drones",
    {"text": "unmanned aircraft", "credit": 0.5, "feedback": "Yes: the article says drones."},
    {"text": "*missile*", "credit": 0, "feedback": "Missiles are what the new decision allows."},
    {"text": "ATACMS", "credit": 0, "feedback": "ATACMS are U.S.-made."},
)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("Drones!", Grade(True, 1.0, "drones")),
        (
            "Unmanned aircraft",
            Grade(False, 0.5, "unmanned aircraft", "Yes: the article says drones."),
        ),
        ("atacms", Grade(False, 0.0, "ATACMS", "ATACMS are U.S.-made.")),
        (
            "cruise missiles",
            Grade(False, 0.0, "*missile*", "Missiles are what the new decision allows."),
        ),
        ("artillery", Grade(False, 0.0)),
        (
            "drone",
            Grade(True, 1.0, "drones", None, True, note=Note("check_spelling", "drones")),
        ),
        (
            "unmaned aircraft",
            Grade(
                False,
                0.5,
                "unmanned aircraft",
                "Yes: the article says drones.",
                near_miss=True,
                note=Note("check_spelling", "unmanned aircraft"),
            ),
        ),
    ],
)
def test_partial_credit_and_anticipated_wrong_answers(response: str, expected: Grade) -> None:
    assert grade_short(PARTIAL, response) == expected


def test_accepted_answers_are_tried_in_order() -> None:
    item = short({"text": "*Joe*", "credit": 0.5}, "Bloody Joe")
    assert grade_short(item, "Sleepy Joe") == Grade(False, 0.5, "*Joe*")
    # The pattern is listed first, so it wins even over an exact match listed later.
    assert grade_short(item, "bloody joe") == Grade(False, 0.5, "*Joe*")
    reordered = short("Bloody Joe", {"text": "*Joe*", "credit": 0.5})
    assert grade_short(reordered, "bloody joe") == Grade(True, 1.0, "Bloody Joe")


def test_a_catch_all_never_swallows_a_misspelt_right_answer() -> None:
    item = short("Bloody Joe", {"text": "*", "credit": 0, "feedback": "He said 'Bloody Joe'."})
    assert grade_short(item, "Bloddy Joe").correct
    assert grade_short(item, "Sleepy Joe") == Grade(False, 0.0, "*", "He said 'Bloody Joe'.")


def test_an_anticipated_wrong_answer_beats_a_near_miss_of_the_right_one() -> None:
    item = short(
        "Austria", {"text": "Australia", "credit": 0, "feedback": "Austria, not Australia."}
    )
    assert typo_allowance(normalize("Australia"), "auto") == 2
    assert grade_short(item, "australia") == Grade(
        False, 0.0, "Australia", "Austria, not Australia."
    )


@pytest.mark.parametrize(
    ("on_typo", "expected"),
    [
        ("accept", Grade(True, 1.0, "Bloody Joe", None, True, note=CHECK_BLOODY_JOE)),
        ("hint", Grade(False, 0.0, None, None, True, note=Note("close_spelling"))),
        ("reject", Grade(False, 0.0, None, None, True)),
    ],
)
def test_a_near_miss_is_accepted_hinted_or_rejected_as_the_item_says(
    on_typo: str, expected: Grade
) -> None:
    assert grade_short(short("Bloody Joe", on_typo=on_typo), "Bloddy Joe") == expected


def test_the_pack_settings_decide_when_the_item_does_not() -> None:
    hinting = PackSettings(on_typo="hint", typo_tolerance=1)
    assert grade_short(NICKNAME, "Bloddy Joe", settings=hinting).note == Note("close_spelling")
    assert not grade_short(NICKNAME, "Bloddy Jo", settings=hinting).near_miss  # two typos
    item = short("Bloody Joe", on_typo="accept", typo_tolerance=2)
    assert grade_short(item, "Bloddy Jo", settings=hinting).correct


def test_a_near_miss_note_does_not_double_the_full_stop() -> None:
    grade = grade_short(short("Washington D.C."), "Washingtn DC")
    assert grade.note == Note("check_spelling", "Washington D.C.")
    assert phrases.note(translator("en"), grade.note) == "Check the spelling: Washington D.C."
    drones = grade_short(PARTIAL, "drone").note
    assert drones and phrases.note(translator("en"), drones) == "Check the spelling: drones."


@pytest.mark.parametrize(
    ("answer", "response"),
    [
        ("1998", "1999"),
        ("Route 66", "Route 67"),
        ("11 people", "12 people"),
        ("200 miles", "2000 miles"),
        ("F-16", "F-15"),
        ("Bloody Joe", "Bloody Joe2"),
        ("World War III", "World War II"),  # Roman numerals count as numbers too
        ("World War III", "World War I"),
        ("Louis XIV", "Louis XV"),
    ],
)
def test_digits_are_never_typo_matched(answer: str, response: str) -> None:
    grade = grade_short(short(answer, typo_tolerance=5), response)
    assert grade == Grade(False, 0.0)


def test_letters_around_digits_may_still_be_misspelt() -> None:
    assert grade_short(short("Route 66"), "Rout 66").near_miss
    assert grade_short(short("World War III"), "Wrold War III").near_miss


@pytest.mark.parametrize(
    ("answer", "response", "near_miss"),
    [
        ("USA", "USB", False),  # up to 3 letters: exact only
        ("NATO", "NAT0", False),  # a digit for a letter is not a spelling slip
        ("Kursk", "Kursx", True),  # 4 to 7 letters: one typo
        ("Kursk", "Kurxx", False),
        ("Zelenskyy", "Zelensky", True),  # 8 letters or more: two typos
        ("Zelenskyy", "Zelinsky", True),
        ("Zelenskyy", "Zelnsk", False),
        ("Bloody Joe", "Bloodyjoe", True),
    ],
)
def test_the_automatic_typo_tolerance_grows_with_the_answer(
    answer: str, response: str, near_miss: bool
) -> None:
    grade = grade_short(short(answer), response)
    assert grade.near_miss is near_miss
    assert grade.correct is near_miss


def test_typo_allowance() -> None:
    words = ("USA", "Kyiv", "Kursk", "Zelenskyy")
    assert [typo_allowance(normalize(word), "auto") for word in words] == [0, 1, 1, 2]
    assert typo_allowance("zelenskyy", 0) == 0
    assert typo_allowance("usa", 3) == 3


def test_a_tolerance_of_zero_turns_typos_off() -> None:
    assert grade_short(short("Zelenskyy", typo_tolerance=0), "Zelensky") == Grade(False, 0.0)


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("response", "value"),
    [
        ("11000", 11000),
        ("11,000", 11000),
        ("11 000", 11000),
        ("11\u00a0000", 11000),
        ("11\u202f000", 11000),
        ("11'000", 11000),
        ("11_000", 11000),
        ("11k", 11000),
        ("11K", 11000),
        ("11 thousand", 11000),
        ("11.5k", 11500),
        ("eleven thousand", 11000),
        ("Eleven Thousand", 11000),
        ("a thousand", 1000),
        ("twenty-one", 21),
        ("one hundred and five", 105),
        ("about 11,000 troops", 11000),
        ("over 11,000.", 11000),
        ("1,234,567", 1234567),
        ("1.5 million", 1_500_000),
        ("2bn", 2_000_000_000),
        ("2,5", 2.5),
        ("0.5", 0.5),
        (".5", 0.5),
        ("1e4", 10000),
        ("-5", -5),
        ("\u22125", -5),
        ("+3", 3),
        ("１１，０００", 11000),  # full-width digits and comma
        ("200 miles", 200),
    ],
)
def test_parse_number(response: str, value: float) -> None:
    assert parse_number(response) == value


@pytest.mark.parametrize(
    ("response", "message"),
    [
        ("", "Please answer with a number, e.g. 11000."),
        ("lots of troops", "Please answer with a number, e.g. 11000."),
        ("11,000 or 12,000", "Please give one number."),
        ("between 10 and 12", "Please give one number."),
        ("10-12", "Please give one number."),
        ("1 2", "Please give one number."),
    ],
)
def test_no_number_or_two_numbers_cannot_be_read(response: str, message: str) -> None:
    with pytest.raises(NumberParseError, match=message):
        parse_number(response)


TROOPS = number(11000)


@pytest.mark.parametrize("response", ["11,000", "11000", "11 000", "11k", "eleven thousand"])
def test_a_number_is_right_however_it_is_written(response: str) -> None:
    assert grade_number(TROOPS, response) == Grade(True, 1.0, "11,000")


@pytest.mark.parametrize(
    ("item", "response", "correct"),
    [
        (TROOPS, "11001", False),
        (number(11000, tolerance=500), "11,500", True),
        (number(11000, tolerance=500), "10,500", True),
        (number(11000, tolerance=500), "11,501", False),
        (number(11000, tolerance="5%"), "10450", True),
        (number(11000, tolerance="5%"), "10449", False),
        (number(11000, tolerance="5%"), "11,550", True),
        (number(11000, tolerance="5%"), "11,551", False),
        (number(0.1, tolerance=0), "0.1", True),  # no floating-point surprise
        (number(-5), "\u22125", True),
        (number(-5), "5", False),
        (number(200, unit="miles"), "nearly 200 miles", True),
        (number(200, unit="m"), "200 m", True),  # metres, not millions
        (number(200, unit="m"), "200 metres", True),
        (number(200_000_000), "200m", True),
    ],
)
def test_numbers_within_tolerance(item: NumberItem, response: str, correct: bool) -> None:
    grade = grade_number(item, response)
    assert grade.correct is correct
    assert grade.score == (1.0 if correct else 0.0)
    assert not grade.unreadable


def test_a_wrong_number_is_echoed_back() -> None:
    wrong = grade_number(TROOPS, "12000")
    assert wrong == Grade(False, 0.0, None, None, note=Note("you_answered", "12,000"))
    assert wrong.note and phrases.note(translator("en"), wrong.note) == "You answered 12,000."


@pytest.mark.parametrize("response", ["two numbers: 11 and 12", "many", "1e999", "9" * 400])
def test_an_unreadable_number_asks_again(response: str) -> None:
    grade = grade_number(TROOPS, response)
    assert grade.unreadable
    assert not grade.correct
    assert grade.note is not None and grade.note.kind in ("no_number", "two_numbers")
    assert phrases.note(translator("en"), grade.note).startswith("Please")


@pytest.mark.parametrize(
    ("value", "text"), [(11000.0, "11,000"), (2.5, "2.5"), (-5.0, "-5"), (0.125, "0.125")]
)
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text


# --------------------------------------------------------------------------- choices


def test_a_single_answer_choice() -> None:
    assert grade_choice(RANGE, {0}) == Grade(True, 1.0, "Nearly 200 miles")
    assert grade_choice(RANGE, {1}) == Grade(False, 0.0)
    assert grade_choice(RANGE, {0, 1}) == Grade(False, 0.0)
    assert grade_choice(RANGE, set()) == Grade(False, 0.0)


def test_per_option_feedback() -> None:
    assert grade_choice(RANGE, {2}) == Grade(
        False, 0.0, None, "That is further than ATACMS can reach."
    )


MULTI = choice(
    ["Ukraine", "United States"],
    options=["Ukraine", "Russia", "United States", "North Korea"],
    feedback={"North Korea": "North Korea sent troops to aid Russia."},
)


@pytest.mark.parametrize(
    ("picked", "score"),
    [
        ({0, 2}, 1.0),
        ({0}, 0.5),
        ({2}, 0.5),
        ({0, 2, 1}, 0.5),  # two right, one wrong: (2 - 1) / 2
        ({0, 1}, 0.0),
        ({1, 3}, 0.0),
        ({0, 1, 2, 3}, 0.0),
        (set(), 0.0),
        ({0, 2, 99, -1}, 1.0),  # positions that do not exist are ignored
    ],
)
def test_multi_select_partial_scores(picked: set[int], score: float) -> None:
    grade = grade_choice(MULTI, picked)
    assert grade.score == score
    assert grade.correct is (score == 1.0)


def test_multi_select_feedback_and_match() -> None:
    assert grade_choice(MULTI, {0, 2}).matched == "Ukraine, United States"
    assert grade_choice(MULTI, {0, 3}).feedback == "North Korea sent troops to aid Russia."


def test_truefalse() -> None:
    assert grade_choice(truefalse(True), {0}) == Grade(True, 1.0, "True")
    assert grade_choice(truefalse(True), {1}) == Grade(False, 0.0)
    assert grade_choice(truefalse(False), {1}) == Grade(True, 1.0, "False")


@pytest.mark.parametrize(
    ("response", "picked"),
    [
        ("1", {2}),  # the first option shown is authored option 2
        ("2", {0}),
        (" 4 ", {1}),
        ("a", {2}),
        ("B", {0}),
        ("b)", {0}),
        ("(d)", {1}),
        ("2.", {0}),
        ("1, 3", {2, 3}),
        ("1 and 3", {2, 3}),
        ("a;b", {2, 0}),
        ("nearly 200 miles", {0}),  # an option's own text, whatever the order
        ("About 1,000 miles!", {3}),
        ("about 500 MILES", {2}),
    ],
)
def test_parse_choice_by_number_letter_or_text_in_the_shown_order(
    response: str, picked: set[int]
) -> None:
    assert parse_choice(RANGE, response, SHOWN) == frozenset(picked)


@pytest.mark.parametrize(
    ("language", "response", "picked"),
    [
        ("uk", "а", {2}),  # the shown letters: А, Б, В, Г
        ("uk", "Б", {0}),
        ("uk", "в", {3}),  # В is the third letter, not the Latin B it looks like
        ("uk", "г)", {1}),
        ("uk", "а, в", {2, 3}),
        ("uk", "b", {0}),  # Latin letters keep their Latin order
        ("ru", "в", {3}),
        ("ru", "Г", {1}),
        ("en", "В", {0}),  # Cyrillic look-alikes of the Latin letters shown
        ("en", "с", {3}),
        ("es", "А", {2}),
    ],
)
def test_parse_choice_reads_the_readers_option_letters(
    language: str, response: str, picked: set[int]
) -> None:
    assert parse_choice(RANGE, response, SHOWN, language) == frozenset(picked)


@pytest.mark.parametrize(
    ("language", "response"), [("uk", "ґ"), ("uk", "д"), ("ru", "ё"), ("en", "б"), ("en", "г")]
)
def test_parse_choice_refuses_letters_that_name_no_option(language: str, response: str) -> None:
    assert parse_choice(RANGE, response, SHOWN, language) is None


@pytest.mark.parametrize("response", ["", "5", "0", "e", "1, 9", "maybe", "²", "answer b"])
def test_parse_choice_refuses_what_is_not_an_option(response: str) -> None:
    assert parse_choice(RANGE, response, SHOWN) is None


@pytest.mark.parametrize(
    ("response", "picked"),
    [("true", {0}), ("Yes", {0}), ("F", {1}), ("false!", {1}), ("1", {0}), ("2", {1})],
)
def test_parse_truefalse(response: str, picked: set[int]) -> None:
    assert parse_choice(truefalse(True), response) == frozenset(picked)


def test_truefalse_positions_follow_the_shown_order() -> None:
    assert parse_choice(truefalse(True), "1", [1, 0]) == frozenset({1})


def test_grade_typed_dispatches_on_the_item_type() -> None:
    assert grade_typed(NICKNAME, "bloody joe!").correct
    assert grade_typed(TROOPS, "11 000").correct
    assert grade_typed(RANGE, "2", order=SHOWN).correct
    assert grade_typed(truefalse(False), "no").correct
    unreadable = grade_typed(RANGE, "the big one", order=SHOWN)
    assert unreadable == Grade(
        False, 0.0, None, None, unreadable=True, note=Note("option_range", count=4)
    )


# --------------------------------------------------------------------------- properties

ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
NUMBERISH = st.from_regex(
    r"[-+\u2212]?\d{0,4}([ ,.'_\u00a0]\d{1,4}){0,3}(e[-+]?\d{1,4})?\s?(k|m|bn|thousand|million)?",
    fullmatch=True,
)
ITEMS = [
    NICKNAME,
    PARTIAL,
    short("*", typo_tolerance=5),
    short("Leonid * Slutsky", "11 people", on_typo="hint"),
    TROOPS,
    number(0.5, tolerance="10%", unit="m"),
    RANGE,
    MULTI,
    truefalse(True),
]


@settings(max_examples=300, deadline=None)
@given(
    response=st.one_of(ANY_TEXT, NUMBERISH),
    language=st.sampled_from(["en", "fr", "de", "es", "it", "pt", "nl", "uk", "ru", "xx"]),
)
def test_no_response_makes_a_grader_raise(response: str, language: str) -> None:
    assert isinstance(normalize(response, language), str)
    for item in ITEMS:
        grade = grade_typed(item, response, language, order=None)
        assert 0.0 <= grade.score <= 1.0
        assert grade.correct == (grade.score == 1.0)
    assert grade_typed(RANGE, response, order=SHOWN).score in (0.0, 1.0)
    try:
        value = parse_number(response, language=language)
    except NumberParseError:
        pass
    else:
        assert isinstance(value, float)


# Answers made of words that start with a letter: a word that is all digits may legitimately
# join its neighbour ("11 000" is one number), and punctuation inside a word may split it.
_LETTERS = "abcdefghijklmnopqrstuvwxyzéèêëàâäôöûüçñßøåæœ"
WORD = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(_LETTERS),
    st.text(alphabet=_LETTERS + "0123456789", max_size=7),
)
ANSWER = st.lists(WORD, min_size=1, max_size=4).map(" ".join)
PUNCTUATION = st.sampled_from(["", "", "!", "?", ".", ",", ";", ":", '"', "'", "(", ")", "“", "”"])
SPACE = st.sampled_from([" ", "  ", "\t", " \n ", "\u00a0", "\u3000"])


@st.composite
def restyled(draw: st.DrawFn, answer: str) -> str:
    """The answer with its letters' case flipped at random, its spacing changed and
    punctuation added at the start or end of its words."""
    words = []
    for word in answer.split(" "):
        letters = "".join(ch.upper() if draw(st.booleans()) else ch for ch in word)
        words.append(draw(PUNCTUATION) + letters + draw(PUNCTUATION))
    text = words[0]
    for word in words[1:]:
        text += draw(SPACE) + word
    return draw(SPACE | st.just("")) + text + draw(SPACE | st.just(""))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), answers=st.lists(ANSWER, min_size=1, max_size=3))
def test_an_accepted_answer_stays_right_whatever_its_case_spacing_and_punctuation(
    data: st.DataObject, answers: list[str]
) -> None:
    item = short(*answers)
    for answer in answers:
        response = data.draw(restyled(answer))
        grade = grade_short(item, response)
        assert grade.correct, (answer, response)
        assert not grade.near_miss
        assert normalize(grade.matched or "") == normalize(answer)


@st.composite
def typo_of(draw: st.DrawFn, answer: str) -> str:
    """The answer, or the answer with one letter changed (a response the grader accepts)."""
    if draw(st.booleans()) or len(answer) < 8:
        return draw(restyled(answer))
    at = draw(st.integers(min_value=1, max_value=len(answer) - 1))
    assume(answer[at].isalpha() and answer[at] != "x")
    return answer[:at] + "x" + answer[at + 1 :]


def _typo_neighbour(text: str, forms: list[str]) -> bool:
    wrong = answer_form(text)
    return any(OSA.distance(wrong, form) <= max(typo_allowance(form, "auto"), 2) for form in forms)


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    right=st.lists(ANSWER, min_size=1, max_size=3),
    wrong_text=st.tuples(st.sampled_from(["", "*"]), ANSWER, st.sampled_from(["", "*"])).map(
        "".join
    ),
    feedback=st.none() | st.just("Not that one."),
)
def test_a_wrong_answer_added_after_the_right_one_changes_nothing_for_a_right_response(
    data: st.DataObject, right: list[str], wrong_text: str, feedback: str | None
) -> None:
    forms = [answer_form(text) for text in right]
    assume(answer_form(wrong_text) not in forms)
    assume(not _typo_neighbour(wrong_text, forms))
    response = data.draw(typo_of(data.draw(st.sampled_from(right))))
    before = grade_short(short(*right), response)
    assume(before.correct)

    matched = right.index(before.matched or "")
    at = data.draw(st.integers(min_value=matched + 1, max_value=len(right)))
    wrong: dict[str, Any] = {"text": wrong_text, "credit": 0, "feedback": feedback}
    after = grade_short(short(*right[:at], wrong, *right[at:]), response)
    assert after == before
