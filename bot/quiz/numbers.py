"""Numbers as students type them, in each pack language: digits with the language's decimal
mark and thousands separators, scale words (``11k``, ``2 Millionen``, ``11 тисяч``), number
words, fractions (``half a million``, ``1/2``), negatives and ordinals. Pure functions.

Number words come from text2num (English, French, German, Spanish, Italian, Portuguese, Dutch).
What it leaves out is filled here, each with a test: English years said in two halves
("nineteen ninety-eight", "twelve oh-two"), "sixtieth", fractions and "and a half", sign words
("minus five"), German "zweieinhalb", Italian elisions ("novecentottantotto"), Dutch "komma",
decimals read digit by digit ("two point two five"), Spanish "segundo", Italian "sedicesimo".
Its Danish is left out: it misses the compounds with "og" ("otteogtreds", "ethundrede og
otte") of every Danish number above 20.
Ukrainian and Russian number words are read from a small table below: no maintained library
reads them (number-parser, the one on PyPI, was last released in 2023 and misreads compounds
such as "тисяча дев'ятсот дев'яносто вісім" and every ordinal).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from text_to_num import alpha2digit

from bot.packs.model import base_language

# --------------------------------------------------------------------------- digits


@dataclass(frozen=True)
class NumberStyle:
    """How a language writes digits: its decimal mark, the thousands separators it accepts
    (spaces of every width are accepted everywhere) and the one :func:`format_number` writes."""

    decimal: str
    groups: str
    group_out: str


_SPACES = " \u00a0\u202f\u2009"
ENGLISH = NumberStyle(".", ",'_" + _SPACES, ",")
# Continental Europe: a decimal comma; a dot, a space or (Swiss) an apostrophe between thousands.
_CONTINENTAL = NumberStyle(",", ".'_" + _SPACES, ".")
NUMBER_STYLES: dict[str, NumberStyle] = {
    "en": ENGLISH,
    "fr": NumberStyle(",", ".'_" + _SPACES, "\u202f"),  # 11 000 with a narrow no-break space
    "de": _CONTINENTAL,
    "es": _CONTINENTAL,
    "it": _CONTINENTAL,
    "pt": _CONTINENTAL,
    "nl": _CONTINENTAL,
    "uk": NumberStyle(",", ".'_" + _SPACES, "\u00a0"),  # 11 000 with a no-break space
    "ru": NumberStyle(",", ".'_" + _SPACES, "\u00a0"),
}


def number_style(language: str) -> NumberStyle:
    return NUMBER_STYLES.get(base_language(language), ENGLISH)


NO_NUMBER = "Please answer with a number, e.g. 11000."
TWO_NUMBERS = "Please give one number."


class NumberParseError(ValueError):
    """The response holds no number (``kind`` "no_number"), or more than one ("two_numbers").
    The message is English for logs and tests; adapters render ``kind`` in the user's language."""

    def __init__(self, kind: Literal["no_number", "two_numbers"]) -> None:
        super().__init__(NO_NUMBER if kind == "no_number" else TWO_NUMBERS)
        self.kind: Literal["no_number", "two_numbers"] = kind


# A run of digits with separators between them; a space only before a group of exactly three
# digits, so that "1 2" is two numbers and "11 000" one.
_DIGITS = r"(?:\d+|(?=[.,]\d))(?:(?:[.,'_]|[ \u00a0\u202f\u2009](?=\d{3}(?!\d)))\d+)*"


def digits_value(text: str, style: NumberStyle) -> float | None:
    """The value of a run of digits and separators in ``style``, or None if it is not one.

    A lone dot or comma that cannot be a thousands separator (``2.5`` in German, ``2,5`` in
    English) is read as a decimal mark: there is no other way to read it."""
    value = _digits_value(text, style)
    if value is None:  # the other convention, for a student used to it: 1.234,5 in English
        value = _digits_value(text, ENGLISH if style.decimal == "," else _CONTINENTAL)
    return value


def _digits_value(text: str, style: NumberStyle) -> float | None:
    whole, mark, fraction = text.rpartition(style.decimal)
    if not mark:
        whole, fraction = text, ""
    elif not fraction.isdigit():
        return None
    if whole and not whole.isdigit():
        separators = {ch for ch in whole if not ch.isdigit()}
        sep = separators.pop()
        grouped = not separators and sep in style.groups
        if grouped and re.fullmatch(rf"\d{{1,3}}(?:{re.escape(sep)}\d{{3}})+", whole):
            whole = whole.replace(sep, "")
        elif not separators and not mark and sep in ".," and whole.count(sep) == 1:
            whole, _, fraction = whole.partition(sep)  # a lone 2,5 or 2.5
        else:
            return None
    return float(f"{whole or '0'}.{fraction or '0'}")


