"""A pack file's source fingerprint, which lets an import skip an unchanged pack unparsed.

What validation makes of a pack file depends only on the file's bytes, the bytes of the article
it names (resolved next to the file) and the rules in this package. The fingerprint is a SHA-256
over those bytes and :data:`FORMAT_VERSION`. The importer stores it with a pack that validated
without a single problem. When a later import finds a file with that fingerprint, it knows the
file would give the same pack, so it neither parses nor validates it. Reading and hashing the two
files takes milliseconds. Parsing and validating 10,000 items takes about a second.

Finding the article without parsing the YAML means reading the ``article:`` line with a pattern
(:func:`scan_article_name`), and a pattern is not a YAML parser. So a fingerprint is only
certified (may be stored) when validation asked for exactly the article the pattern found
(:func:`validate_source`). A file whose ``article:`` the pattern misreads never gets a stored
fingerprint, so it is always validated.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from bot.packs.validate import (
    MAX_ARTICLE_BYTES,
    PackReport,
    decode_article,
    file_article_loader,
    validate_pack_bytes,
)
from bot.packs.yamlsafe import MAX_PACK_BYTES

FORMAT_VERSION = 3
"""Bump this whenever the same bytes could give a different pack or different problems: a new
or changed validation rule, a change to the pack or item models, to how items are stored. Every
stored fingerprint then stops matching, so the next import validates every pack again."""

_ARTICLE_LINE = re.compile(rb"^article:(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class PackSource:
    """A pack file and the article it names, as bytes, with their fingerprint."""

    path: Path
    data: bytes
    article_name: str | None
    """None when the file has no ``article:`` line (a pack without an article)."""
    article_data: bytes
    fingerprint: str


def fingerprint(data: bytes, article_data: bytes) -> str:
    """SHA-256 over the format version, the pack's bytes and the article's bytes."""
    digest = hashlib.sha256(f"quizbot pack source v{FORMAT_VERSION}\n{len(data)}\n".encode())
    digest.update(data)
    digest.update(article_data)
    return digest.hexdigest()


def scan_article_name(data: bytes) -> str | None:
    """The value of the top-level ``article:`` key, read without parsing the YAML.

    Handles the forms packs use: a plain value (with an optional ``# comment`` after it), or one
    in single or double quotes without escapes. Returns None for anything else (a block scalar,
    an escape sequence, a value that is not UTF-8). Only the first ``article:`` line is read,
    because looking for a second one would cost most of the time this saves (20 ms for 10,000
    items). A second one is a duplicate key, an error, so that file is never certified anyway.
    """
    found = _ARTICLE_LINE.search(data)
    if found is None:
        return None
    try:
        value = found[1].decode("utf-8").strip(" \t\r")
    except UnicodeDecodeError:
        return None
    if value[:1] == "'":
        inner = value[1:-1]
        if len(value) < 2 or value[-1] != "'" or "'" in inner.replace("''", ""):
            return None
        name = inner.replace("''", "'")
    elif value[:1] == '"':
        inner = value[1:-1]
        if len(value) < 2 or value[-1] != '"' or '"' in inner or "\\" in inner:
            return None
        name = inner
    elif not value or value[0] in "|>&*!{[%@`#,?:-":
        return None
    else:
        name = re.split(r"[ \t]#", value, maxsplit=1)[0].rstrip(" \t")
    return name if name.strip() else None


def read_pack_source(path: Path) -> PackSource | None:
    """Read a pack file and the article it names, and fingerprint them.

    Returns None when either one cannot be read the way validation would read it (the file is
    missing or too large, the article cannot be found). Then the caller takes the normal path,
    which reports the problem.
    """
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_PACK_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_PACK_BYTES:
        return None
    if _ARTICLE_LINE.search(data) is None:
        # No article (or one written in a form the pattern misses, such as a flow mapping:
        # then validation asks for it and the fingerprint is not certified).
        return PackSource(path, data, None, b"", fingerprint(data, b""))
    name = scan_article_name(data)
    if name is None:
        return None
    try:
        article = (path.parent / name).resolve()  # as `file_article_loader` resolves it
        if not article.is_file() or article.stat().st_size > MAX_ARTICLE_BYTES:
            return None
        with article.open("rb") as stream:
            article_data = stream.read(MAX_ARTICLE_BYTES + 1)
    except (OSError, RuntimeError, ValueError):
        return None
    if len(article_data) > MAX_ARTICLE_BYTES:
        return None
    return PackSource(path, data, name, article_data, fingerprint(data, article_data))


def validate_source(source: PackSource) -> tuple[PackReport, bool]:
    """Validate the bytes read by :func:`read_pack_source`, not the files again, so that the
    fingerprint describes exactly what was validated.

    Returns the report (the same as ``validate_pack_file(source.path)`` gives) and whether the
    fingerprint is certified, that is, may be stored with the pack. It is certified when the pack
    has no problem at all, not even a warning (an unchanged import would not show the warning
    again), and validation asked for the article the scan found and for no other.
    """
    asked: list[str] = []
    from_disk = file_article_loader(source.path)

    def load(name: str) -> str:
        asked.append(name)
        if name == source.article_name:
            return decode_article(source.article_data, name)
        return from_disk(name)

    report = validate_pack_bytes(source.data, str(source.path), load)
    expected = [] if source.article_name is None else [source.article_name]
    certified = report.ok and not report.problems and asked == expected
    return report, certified
