"""Export a validated pack to the formats other tools read: Moodle XML, GIFT, Aiken, an Anki
deck (.apkg) and our own YAML. Pure functions of a :class:`~bot.packs.model.Pack`, returning
bytes and notes on what a format could not hold; the CLI and the Telegram ``/export`` command
only choose the format and deliver the file.

What each format keeps: Moodle XML and GIFT hold every item type, the explanation with the
quote appended as general feedback, per-option feedback, partial credit (multi-select items
score +100/n for each right and -100/n for each wrong option, as our grader does) and numeric
tolerances (a percentage becomes the absolute tolerance). Aiken holds single-answer choices and
true/false only. Anki gets one note per item: the question in front, the answer, the
explanation and the quote on the back; short and number items are typed-answer cards.
"""

from __future__ import annotations

import hashlib
import html
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, SubElement, indent, tostring

import genanki
import yaml

from bot.packs.facts import Fact, Say, fact
from bot.packs.model import ChoiceItem, Item, NumberItem, Pack, ShortItem, TrueFalseItem

FORMATS = ("moodle-xml", "gift", "aiken", "anki", "yaml")


@dataclass
class Exported:
    """One exported file, and the items (or parts of items) the format could not hold."""

    file_name: str
    data: bytes
    items: int
    skipped: list[Fact] = field(default_factory=list)
    """Items left out, each with why (facts, said in the reader's language)."""


def export_pack(pack: Pack, fmt: str) -> Exported:
    """Export ``pack`` to ``fmt`` (one of :data:`FORMATS`)."""
    writer, suffix = _WRITERS[fmt]
    return writer(pack, f"{pack.slug}{suffix}")


def general_feedback(item: Item) -> str:
    """The explanation with the supporting quote(s) appended."""
    quotes = [f"\u201c{source}\u201d" for source in item.sources]
    return "\n\n".join([item.explanation, *quotes])


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def _percent(value: float) -> str:
    """A Moodle grade fraction in percent, written as Moodle writes it (33.33333)."""
    text = f"{value:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _weights(item: ChoiceItem) -> list[tuple[str, float]]:
    """Each option with its fraction in percent, matching :func:`bot.quiz.grading.grade_choice`:
    a single answer earns 100; in a multi-select each right option +100/n and each wrong one
    -100/n (n correct options), never below zero in total."""
    correct = set(item.answers)
    share = 100 / len(correct)
    if item.multiple:
        return [(t, share if t in correct else -share) for t in item.option_texts]
    return [(t, 100.0 if t in correct else 0.0) for t in item.option_texts]


# --------------------------------------------------------------------------- Moodle XML


def _html_text(parent: Element, tag: str, text: str, fmt: str = "html") -> Element:
    element = SubElement(parent, tag, {"format": fmt} if fmt else {})
    body = html.escape(text, quote=False).replace("\n", "<br>") if fmt == "html" else text
    SubElement(element, "text").text = body
    return element


def moodle_xml(pack: Pack, file_name: str) -> Exported:
    quiz = Element("quiz")
    category = SubElement(quiz, "question", {"type": "category"})
    # A '/' would start a sub-category.
    name = pack.title.replace("/", "-")
    SubElement(SubElement(category, "category"), "text").text = f"$course$/top/{name}"
    for item in pack.items:
        kind = {
            ChoiceItem: "multichoice",
            TrueFalseItem: "truefalse",
            ShortItem: "shortanswer",
            NumberItem: "numerical",
        }[type(item)]
        question = SubElement(quiz, "question", {"type": kind})
        SubElement(SubElement(question, "name"), "text").text = item.id
        _html_text(question, "questiontext", item.question)
        _html_text(question, "generalfeedback", general_feedback(item))
        SubElement(question, "defaultgrade").text = "1"
        SubElement(question, "penalty").text = "0"
        SubElement(question, "hidden").text = "0"
        SubElement(question, "idnumber").text = item.id
        if isinstance(item, ChoiceItem):
            SubElement(question, "single").text = "false" if item.multiple else "true"
            shuffled = item.shuffles(pack.settings.shuffle_options)
            SubElement(question, "shuffleanswers").text = "1" if shuffled else "0"
            SubElement(question, "answernumbering").text = "abc"
            for text, weight in _weights(item):
                answer = SubElement(question, "answer", {"fraction": _percent(weight)})
                answer.set("format", "html")
                SubElement(answer, "text").text = html.escape(text, quote=False)
                if text in item.feedback:
                    _html_text(answer, "feedback", item.feedback[text])
        elif isinstance(item, TrueFalseItem):
            for value in (True, False):
                fraction = "100" if item.answer is value else "0"
                answer = SubElement(question, "answer", {"fraction": fraction})
                SubElement(answer, "text").text = "true" if value else "false"
        elif isinstance(item, ShortItem):
            SubElement(question, "usecase").text = "0"
            for accepted in item.accepted:
                answer = SubElement(
                    question, "answer", {"fraction": _percent(accepted.credit * 100)}
                )
                SubElement(answer, "text").text = accepted.text
                if accepted.feedback:
                    _html_text(answer, "feedback", accepted.feedback)
        else:
            answer = SubElement(question, "answer", {"fraction": "100"})
            SubElement(answer, "text").text = _number(item.answer)
            SubElement(answer, "tolerance").text = _number(item.absolute_tolerance)
            if item.unit:
                unit = SubElement(SubElement(question, "units"), "unit")
                SubElement(unit, "multiplier").text = "1"
                SubElement(unit, "unit_name").text = item.unit
                SubElement(question, "unitgradingtype").text = "0"
                SubElement(question, "showunits").text = "3"
        if item.tags:
            tags = SubElement(question, "tags")
            for tag in item.tags:
                SubElement(SubElement(tags, "tag"), "text").text = tag
    indent(quiz)
    data = tostring(quiz, encoding="UTF-8", xml_declaration=True) + b"\n"
    return Exported(file_name, data, len(pack.items))


