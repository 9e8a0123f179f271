"""Keep the message catalogs in step with the code (Babel's Python API, no config file).

    python -m bot.catalogs update    # extract from bot/, merge into every .po, compile .mo
    python -m bot.catalogs compile   # .po -> .mo only (after translating)
    python -m bot.catalogs check     # what is missing, untranslated, fuzzy or stale; exit 1

English is the source language: its catalog is filled with the messages themselves, so the
same check applies to every shipped language. tests/test_i18n.py runs :func:`problems`.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

PACKAGE_DIR = Path(__file__).parent
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "Nn_": (1, 2)}
# A fixed date keeps the files stable: a run that changes no message changes no file.
EPOCH = datetime(2026, 12, 1, tzinfo=UTC)
HEADER = (
    "# The quizbot's messages. Update with `python -m bot.catalogs update`; see\n"
    "# docs/operations.md (Languages). Tone: a friendly tutor, not a form."
)
_FIELD = re.compile(r"\{(\w*)[^{}]*\}")


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: str) -> Path:
    return po_path(language).with_suffix(".mo")


def extract() -> Catalog:
    """Every message marked in bot/, with where it is used."""
    template = Catalog(project="quizbot", domain=DOMAIN, creation_date=EPOCH, fuzzy=False)
    method_map = [("**.py", "python")]
    for filename, lineno, message, comments, context in extract_from_dir(
        PACKAGE_DIR, method_map=method_map, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
    ):
        template.add(
            message,
            None,
            [(f"bot/{filename}", lineno)],
            auto_comments=comments,
            context=context,
            flags=("python-brace-format",) if _has_fields(message) else (),
        )
    return template


def _has_fields(message: str | tuple[str, ...]) -> bool:
    texts = (message,) if isinstance(message, str) else message
    return any(_FIELD.search(text) for text in texts)


def read(language: str) -> Catalog:
    with po_path(language).open("rb") as file:
        return read_po(file, locale=language, domain=DOMAIN)


def write(language: str, catalog: Catalog) -> None:
    path = po_path(language)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=True)
    path.write_bytes(buffer.getvalue())


def compiled(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def update() -> None:
    """Merge the code's messages into every language's catalog, then compile."""
    for language in LANGUAGES:
        template = extract()  # fresh: a catalog takes the template's messages, not copies
        if po_path(language).exists():
            catalog = read(language)
            catalog.update(template, update_creation_date=False)
            catalog.obsolete.clear()  # a message the code dropped is dropped
        else:
            catalog = Catalog(
                locale=language,
                domain=DOMAIN,
                project="quizbot",
                fuzzy=False,
                header_comment=HEADER,
            )
            catalog.creation_date = EPOCH
            catalog.update(template, update_creation_date=False)
        catalog.revision_date = EPOCH
        if language == "en":  # the source language: every message is its own translation
            for message in catalog:
                if message.id:
                    message.string = message.id
                    message.flags.discard("fuzzy")
        write(language, catalog)
    compile_all()


def compile_all() -> None:
    for language in LANGUAGES:
        mo_path(language).write_bytes(compiled(read(language)))


def _translated(message: Message, plurals: int = 1) -> bool:
    """Every form filled in (a plural message needs one per plural form of the language)."""
    if isinstance(message.string, tuple | list):
        return len(message.string) >= plurals and all(message.string[:plurals])
    return bool(message.string)


def _texts(value: object) -> list[str]:
    """A message's id or string as a list (one text, or one per plural form)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple | list):
        return [text for text in value if isinstance(text, str)]
    return []


def _fields(texts: Iterable[str]) -> set[str]:
    return {name for text in texts for name in _FIELD.findall(text)}


def problems() -> list[str]:
    """What keeps the catalogs from matching the code, one line each."""
    template = extract()
    found: list[str] = []
    for language in LANGUAGES:
        if not po_path(language).exists():
            found.append(f"{language}: no catalog at {po_path(language)}")
            continue
        catalog = read(language)
        for wanted in template:
            if not wanted.id:
                continue
            message = catalog.get(wanted.id, wanted.context)
            if message is None:
                found.append(f"{language}: missing {wanted.id!r}")
            elif message.fuzzy:
                found.append(f"{language}: fuzzy {wanted.id!r}")
            elif not _translated(message, catalog.num_plurals if message.pluralizable else 1):
                found.append(f"{language}: untranslated {wanted.id!r}")
            else:
                if not _fields(_texts(message.string)) <= _fields(_texts(wanted.id)):
                    found.append(f"{language}: unknown placeholder in {wanted.id!r}")
        if not mo_path(language).exists() or mo_path(language).read_bytes() != compiled(catalog):
            found.append(f"{language}: {mo_path(language).name} is stale; run compile")
    return found


def main(argv: list[str] | None = None) -> int:
    command = (argv if argv is not None else sys.argv[1:] or ["check"])[0]
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command != "check":
        print(__doc__, file=sys.stderr)
        return 2
    found = problems()
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