def format_number(value: float, language: str = "en") -> str:
    """A number in the language's digits: 11000.0 -> '11,000' (en), '11.000' (de),
    '11 000' (fr, uk, ru); 2.5 -> '2.5' (en), '2,5' (others)."""
    style = number_style(language)
    if math.isfinite(value) and value == int(value):
        text = f"{int(value):,}"
    else:
        text = f"{value:,.4f}".rstrip("0").rstrip(".")
    marks: dict[str, str | int | None] = {",": style.group_out, ".": style.decimal}
    return text.translate(str.maketrans(marks))


# --------------------------------------------------------------------------- words per language

# Multipliers written after digits: "11k", "2 mil", "1,5 Millionen", "11 тис.".
_THOUSAND, _MILLION, _BILLION = 1_000, 1_000_000, 1_000_000_000
_SCALE_WORDS: dict[str, dict[str, int]] = {
    "en": {"k": _THOUSAND, "thousand": _THOUSAND, "thousands": _THOUSAND, "m": _MILLION,
           "mn": _MILLION, "mil": _MILLION, "mio": _MILLION, "million": _MILLION,
           "millions": _MILLION, "b": _BILLION, "bn": _BILLION, "billion": _BILLION,
           "billions": _BILLION},
    "fr": {"k": _THOUSAND, "mille": _THOUSAND, "m": _MILLION, "million": _MILLION,
           "millions": _MILLION, "md": _BILLION, "mds": _BILLION, "milliard": _BILLION,
           "milliards": _BILLION},
    "de": {"k": _THOUSAND, "tsd": _THOUSAND, "tausend": _THOUSAND, "mio": _MILLION,
           "million": _MILLION, "millionen": _MILLION, "mrd": _BILLION,
           "milliarde": _BILLION, "milliarden": _BILLION},
    "es": {"k": _THOUSAND, "mil": _THOUSAND, "m": _MILLION, "mill": _MILLION,
           "millón": _MILLION, "millon": _MILLION, "millones": _MILLION},
    "it": {"k": _THOUSAND, "mila": _THOUSAND, "mille": _THOUSAND, "mln": _MILLION,
           "milione": _MILLION, "milioni": _MILLION, "mld": _BILLION, "mrd": _BILLION,
           "miliardo": _BILLION, "miliardi": _BILLION},
    "pt": {"k": _THOUSAND, "mil": _THOUSAND, "mi": _MILLION, "milhão": _MILLION,
           "milhao": _MILLION, "milhões": _MILLION, "milhoes": _MILLION, "bi": _BILLION,
           "bilhão": _BILLION, "bilhões": _BILLION, "mil milhões": _BILLION},
    "nl": {"k": _THOUSAND, "duizend": _THOUSAND, "mln": _MILLION, "miljoen": _MILLION,
           "mld": _BILLION, "miljard": _BILLION},
    "uk": {"k": _THOUSAND, "тис": _THOUSAND, "тисяча": _THOUSAND, "тисячі": _THOUSAND,
           "тисяч": _THOUSAND, "млн": _MILLION, "мільйон": _MILLION, "мільйона": _MILLION,
           "мільйони": _MILLION, "мільйонів": _MILLION, "млрд": _BILLION,
           "мільярд": _BILLION, "мільярда": _BILLION, "мільярди": _BILLION,
           "мільярдів": _BILLION},
    "ru": {"k": _THOUSAND, "тыс": _THOUSAND, "тысяча": _THOUSAND, "тысячи": _THOUSAND,
           "тысяч": _THOUSAND, "млн": _MILLION, "миллион": _MILLION, "миллиона": _MILLION,
           "миллионов": _MILLION, "млрд": _BILLION, "миллиард": _BILLION,
           "миллиарда": _BILLION, "миллиардов": _BILLION},
}  # fmt: skip