# --------------------------------------------------------------------------- GIFT

_GIFT_SPECIAL = str.maketrans({c: "\\" + c for c in "\\~=#{}:"} | {"\n": "\\n"})


def gift_escape(text: str) -> str:
    """Text as GIFT needs it: its special characters escaped, line breaks as ``\\n``."""
    return text.replace("\r", "").translate(_GIFT_SPECIAL)


def gift(pack: Pack, file_name: str) -> Exported:
    skipped: list[Fact] = []
    blocks = [
        f"// {pack.title}: exported from quizbot pack {pack.slug!r}",
        f"$CATEGORY: $course$/top/{' '.join(pack.title.split()).replace('/', '-')}",
    ]
    for item in pack.items:
        lines = [f"::{gift_escape(item.id)}::{gift_escape(item.question)} {{"]
        if isinstance(item, ChoiceItem):
            weights = _weights(item)
            for text, weight in weights:
                single = "=" if weight >= 100 else "~"
                mark = f"~%{_percent(weight)}%" if item.multiple else single
                note = item.feedback.get(text)
                tail = f"#{gift_escape(note)}" if note else ""
                lines.append(f"\t{mark}{gift_escape(text)}{tail}")
        elif isinstance(item, TrueFalseItem):
            lines.append(f"\t{'TRUE' if item.answer else 'FALSE'}")
        elif isinstance(item, ShortItem):
            for accepted in item.accepted:
                credit = "" if accepted.credit >= 1 else f"%{_percent(accepted.credit * 100)}%"
                tail = f"#{gift_escape(accepted.feedback)}" if accepted.feedback else ""
                lines.append(f"\t={credit}{gift_escape(accepted.text)}{tail}")
        else:
            lines.append(f"\t#{_number(item.answer)}:{_number(item.absolute_tolerance)}")
            if item.unit:
                skipped.append(fact(Say.E_GIFT_UNIT, item=item.id, unit=item.unit))
        lines.append(f"\t####{gift_escape(general_feedback(item))}")
        lines.append("}")
        blocks.append("\n".join(lines))
    data = ("\n\n".join(blocks) + "\n").encode()
    return Exported(file_name, data, len(pack.items), skipped)


# --------------------------------------------------------------------------- Aiken


def _one_line(text: str) -> str:
    return " ".join(text.split())


def aiken(pack: Pack, file_name: str) -> Exported:
    skipped: list[Fact] = []
    blocks: list[str] = []
    for item in pack.items:
        if isinstance(item, TrueFalseItem):
            options, right = ["True", "False"], 0 if item.answer else 1
        elif isinstance(item, ChoiceItem) and not item.multiple:
            options = item.option_texts
            right = options.index(item.answers[0])
        else:
            code = Say.E_AIKEN_SEVERAL if isinstance(item, ChoiceItem) else Say.E_AIKEN_TYPED
            skipped.append(fact(code, item=item.id, type=item.type))
            continue
        if len(options) > 26:
            skipped.append(fact(Say.E_AIKEN_OPTIONS, item=item.id))
            continue
        lines = [_one_line(item.question)]
        lines += [f"{chr(65 + n)}. {_one_line(text)}" for n, text in enumerate(options)]
        lines.append(f"ANSWER: {chr(65 + right)}")
        blocks.append("\n".join(lines))
    data = ("\n\n".join(blocks) + "\n").encode() if blocks else b""
    return Exported(file_name, data, len(blocks), skipped)


# --------------------------------------------------------------------------- Anki

