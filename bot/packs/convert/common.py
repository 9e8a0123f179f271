"""What every converter shares: the draft items they produce, the problems they report, HTML
to plain text, and writing the drafts out as a YAML pack (with proposed quotes)."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import yaml

from bot.i18n import Translator, translator
from bot.packs.facts import Fact
from bot.packs.model import ITEM_ID_PATTERN
from bot.packs.wording import english, say
from bot.text import squash_whitespace

DEFAULT_DIFFICULTY = "medium"
DEFAULT_SKILL = "detail"


@dataclass(frozen=True)
class ConvertProblem:
    """Something in the input that could not be read, with where it is (1-based)."""

    line: int
    column: int
    fact: Fact

    def __str__(self) -> str:
        return self.text()

    @property
    def message(self) -> str:
        """What is wrong, in English (logs, tests)."""
        return english(self.fact)

    def text(self, t: Translator | None = None) -> str:
        """``line:column: message`` in the reader's language (English without one)."""
        return f"{self.line}:{self.column}: {say(t or translator('en'), self.fact)}"


@dataclass
class Draft:
    """One converted item: the keys of our format (without ``id`` and the defaults), the
    name the source format gave it (a title, becomes the id) and notes for the author."""

    body: dict[str, Any]
    name: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class Parsed:
    """What a reader made of a file: drafts, questions it skipped (with why) and problems."""

    drafts: list[Draft] = field(default_factory=list)
    skipped: list[Fact] = field(default_factory=list)
    problems: list[ConvertProblem] = field(default_factory=list)


# --------------------------------------------------------------------------- HTML


class _TextOfHtml(HTMLParser):
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.images = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BREAKS:
            self.parts.append("\n")
        if tag == "img":
            self.images += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> tuple[str, int]:
    """Plain text of an HTML fragment (tags dropped, entities decoded, whitespace collapsed
    as a browser would, paragraphs and ``<br>`` kept as line breaks) and the number of images
    it showed, which plain text loses."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = [squash_whitespace(line) for line in "".join(parser.parts).split("\n")]
    return "\n".join(line for line in lines if line), parser.images


# --------------------------------------------------------------------------- ids


_ID = re.compile(ITEM_ID_PATTERN)


def item_id_of(name: str) -> str:
    """An item id made of a question's name: ``Range of ATACMS`` → ``range-of-atacms``; a
    name that already is an id (as our exports write them) is kept as it is."""
    if _ID.fullmatch(name):
        return name
    slug = re.sub(r"[^A-Za-z0-9_.]+", "-", name.strip().lower()).strip("-._")[:64]
    return slug.strip("-._") if _ID.fullmatch(slug.strip("-._")) else ""


def tag_of(name: str) -> str:
    """A tag made of a category or tag name: ``Bees and Honey`` → ``bees-and-honey``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def category_tags(path: str) -> list[str]:
    """The tag for the questions of a Moodle category (``$course$/top/Bees``): its last part,
    unless that is Moodle's own ``top``/``Default for…`` or a ``$placeholder$``."""
    leaf = path.strip().rstrip("/").split("/")[-1].strip()
    tag = tag_of(leaf)
    if not tag or tag == "top" or leaf.startswith(("$", "Default for")):
        return []
    return [tag]