# Words that make a fraction of what they follow or precede.
_FRACTION_WORDS: dict[str, dict[str, float]] = {
    "en": {"half": 0.5, "halves": 0.5, "quarter": 0.25, "quarters": 0.25},
    "fr": {"demi": 0.5, "demie": 0.5, "moitié": 0.5, "quart": 0.25, "quarts": 0.25},
    "de": {"halb": 0.5, "halbe": 0.5, "halben": 0.5, "hälfte": 0.5, "viertel": 0.25},
    "es": {"medio": 0.5, "media": 0.5, "mitad": 0.5, "cuarto": 0.25, "cuartos": 0.25,
           "quarto": 0.25},
    "it": {"mezzo": 0.5, "mezza": 0.5, "metà": 0.5, "quarto": 0.25, "quarti": 0.25},
    "pt": {"meio": 0.5, "meia": 0.5, "metade": 0.5, "quarto": 0.25, "quartos": 0.25},
    "nl": {"half": 0.5, "halve": 0.5, "helft": 0.5, "kwart": 0.25},
    "uk": {"половина": 0.5, "половини": 0.5, "половиною": 0.5, "пів": 0.5, "чверть": 0.25,
           "чверті": 0.25, "чвертей": 0.25},
    "ru": {"половина": 0.5, "половины": 0.5, "половиной": 0.5, "пол": 0.5, "четверть": 0.25,
           "четверти": 0.25, "четвертей": 0.25},
}  # fmt: skip
# "two AND a half"; in Ukrainian and Russian "два З половиною", "два С половиной".
_AND_WORDS = {
    "en": {"and"},
    "fr": {"et"},
    "de": {"und"},
    "es": {"y"},
    "it": {"e"},
    "pt": {"e"},
    "nl": {"en"},
    "uk": {"і", "й", "та", "з", "із"},
    "ru": {"и", "с", "со"},
}
_MINUS_WORDS = {
    "en": {"minus", "negative"},
    "fr": {"moins"},
    "de": {"minus"},
    "es": {"menos"},
    "it": {"meno"},
    "pt": {"menos"},
    "nl": {"min"},
    "uk": {"мінус"},
    "ru": {"минус"},
}


# --------------------------------------------------------------------------- Ukrainian, Russian

# Cardinals, written without the apostrophe (the grader drops it: п'ять, пʼять, п’ять are one).
_CYRILLIC_CARDINALS: dict[str, float] = {}
for _value, _forms in [
    (0, "нуль ноль"),
    (1, "один одна одне одно одного одну одним однієї одной"),
    (2, "два дві две двох двух"),
    (3, "три трьох трех"),
    (4, "чотири четыре чотирьох четырех"),
    (5, "пять пяти"),
    (6, "шість шесть шести"),
    (7, "сім семь семи"),
    (8, "вісім восемь восьми"),
    (9, "девять девяти"),
    (10, "десять десяти"),
    (11, "одинадцять одиннадцать"),
    (12, "дванадцять двенадцать"),
    (13, "тринадцять тринадцать"),
    (14, "чотирнадцять четырнадцать"),
    (15, "пятнадцять пятнадцать"),
    (16, "шістнадцять шестнадцать"),
    (17, "сімнадцять семнадцать"),
    (18, "вісімнадцять восемнадцать"),
    (19, "девятнадцять девятнадцать"),
    (20, "двадцять двадцать"),
    (30, "тридцять тридцать"),
    (40, "сорок"),
    (50, "пятдесят пятьдесят"),
    (60, "шістдесят шестьдесят"),
    (70, "сімдесят семьдесят"),
    (80, "вісімдесят восемьдесят"),
    (90, "дев'яносто девяносто"),
    (100, "сто"),
    (200, "двісті двести"),
    (300, "триста"),
    (400, "чотириста четыреста"),
    (500, "пятсот пятьсот"),
    (600, "шістсот шестьсот"),
    (700, "сімсот семьсот"),
    (800, "вісімсот восемьсот"),
    (900, "девятсот девятьсот"),
    (1.5, "півтора півтори полтора полторы"),
]:
    for _form in _forms.replace("'", "").split():
        _CYRILLIC_CARDINALS[_form] = _value