_CSS = """.card { font-family: sans-serif; font-size: 20px; text-align: left; }
.explanation { margin-top: 1em; }
blockquote { font-style: italic; color: #555; border-left: 3px solid #ccc; padding-left: 8px; }
"""
_BACK = (
    "<hr id=answer><b>{{Answer}}</b>"
    "{{#Explanation}}<div class=explanation>{{Explanation}}</div>{{/Explanation}}"
    "{{#Quote}}<blockquote>{{Quote}}</blockquote>{{/Quote}}"
)

# Fixed ids: Anki knows a note type by its id, so every export must use the same ones.
CHOICE_MODEL = genanki.Model(
    1_607_392_319,
    "quizbot question",
    fields=[{"name": n} for n in ("Question", "Options", "Answer", "Explanation", "Quote")],
    templates=[
        {
            "name": "Card 1",
            "qfmt": "{{Question}}{{#Options}}<ol type=A>{{Options}}</ol>{{/Options}}",
            "afmt": "{{FrontSide}}" + _BACK,
        }
    ],
    css=_CSS,
)
TYPED_MODEL = genanki.Model(
    1_607_392_320,
    "quizbot typed answer",
    fields=[{"name": n} for n in ("Question", "Answer", "Accepted", "Explanation", "Quote")],
    templates=[
        {
            "name": "Card 1",
            "qfmt": "{{Question}}<br>{{type:Answer}}",
            "afmt": "{{Question}}<hr>{{type:Answer}}"
            + "{{#Accepted}}<div>Also accepted: {{Accepted}}</div>{{/Accepted}}"
            + _BACK.replace("<hr id=answer><b>{{Answer}}</b>", ""),
        }
    ],
    css=_CSS,
)


def _esc(text: str) -> str:
    return html.escape(text, quote=False).replace("\n", "<br>")


def anki_note(pack: Pack, item: Item) -> genanki.Note:
    """One note; its guid comes from the pack slug and the item id, so that importing a new
    export into Anki updates the card instead of adding a second one."""
    guid = genanki.guid_for(pack.slug, item.id)
    quote = "<br>".join(_esc(f"\u201c{s}\u201d") for s in item.sources)
    tags = [t.replace(" ", "_") for t in (pack.slug, *item.tags)]
    if isinstance(item, ChoiceItem | TrueFalseItem):
        options = "".join(f"<li>{_esc(t)}</li>" for t in item.option_texts)
        answer = ", ".join(item.option_texts[i] for i in sorted(item.correct_indices))
        fields = [_esc(item.question), options, _esc(answer), _esc(item.explanation), quote]
        return genanki.Note(model=CHOICE_MODEL, fields=fields, guid=guid, tags=tags)
    if isinstance(item, ShortItem):
        answer = item.model_answer
        others = [a.text for a in item.accepted if a.credit >= 1 and a.text != answer]
    else:
        answer = _number(item.answer)
        tolerance = item.absolute_tolerance
        others = [f"± {_number(tolerance)}"] if tolerance else []
        if item.unit:
            others.append(f"unit: {item.unit}")
    texts = [item.question, answer, ", ".join(others), item.explanation]
    fields = [*map(_esc, texts), quote]
    return genanki.Note(model=TYPED_MODEL, fields=fields, guid=guid, tags=tags)


def anki_deck_id(slug: str) -> int:
    """A stable deck id for a pack, in the range Anki's own ids use."""
    return (1 << 30) + int(hashlib.sha256(slug.encode()).hexdigest(), 16) % (1 << 30)


def anki(pack: Pack, file_name: str) -> Exported:
    deck = genanki.Deck(anki_deck_id(pack.slug), pack.title)
    for item in pack.items:
        deck.add_note(anki_note(pack, item))
    with tempfile.TemporaryDirectory(prefix="quizbot-anki-") as folder:
        path = Path(folder) / file_name
        genanki.Package(deck).write_to_file(str(path))
        data = path.read_bytes()
    return Exported(file_name, data, len(pack.items))


# --------------------------------------------------------------------------- YAML


def pack_as_yaml(pack: Pack, file_name: str) -> Exported:
    document: dict[str, Any] = {
        "pack": pack.slug,
        "title": pack.title,
        "language": pack.language,
        "description": pack.description,
    }
    if pack.article_name:
        document["article"] = pack.article_name
    document["settings"] = pack.settings.model_dump(mode="json")
    document["items"] = [
        item.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        for item in pack.items
    ]
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=96)
    return Exported(file_name, text.encode(), len(pack.items))


_WRITERS: dict[str, tuple[Callable[[Pack, str], Exported], str]] = {
    "moodle-xml": (moodle_xml, ".xml"),
    "gift": (gift, ".gift"),
    "aiken": (aiken, ".aiken.txt"),
    "anki": (anki, ".apkg"),
    "yaml": (pack_as_yaml, ".yaml"),
}
