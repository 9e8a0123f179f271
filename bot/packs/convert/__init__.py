"""Convert question files from other tools into a YAML pack: Moodle XML, GIFT, Aiken, and
spreadsheets (.csv, .xlsx). A pure function of the file's name and bytes (and, optionally, the
article's text): no I/O, nothing executed. The result is a YAML pack the instructor reads,
fixes where marked ``# check``, validates and publishes as usual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath

from bot.packs import limits
from bot.packs.convert.aiken import looks_like_aiken, read_aiken
from bot.packs.convert.common import ConvertProblem, Parsed, pack_yaml, slug_of
from bot.packs.convert.gift import read_gift
from bot.packs.convert.moodle_xml import read_moodle_xml
from bot.packs.convert.sheet import read_sheet
from bot.packs.facts import Fact, Say, fact
from bot.packs.validate import PackReport, validate_pack_bytes
from bot.packs.yamlsafe import MAX_PACK_BYTES
from bot.text import shorten

FORMATS = {
    ".xml": "Moodle XML",
    ".gift": "GIFT",
    ".aiken": "Aiken",
    ".txt": "GIFT or Aiken",
    ".csv": "CSV",
    ".xlsx": "Excel workbook",
}
"""File name endings :func:`convert` reads, and what it reads them as."""

MAX_INPUT_BYTES = MAX_PACK_BYTES


@dataclass
class Conversion:
    """The outcome of converting one file."""

    file: str
    format: str = ""
    yaml_text: str = ""
    """The pack, empty when nothing could be converted."""
    items: int = 0
    skipped: list[Fact] = field(default_factory=list)
    """Questions left out, each with its name and why."""
    problems: list[ConvertProblem] = field(default_factory=list)
    """Input that could not be read, with line and column."""
    report: PackReport | None = None
    """The converted pack validated like any pack (None when nothing was converted)."""

    @property
    def ok(self) -> bool:
        """Every question was read (skipped ones aside) and the pack is valid."""
        return not self.problems and self.items > 0 and self.report is not None and self.report.ok


def convert(
    file_name: str,
    data: bytes,
    article_name: str | None = None,
    article_text: str | None = None,
    pack_file: str | None = None,
) -> Conversion:
    """Convert one question file. With an article, each item gets the sentence of the article
    that best supports it as a proposed ``source`` (marked ``# check``), and ``article:`` names
    ``article_name``; without one, the pack has no article. ``pack_file`` is the name the
    validation problems give the pack (``SLUG.yaml`` by default)."""
    suffix = PurePath(file_name).suffix.lower()
    result = Conversion(file_name, FORMATS.get(suffix, ""))
    if suffix not in FORMATS:
        formats = ", ".join(FORMATS)
        result.problems.append(
            ConvertProblem(
                1,
                1,
                fact(Say.C_UNKNOWN_FILE, suffix=suffix, formats=formats)
                if suffix
                else fact(Say.C_NO_ENDING, formats=formats),
            )
        )
        return result
    if len(data) > MAX_INPUT_BYTES:
        result.problems.append(
            ConvertProblem(1, 1, fact(Say.C_TOO_BIG, size=len(data), limit=MAX_INPUT_BYTES))
        )
        return result
    parsed = _read(suffix, data, result)
    result.skipped, result.problems = parsed.skipped, parsed.problems
    result.items = len(parsed.drafts)
    if not parsed.drafts:
        if not parsed.problems:
            result.problems.append(ConvertProblem(1, 1, fact(Say.C_NOTHING)))
        return result
    stem = PurePath(file_name).stem
    slug = slug_of(stem)
    words = stem.replace("_", " ").replace("-", " ").strip().capitalize()
    title = shorten(words, limits.TITLE) or "Imported questions"
    origin = f"{PurePath(file_name).name} ({result.format})"
    result.yaml_text = pack_yaml(slug, title, parsed.drafts, article_name, article_text, origin)

    def load(name: str) -> str:
        return article_text or ""

    shown = pack_file or f"{slug}.yaml"
    result.report = validate_pack_bytes(result.yaml_text.encode(), shown, load)
    return result


def _read(suffix: str, data: bytes, result: Conversion) -> Parsed:
    if suffix == ".xml":
        return read_moodle_xml(data)
    if suffix in (".csv", ".xlsx"):
        return read_sheet(data, xlsx=suffix == ".xlsx")
    if suffix == ".aiken":
        return read_aiken(data)
    if suffix == ".txt":
        text = data.decode("utf-8-sig", errors="replace")
        if looks_like_aiken(text):
            result.format = "Aiken"
            return read_aiken(data)
        result.format = "GIFT"
    return read_gift(data)


__all__ = ["FORMATS", "Conversion", "ConvertProblem", "convert"]