# Ordinal stems, each followed by an adjective ending: перш-ий, трет-ього, восьм-ого.
_CYRILLIC_ORDINAL_STEMS: dict[str, int] = {}
for _value, _forms in [
    (1, "перш перв"),
    (2, "друг втор"),
    (3, "трет"),
    (4, "четверт"),
    (5, "пят"),
    (6, "шост шест"),
    (7, "сьом седьм"),
    (8, "восьм"),
    (9, "девят"),
    (10, "десят"),
    (11, "одинадцят одиннадцат"),
    (12, "дванадцят двенадцат"),
    (13, "тринадцят тринадцат"),
    (14, "чотирнадцят четырнадцат"),
    (15, "пятнадцят пятнадцат"),
    (16, "шістнадцят шестнадцат"),
    (17, "сімнадцят семнадцат"),
    (18, "вісімнадцят восемнадцат"),
    (19, "девятнадцят девятнадцат"),
    (20, "двадцят двадцат"),
    (30, "тридцят тридцат"),
    (40, "сороков"),
    (50, "пятдесят пятидесят"),
    (60, "шістдесят шестидесят"),
    (70, "сімдесят семидесят"),
    (80, "вісімдесят восьмидесят"),
    (90, "девяност"),
    (100, "сот"),
    (200, "двохсот двухсот"),
    (300, "трьохсот трехсот"),
    (400, "чотирьохсот четырехсот"),
    (500, "пятисот"),
    (600, "шестисот"),
    (700, "семисот"),
    (800, "восьмисот"),
    (900, "девятисот"),
    (1000, "тисячн тысячн"),
    (2000, "двохтисячн двухтысячн"),
]:
    for _form in _forms.split():
        _CYRILLIC_ORDINAL_STEMS[_form] = _value
_CYRILLIC_ORDINAL = re.compile(
    "("
    + "|".join(sorted(_CYRILLIC_ORDINAL_STEMS, key=len, reverse=True))
    + ")ь?(ий|ій|ый|ой|а|я|е|є|ее|ое|ого|его|ому|ему|ім|им|ым|ом|ем|у|ю|ую|юю|ої|ей|і|и"
    + "|их|ых|ими|ыми)"
)
_CYRILLIC_SCALES = {
    word: scale
    for word, scale in {**_SCALE_WORDS["uk"], **_SCALE_WORDS["ru"]}.items()
    if word not in ("k", "тис", "тыс", "млн", "млрд")
}
# "дві цілих п'ять десятих" (2.5), "два кома п'ять": the word between and the denominator.
_CYRILLIC_POINT = {"кома", "запятая", "точка", "цілих", "ціла", "цілі", "целых", "целая"}
_CYRILLIC_DENOMINATORS = {
    "десятих": 1, "десятых": 1, "десята": 1, "десятая": 1, "десяті": 1,
    "сотих": 2, "сотых": 2, "сота": 2, "сотая": 2, "соті": 2,
    "тисячних": 3, "тысячных": 3,
}  # fmt: skip


def _cyrillic_word_value(word: str) -> tuple[float, bool] | None:
    """A Cyrillic number word's value and whether it is a scale (тисяча, мільйонів)."""
    if word in _CYRILLIC_DENOMINATORS:
        return None  # "десятих" in "дві цілих п'ять десятих" is not "tenth"
    if word in _CYRILLIC_CARDINALS:
        return _CYRILLIC_CARDINALS[word], False
    if word in _CYRILLIC_SCALES:
        return _CYRILLIC_SCALES[word], True
    ordinal = _CYRILLIC_ORDINAL.fullmatch(word)
    if ordinal:
        value = _CYRILLIC_ORDINAL_STEMS[ordinal.group(1)]
        return value, value >= 1000
    return None


def _cyrillic_words_to_digits(text: str, decimal: str) -> str:
    """Each run of Ukrainian or Russian number words replaced by its digits."""
    out: list[str] = []
    total = current = 0.0
    place = math.inf  # the smallest part written so far: a new word must be smaller
    in_number = False

    def close() -> None:
        nonlocal total, current, place, in_number
        if in_number:
            value = total + current
            digits = str(int(value)) if value == int(value) else str(value)
            out.append(digits.replace(".", decimal))
        total = current = 0.0
        place, in_number = math.inf, False

    for word in re.findall(r"[^\W\d_]+|\S", text.replace("'", "")):
        found = _cyrillic_word_value(word)
        if found is None:
            close()
            out.append(word)
            continue
        value, is_scale = found
        if is_scale:
            if in_number and current == 0 and total > 0:
                close()
            total += (current or 1) * value
            current, place, in_number = 0.0, value, True
            continue
        if in_number and value >= place:  # "два три" is two numbers, "двадцять три" one
            close()
        current += value
        place, in_number = (100 if value >= 100 else 10 if value >= 20 else 1), True
    close()
    joined = " ".join(out)
    point = "|".join(_CYRILLIC_POINT)
    denominators = "|".join(_CYRILLIC_DENOMINATORS)

    def decimal_words(match: re.Match[str]) -> str:
        fraction = match.group(3)
        if match.group(4):
            fraction = fraction.zfill(_CYRILLIC_DENOMINATORS[match.group(4)])
        return f"{match.group(1)}{decimal}{fraction}"

    return re.sub(rf"\b(\d+) ({point}) (\d+)(?: ({denominators})\b)?", decimal_words, joined)