def slug_of(name: str) -> str:
    """A pack slug made of a file name."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48].strip("-")
    return slug or "imported"


def fraction(text: str | None, default: float = 0.0) -> float | None:
    """A Moodle/GIFT weight in percent (``"50"``, ``"-33.33333"``) as a number, or None."""
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def number_text(value: float) -> str:
    """``200.0`` → ``200``; ``2.5`` → ``2.5`` (for the formats that store numbers as text)."""
    return str(int(value)) if value == int(value) else repr(value)


# --------------------------------------------------------------------------- quotes


_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)]*\s+(?=[\"“‘(]?[A-Z0-9])")
_ABBREVIATION = re.compile(r"(?:\b[A-Z]\.)+$|\b(?:Mr|Mrs|Ms|Dr|St|Gen|Sen|Rep|Gov|vs|etc)\.$")


def sentences(paragraph: str) -> list[str]:
    """The sentences of a paragraph, as they are written in it (whitespace squashed); a full
    stop after an initial or an abbreviation (``U.S.``, ``Mr.``) does not end one."""
    out: list[str] = []
    start = 0
    for end in _SENTENCE_END.finditer(paragraph):
        if _ABBREVIATION.search(paragraph[start : end.start() + 1]):
            continue
        out.append(paragraph[start : end.end()])
        start = end.end()
    out.append(paragraph[start:])
    return [squash_whitespace(s) for s in out if s.strip()]


_WORDS = re.compile(r"[^\W_]+")
_STOP = frozenset(
    re.findall(
        r"\w+",
        "a an the of to in on at by for with and or but is are was were be been it its this "
        "that these those what which who whom whose how why when where did does do has have had "
        "not no as from into than then so such about according article text says say",
    )
)


def _content_words(text: str) -> set[str]:
    return {w for w in _WORDS.findall(text.casefold()) if w not in _STOP and len(w) > 1}


_LINE_BREAK = re.compile(r"\n\s*\n|(?<=[^\s.!?,;:\"'”’)\]])[ \t]*\n(?=[ \t]*[\"“‘(]?[A-Z0-9])")


def _paragraphs(article: str) -> list[str]:
    """Paragraphs, and lines that end a sentence without a full stop (a headline, a byline).
    A paragraph wrapped over several lines is one paragraph: its sentences can span lines."""
    return [part for part in _LINE_BREAK.split(article.replace("\r\n", "\n")) if part.strip()]


class SentenceFinder:
    """Proposes the article sentence that best supports an item: the one sharing most content
    words with the correct answer (counted twice) and the question, each word weighted by how
    rare it is in the article (words in every paragraph say little). A proposal, marked
    ``# check`` in the pack: word overlap finds the right sentence often, not always."""

    def __init__(self, article: str) -> None:
        self.sentences: list[tuple[str, set[str]]] = []
        for paragraph in _paragraphs(article):
            for sentence in sentences(paragraph):
                words = _content_words(sentence)
                if words and len(sentence) <= 600:
                    self.sentences.append((sentence, words))
        counts = Counter(word for _, words in self.sentences for word in words)
        total = len(self.sentences) + 1
        self.weight = {word: math.log(total / count) + 0.1 for word, count in counts.items()}

    def best(self, question: str, answers: list[str]) -> str | None:
        """The best supporting sentence, or None when no sentence shares a word of the answer
        or two words of the question."""
        asked = _content_words(question)
        answered = set().union(*(_content_words(a) for a in answers)) if answers else set()
        best: tuple[float, int, str] | None = None
        for sentence, words in self.sentences:
            # One shared word of the question alone ("made") is chance, not support.
            if not words & answered and len(words & asked) < 2:
                continue
            score = 2 * sum(self.weight[w] for w in words & answered) + sum(
                self.weight[w] for w in words & asked
            )
            if best is None or (score, -len(sentence)) > (best[0], best[1]):
                best = (score, -len(sentence), sentence)
        return best[2] if best else None


def correct_texts(body: dict[str, Any]) -> list[str]:
    """The texts of a draft's correct answer(s), for finding its supporting sentence."""
    answer = body.get("answer")
    if body.get("type") == "short":
        full = [
            a if isinstance(a, str) else a["text"]
            for a in body.get("answers", [])
            if isinstance(a, str) or a.get("credit", 1) >= 1
        ]
        return full[:3]
    if isinstance(answer, list):
        return [str(a) for a in answer]
    if isinstance(answer, bool):
        return []
    return [number_text(answer) if isinstance(answer, float) else str(answer)]


# --------------------------------------------------------------------------- YAML


