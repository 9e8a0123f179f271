"""Read GIFT, Moodle's plain-text question format.

Why our own parser: the GIFT parsers on PyPI are stale (pygiftparser's last release is from
2017, pygiftparserrgmf is a 0.0.x from 2022) or convert GIFT to Moodle XML text instead of
giving questions (gift-to-moodlexml, 0.1.x); none reports errors with line and column. The
grammar is small; this follows Moodle's reference (docs.moodle.org, "GIFT
format") and Moodle's own ``qformat_gift`` reading order:

- questions are separated by blank lines; lines starting with ``//`` are comments;
- ``$CATEGORY: path`` sets the category (→ a tag) for the questions after it;
- ``::title::`` names a question (→ its item id); ``[html]``, ``[moodle]``, ``[plain]`` or
  ``[markdown]`` gives the text's format (HTML is turned into plain text);
- the answer block ``{...}``: ``T``/``F``/``TRUE``/``FALSE`` (true-false), ``=right ~wrong``
  (multiple choice; ``~%50%`` weights without any ``=`` make it multiple-answer), only ``=``
  answers (short answer; ``=%50%`` gives partial credit), ``#200:5``, ``#5..10`` or
  ``#=200:0 =%50%200:20 ~#wrong`` (numerical), ``#feedback`` after an answer,
  ``####general feedback`` at the end; text after the block makes a "missing word" question
  (shown as ``_____``);
- ``\\~ \\= \\# \\{ \\} \\: \\\\`` are literal characters and ``\\n`` a line break.

Essays (``{}``), matching (``->``) and questions without an answer block (descriptions) are
listed as skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.packs.convert.common import (
    ConvertProblem,
    Draft,
    Parsed,
    category_tags,
    html_to_text,
)
from bot.packs.facts import Fact, Say, fact

_ESCAPABLE = "~=#{}:\\"
_WEIGHT = re.compile(r"\s*%(-?\d+(?:\.\d+)?)%")
_TRUEFALSE = re.compile(r"(T|F|TRUE|FALSE)\b", re.IGNORECASE)
_FORMAT = re.compile(r"\s*\[(html|moodle|plain|markdown)\]", re.IGNORECASE)


class GiftError(Exception):
    """Malformed GIFT at an offset of the question's text."""

    def __init__(self, offset: int, fact: Fact) -> None:
        super().__init__(fact.code)
        self.offset = offset
        self.fact = fact


def find(raw: str, target: str, start: int = 0) -> int:
    """The offset of the first ``target`` in ``raw`` at or after ``start`` that is not
    escaped with a backslash, or -1."""
    position = start
    while position < len(raw):
        if raw[position] == "\\":
            position += 2
            continue
        if raw.startswith(target, position):
            return position
        position += 1
    return -1


def unescape(raw: str) -> str:
    """GIFT text as the author meant it: ``\\=`` is ``=``, ``\\n`` a line break."""
    out: list[str] = []
    position = 0
    while position < len(raw):
        char = raw[position]
        if char == "\\" and position + 1 < len(raw):
            following = raw[position + 1]
            if following in _ESCAPABLE:
                out.append(following)
                position += 2
                continue
            if following == "n":
                out.append("\n")
                position += 2
                continue
        out.append(char)
        position += 1
    return "".join(out)


def _clean(raw: str) -> str:
    """Unescaped text with whitespace squashed: a text wrapped over several lines of the file
    is one line; only ``\\n`` makes a line break."""
    lines = [" ".join(line.split()) for line in unescape(" ".join(raw.split("\n"))).split("\n")]
    return "\n".join(line for line in lines if line)


@dataclass
class _Answer:
    marker: str  # "=" or "~"
    weight: float | None
    text: str
    feedback: str
    offset: int


@dataclass
class _Block:
    lines: list[tuple[int, str]]

    @property
    def raw(self) -> str:
        return "\n".join(text for _, text in self.lines)

    def where(self, offset: int) -> tuple[int, int]:
        for number, text in self.lines:
            if offset <= len(text):
                return number, offset + 1
            offset -= len(text) + 1
        number, text = self.lines[-1]
        return number, len(text) + 1


def _blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    current: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            if current:
                blocks.append(_Block(current))
            current = []
        elif not line.lstrip().startswith("//"):
            current.append((number, line.rstrip()))
    if current:
        blocks.append(_Block(current))
    return blocks


