"""Text helpers shared by the pack validator and the grader (no I/O, no Telegram)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from anyascii import anyascii

# Typographic quotes, apostrophes and primes an author may paste from a word processor,
# mapped to their ASCII forms so that "Bloody Joe" matches “Bloody Joe”.
TYPOGRAPHIC = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark / apostrophe
        "\u201a": "'",  # single low-9 quotation mark
        "\u201b": "'",  # single high-reversed-9 quotation mark
        "\u2032": "'",  # prime
        "\u00b4": "'",  # acute accent used as an apostrophe
        "\u0060": "'",  # grave accent used as an apostrophe
        "\u201c": '"',  # left double quotation mark
        "\u201d": '"',  # right double quotation mark
        "\u201e": '"',  # double low-9 quotation mark
        "\u201f": '"',  # double high-reversed-9 quotation mark
        "\u2033": '"',  # double prime
        "\u00ab": '"',  # left-pointing double angle quotation mark
        "\u00bb": '"',  # right-pointing double angle quotation mark
        "\u02bc": "'",  # modifier letter apostrophe, the Ukrainian apostrophe in пʼять
    }
)

_TYPOGRAPHIC_PAIRS = tuple((chr(code), str(plain)) for code, plain in TYPOGRAPHIC.items())


def plain_quotes(text: str) -> str:
    """Replace typographic quotes and apostrophes with their ASCII forms."""
    if text.isascii() and "`" not in text:
        return text  # the common case
    return replace_each(text, _TYPOGRAPHIC_PAIRS)


def replace_each(text: str, pairs: tuple[tuple[str, str], ...]) -> str:
    """``text.translate`` for a table of single characters whose replacements are not in the
    table: a few scans of the text, where a translation looks up every character (ten times
    slower on a sentence that is not ASCII)."""
    for old, new in pairs:
        if old in text:
            text = text.replace(old, new)
    return text


QUOTATION_MARKS = "\"'\u201c\u201d\u2018\u2019\u00ab\u00bb\u201e"


def quoted(text: str, left: str = "\u201c", right: str = "\u201d") -> str:
    """``text`` in quotation marks, unless it already is (a quote of a speech has its own)."""
    text = text.strip()
    if len(text) > 1 and text[0] in QUOTATION_MARKS and text[-1] in QUOTATION_MARKS:
        return text
    return f"{left}{text}{right}"


def squash_whitespace(text: str) -> str:
    """Collapse every run of whitespace (including newlines) to one space and strip the ends."""
    # What `str.split` splits on is exactly what `\s` matches and `str.strip` strips.
    return " ".join(text.split())


def shorten(text: str, limit: int, ellipsis: str = "…") -> str:
    """Cut `text` to at most `limit` characters, ending with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(ellipsis))].rstrip() + ellipsis


# --------------------------------------------------------------------------- answers

WILDCARD = "\ue000"
"""Stands for an author's ``*`` in a normalised answer: a private-use character, which
:func:`normalize` keeps while it turns other symbols into spaces."""

_ARTICLES = {
    "en": ("the", "a", "an"),
    "fr": ("le", "la", "les", "l", "un", "une", "des"),
    "de": ("der", "die", "das", "ein", "eine"),
    "es": ("el", "la", "los", "las", "un", "una"),
    "it": ("il", "lo", "la", "i", "gli", "le", "l", "un", "una", "uno"),
    "pt": ("o", "a", "os", "as", "um", "uma"),
    "nl": ("de", "het", "een"),
}
# Articles written with an apostrophe and no space: "l'Ukraine" is "Ukraine".
_ELIDED_ARTICLE = {
    "fr": re.compile(r"(?<!\w)(l)'(?=\w)"),
    "it": re.compile(r"(?<!\w)(l|un)'(?=\w)"),
}
_AND = {
    "en": "and",
    "fr": "et",
    "de": "und",
    "es": "y",
    "it": "e",
    "pt": "e",
    "nl": "en",
    "uk": "і",
    "ru": "и",
}
# German writes umlauts as a following e when it has no umlaut to hand: Mueller is Müller.
_GERMAN_UMLAUTS = {"ä": "ae", "ö": "oe", "ü": "ue"}