_ITEM_ORDER = (
    "id",
    "type",
    "question",
    "answer",
    "answers",
    "options",
    "distractors",
    "tolerance",
    "unit",
    "feedback",
    "shuffle",
    "explanation",
    "source",
    "difficulty",
    "skill",
    "tags",
)


def _plain(value: Any) -> Any:
    """Numbers as the author would write them: 200, not 200.0."""
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return int(value)
    return value


def _dump(value: dict[str, Any]) -> list[str]:
    text = yaml.safe_dump(
        value, sort_keys=False, allow_unicode=True, default_flow_style=False, width=96
    )
    return text.rstrip("\n").split("\n")


def assign_ids(drafts: list[Draft]) -> list[str]:
    """Item ids from the drafts' names, else ``q1``, ``q2``…, never twice the same."""
    ids: list[str] = []
    used: set[str] = set()
    for number, draft in enumerate(drafts, start=1):
        base = item_id_of(draft.name) or f"q{number}"
        candidate, n = base, 2
        while candidate in used:
            suffix = f"-{n}"
            candidate, n = base[: 64 - len(suffix)] + suffix, n + 1
        used.add(candidate)
        ids.append(candidate)
    return ids


def pack_yaml(
    slug: str,
    title: str,
    drafts: list[Draft],
    article_name: str | None,
    article_text: str | None,
    origin: str,
) -> str:
    """The drafts as a YAML pack. Defaults the source format has no place for (difficulty,
    skill, an explanation) and proposed quotes are marked ``# check`` for the author."""
    finder = SentenceFinder(article_text) if article_text else None
    header: dict[str, Any] = {
        "pack": slug,
        "title": title,
        "language": "en",
        "description": f"Imported from {origin}.",
    }
    lines = [
        f"# Converted from {origin} by `quizbot pack convert`.",
        "# Lines marked `# check` were guessed: read them, then run `quizbot pack validate`.",
        *_dump(header),
    ]
    if article_name:
        lines += _dump({"article": article_name})
    else:
        lines.append("# No article: items have no `source` quote (see docs/pack-format.md).")
    lines.append("items:")
    for item_id, draft in zip(assign_ids(drafts), drafts, strict=True):
        body = {key: _plain(value) for key, value in draft.body.items()}
        body["id"] = item_id
        checks: dict[str, str] = {}
        notes = list(draft.notes)
        if not body.get("explanation"):
            body["explanation"] = _default_explanation(body)
            checks["explanation"] = "written by the converter"
        if finder is not None and "source" not in body:
            found = finder.best(str(body["question"]), correct_texts(body))
            if found is not None:
                body["source"] = found
                checks["source"] = "proposed from the article"
            else:
                notes.append("no supporting sentence found in the article: add a `source` quote")
        body.setdefault("difficulty", DEFAULT_DIFFICULTY)
        body.setdefault("skill", DEFAULT_SKILL)
        checks.setdefault("difficulty", "difficulty and skill are defaults")
        ordered = {key: body[key] for key in _ITEM_ORDER if key in body}
        lines.append("")
        for note in notes:
            lines.append(f"  # note: {note}")
        for position, line in enumerate(_dump(ordered)):
            key = line.split(":", 1)[0] if line[:1].isalpha() else ""
            if key in checks:
                lines.append(f"    # check: {checks[key]}")
            lines.append(("  - " if position == 0 else "    ") + line)
    return "\n".join(lines) + "\n"


def _default_explanation(body: dict[str, Any]) -> str:
    kind = body.get("type")
    if kind == "truefalse":
        return f"The statement is {'true' if body.get('answer') else 'false'}."
    if kind == "number":
        unit = f" {body['unit']}" if body.get("unit") else ""
        return f"The answer is {number_text(float(body['answer']))}{unit}."
    answers = correct_texts(body)
    return "The answer is: " + "; ".join(answers) + "." if answers else "See the question."
