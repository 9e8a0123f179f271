"""Read Aiken, Moodle's simplest format: single-answer multiple choice only.

A question is one line of text, then options ``A.`` or ``A)`` one per line, then
``ANSWER: B``; questions are separated by blank lines (Moodle's own reader also accepts none).
"""

from __future__ import annotations

import re

from bot.packs.convert.common import ConvertProblem, Draft, Parsed
from bot.packs.facts import Say, fact

_OPTION = re.compile(r"^([A-Z])[.)]\s+(.*\S)\s*$")
_ANSWER = re.compile(r"^ANSWER:\s*(\S*)\s*$", re.IGNORECASE)


def looks_like_aiken(text: str) -> bool:
    """True when a ``.txt`` file reads as Aiken rather than GIFT."""
    has_answer_line = any(_ANSWER.match(line.strip()) for line in text.splitlines())
    return has_answer_line and "{" not in text


def read_aiken(data: bytes) -> Parsed:
    parsed = Parsed()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        parsed.problems.append(ConvertProblem(1, 1, fact(Say.C_NOT_UTF8, offset=exc.start)))
        return parsed
    question: str | None = None
    start = 0
    options: list[tuple[str, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        answer = _ANSWER.match(line)
        option = _OPTION.match(line)
        if question is None:
            if answer or option:
                parsed.problems.append(ConvertProblem(number, 1, fact(Say.C_AIKEN_QUESTION_FIRST)))
                continue
            question, start, options = line, number, []
        elif answer:
            letter = answer.group(1).upper()
            letters = [x for x, _ in options]
            if len(options) < 2:
                parsed.problems.append(ConvertProblem(number, 1, fact(Say.C_AIKEN_TWO_OPTIONS)))
            elif letter not in letters:
                parsed.problems.append(
                    ConvertProblem(
                        number,
                        len(raw) - len(raw.lstrip()) + 8,
                        fact(
                            Say.C_AIKEN_ANSWER_NOT_OPTION, letter=letter, letters=", ".join(letters)
                        )
                        if letter
                        else fact(Say.C_AIKEN_ANSWER_EMPTY, letters=", ".join(letters)),
                    )
                )
            else:
                right = dict(options)[letter]
                distractors = [t for x, t in options if x != letter]
                body = {"type": "choice", "question": question, "answer": right}
                parsed.drafts.append(Draft({**body, "distractors": distractors}))
            question = None
        elif option:
            letter = option.group(1)
            expected = chr(ord("A") + len(options))
            if letter != expected:
                parsed.problems.append(
                    ConvertProblem(
                        number, 1, fact(Say.C_AIKEN_ORDER, letter=letter, expected=expected)
                    )
                )
            options.append((letter, option.group(2)))
        elif options:
            parsed.problems.append(ConvertProblem(number, 1, fact(Say.C_AIKEN_EXPECTED_OPTION)))
        else:
            question = f"{question} {line}"  # a question written over several lines
    if question is not None:
        parsed.problems.append(ConvertProblem(start, 1, fact(Say.C_AIKEN_NO_ANSWER)))
    return parsed