# 11,000 / 11 000 / 11'000: digit groups of three after a group of one to three digits.
_GROUPED_NUMBER = re.compile(r"(?<![\d.,])\d{1,3}(?:[,\u00a0\u202f\u2009'_ ]\d{3})+(?![\d])")
_GROUP_SEPARATOR = re.compile(r"[,\u00a0\u202f\u2009'_ ]")
_APOSTROPHE_IN_WORD = re.compile(r"(?<=\w)'(?=\w)")
# Letters with dots: u.s., e.g., a.m. (the dots go, so that "U.S." is "US").
_DOTTED_LETTERS = re.compile(r"(?<![\w.])(?:[^\W\d_]\.)+[^\W\d_](?:\.|(?=\W)|$)")
_SPACES = re.compile(r"\s+")


def _lang(language: str) -> str:
    return language.split("-", 1)[0].lower()


def _is_latin(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("LATIN")


def fold_letters(text: str, language: str = "en") -> str:
    """Latin letters transliterated to ASCII (Łódź is Lodz, Ørsted is Orsted, Straße is
    Strasse; in German ä is ae), every other script kept as it is: a Cyrillic answer is graded
    in Cyrillic (й, ї and є stay, only ё is е), and a Latin spelling never equals a Cyrillic
    word. Combining marks (accents, Russian stress marks) are dropped. ``text`` is case-folded."""
    if text.isascii():
        return text
    german = _lang(language) == "de"
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        if ch.isascii():
            out.append(ch)
        elif german and ch in _GERMAN_UMLAUTS:
            out.append(_GERMAN_UMLAUTS[ch])
        elif ch == "ё":
            out.append("е")
        elif _is_latin(ch):
            out.append(anyascii(ch).lower())
        elif unicodedata.name(ch, "").startswith("CYRILLIC"):
            out.append(ch)  # й and ї are letters of their own, not и and і with a mark
        else:
            out.extend(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
    return "".join(out)


CACHED_TEXT_CHARS = 100
"""Texts up to this length have their normal form cached (the packs' accepted answers, most
typed answers). A longer one is worked out each time: a message can hold 4,096 characters (up
to 16 KiB in memory), so a cache of 4,096 whole messages and their forms could hold 128 MiB;
of texts up to 100 characters (of any script), with their forms, at most about 4.5 MiB."""


def normalize(text: str, language: str = "en") -> str:
    """The form in which typed answers are compared: Unicode NFKC, case folding, Latin letters
    transliterated (:func:`fold_letters`), typographic quotes made plain, digit groups joined
    (``11 000`` is ``11000``), apostrophes inside words and dots in abbreviations dropped
    (``U.S.`` is ``US``), other punctuation and symbols turned into spaces, ``&`` read as
    "and", whitespace squashed and leading articles dropped. Private-use characters are kept
    (the grader's wildcard)."""
    if len(text) <= CACHED_TEXT_CHARS:
        return _cached_normal_form(text, language)
    return _normal_form(text, language)


def _normal_form(text: str, language: str) -> str:
    lang = _lang(language)
    text = unicodedata.normalize("NFKC", text)
    text = _SPACES.sub(" ", plain_quotes(text).casefold())
    text = fold_letters(text, lang)
    text = _GROUPED_NUMBER.sub(lambda m: _GROUP_SEPARATOR.sub("", m.group()), text)
    if lang in _ELIDED_ARTICLE:
        text = _ELIDED_ARTICLE[lang].sub(r"\1 ", text)  # l'ukraine -> l ukraine
    text = _APOSTROPHE_IN_WORD.sub("", text)  # ukraine's -> ukraines
    text = _DOTTED_LETTERS.sub(lambda m: m.group().replace(".", ""), text)
    text = text.replace("&", f" {_AND.get(lang, 'and')} ")
    out: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch == "." and out and out[-1].isdigit():
            out.append(ch)  # keep decimal points: 3.5 is not 35
        elif category[0] in "PSZC" and category != "Co":
            out.append(" ")
        else:
            out.append(ch)
    words = _SPACES.sub(" ", "".join(out)).strip().split(" ")
    words = [w.rstrip(".") or w for w in words]
    articles = _ARTICLES.get(lang, ())
    while len(words) > 1 and words[0] in articles:
        words.pop(0)
    return " ".join(w for w in words if w)


_cached_normal_form = lru_cache(maxsize=4096)(_normal_form)


def answer_form(text: str, language: str = "en") -> str:
    """The normal form of an author's accepted answer, each ``*`` kept as :data:`WILDCARD`."""
    return normalize(text.replace("*", WILDCARD), language)
