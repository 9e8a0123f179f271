"""Read Moodle XML question files (the format of Moodle's question bank export).

Parsed with defusedxml: a file that declares entities (the "billion laughs" bomb) or refers to
external ones (XXE) is refused with a clear message, and nothing is fetched. Supported types:
multichoice (single and multiple answer, per-answer feedback), truefalse, shortanswer (answer
fractions become ``credit``), numerical (tolerance, first unit). ``description`` questions and
every other type are listed as skipped, by name. ``category`` pseudo-questions become tags.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bot.packs.convert.common import (
    ConvertProblem,
    Draft,
    Parsed,
    category_tags,
    fraction,
    html_to_text,
    tag_of,
)
from bot.packs.facts import Fact, Say, Value, fact


def read_moodle_xml(data: bytes) -> Parsed:
    parsed = Parsed()
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        parsed.problems.append(
            ConvertProblem(1, 1, fact(Say.C_XML_ENTITIES, kind=type(exc).__name__))
        )
        return parsed
    except ParseError as exc:
        line, column = exc.position
        parsed.problems.append(
            ConvertProblem(line, column + 1, fact(Say.C_XML_MALFORMED, detail=str(exc)))
        )
        return parsed
    if root.tag != "quiz":
        parsed.problems.append(ConvertProblem(1, 1, fact(Say.C_XML_ROOT, tag=str(root.tag))))
        return parsed
    tags: list[str] = []
    for number, question in enumerate(root.iter("question"), start=1):
        kind = question.get("type", "")
        name = _text(question.find("name"))
        label: Value = repr(name) if name else fact(Say.C_QUESTION_NUMBER, number=number)
        if kind == "category":
            tags = category_tags(_text(question.find("category")))
            continue
        reader = _READERS.get(kind)
        if reader is None:
            why = Say.C_WHY_DESCRIPTION if kind == "description" else Say.C_WHY_UNSUPPORTED
            shown: Value = kind or fact(Say.C_NO_TYPE)
            parsed.skipped.append(fact(Say.C_SKIPPED, name=label, kind=shown, why=fact(why)))
            continue
        draft = Draft({}, name=name or f"question {number}")
        question_text, images = _html(question.find("questiontext"))
        if images:
            draft.notes.append(f"the question showed {images} image(s), left out")
        draft.body = {"type": "", "question": question_text}
        problem = reader(question, draft)
        if problem:
            parsed.skipped.append(fact(Say.C_SKIPPED, name=label, kind=kind, why=problem))
            continue
        explanation = _html(question.find("generalfeedback"))[0]
        if explanation:
            draft.body["explanation"] = explanation
        own_tags = [tag_of(el.text or "") for el in question.iterfind("tags/tag/text")]
        all_tags = [t for t in dict.fromkeys([*tags, *own_tags]) if t]
        if all_tags:
            draft.body["tags"] = all_tags
        if not question_text:
            empty = fact(Say.C_WHY_EMPTY_TEXT)
            parsed.skipped.append(fact(Say.C_SKIPPED, name=label, kind=kind, why=empty))
            continue
        parsed.drafts.append(draft)
    return parsed


def _text(element: Element | None) -> str:
    """The ``<text>`` of an element (or the element's own text), stripped."""
    if element is None:
        return ""
    inner = element.find("text")
    return ((inner if inner is not None else element).text or "").strip()


def _html(element: Element | None, default_format: str = "html") -> tuple[str, int]:
    """Plain text of an element's ``<text>`` (HTML unless its ``format`` says otherwise)."""
    if element is None:
        return "", 0
    raw = _text(element)
    if element.get("format", default_format) in ("html", "moodle_auto_format"):
        return html_to_text(raw)
    return raw, 0


def _answers(question: Element) -> list[tuple[str, float | None, str]]:
    """Each ``<answer>``: its text, its fraction (percent) and its feedback."""
    out = []
    for answer in question.iterfind("answer"):
        text = _html(answer, "plain_text")[0]
        feedback = _html(answer.find("feedback"))[0]
        out.append((text, fraction(answer.get("fraction"), 0.0), feedback))
    return out


def _multichoice(question: Element, draft: Draft) -> Fact | None:
    answers = _answers(question)
    if any(f is None for _, f, _ in answers):
        return fact(Say.C_WHY_BAD_FRACTION)
    single = (question.findtext("single") or "true").strip().lower() in ("true", "1")
    shuffle = (question.findtext("shuffleanswers") or "1").strip().lower() in ("true", "1")
    texts = [t for t, _, _ in answers]
    if any(not t for t in texts):
        return fact(Say.C_WHY_EMPTY_ANSWER)
    if single:
        correct = [t for t, f, _ in answers if f is not None and f >= 100]
        partial = [t for t, f, _ in answers if f is not None and 0 < f < 100]
        if len(correct) != 1:
            return fact(Say.C_WHY_FULL_MARKS, n=len(correct))
        if partial:
            draft.notes.append(
                "partial credit for " + ", ".join(map(repr, partial)) + " dropped: counted wrong"
            )
        answer: str | list[str] = correct[0]
    else:
        answer = [t for t, f, _ in answers if f is not None and f > 0]
        if not answer:
            return fact(Say.C_WHY_NO_MARKS)
        if len({f for _, f, _ in answers if f is not None and f > 0}) > 1:
            draft.notes.append("unequal weights of the correct answers: each now counts the same")
    body: dict[str, Any] = {"type": "choice", "question": draft.body["question"]}
    body["answer"] = answer
    if shuffle:
        wanted = set(answer) if isinstance(answer, list) else {answer}
        body["distractors"] = [t for t in texts if t not in wanted]
    else:
        body["options"] = texts
    feedback = {t: fb for t, _, fb in answers if fb}
    if feedback:
        body["feedback"] = feedback
    draft.body = body
    return None


def _truefalse(question: Element, draft: Draft) -> Fact | None:
    answers = _answers(question)
    right = [t.lower() for t, f, _ in answers if f is not None and f >= 100]
    if right not in (["true"], ["false"]):
        return fact(Say.C_WHY_NO_TRUEFALSE)
    draft.body["type"] = "truefalse"
    draft.body["answer"] = right[0] == "true"
    return None


def _shortanswer(question: Element, draft: Draft) -> Fact | None:
    accepted: list[str | dict[str, Any]] = []
    for text, weight, feedback in _answers(question):
        if weight is None or not text:
            return fact(Say.C_WHY_BAD_ANSWER)
        credit = max(0.0, min(1.0, weight / 100))
        if credit == 1 and not feedback:
            accepted.append(text)
        else:
            entry: dict[str, Any] = {"text": text, "credit": round(credit, 4)}
            if feedback:
                entry["feedback"] = feedback
            accepted.append(entry)
    if (question.findtext("usecase") or "0").strip() not in ("0", ""):
        draft.notes.append("Moodle compared case; answers here never do")
    draft.body["type"] = "short"
    draft.body["answers"] = accepted
    return None if accepted else fact(Say.C_WHY_NO_ANSWERS)


def _numerical(question: Element, draft: Draft) -> Fact | None:
    best = None
    for answer in question.iterfind("answer"):
        weight = fraction(answer.get("fraction"), 0.0)
        if weight is not None and weight >= 100:
            best = answer
            break
    if best is None:
        return fact(Say.C_WHY_NO_FULL_MARKS)
    try:
        value = float(_text(best))
        tolerance = abs(float((best.findtext("tolerance") or "0").strip() or 0))
    except ValueError:
        return fact(Say.C_WHY_NOT_A_NUMBER)
    if len(question.findall("answer")) > 1:
        draft.notes.append("only the full-marks answer was kept (others gave partial credit)")
    draft.body["type"] = "number"
    draft.body["answer"] = value
    if tolerance:
        draft.body["tolerance"] = tolerance
    unit = (question.findtext("units/unit/unit_name") or "").strip()
    if unit:
        draft.body["unit"] = unit
    return None


_READERS = {
    "multichoice": _multichoice,
    "truefalse": _truefalse,
    "shortanswer": _shortanswer,
    "numerical": _numerical,
}
