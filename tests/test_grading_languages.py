"""Grading in each pack language (issue 14): numbers in the language's digits and words, letters
folded per script, true/false words, and the list of languages a pack may name."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from num2words import num2words

from bot.packs.model import PACK_LANGUAGES, NumberItem, ShortItem, base_language
from bot.quiz.grading import (
    Grade,
    Note,
    NumberParseError,
    format_number,
    grade_number,
    grade_short,
    grade_typed,
    parse_number,
    parse_truefalse,
)
from bot.quiz.numbers import NUMBER_STYLES, number_style
from bot.text import normalize

NBSP, NARROW = "\u00a0", "\u202f"


def number(answer: float, **extra: object) -> NumberItem:
    return NumberItem.model_validate(
        {
            "id": "n",
            "type": "number",
            "question": "How many?",
            "answer": answer,
            "explanation": "Because.",
            "source": "quote",
            "difficulty": "easy",
            "skill": "detail",
            **extra,
        }
    )


def short(*answers: str) -> ShortItem:
    return ShortItem.model_validate(
        {
            "id": "s",
            "type": "short",
            "question": "Where?",
            "answers": list(answers),
            "explanation": "Because.",
            "source": "quote",
            "difficulty": "easy",
            "skill": "detail",
        }
    )


# --------------------------------------------------------------------------- the issue's table


@pytest.mark.parametrize(
    ("response", "language", "value"),
    [
        ("two point five", "en", 2.5),
        ("nineteen ninety-eight", "en", 1998),
        ("minus five", "en", -5),
        ("half a million", "en", 500_000),
        ("11.000 troops", "de", 11_000),
    ],
)
def test_the_five_numbers_of_issue_14_are_read_right(
    response: str, language: str, value: float
) -> None:
    assert parse_number(response, language=language) == value
    assert grade_number(number(value), response, language).correct
    assert not grade_number(number(value + 1), response, language).correct


@pytest.mark.parametrize("language", ["de", "es", "it", "pt", "nl", "uk", "ru"])
def test_a_thousands_dot_is_eleven_thousand_where_the_language_writes_it(language: str) -> None:
    assert parse_number("11.000 troops", language=language) == 11_000
    assert parse_number("11.000", language="en") == 11  # an English decimal point


# --------------------------------------------------------------------------- digits per language

CONVENTIONS = [
    # English: comma between thousands, decimal point.
    ("en", "11,000", 11_000),
    ("en", "11 000", 11_000),
    ("en", f"11{NBSP}000", 11_000),
    ("en", "1,234.5", 1234.5),
    ("en", "2.5", 2.5),
    ("en", "2,5", 2.5),  # a lone comma that cannot group thousands
    ("en", "2,500", 2500),
    ("en", "-3.25", -3.25),
    # French: a (narrow) space between thousands, decimal comma.
    ("fr", f"11{NARROW}000", 11_000),
    ("fr", "11 000", 11_000),
    ("fr", "1 234,5", 1234.5),
    ("fr", "2,5", 2.5),
    ("fr", "2.5", 2.5),
    # German and its neighbours: a dot between thousands, decimal comma.
    ("de", "11.000", 11_000),
    ("de", "1.234.567,25", 1_234_567.25),
    ("de", "11,5", 11.5),
    ("de", "2,500", 2.5),  # by German convention a decimal comma
    ("de", "2.5", 2.5),  # a lone dot that cannot group thousands
    ("de", "11'000", 11_000),  # Swiss
    ("de", "1,234.5", 1234.5),  # the English way, when it cannot be read the German way
    ("es", "11.000", 11_000),
    ("es", "2,5", 2.5),
    ("es", "1.500.000", 1_500_000),
    ("it", "11.000", 11_000),
    ("it", "0,75", 0.75),
    ("pt", "11.000", 11_000),
    ("pt", "2,5", 2.5),
    ("pt-BR", "1.234,56", 1234.56),
    ("nl", "11.000", 11_000),
    ("nl", "2,5", 2.5),
    # Ukrainian and Russian: a (no-break) space between thousands, decimal comma.
    ("uk", "11 000", 11_000),
    ("uk", f"11{NBSP}000", 11_000),
    ("uk", "11.000", 11_000),
    ("uk", "2,5", 2.5),
    ("uk", "-3,5", -3.5),
    ("ru", "11 000", 11_000),
    ("ru", "1 234,5", 1234.5),
    ("ru", "\u22125", -5),
]


@pytest.mark.parametrize(("language", "response", "value"), CONVENTIONS)
def test_digits_in_each_language_convention(language: str, response: str, value: float) -> None:
    assert parse_number(response, language=language) == value


SCALES = [
    ("en", "11k", 11_000),
    ("en", "2 mil", 2_000_000),  # English slang: million
    ("en", "1.5 million", 1_500_000),
    ("fr", "2 millions", 2_000_000),
    ("fr", "3 milliards", 3_000_000_000),
    ("de", "2 Millionen", 2_000_000),
    ("de", "1,5 Mio.", 1_500_000),
    ("de", "11 Tsd.", 11_000),
    ("es", "11 mil", 11_000),  # Spanish: thousand
    ("es", "2 millones", 2_000_000),
    ("it", "11 mila", 11_000),
    ("it", "2 milioni", 2_000_000),
    ("pt", "11 mil", 11_000),
    ("pt", "2 milhões", 2_000_000),
    ("nl", "2 miljoen", 2_000_000),
    ("uk", "11 тисяч", 11_000),
    ("uk", "11 тис.", 11_000),
    ("uk", "2,5 млн", 2_500_000),
    ("ru", "11 тысяч", 11_000),
    ("ru", "1,5 млрд", 1_500_000_000),
]


@pytest.mark.parametrize(("language", "response", "value"), SCALES)
def test_scale_words_in_each_language(language: str, response: str, value: float) -> None:
    assert parse_number(response, language=language) == value


WORDS = [
    ("en", "eleven thousand", 11_000),
    ("en", "six million, two hundred thousand", 6_200_000),
    ("en", "twelve oh-two", 1202),
    ("en", "nineteen oh five", 1905),
    ("en", "twenty twenty-four", 2024),
    ("en", "nineteen hundred", 1900),
    ("en", "half", 0.5),
    ("en", "a quarter", 0.25),
    ("en", "three quarters", 0.75),
    ("en", "1/2", 0.5),
    ("en", "½", 0.5),
    ("en", "one and a half", 1.5),
    ("en", "two and a half million", 2_500_000),
    ("en", "two point two five", 2.25),
    ("en", "twenty-first", 21),
    ("en", "the 21st", 21),
    ("en", "six hundred and sixtieth", 660),
    ("fr", "dix-neuf cents", 1900),
    ("fr", "onze mille", 11_000),
    ("fr", "deux virgule cinq", 2.5),
    ("fr", "moins cinq", -5),
    ("fr", "deux millions et demi", 2_500_000),
    ("fr", "un quart", 0.25),
    ("fr", "vingt et unième", 21),
    ("de", "elftausend", 11_000),
    ("de", "neunzehnhundertachtundneunzig", 1998),
    ("de", "zwei Komma fünf", 2.5),
    ("de", "zweieinhalb", 2.5),
    ("de", "anderthalb", 1.5),
    ("de", "eine halbe Million", 500_000),
    ("de", "minus fünf", -5),
    ("de", "einundzwanzigste", 21),
    ("es", "once mil", 11_000),
    ("es", "mil novecientos noventa y ocho", 1998),
    ("es", "dos coma cinco", 2.5),
    ("es", "menos cinco", -5),
    ("es", "un millón y medio", 1_500_000),
    ("es", "medio millón", 500_000),
    ("es", "tres cuartos", 0.75),
    ("es", "vigésimo primero", 21),
    ("es", "décimoprimero", 11),
    ("es", "la segunda", 2),
    ("it", "undicimila", 11_000),
    ("it", "millenovecentottantotto", 1988),  # cento + ottantotto, elided
    ("it", "due virgola cinque", 2.5),
    ("it", "meno cinque", -5),
    ("it", "tre quarti", 0.75),
    ("it", "ventunesimo", 21),
    ("it", "sedicesimo", 16),
    ("it", "settantunesima", 71),
    ("pt", "onze mil", 11_000),
    ("pt", "dois vírgula cinco", 2.5),
    ("pt", "menos cinco", -5),
    ("pt", "um e meio", 1.5),
    ("pt", "três quartos", 0.75),
    ("pt", "vigésimo primeiro", 21),
    ("nl", "elfduizend", 11_000),
    ("nl", "twee komma vijf", 2.5),
    ("nl", "min vijf", -5),
    ("nl", "eenentwintigste", 21),
    ("uk", "одинадцять тисяч", 11_000),
    ("uk", "тисяча дев'ятсот дев’яносто восьмий", 1998),
    ("uk", "тисяча девʼятсот девʼяносто восьмого", 1998),
    ("uk", "двадцять перший", 21),
    ("uk", "21-й", 21),
    ("uk", "пів мільйона", 500_000),
    ("uk", "півтора мільйона", 1_500_000),
    ("uk", "два з половиною", 2.5),
    ("uk", "два кома п'ять", 2.5),
    ("uk", "дві цілих двадцять п'ять сотих", 2.25),
    ("uk", "мінус п'ять", -5),
    ("uk", "сорок два мільйони триста тисяч п'ятсот", 42_300_500),
    ("uk", "дванадцять", 12),
    ("ru", "одиннадцать тысяч", 11_000),
    ("ru", "тысяча девятьсот девяносто восьмого", 1998),
    ("ru", "двадцать четвёртый", 24),
    ("ru", "полтора миллиона", 1_500_000),
    ("ru", "два с половиной миллиона", 2_500_000),
    ("ru", "две целых пять десятых", 2.5),
    ("ru", "две целых пять сотых", 2.05),
    ("ru", "минус пять", -5),
]


@pytest.mark.parametrize(("language", "response", "value"), WORDS)
def test_number_words_in_each_language(language: str, response: str, value: float) -> None:
    assert parse_number(response, language=language) == value


@pytest.mark.parametrize(
    ("language", "response", "message"),
    [
        ("en", "between 10 and 12", "Please give one number."),
        ("en", "eleven and twelve", "Please give one number."),
        ("uk", "один два", "Please give one number."),
        ("uk", "двадцять двадцять", "Please give one number."),
        ("de", "zehn oder zwölf", "Please give one number."),
        ("en", "1/0", "Please answer with a number"),
        ("ru", "2,5 100", "Please answer with a number"),
        ("uk", "багато", "Please answer with a number"),
    ],
)
def test_what_is_not_one_number_is_not_read(language: str, response: str, message: str) -> None:
    with pytest.raises(NumberParseError, match=message):
        parse_number(response, language=language)


@pytest.mark.parametrize(
    ("value", "language", "text"),
    [
        (11000.0, "en", "11,000"),
        (11000.0, "de", "11.000"),
        (11000.0, "pt-BR", "11.000"),
        (11000.0, "fr", f"11{NARROW}000"),
        (11000.0, "uk", f"11{NBSP}000"),
        (2.5, "en", "2.5"),
        (2.5, "de", "2,5"),
        (-1234.5, "ru", f"-1{NBSP}234,5"),
    ],
)
def test_numbers_are_shown_in_the_pack_language(value: float, language: str, text: str) -> None:
    assert format_number(value, language) == text


def test_a_number_item_grades_and_answers_in_the_pack_language() -> None:
    troops = number(11000)
    assert grade_number(troops, "11.000", "de") == Grade(True, 1.0, "11.000")
    assert grade_typed(troops, "11 000", "uk") == Grade(True, 1.0, f"11{NBSP}000")
    assert grade_typed(troops, "одинадцять тисяч", "uk").correct
    assert grade_typed(troops, "onze mil", "pt").correct
    wrong = grade_typed(troops, "12.000", "de")
    assert not wrong.correct
    assert wrong.note == Note("you_answered", "12.000")
    assert not grade_typed(troops, "11.000", "en").correct  # eleven in English


def test_the_unit_is_not_read_as_a_scale_word_in_any_language() -> None:
    assert grade_number(number(200, unit="mil"), "200 mil", "es").correct
    assert parse_number("200 mil", language="es") == 200_000


# --------------------------------------------------------------------------- letters

FOLDING = [
    ("Łódź", "Lodz", "en", True),
    ("Ørsted", "Orsted", "en", True),
    ("Ørsted", "Orsted", "da-DK", True),
    ("Straße", "Strasse", "de", True),
    ("Müller", "Mueller", "de", True),  # German writes ü as ue
    ("Müller", "Muller", "en", True),
    ("Æsir", "Aesir", "en", True),
    ("Þór", "Thor", "en", True),
    ("São Paulo", "Sao Paulo", "pt", True),
    ("Ελλάδα", "Ελλαδα", "en", True),  # Greek accents drop; Greek stays Greek
    # Cyrillic is graded in Cyrillic: never transliterated into Latin.
    ("Київ", "Kyiv", "uk", False),
    ("Москва", "Moskva", "ru", False),
    ("Київ", "Киев", "uk", False),
    ("ёлка", "елка", "ru", True),
    ("Королёв", "Королев", "ru", True),
    ("п'ять", "п’ять", "uk", True),
    ("п'ять", "пʼять", "uk", True),
    ("Мар'яна", "Марʼяна", "uk", True),
    ("гай", "гаи", "uk", False),  # й is a letter, not и with a mark
    ("Їжак", "Іжак", "uk", False),  # so is ї
    ("до́ма", "дома", "ru", True),  # a stress mark
    ("МЕТРО", "метро", "uk", True),
]


@pytest.mark.parametrize(("typed", "expected", "language", "equal"), FOLDING)
def test_letters_are_folded_per_script(
    typed: str, expected: str, language: str, equal: bool
) -> None:
    assert (normalize(typed, language) == normalize(expected, language)) is equal


def test_a_cyrillic_short_answer_is_graded_in_cyrillic() -> None:
    item = short("Київ")
    assert grade_short(item, "київ", "uk").correct
    assert grade_short(item, "  КИЇВ! ", "uk").correct
    assert not grade_short(item, "Kyiv", "uk").correct
    near = grade_short(item, "Киів", "uk")  # ї typed as і
    assert near.near_miss and near.note == Note("check_spelling", "Київ")
    assert grade_short(short("Лук'янівка"), "Лукʼянівка", "uk").correct
    assert grade_short(short("Лук'янівка"), "Лук’янівка", "uk").correct


@pytest.mark.parametrize(
    ("response", "value"),
    [
        ("так", True),
        ("Ні", False),
        ("правда", True),
        ("неправда", False),
        ("да", True),
        ("нет", False),
        ("sì", True),
        ("não", False),
        ("ja", True),
        ("nein", False),
        ("oui", True),
        ("waar", True),
        ("nee", False),
    ],
)
def test_true_and_false_in_each_language(response: str, value: bool) -> None:
    assert parse_truefalse(response) is value


# --------------------------------------------------------------------------- languages


def test_every_pack_language_has_its_number_conventions() -> None:
    assert set(NUMBER_STYLES) == set(PACK_LANGUAGES)
    assert {"en", "fr", "de", "es", "it", "pt", "uk", "ru"} <= set(PACK_LANGUAGES)
    assert base_language("pt-BR") == "pt"
    assert number_style("xx") is NUMBER_STYLES["en"]


# --------------------------------------------------------------------------- properties

LANGUAGES = sorted(PACK_LANGUAGES)
# Values that format_number writes exactly: up to four decimal places.
VALUES = st.builds(
    lambda whole, places: whole / 10**places,
    st.integers(min_value=-(10**12), max_value=10**12),
    st.integers(min_value=0, max_value=4),
)


@settings(max_examples=300, deadline=None)
@given(value=VALUES, language=st.sampled_from(LANGUAGES))
def test_formatting_then_parsing_is_the_identity(value: float, language: str) -> None:
    assert parse_number(format_number(value, language), language=language) == value


@settings(max_examples=300, deadline=None)
@given(
    whole=st.integers(min_value=0, max_value=10**12),
    cents=st.integers(min_value=0, max_value=99) | st.none(),
    negative=st.booleans(),
    language=st.sampled_from(LANGUAGES),
    data=st.data(),
)
def test_digits_in_any_accepted_convention_read_as_the_number(
    whole: int, cents: int | None, negative: bool, language: str, data: st.DataObject
) -> None:
    """Each thousands separator the language accepts (or none), its decimal mark."""
    style = number_style(language)
    separator = data.draw(st.sampled_from(["", *style.groups.replace("_", "")]))
    text = f"{whole:,}".replace(",", separator)
    value: float = whole
    if cents is not None:
        text += f"{style.decimal}{cents:02d}"
        value = whole + cents / 100
    if negative:
        text, value = f"-{text}", -value
    assert parse_number(text, language=language) == pytest.approx(value, rel=1e-15)


# num2words misspells a few words that text2num rightly refuses: German "einstausend" for
# "eintausend", Italian "dicotto" for "diciotto", French "centsième" for "centième", Spanish
# "quadragésimo" for "cuadragésimo".
_NUM2WORDS_SLIPS = ("einstausend", "dicotto", "tsième", "quadragésimo")


def _words(value: float, language: str, to: str = "cardinal") -> str:
    words = num2words(value, lang=language, to=to)
    assume(not any(slip in words for slip in _NUM2WORDS_SLIPS))
    return str(words)


@settings(max_examples=300, deadline=None)
@given(
    value=st.integers(min_value=0, max_value=10**4)
    | st.integers(min_value=0, max_value=10**9)
    | st.integers(min_value=-(10**6), max_value=-1),
    language=st.sampled_from(LANGUAGES),
)
def test_number_words_read_as_the_number(value: int, language: str) -> None:
    words = _words(value, language)
    assert parse_number(words, language=language) == value
    assert grade_number(number(value), words, language).correct


@settings(max_examples=200, deadline=None)
@given(
    whole=st.integers(min_value=0, max_value=999),
    hundredths=st.sampled_from([10, 25, 50, 75]),
    language=st.sampled_from(LANGUAGES),
)
def test_decimal_words_read_as_the_number(whole: int, hundredths: int, language: str) -> None:
    value = whole + hundredths / 100
    assert parse_number(_words(value, language), language=language) == value


@settings(max_examples=200, deadline=None)
@given(value=st.integers(min_value=1, max_value=2100), language=st.sampled_from(LANGUAGES))
def test_ordinal_words_read_as_the_number(value: int, language: str) -> None:
    # text2num reads Spanish, Italian and Portuguese ordinals only below a hundred.
    assume(value < 100 or language not in ("es", "it", "pt"))
    assert parse_number(_words(value, language, "ordinal"), language=language) == value


@settings(max_examples=200, deadline=None)
@given(year=st.integers(min_value=1100, max_value=2099))
def test_english_years_in_two_halves_read_as_the_year(year: int) -> None:
    words = _words(year, "en", "year")  # "nineteen ninety-eight", "twelve oh-two"
    assert parse_number(words, language="en") == year
