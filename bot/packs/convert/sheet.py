"""Read questions from a spreadsheet: ``.csv`` (UTF-8, comma or semicolon) or ``.xlsx``.

The template (docs/pack-format.md): a header row, then one row per item. Columns, in any
order, named case-insensitively; only ``question`` and ``answer`` are required:

``id, type, question, answer, distractors, explanation, source, difficulty, skill, tags,
tolerance, unit``

Several values in one cell (answers of a multi-select or short item, distractors, tags) are
separated by ``|``. Without ``type``, a row with distractors is a choice, ``true``/``false``
a true-false item, a number a number item, anything else a short answer.

``.xlsx`` files are read with openpyxl in read-only mode, with the values the spreadsheet last
computed (formulas are never evaluated here); openpyxl parses the workbook's XML with
defusedxml when it is installed, as it is with this project.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

from bot.packs.convert.common import ConvertProblem, Draft, Parsed
from bot.packs.facts import Fact, Say, fact
from bot.packs.validate import MAX_ITEMS

COLUMNS = (
    "id",
    "type",
    "question",
    "answer",
    "distractors",
    "explanation",
    "source",
    "difficulty",
    "skill",
    "tags",
    "tolerance",
    "unit",
)
SEPARATOR = "|"
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    text = data.decode("utf-8-sig")
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for row in reader:
        yield reader.line_num, [c.strip() for c in row]


MAX_XLSX_UNPACKED = 64 * 1024 * 1024
"""Most bytes an .xlsx file (a zip archive) may unpack to: a few MiB can hold a "zip bomb"."""


class _TooLarge(Exception):
    pass


class _BadWorkbook(Exception):
    pass


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        # zipfile never reads a member past its declared size, so the sum is a real bound.
        unpacked = sum(member.file_size for member in archive.infolist())
    if unpacked > MAX_XLSX_UNPACKED:
        raise _TooLarge(f"it unpacks to {unpacked:,} bytes; at most {MAX_XLSX_UNPACKED:,}")
    # Imported here, not at the top: openpyxl costs the bot ~20 MB of memory for the rare
    # upload of a spreadsheet (quizbot bench's peak memory with 5,000 students).
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except InvalidFileException as exc:
        raise _BadWorkbook(str(exc)) from None
    try:
        sheet = workbook.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell(value) for value in row]
    finally:
        workbook.close()


def read_sheet(data: bytes, xlsx: bool) -> Parsed:
    parsed = Parsed()
    rows = _xlsx_rows(data) if xlsx else _csv_rows(data)
    header: dict[str, int] | None = None
    try:
        for number, row in rows:
            if not any(row):
                continue
            if header is None:
                header = _header(row, number, parsed)
                if header is None:
                    return parsed
                continue
            if len(parsed.drafts) >= MAX_ITEMS:
                parsed.problems.append(
                    ConvertProblem(number, 1, fact(Say.S_TOO_MANY_ROWS, limit=MAX_ITEMS))
                )
                return parsed
            cells = {name: row[i] if i < len(row) else "" for name, i in header.items()}
            draft = _row(cells, number, header, parsed)
            if draft is not None:
                parsed.drafts.append(draft)
    except UnicodeDecodeError as exc:
        parsed.problems.append(ConvertProblem(1, 1, fact(Say.C_NOT_UTF8, offset=exc.start)))
    except csv.Error as exc:
        parsed.problems.append(ConvertProblem(1, 1, fact(Say.S_BAD_CSV, detail=str(exc))))
    except (
        _TooLarge,
        _BadWorkbook,
        zipfile.BadZipFile,
        KeyError,
        OSError,
        ValueError,
    ) as exc:
        parsed.problems.append(ConvertProblem(1, 1, fact(Say.S_BAD_XLSX, detail=str(exc))))
    if header is None and not parsed.problems:
        parsed.problems.append(ConvertProblem(1, 1, fact(Say.S_EMPTY)))
    return parsed


def _header(row: list[str], number: int, parsed: Parsed) -> dict[str, int] | None:
    header: dict[str, int] = {}
    for index, name in enumerate(row):
        key = name.strip().lower()
        if not key:
            continue
        if key not in COLUMNS:
            parsed.problems.append(
                ConvertProblem(
                    number,
                    index + 1,
                    fact(Say.S_UNKNOWN_COLUMN, name=name, columns=", ".join(COLUMNS)),
                )
            )
        elif key in header:
            parsed.problems.append(
                ConvertProblem(number, index + 1, fact(Say.S_COLUMN_TWICE, name=name))
            )
        else:
            header[key] = index
    for required in ("question", "answer"):
        if required not in header:
            parsed.problems.append(ConvertProblem(number, 1, fact(Say.S_NO_COLUMN, name=required)))
    return None if parsed.problems else header


def _values(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(SEPARATOR) if part.strip()]


def _number(text: str) -> float | None:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _row(
    cells: dict[str, str], number: int, header: dict[str, int], parsed: Parsed
) -> Draft | None:
    def problem(column: str, said: Fact) -> None:
        parsed.problems.append(ConvertProblem(number, header.get(column, 0) + 1, said))

    question, answer = cells["question"], cells["answer"]
    if not question:
        problem("question", fact(Say.S_NO_QUESTION))
        return None
    if not answer:
        problem("answer", fact(Say.S_NO_ANSWER))
        return None
    kind = cells.get("type", "").lower()
    distractors = _values(cells.get("distractors", ""))
    if not kind:
        if distractors:
            kind = "choice"
        elif answer.lower() in ("true", "false"):
            kind = "truefalse"
        elif _number(answer) is not None:
            kind = "number"
        else:
            kind = "short"
    body: dict[str, Any] = {"type": kind, "question": question}
    if kind == "choice":
        answers = _values(answer)
        body["answer"] = answers if len(answers) > 1 else answers[0]
        body["distractors"] = distractors
    elif kind == "truefalse":
        if answer.lower() not in _TRUE | _FALSE:
            problem("answer", fact(Say.S_NOT_TRUEFALSE, answer=answer))
            return None
        body["answer"] = answer.lower() in _TRUE
    elif kind == "short":
        body["answers"] = _values(answer)
    elif kind == "number":
        value = _number(answer)
        if value is None:
            problem("answer", fact(Say.S_NOT_A_NUMBER, answer=answer))
            return None
        body["answer"] = value
        tolerance = cells.get("tolerance", "")
        if tolerance:
            if tolerance.endswith("%"):
                body["tolerance"] = tolerance
            elif (number_value := _number(tolerance)) is not None:
                body["tolerance"] = number_value
            else:
                problem("tolerance", fact(Say.S_BAD_TOLERANCE, tolerance=tolerance))
                return None
        if cells.get("unit"):
            body["unit"] = cells["unit"]
    else:
        problem("type", fact(Say.S_UNKNOWN_TYPE, type=kind))
        return None
    for key in ("explanation", "source", "difficulty", "skill"):
        if cells.get(key):
            body[key] = cells[key]
    tags = _values(cells.get("tags", ""))
    if tags:
        body["tags"] = tags
    return Draft(body, name=cells.get("id", ""))