def read_gift(data: bytes) -> Parsed:
    parsed = Parsed()
    try:
        text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        parsed.problems.append(ConvertProblem(1, 1, fact(Say.C_NOT_UTF8, offset=exc.start)))
        return parsed
    tags: list[str] = []
    for block in _blocks(text):
        first = block.lines[0][1]
        if first.lstrip().startswith("$CATEGORY:"):
            tags = category_tags(first.split(":", 1)[1])
            block = _Block(block.lines[1:])
            if not block.lines:
                continue
        try:
            draft, skipped = _question(block.raw)
        except GiftError as exc:
            line, column = block.where(exc.offset)
            parsed.problems.append(ConvertProblem(line, column, exc.fact))
            continue
        if skipped is not None:
            parsed.skipped.append(skipped)
            continue
        assert draft is not None
        if tags:
            draft.body["tags"] = list(tags)
        parsed.drafts.append(draft)
    return parsed


def _question(raw: str) -> tuple[Draft | None, Fact | None]:
    """A draft, or the note saying why the question is skipped; raises :class:`GiftError`."""
    position = len(raw) - len(raw.lstrip())
    name = ""
    if raw.startswith("::", position):
        end = find(raw, "::", position + 2)
        if end == -1:
            raise GiftError(position, fact(Say.G_TITLE_OPEN))
        name = unescape(raw[position + 2 : end]).strip()
        position = end + 2
    html = False
    shown_format = _FORMAT.match(raw, position)
    if shown_format:
        html = shown_format.group(1).lower() == "html"
        position = shown_format.end()
    opening = find(raw, "{", position)
    shown = raw[position:opening] if opening != -1 else raw[position:]
    label = repr(name) if name else repr(" ".join(unescape(shown).split())[:50])
    if opening == -1:
        closing = find(raw, "}", position)
        if closing != -1:
            raise GiftError(closing, fact(Say.G_CLOSING_ALONE))
        return None, fact(Say.G_SKIPPED, name=label, why=fact(Say.G_WHY_DESCRIPTION))
    closing = find(raw, "}", opening + 1)
    if closing == -1:
        raise GiftError(opening, fact(Say.G_BLOCK_OPEN))
    nested = find(raw, "{", opening + 1)
    if nested != -1 and nested < closing:
        raise GiftError(nested, fact(Say.G_NESTED))
    if find(raw, "{", closing + 1) != -1 or find(raw, "}", closing + 1) != -1:
        extra = max(find(raw, "{", closing + 1), find(raw, "}", closing + 1))
        raise GiftError(extra, fact(Say.G_SECOND_BLOCK))
    before, after = raw[position:opening], raw[closing + 1 :]
    question = _clean(before)
    if after.strip():
        question = f"{question} _____ {_clean(after)}".strip()
    if html:
        question = html_to_text(question)[0]
    draft = Draft({"question": question}, name=name)
    inner_start = opening + 1
    inner = raw[inner_start:closing]
    general = find(inner, "####")
    if general != -1:
        explanation = _clean(inner[general + 4 :])
        if explanation:
            draft.body["explanation"] = explanation
        inner = inner[:general]
    body = inner.strip()
    lead = inner_start + len(inner) - len(inner.lstrip())
    if not body:
        return None, fact(Say.G_SKIPPED, name=label, why=fact(Say.G_WHY_ESSAY))
    if not question:
        raise GiftError(opening, fact(Say.G_NO_TEXT))
    if body.startswith("#"):
        _numeric(body[1:], lead + 1, draft)
    elif _TRUEFALSE.match(body) and find(body, "=") == -1 and find(body, "~") == -1:
        _truefalse(body, lead, draft)
    elif find(body, "~") == -1 and find(body, "->") != -1:  # Moodle: a choice has a '~'
        return None, fact(Say.G_SKIPPED, name=label, why=fact(Say.G_WHY_MATCHING))
    else:
        _choice_or_short(_answers(body, lead), draft, lead)
    return draft, None


def _answers(body: str, base: int) -> list[_Answer]:
    starts: list[int] = []
    position = 0
    while True:
        marks = [at for at in (find(body, "=", position), find(body, "~", position)) if at != -1]
        if not marks:
            break
        starts.append(min(marks))
        position = min(marks) + 1
    if not starts or body[: starts[0]].strip():
        raise GiftError(base, fact(Say.G_ANSWER_MARK))
    answers = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(body)
        piece = body[start + 1 : end]
        weight = None
        found = _WEIGHT.match(piece)
        if found:
            weight = float(found.group(1))
            piece = piece[found.end() :]
        hash_at = find(piece, "#")
        text, feedback = (piece, "") if hash_at == -1 else (piece[:hash_at], piece[hash_at + 1 :])
        answers.append(_Answer(body[start], weight, _clean(text), _clean(feedback), base + start))
    for answer in answers:
        if not answer.text:
            raise GiftError(answer.offset, fact(Say.G_EMPTY_ANSWER))
    return answers