# --------------------------------------------------------------------------- reading


def _words_to_digits(text: str, language: str) -> str:
    lang = base_language(language)
    if lang in ("uk", "ru"):
        return _cyrillic_words_to_digits(text.replace("ё", "е"), number_style(lang).decimal)
    text2num_lang = lang if lang in ("fr", "de", "es", "it", "pt", "nl") else "en"
    text = text.replace(",", " ")  # "six million, two hundred": no digits, so no decimal comma
    if text2num_lang == "en":
        text = re.sub(r"\boh-", "oh ", text)  # twelve oh-two
        text = re.sub(r"\bsixtieth\b", "sixty", text)  # the one ordinal text2num 3.1 lacks
        # text2num stops at "and" before an ordinal: "six hundred and sixtieth" would be 600.
        text = re.sub(r"\b(hundred|thousand|million|billion) and (?!an?\b|one\b)", r"\1 ", text)
    if text2num_lang == "es":
        text = re.sub(r"\bdécimo(?=\w)", "décimo ", text)  # décimoprimero
    if text2num_lang == "it":
        text = re.sub(r"cent(?=ott)", "cento", text)  # novecentottantotto: cento + ottantotto
        # Two ordinals text2num 3.1 lacks, read as their cardinals.
        text = re.sub(r"sedicesim[oaie]\b", "sedici", text)
        text = re.sub(r"settantunesim[oaie]\b", "settantuno", text)
    if text2num_lang == "de":
        text = re.sub(r"\banderthalb\b", "1,5", text)
        text = re.sub(r"(\w)einhalb\b", r"\1 und halb", text)  # zweieinhalb
    if text2num_lang == "nl":
        text = re.sub(r"\bkomma\b", "point", text)  # text2num knows no Dutch decimal word
        converted = str(alpha2digit(text, text2num_lang, threshold=0))
        return re.sub(r"(\d) point (\d)", r"\1,\2", converted)
    converted = str(alpha2digit(text, text2num_lang, threshold=0))
    if text2num_lang == "es":  # text2num leaves "segundo" alone: it is also "a second"
        converted = re.sub(r"\bsegund[oa]\b", "2º", converted)
    if text2num_lang in ("es", "it", "pt"):
        # "tres cuartos" is three quarters, not "3 4th": after a number it is the fraction.
        converted = re.sub(r"(\d) 4(?:º|ᵒˢ|ª|ᵃˢ)", r"\1 quarto", converted)
    return converted


def parse_number(response: str, unit: str | None = None, language: str = "en") -> float:
    """Read one number from a typed response, or raise :class:`NumberParseError`.

    ``unit`` is the item's unit: when it is written like a multiplier ("m" for metres), "200 m"
    means 200 of it, not 200 million. ``language`` is the pack's: it decides the decimal mark,
    the thousands separators and the words."""
    lang = base_language(language)
    text = unicodedata.normalize("NFKC", response).replace("\u2044", "/").strip().lower()
    text = re.sub(r"(?<=\w)[\u2019\u02bc](?=\w)", "'", text)
    from_words = not any(ch.isdigit() for ch in text)
    if from_words and any(ch.isalpha() for ch in text):
        text = _words_to_digits(text, lang)
        # Decimals read digit by digit: "two point two five" is 2.2 5 after text2num.
        text = re.sub(r"\d[.,]\d+(?: \d\b)+", lambda m: m.group().replace(" ", ""), text)
    return _combine(_tokens(text, unit, lang), from_words, lang)


_Token = tuple[str, float]  # ("n", number) | ("f", fraction) | ("and", 0) | ("-", 0)


