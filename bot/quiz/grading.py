"""The grader: marks every kind of answer and says why. Pure functions, no I/O, no Telegram.

Typed answers are compared in a normal form (:func:`normalize`): Unicode NFKC, case folding,
accents removed, typographic quotes made plain, punctuation dropped (``U.S.`` is ``US``),
whitespace squashed, ``&`` read as "and", and leading articles dropped.

Short answers are tried in the order the author listed them, in three passes; the first match
wins:

1. exact matches, and wildcard matches of answers that earn credit;
2. near misses of answers that earn credit, within the item's typo tolerance (never in digits);
3. wildcard matches of answers that earn nothing: catch-alls such as ``*`` with feedback, which
   must not swallow a misspelt right answer.

Numbers are read in the pack's language by :mod:`bot.quiz.numbers`: "11,000" in English,
"11.000" or "11 000" in German or Ukrainian, "2,5", "11k", "eleven thousand", "dix-neuf cents",
"одинадцять тисяч", "half a million", with an optional unit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from bot.packs.model import (
    AcceptedAnswer,
    ChoiceItem,
    Item,
    NumberItem,
    PackSettings,
    ShortItem,
    TrueFalseItem,
)
from bot.quiz.numbers import NumberParseError, format_number, parse_number
from bot.text import WILDCARD, answer_form, normalize

__all__ = [
    "Grade",
    "Note",
    "NumberParseError",
    "format_number",
    "grade_choice",
    "grade_number",
    "grade_short",
    "grade_typed",
    "option_letters",
    "parse_choice",
    "parse_number",
    "parse_truefalse",
    "typo_allowance",
]


NoteKind = Literal[
    "type_words",
    "check_spelling",
    "close_spelling",
    "you_answered",
    "no_number",
    "two_numbers",
    "option_range",
    "answer_please",
    "tap_or_type",
]


@dataclass(frozen=True)
class Note:
    """Something the grader tells the student, as a fact the adapters put into words in the
    student's language: ``check_spelling`` of ``text`` (the accepted answer), ``you_answered``
    ``text`` (the number as read, in the pack's notation), ``option_range`` and
    ``tap_or_type`` from 1 to ``count``, and reminders that need no value."""

    kind: NoteKind
    text: str = ""
    count: int = 0


@dataclass(frozen=True)
class Grade:
    """The outcome of grading one response."""

    correct: bool
    """Full marks."""
    score: float
    """From 0 to 1; partial credit gives a value in between."""
    matched: str | None = None
    """The accepted answer (or option) that the response matched."""
    feedback: str | None = None
    """The author's feedback for the answer matched (pack content, never translated)."""
    near_miss: bool = False
    """The response was within the typo tolerance of an accepted answer."""
    unreadable: bool = False
    """The response is not an answer at all (no number, no option): ask again, record nothing."""
    note: Note | None = None
    """The grader's own remark (a spelling note, the number as read, how to answer)."""


# --------------------------------------------------------------------------- choices


def grade_choice(item: ChoiceItem | TrueFalseItem, selected: Collection[int]) -> Grade:
    """Grade the options picked (indices into ``item.option_texts``, authored order).

    Single answer: right or wrong. Multi-select: full marks for exactly the right set, and a
    partial score of (right picks − wrong picks) / correct options, never below zero.
    """
    texts = item.option_texts
    picked = frozenset(i for i in selected if 0 <= i < len(texts))
    correct = item.correct_indices
    feedback_by_option = item.feedback if isinstance(item, ChoiceItem) else {}
    notes = [feedback_by_option[texts[i]] for i in sorted(picked) if texts[i] in feedback_by_option]
    feedback = "\n".join(notes) or None
    if picked == correct:
        return Grade(True, 1.0, ", ".join(texts[i] for i in sorted(picked)), feedback)
    if isinstance(item, ChoiceItem) and item.multiple:
        hits = len(picked & correct)
        wrong = len(picked - correct)
        score = max(0.0, (hits - wrong) / len(correct))
        return Grade(False, round(score, 4), None, feedback)
    return Grade(False, 0.0, None, feedback)


# Typed true/false in every pack language (normal forms: no accents, "sì" is "si").
_TRUE_WORDS = {
    *("t", "true", "yes", "y", "right", "correct", "1"),
    *("vrai", "oui", "wahr", "ja", "richtig", "verdadero", "si", "vero", "verdadeiro", "sim"),
    *("waar", "sandt", "так", "правда", "вірно", "да", "верно"),
}
_FALSE_WORDS = {
    *("f", "false", "no", "n", "wrong", "incorrect", "0"),
    *("faux", "non", "falsch", "nein", "falso", "nao", "onwaar", "nee", "falsk", "nej"),
    *("ні", "неправда", "невірно", "нет", "неверно"),
}


def parse_truefalse(response: str) -> bool | None:
    form = normalize(response)
    if form in _TRUE_WORDS:
        return True
    if form in _FALSE_WORDS:
        return False
    return None


LATIN_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
OPTION_LETTERS = {
    # School tests in Ukraine and Russia letter options А, Б, В, Г, Д (skipping Ґ, Ё, Й).
    "uk": "АБВГДЕЄЖЗИІЇКЛМНОПРСТУФХЦЧШЩЮЯ",
    "ru": "АБВГДЕЖЗИКЛМНОПРСТУФХЦЧШЩЭЮЯ",
}
"""The letters that label options, by the reader's language (Latin for any other)."""

# Cyrillic letters drawn like Latin ones: a reader shown A, B, C, E with a Cyrillic keyboard
# on types these.
_LATIN_LOOKALIKES = {"а": "a", "в": "b", "с": "c", "е": "e"}


def option_letters(language: str) -> str:
    """The letters options are labelled with for a reader of ``language``, in order."""
    return OPTION_LETTERS.get(language, LATIN_LETTERS)


def parse_choice(
    item: ChoiceItem | TrueFalseItem,
    response: str,
    order: list[int] | None = None,
    language: str = "en",
) -> frozenset[int] | None:
    """Read a typed choice: option numbers or letters as shown ("2", "b", "1, 3") or an
    option's own text. ``order`` maps shown positions to authored indices; ``language`` is the
    reader's, whose letters (:func:`option_letters`) label the options: Ukrainian and Russian
    readers are shown А, Б, В, Г and may type them, or Latin letters; other readers are shown
    Latin letters, and Cyrillic look-alikes (А, В, С, Е) are read as those."""
    texts = item.option_texts
    shown = order if order is not None else list(range(len(texts)))
    if isinstance(item, TrueFalseItem) and not response.strip().isdecimal():
        # Digits are positions as shown ("2" is the second button), words are answers.
        value = parse_truefalse(response)
        if value is not None:
            return frozenset({0 if value else 1})
    form = normalize(response, "xx")
    for index in shown:
        if form == normalize(texts[index], "xx"):
            return frozenset({index})
    letters = option_letters(language).lower()
    tokens = [t.strip("().:") for t in re.split(r"[\s,;/]+|\band\b", response.strip().lower())]
    picked: set[int] = set()
    for token in filter(None, tokens):
        position = _letter_position(token, letters) if len(token) == 1 else None
        if token.isdecimal() and 1 <= int(token) <= len(shown):
            picked.add(shown[int(token) - 1])
        elif position is not None and position < len(shown):
            picked.add(shown[position])
        else:
            return None
    return frozenset(picked) or None


def _letter_position(letter: str, letters: str) -> int | None:
    """The position a typed (lower-case) letter names, among the reader's ``letters``."""
    if letter in letters:
        return letters.index(letter)
    if letters[0] == "a":
        letter = _LATIN_LOOKALIKES.get(letter, letter)
    if "a" <= letter <= "z":
        return ord(letter) - ord("a")
    return None


# --------------------------------------------------------------------------- short answers


def typo_allowance(answer_form: str, tolerance: int | str) -> int:
    """Edits allowed for a near miss: the item's number, or by length when it says ``auto``."""
    if isinstance(tolerance, int):
        return tolerance
    letters = len(answer_form.replace(" ", ""))
    if letters <= 3:
        return 0
    if letters <= 7:
        return 1
    return 2


@lru_cache(maxsize=4096)
def _pattern(form: str) -> re.Pattern[str] | None:
    if WILDCARD not in form:
        return None
    parts = [re.escape(part) for part in form.split(WILDCARD)]
    return re.compile(".*".join(parts), re.DOTALL)


_ROMAN = re.compile(r"m{0,3}(cm|cd|d?c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})")


def _numbers(form: str) -> list[str]:
    """The numbers in a normal form: digits, and words that are Roman numerals (``iii``)."""
    found = re.findall(r"\d+(?:\.\d+)?", form)
    found += [w for w in form.split(" ") if w and not w.isdigit() and _ROMAN.fullmatch(w)]
    return found


def grade_short(
    item: ShortItem, response: str, language: str = "en", settings: PackSettings | None = None
) -> Grade:
    """Grade a typed short answer against the item's accepted answers."""
    defaults = settings or PackSettings()
    tolerance = (
        item.typo_tolerance if item.typo_tolerance is not None else (defaults.typo_tolerance)
    )
    on_typo = item.on_typo or defaults.on_typo
    form = normalize(response, language)
    if not form:
        return Grade(False, 0.0, None, None, unreadable=True, note=Note("type_words"))
    accepted = item.accepted
    forms = [answer_form(a.text, language) for a in accepted]
    # Pass 1: exact matches, and wildcard matches that earn credit, in the author's order.
    for answer, expected in zip(accepted, forms, strict=True):
        pattern = _pattern(expected)
        if pattern is None:
            hit = form == expected
        else:
            hit = answer.credit > 0 and pattern.fullmatch(form) is not None
        if hit:
            return _matched(answer)
    # Pass 2: near misses, in the author's order. Numbers in an answer must be exact: a typo
    # tolerance never turns 1998 into 1999, nor World War III into World War II.
    for answer, expected in zip(accepted, forms, strict=True):
        if _pattern(expected) is not None or answer.credit <= 0:
            continue
        allowed = typo_allowance(expected, tolerance)
        if allowed == 0 or _numbers(form) != _numbers(expected):
            continue
        # rapidfuzz (3 MB) loads with the first near miss, not with the bot (issue 12).
        from rapidfuzz.distance import OSA

        distance = OSA.distance(form, expected, score_cutoff=allowed)
        if distance > allowed:
            continue
        if on_typo == "accept":
            return Grade(
                answer.credit >= 1,
                answer.credit,
                answer.text,
                answer.feedback,
                near_miss=True,
                note=Note("check_spelling", answer.text),
            )
        if on_typo == "hint":
            return Grade(False, 0.0, None, None, near_miss=True, note=Note("close_spelling"))
        return Grade(False, 0.0, None, None, near_miss=True)
    # Pass 3: catch-alls that earn nothing but say something ("*" with feedback).
    for answer, expected in zip(accepted, forms, strict=True):
        pattern = _pattern(expected)
        if pattern is not None and answer.credit <= 0 and pattern.fullmatch(form) is not None:
            return _matched(answer)
    return Grade(False, 0.0, None, None)


def _matched(answer: AcceptedAnswer) -> Grade:
    return Grade(answer.credit >= 1, answer.credit, answer.text, answer.feedback)


# --------------------------------------------------------------------------- numbers


def grade_number(item: NumberItem, response: str, language: str = "en") -> Grade:
    """Grade a typed number within the item's tolerance, read in the pack's ``language``."""
    try:
        value = parse_number(response, item.unit, language)
    except NumberParseError as exc:
        return Grade(False, 0.0, None, None, unreadable=True, note=Note(exc.kind))
    if not math.isfinite(value):
        return Grade(False, 0.0, None, None, unreadable=True, note=Note("no_number"))
    if abs(value - item.answer) <= item.absolute_tolerance + 1e-9 * max(1.0, abs(item.answer)):
        return Grade(True, 1.0, format_number(item.answer, language), None)
    return Grade(False, 0.0, None, None, note=Note("you_answered", format_number(value, language)))


# --------------------------------------------------------------------------- dispatch


def grade_typed(
    item: Item,
    response: str,
    language: str = "en",
    settings: PackSettings | None = None,
    order: list[int] | None = None,
) -> Grade:
    """Grade a typed response to any kind of item (a choice may be answered by number,
    letter or the option's text)."""
    if isinstance(item, ShortItem):
        return grade_short(item, response, language, settings)
    if isinstance(item, NumberItem):
        return grade_number(item, response, language)
    picked = parse_choice(item, response, order)
    if picked is None:
        count = len(order) if order is not None else len(item.option_texts)
        return Grade(
            False, 0.0, None, None, unreadable=True, note=Note("option_range", count=count)
        )
    return grade_choice(item, picked)
