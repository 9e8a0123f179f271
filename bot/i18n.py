"""The bot's words in the reader's language: gettext catalogs, one per shipped language.

Messages are written in English in the code, marked for extraction as ``t.gettext("...")``,
``t.ngettext("{n} point", "{n} points", n, n=n)`` (``t`` a :class:`Translator`) or, where
the text is only translated later (menus, tables of texts), ``N_("...")``. Placeholders are
``str.format`` fields passed by name. :mod:`bot.catalogs` extracts them into
``bot/locale/<lang>/LC_MESSAGES/quizbot.po`` and compiles the ``.mo`` files read here.

Which language: the one chosen with ``/language`` (stored per user, and per group chat), else
Telegram's ``language_code`` when we ship it (private chats), else English.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

DOMAIN = "quizbot"
LOCALE_DIR = Path(__file__).with_name("locale")
DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "uk", "ru", "es")
"""The shipped languages, in the order ``/language`` offers them."""
LANGUAGE_NAMES = {"en": "English", "uk": "Українська", "ru": "Русский", "es": "Español"}
"""Each language by its own name (what a speaker looks for on a button)."""


def N_(message: str) -> str:
    """Mark ``message`` for extraction; translate it later with :meth:`Translator.gettext`."""
    return message


def shipped(code: str | None) -> str | None:
    """The shipped language of a language tag (``en-US`` → ``en``, ``uk_UA.UTF-8`` → ``uk``),
    or None when we do not ship it."""
    if not code:
        return None
    base = code.replace("_", "-").split("-")[0].split(".")[0].strip().lower()
    return base if base in LANGUAGES else None


def pick_language(chosen: str | None, telegram_code: str | None, group: bool) -> str:
    """The chosen language if shipped; in a private chat, else Telegram's ``language_code``
    when shipped; else English (a group speaks English until an admin chooses)."""
    if chosen in LANGUAGES:
        return chosen
    if not group:
        return shipped(telegram_code) or DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def locale_language(environ: Mapping[str, str] = os.environ) -> str:
    """The terminal's language, read like gettext does (``LANGUAGE``, ``LC_ALL``,
    ``LC_MESSAGES``, ``LANG``): the first shipped one, else English."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if not value:
            continue
        for tag in value.split(":"):
            found = shipped(tag)
            if found is not None:
                return found
        if name != "LANGUAGE":  # the first set of LC_ALL, LC_MESSAGES, LANG decides
            break
    return DEFAULT_LANGUAGE


class Translator:
    """One language's catalog, with placeholders filled in by name."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.catalog = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])

    def gettext(self, message: str, **params: object) -> str:
        text = self.catalog.gettext(message)
        return text.format(**params) if params else text

    def ngettext(self, singular: str, plural: str, n: int, **params: object) -> str:
        """The form of ``n`` (Ukrainian and Russian have three); ``n`` is also ``{n}``."""
        return self.catalog.ngettext(singular, plural, n).format(n=n, **params)


@lru_cache(maxsize=len(LANGUAGES))
def translator(language: str) -> Translator:
    """The translator of a shipped language (English for any other)."""
    return Translator(language if language in LANGUAGES else DEFAULT_LANGUAGE)