@lru_cache(maxsize=32)
def _token_pattern(lang: str) -> re.Pattern[str]:
    """A number (digits, a fraction such as 1/2, an exponent) with the scale word after it, or a
    word."""
    scales = _SCALE_WORDS.get(lang, _SCALE_WORDS["en"])
    suffix = "|".join(re.escape(w) for w in sorted(scales, key=len, reverse=True))
    return re.compile(
        rf"(?<![\w.,])(?P<sign>[-+\u2212]?)(?P<num>(?P<top>\d+)/(?P<bottom>\d+)|{_DIGITS}"
        rf"(?:e[-+]?\d+)?)(?:\s*(?P<suffix>{suffix})(?![^\W\d_]))?"
        rf"|(?P<word>[^\W\d_]+)"
    )


def _tokens(text: str, unit: str | None, lang: str) -> list[_Token]:
    style = number_style(lang)
    scales = _SCALE_WORDS.get(lang, _SCALE_WORDS["en"])
    unit_form = unit.strip().casefold() if unit else None
    fractions = _FRACTION_WORDS.get(lang, _FRACTION_WORDS["en"])
    ands = _AND_WORDS.get(lang, _AND_WORDS["en"])
    minus = _MINUS_WORDS.get(lang, set()) | {"minus"}
    tokens: list[_Token] = []
    for match in _token_pattern(lang).finditer(text):
        word = match.group("word")
        if word is not None:
            if word in fractions:
                tokens.append(("f", fractions[word]))
            elif word in ands:
                tokens.append(("and", 0.0))
            elif word in minus:
                tokens.append(("-", 0.0))
            continue
        if match.group("top") is not None:
            bottom = int(match.group("bottom"))
            if bottom == 0:
                raise NumberParseError("no_number")
            value: float | None = int(match.group("top")) / bottom
        else:
            number, _, exponent = match.group("num").partition("e")
            value = digits_value(number, style)
            if value is not None and exponent:
                value = float(f"{value!r}e{exponent}")  # 1e999 is inf, not an error
        if value is None:
            raise NumberParseError("no_number")
        found = match.group("suffix")
        if found and found != unit_form:
            value *= scales[found]
        if match.group("sign") in ("-", "\u2212"):
            value = -value
        tokens.append(("n", value))
    return tokens


def _combine(tokens: list[_Token], from_words: bool, lang: str) -> float:
    """One value from the tokens: a number, a fraction, "two and a half (million)",
    "half a million", "three quarters", a negative, an English year in two halves."""
    sign = 1.0
    if tokens and tokens[0][0] == "-":
        sign, tokens = -1.0, tokens[1:]
    # An "and" counts only before a fraction: "between 10 and 12" is two numbers.
    kept = [
        t
        for i, t in enumerate(tokens)
        if t[0] in ("n", "f") or (t[0] == "and" and i + 1 < len(tokens) and tokens[i + 1][0] == "f")
    ]
    shape = " ".join(kind for kind, _ in kept)
    values = [value for _, value in kept]
    if not values:
        raise NumberParseError("no_number")
    if shape in ("n", "f"):
        value = values[0]
    elif shape == "n f" or (shape == "f n" and _is_scale(values[1])):
        value = values[0] * values[1]  # three quarters, un demi; half a million
    elif shape == "n f n" and _is_scale(values[2]):  # eine halbe Million
        value = values[0] * values[1] * values[2]
    elif shape == "n and f":  # two and a half; deux millions et demi
        value = values[0] + values[2] * _largest_scale(values[0])
    elif shape == "n and f n" and _is_scale(values[3]):  # two and a half million
        value = (values[0] + values[2]) * values[3]
    elif (
        [kind for kind, _ in tokens] == ["n", "n"]
        and from_words
        and lang == "en"
        and _is_year(values[0], values[1])
    ):
        value = values[0] * 100 + values[1]  # nineteen ninety-eight
    elif shape.count("n") > 1:
        raise NumberParseError("two_numbers")
    else:
        raise NumberParseError("no_number")
    return sign * value


def _is_scale(value: float) -> bool:
    return value in (_THOUSAND, _MILLION, _BILLION)


def _largest_scale(value: float) -> float:
    """The scale a round number ends in: 2,000,000 -> 1,000,000; 20 -> 1."""
    for scale in (_BILLION, _MILLION, _THOUSAND):
        if value >= scale and value % scale == 0:
            return scale
    return 1


def _is_year(first: float, second: float) -> bool:
    return first == int(first) and 10 <= first <= 99 and second == int(second) and 0 < second < 100