def _choice_or_short(answers: list[_Answer], draft: Draft, base: int) -> None:
    body = draft.body
    if all(a.marker == "=" for a in answers):
        accepted: list[str | dict[str, Any]] = []
        for answer in answers:
            credit = 1.0 if answer.weight is None else max(0.0, min(1.0, answer.weight / 100))
            if credit == 1 and not answer.feedback:
                accepted.append(answer.text)
            else:
                entry: dict[str, Any] = {"text": answer.text, "credit": round(credit, 4)}
                if answer.feedback:
                    entry["feedback"] = answer.feedback
                accepted.append(entry)
        body.update(type="short", answers=accepted)
        return
    # As Moodle reads GIFT: with an '=' answer the question is single-answer ('~%50%' partial
    # credit, which our choices do not have, is dropped with a note); without one, every option
    # with a positive weight is right in a multiple-answer question.
    if any(a.marker == "=" for a in answers):
        right = [a for a in answers if a.marker == "="]
        partial = [a.text for a in answers if a.marker == "~" and (a.weight or 0) > 0]
        if partial:
            draft.notes.append(
                "partial credit for " + ", ".join(map(repr, partial)) + " dropped: counted wrong"
            )
    else:
        right = [a for a in answers if (a.weight or 0) > 0]
        if not right:
            raise GiftError(base, fact(Say.G_NO_RIGHT))
    if len(right) == 1 and right[0].marker == "=":
        body.update(type="choice", answer=right[0].text)
    else:
        body.update(type="choice", answer=[a.text for a in right])
        if len({a.weight for a in right}) > 1:
            draft.notes.append("unequal weights of the right answers: each now counts the same")
    body["distractors"] = [a.text for a in answers if a not in right]
    feedback = {a.text: a.feedback for a in answers if a.feedback}
    if feedback:
        body["feedback"] = feedback


def _truefalse(body: str, base: int, draft: Draft) -> None:
    word = _TRUEFALSE.match(body)
    assert word is not None
    value = word.group(1).upper().startswith("T")
    rest = body[word.end() :].strip()
    if rest and not rest.startswith("#"):
        raise GiftError(base + word.end(), fact(Say.G_AFTER_TRUEFALSE))
    notes = [_clean(part) for part in _split(rest[1:])] if rest else []
    draft.body.update(type="truefalse", answer=value)
    # GIFT: {T#shown for a wrong answer#shown for a right answer}; with no general feedback
    # the right-answer note (or else the other one) explains the item.
    if "explanation" not in draft.body:
        chosen = next((n for n in reversed(notes[:2]) if n), "")
        if chosen:
            draft.body["explanation"] = chosen


def _split(raw: str) -> list[str]:
    parts, position = [], 0
    while (at := find(raw, "#", position)) != -1:
        parts.append(raw[position:at])
        position = at + 1
    parts.append(raw[position:])
    return parts


def _number(text: str, offset: int) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise GiftError(offset, fact(Say.G_NOT_A_NUMBER, text=text.strip())) from None


def _numeric(body: str, base: int, draft: Draft) -> None:
    wrong = find(body, "~")
    if wrong != -1:  # Moodle: feedback for any other answer, e.g. {#=200:5 ~#Not quite}
        draft.notes.append("the feedback for wrong numbers was dropped")
        body = body[:wrong]
    spec = body
    if find(body, "=") != -1:
        answers = _answers(body.strip(), base + len(body) - len(body.lstrip()))
        full = [a for a in answers if a.marker == "=" and (a.weight is None or a.weight >= 100)]
        if not full:
            raise GiftError(base, fact(Say.G_NO_FULL_MARKS))
        if len(answers) > 1:
            draft.notes.append("only the full-marks answer was kept (others gave partial credit)")
        spec = full[0].text
    else:
        hash_at = find(spec, "#")
        if hash_at != -1:
            spec = spec[:hash_at]
        spec = unescape(spec)
    if ".." in spec:
        low_text, high_text = spec.split("..", 1)
        low, high = _number(low_text, base), _number(high_text, base)
        if high < low:
            raise GiftError(base, fact(Say.G_RANGE, range=spec.strip()))
        value, tolerance = (low + high) / 2, (high - low) / 2
    elif ":" in spec:
        value_text, tolerance_text = spec.split(":", 1)
        value, tolerance = _number(value_text, base), abs(_number(tolerance_text, base))
    else:
        value, tolerance = _number(spec, base), 0.0
    draft.body.update(type="number", answer=value)
    if tolerance:
        draft.body["tolerance"] = tolerance
