"""Text helpers shared by the pack validator and the grader (no I/O, no Telegram)."""

from __future__ import annotations

import re

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
    }
)

_WHITESPACE = re.compile(r"\s+")


def plain_quotes(text: str) -> str:
    """Replace typographic quotes and apostrophes with their ASCII forms."""
    return text.translate(TYPOGRAPHIC)


def squash_whitespace(text: str) -> str:
    """Collapse every run of whitespace (including newlines) to one space and strip the ends."""
    return _WHITESPACE.sub(" ", text).strip()


def shorten(text: str, limit: int, ellipsis: str = "…") -> str:
    """Cut `text` to at most `limit` characters, ending with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(ellipsis))].rstrip() + ellipsis
