"""Validate a pack file and report every problem with its file, line, column and item id.

``validate_pack_file`` and ``validate_pack_bytes`` never raise on bad input: every problem, from
a YAML syntax error to a quote that is not in the article, becomes a :class:`Problem`. A pack
with no error (warnings allowed) also yields the validated :class:`~bot.packs.model.Pack`.
A change to the rules must bump :data:`bot.packs.source.FORMAT_VERSION`.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from rapidfuzz import fuzz

from bot.packs import limits, quality
from bot.packs.model import (
    ITEM_MODELS,
    ITEM_TYPES,
    MAX_CHOICE_OPTIONS,
    AcceptedAnswer,
    ChoiceItem,
    Item,
    NumberItem,
    Pack,
    PackHeader,
    PackSettings,
    ShortItem,
)
from bot.packs.yamlsafe import (
    MAX_PACK_BYTES,
    Mark,
    Path_,
    Positions,
    YamlLoadError,
    collector_paused,
    load_yaml,
)
from bot.text import (
    answer_form,
    normalize,
    plain_quotes,
    replace_each,
    shorten,
    squash_whitespace,
)

MAX_ITEMS = 10_000
"""Most items one pack may hold."""

MAX_ARTICLE_BYTES = 2 * 1024 * 1024
"""Largest article accepted (2 MiB of text)."""

MAX_PASSAGE_SEARCHES = 100
"""Closest-passage searches per pack. Past this many missing quotes the article is probably the
wrong file, and each search of a long article takes milliseconds."""

PACK_SUFFIXES = (".yaml", ".yml")

Severity = Literal["error", "warning"]

ArticleLoader = Callable[[str], str]
"""Returns the article text named by a pack's ``article`` key, or raises ``ArticleError``."""


class ArticleError(Exception):
    """The article a pack names cannot be found or read."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in a pack file."""

    file: str
    line: int
    column: int
    item: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.short()}"

    def short(self) -> str:
        """The problem without the file name: ``line:column: item: message``."""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.item}: {prefix}{self.message}"

    def located(self) -> str:
        return f"{self.line}:{self.column}: {self.short()}"


@dataclass
class PackReport:
    """The outcome of validating one pack file."""

    file: str
    pack: Pack | None = None
    problems: list[Problem] = field(default_factory=list)
    quality: quality.QualityReport | None = None
    """The item-writing checks of a pack without errors; its findings are also warnings above."""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.pack is not None and not self.errors


# --------------------------------------------------------------------------- entry points


def file_article_loader(pack_file: Path) -> ArticleLoader:
    """Resolve ``article:`` relative to the folder that holds the pack file."""

    def load(name: str) -> str:
        path = (pack_file.parent / name).resolve()
        return read_article(path, shown=name)

    return load


def read_article(path: Path, shown: str) -> str:
    """Read an article file, or raise ``ArticleError`` saying what is wrong with it."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ArticleError(f"the article {shown!r} does not exist (looked for {path})") from None
    except OSError as exc:
        raise ArticleError(f"the article {shown!r} cannot be read: {exc.strerror}") from None
    if not path.is_file():
        raise ArticleError(f"the article {shown!r} is not a file ({path})")
    if size > MAX_ARTICLE_BYTES:
        raise ArticleError(
            f"the article {shown!r} is {size:,} bytes; at most {MAX_ARTICLE_BYTES:,} are allowed"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"the article {shown!r} cannot be read: {exc.strerror}") from None
    return decode_article(data, shown)


def decode_article(data: bytes, shown: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(
            f"the article {shown!r} is not UTF-8 text (bad byte at offset {exc.start})"
        ) from None
    if not text.strip():
        raise ArticleError(f"the article {shown!r} is empty")
    return text


def validate_pack_file(path: Path, display_name: str | None = None) -> PackReport:
    """Validate one pack file on disk; its article is resolved next to it."""
    shown = display_name or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_PACK_BYTES:
            return _fatal(
                shown,
                YamlLoadError(
                    f"the file is {size:,} bytes; a pack may be at most {MAX_PACK_BYTES:,} bytes"
                ),
            )
        with path.open("rb") as stream:
            # At most one byte over the limit, whatever `stat` said (a pipe, a growing file).
            data = stream.read(MAX_PACK_BYTES + 1)
    except OSError as exc:
        return _fatal(shown, YamlLoadError(f"cannot read the file: {exc.strerror}"))
    return validate_pack_bytes(data, shown, file_article_loader(path))


def validate_pack_bytes(data: bytes, display_name: str, load_article: ArticleLoader) -> PackReport:
    """Validate a pack given as bytes (a file's content or an upload)."""
    report = PackReport(display_name)
    with collector_paused():
        try:
            raw, positions = load_yaml(data)
        except YamlLoadError as exc:
            return _fatal(display_name, exc)
        checker = _Checker(display_name, positions, report.problems)
        report.pack = checker.check(raw, load_article)
        if report.pack is not None and not report.errors:
            _add_quality(report, report.pack, positions)
    report.problems.sort(key=lambda p: (p.line, p.column, p.severity != "error"))
    if report.errors:
        report.pack = None
    return report


def _add_quality(report: PackReport, pack: Pack, positions: Positions) -> None:
    """Run the item-writing checks (:mod:`bot.packs.quality`) and add them as warnings."""
    report.quality = quality.check_pack(pack)
    for finding in report.quality.findings:
        path: Path_ = ("items",) if finding.index is None else ("items", finding.index)
        at = positions.get((*path, *finding.key))
        report.problems.append(
            Problem(
                report.file,
                at.line,
                at.column,
                finding.item,
                f"{finding.message} [{finding.rule}]",
                "warning",
            )
        )


def _fatal(file: str, exc: YamlLoadError) -> PackReport:
    return PackReport(file, None, [Problem(file, exc.line, exc.column, "pack", exc.message)])


def find_pack_files(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """Expand folders into the pack files they hold; also return the paths that do not exist."""
    found: list[Path] = []
    missing: list[str] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in PACK_SUFFIXES and p.is_file())
            )
        elif path.exists():
            found.append(path)
        else:
            missing.append(str(path))
    return found, missing


# --------------------------------------------------------------------------- summaries


@dataclass(frozen=True)
class PackSummary:
    items: int
    by_type: dict[str, int]
    by_skill: dict[str, int]
    by_difficulty: dict[str, int]

    def lines(self) -> list[str]:
        def fmt(counts: dict[str, int]) -> str:
            return ", ".join(f"{name} {count}" for name, count in counts.items()) or "none"

        return [
            f"{self.items} items",
            f"types: {fmt(self.by_type)}",
            f"skills: {fmt(self.by_skill)}",
            f"difficulty: {fmt(self.by_difficulty)}",
        ]


def summarize(pack: Pack) -> PackSummary:
    """Count a pack's items by type, skill and difficulty (in the format's order)."""
    from bot.packs.model import DIFFICULTIES, SKILLS

    def ordered(values: Sequence[str], order: Sequence[str]) -> dict[str, int]:
        counts = Counter(values)
        return {name: counts[name] for name in order if counts[name]}

    return PackSummary(
        items=len(pack.items),
        by_type=ordered([i.type for i in pack.items], ITEM_TYPES),
        by_skill=ordered([i.skill for i in pack.items], SKILLS),
        by_difficulty=ordered([i.difficulty for i in pack.items], DIFFICULTIES),
    )


# --------------------------------------------------------------------------- the checker

# pydantic error types that only say "this union member did not fit the value's type".
_TYPE_MISMATCH = frozenset(
    {
        "string_type",
        "list_type",
        "dict_type",
        "model_type",
        "model_attributes_type",
        "int_type",
        "int_parsing",
        "int_from_float",
        "float_type",
        "float_parsing",
        "bool_type",
        "bool_parsing",
        "literal_error",
        "is_instance_of",
        "none_required",
    }
)

# What a value should be, for values that may take more than one shape.
_UNION_EXPECTATIONS = {
    "source": "a quote (text) or a list of quotes",
    "answer": "the correct option (text) or a list of correct options",
    "answers": "an accepted answer: text, or a mapping with `text`, `credit` and `feedback`",
    "typo_tolerance": "a number of typos from 0 to 5, or 'auto'",
    "tolerance": "a number or a percentage such as '5%'",
}

_BOUNDS = {
    "greater_than_equal": "at least",
    "less_than_equal": "at most",
    "greater_than": "more than",
    "less_than": "less than",
}

_FIELD_HINTS = {
    "id": "an item id: letters, digits, '-', '_' and '.', at most 64 characters",
    "pack": "a slug: lower-case letters, digits and '-', at most 48 characters",
    "tags": "a tag: lower-case letters, digits and '-'",
    "language": "a language code such as 'en' or 'pt-BR'",
}


def _norm_option(text: str) -> str:
    return squash_whitespace(plain_quotes(text)).casefold()


_DASH_PAIRS = (("\u2013", "-"), ("\u2014", "-"), ("\u2212", "-"), ("\u00a0", " "))


def quote_form(text: str) -> str:
    """The form in which quotes are compared with the article: whitespace, typographic quotes,
    apostrophes and dashes do not count."""
    text = plain_quotes(text)
    return squash_whitespace(text if text.isascii() else replace_each(text, _DASH_PAIRS))


# The keys each type's own checks read: they are skipped when one of these had to be stood in.
_TYPE_CHECK_READS: dict[str, frozenset[str]] = {
    "choice": frozenset({"answer", "options", "distractors"}),
    "truefalse": frozenset(),
    "short": frozenset({"answers"}),
    "number": frozenset({"answer", "tolerance"}),
}

_STAND_INS: dict[str, Any] = {
    "id": "item",
    "question": "?",
    "explanation": "?",
    "source": "?",
    "difficulty": "easy",
    "skill": "detail",
    "answers": ["?"],
}
_ANSWER_STAND_INS: dict[str, Any] = {"choice": "?", "truefalse": True, "number": 0}


def _stand_in(key: str, item_type: str) -> Any:
    """A valid value for a required key whose own value is wrong (never shown to anyone)."""
    if key == "answer":
        return _ANSWER_STAND_INS.get(item_type)
    return _STAND_INS.get(key)


class _Checker:
    def __init__(self, file: str, positions: Positions, problems: list[Problem]) -> None:
        self.file = file
        self.positions = positions
        self.problems = problems
        self.reported: set[Path_] = set()
        self.article: ArticleQuotes | None = None
        self.has_article = True  # False when `article:` is unset: items need no `source`
        self.passage_searches = 0
        self.language = "en"

    # -- reporting

    def add(
        self,
        path: Path_,
        item: str,
        message: str,
        severity: Severity = "error",
        mark: Mark | None = None,
    ) -> None:
        at = mark or self.positions.get(path)
        self.reported.add(path)
        self.problems.append(Problem(self.file, at.line, at.column, item, message, severity))

    # -- the whole pack

    def check(self, raw: Any, load_article: ArticleLoader) -> Pack | None:
        if not isinstance(raw, dict):
            self.add((), "pack", "a pack file must be a mapping with `pack`, `title`, `items`…")
            return None
        for path, mark in self.positions.duplicate_keys:
            self.add(
                path, self._item_label(raw, path), f"the key {path[-1]!r} appears twice", mark=mark
            )
        raw_items = raw.get("items")
        if isinstance(raw_items, list) and len(raw_items) > MAX_ITEMS:
            self.add(
                ("items",),
                "pack",
                f"the pack has {len(raw_items):,} items; at most {MAX_ITEMS:,} are allowed",
            )
            return None
        header = self._validate_model(PackHeader, raw, (), "pack")
        if isinstance(raw.get("language"), str):
            self.language = raw["language"]
        self._check_header_lengths(raw)
        self.has_article = raw.get("article") is not None
        article_text = self._load_article(raw, load_article) if self.has_article else ""
        if article_text:
            self.article = ArticleQuotes(article_text)
        items: list[Item] = []
        if isinstance(raw_items, list):
            seen: dict[str, int] = {}
            for index, raw_item in enumerate(raw_items):
                item = self._check_item(index, raw_item, seen)
                if item is not None:
                    items.append(item)
        self._check_yaml11_numbers(raw)
        if header is None:
            return None
        assert isinstance(header, PackHeader)
        if len(items) != len(header.items) or article_text is None:
            return None
        return Pack(
            slug=header.pack,
            title=header.title,
            language=header.language,
            description=header.description,
            article_name=header.article or "",
            article_text=article_text,
            settings=header.settings,
            items=tuple(items),
        )

    def _load_article(self, raw: dict[str, Any], load_article: ArticleLoader) -> str | None:
        name = raw.get("article")
        if not isinstance(name, str) or not name.strip():
            return None  # reported by the header model
        try:
            return load_article(name)
        except ArticleError as exc:
            self.add(("article",), "pack", str(exc))
            return None

    def _check_header_lengths(self, raw: dict[str, Any]) -> None:
        for key, limit in (("title", limits.TITLE), ("description", limits.DESCRIPTION)):
            text = raw.get(key)
            if isinstance(text, str) and len(text) > limit:
                self.add(
                    (key,), "pack", f"the {key} is {len(text):,} characters; at most {limit:,}"
                )

    def _check_yaml11_numbers(self, raw: dict[str, Any]) -> None:
        """Numbers YAML 1.1 reads unlike they look (``030`` is octal 24) where a number is
        accepted; where text is expected the type error already says so."""
        for path in self.positions.yaml11_numbers:
            mark = self.positions.get(path)
            reading = mark.yaml11_number
            if path not in self.reported and reading and reading.startswith("the octal"):
                self.add(
                    path,
                    self._item_label(raw, path),
                    f"YAML 1.1 reads {mark.raw} as {reading}; drop the leading zero "
                    f"(or put it in quotes if you mean text)",
                )

    # -- one item

    def _item_label(self, raw: dict[str, Any], path: Path_) -> str:
        if len(path) >= 2 and path[0] == "items" and isinstance(path[1], int):
            items = raw.get("items")
            if isinstance(items, list) and path[1] < len(items):
                return self._label(path[1], items[path[1]])
            return f"item #{path[1] + 1}"
        return "pack"

    @staticmethod
    def _label(index: int, raw_item: Any) -> str:
        if isinstance(raw_item, dict):
            item_id = raw_item.get("id")
            if isinstance(item_id, str) and item_id.strip():
                return item_id
        return f"item #{index + 1}"

    def _check_item(self, index: int, raw_item: Any, seen: dict[str, int]) -> Item | None:
        path: Path_ = ("items", index)
        label = self._label(index, raw_item)
        if not isinstance(raw_item, dict):
            self.add(
                path, label, "an item must be a mapping of keys such as `id`, `type`, `question`"
            )
            return None
        item_id = raw_item.get("id")
        if isinstance(item_id, str):
            if item_id in seen:
                first = self.positions.get(("items", seen[item_id])).line
                self.add(
                    (*path, "id"),
                    label,
                    f"duplicate item id {item_id!r} (first used on line {first})",
                )
            else:
                seen[item_id] = index
        kind = raw_item.get("type")
        if "type" not in raw_item:
            self.add(path, label, f"missing key 'type' (one of: {', '.join(ITEM_TYPES)})")
            return None
        model = ITEM_MODELS.get(kind) if isinstance(kind, str) else None
        if model is None:
            shown = kind if isinstance(kind, str) else repr(kind)
            guess = difflib.get_close_matches(str(kind), ITEM_TYPES, n=1) or [
                name for name in ITEM_TYPES if name in str(kind).lower()
            ]
            hint = f" (did you mean {guess[0]!r}?)" if guess else ""
            self.add(
                (*path, "type"),
                label,
                f"unknown item type {shown!r}{hint}; use one of: {', '.join(ITEM_TYPES)}",
            )
            return None
        item, stand_ins = self._validate_item(model, raw_item, path, label)
        if item is None:
            return None
        # Built once: each is a model made from an answer given as text.
        accepted = item.accepted if isinstance(item, ShortItem) else []
        # An item with errors in some keys is still checked on the keys that are sound, so
        # that one run reports every mistake; checks that read a stand-in value are skipped.
        if stand_ins.isdisjoint(_TYPE_CHECK_READS[item.type]):
            if isinstance(item, ChoiceItem):
                self._check_choice(item, path, label)
            elif isinstance(item, ShortItem):
                self._check_short(item, accepted, path, label)
            elif isinstance(item, NumberItem):
                self._check_number(item, raw_item, path, label)
        self._check_lengths(item, accepted, path, label)
        if "source" not in stand_ins:
            self._check_quotes(item, path)
        return None if stand_ins else item

    def _validate_item(
        self, model: type[BaseModel], raw_item: dict[str, Any], path: Path_, label: str
    ) -> tuple[Item | None, frozenset[str]]:
        """The validated item and no stand-ins; or, when some keys are wrong (and reported), the
        item with those keys dropped or replaced by harmless stand-ins, and the keys' names."""
        try:
            return model.model_validate(raw_item), frozenset()  # type: ignore[return-value]
        except ValidationError as exc:
            errors = exc.errors()
        self._report(errors, model, raw_item, path, label)
        if any(not err["loc"] for err in errors):
            return None, frozenset()  # a rule about the item as a whole: nothing to repair
        wrong = frozenset(str(err["loc"][0]) for err in errors)
        repaired = {key: value for key, value in raw_item.items() if key not in wrong}
        for key in wrong:
            field = model.model_fields.get(key)
            if field is not None and field.is_required():
                stand_in = _stand_in(key, raw_item["type"])
                if stand_in is None:
                    return None, frozenset()
                repaired[key] = stand_in
        try:
            return model.model_validate(repaired), wrong  # type: ignore[return-value]
        except ValidationError:
            return None, frozenset()

    def _check_choice(self, item: ChoiceItem, path: Path_, label: str) -> None:
        texts = item.option_texts
        key = "options" if item.options is not None else "distractors"
        if len(texts) < 2:
            self.add(
                (*path, key), label, f"a choice needs at least two options; it has {len(texts)}"
            )
        if len(texts) > MAX_CHOICE_OPTIONS:
            self.add(
                (*path, key),
                label,
                f"a choice may have at most {MAX_CHOICE_OPTIONS} options; it has {len(texts)}",
            )
        answers = item.answers
        if item.options is not None:
            options = list(item.options)
            for position, answer in enumerate(answers):
                if answer not in options:
                    at = (*path, "answer", position) if item.multiple else (*path, "answer")
                    guess = difflib.get_close_matches(answer, options, n=1, cutoff=0.6)
                    hint = f" (did you mean {guess[0]!r}?)" if guess else ""
                    self.add(at, label, f"the answer {answer!r} is not among the options{hint}")
            self._duplicates(options, (*path, "options"), label, "option")
        else:
            self._duplicates(answers, (*path, "answer"), label, "answer")
            answer_forms = {_norm_option(a) for a in answers}
            for position, distractor in enumerate(item.distractors or []):
                if _norm_option(distractor) in answer_forms:
                    self.add(
                        (*path, "distractors", position),
                        label,
                        f"the distractor {distractor!r} is also an answer",
                    )
            self._duplicates(item.distractors or [], (*path, "distractors"), label, "distractor")
        if item.multiple and len(set(answers)) >= len(set(texts)) >= 2:
            self.add((*path, "answer"), label, "every option is marked correct")
        for option in item.feedback:
            if option not in texts:
                guess = difflib.get_close_matches(option, texts, n=1, cutoff=0.6)
                hint = f" (did you mean {guess[0]!r}?)" if guess else ""
                self.add(
                    (*path, "feedback", option),
                    label,
                    f"feedback for {option!r}, which is not one of the options{hint}",
                )
        poll_problems = []
        if len(item.question) > limits.POLL_QUESTION:
            poll_problems.append(
                f"the question is {len(item.question)} characters (a poll allows "
                f"{limits.POLL_QUESTION})"
            )
        long_options = [t for t in texts if len(t) > limits.POLL_OPTION]
        if long_options:
            poll_problems.append(
                f"{len(long_options)} option(s) over {limits.POLL_OPTION} characters"
            )
        if len(texts) > limits.POLL_OPTIONS:
            poll_problems.append(f"{len(texts)} options (a poll allows {limits.POLL_OPTIONS})")
        if poll_problems:
            self.add(
                path,
                label,
                "too long for a native quiz poll: "
                + "; ".join(poll_problems)
                + "; group games show it with buttons instead",
                severity="warning",
            )

    def _duplicates(self, texts: Sequence[str], path: Path_, label: str, noun: str) -> None:
        seen: set[str] = set()
        for position, text in enumerate(texts):
            form = _norm_option(text)
            if form in seen:
                self.add((*path, position), label, f"duplicate {noun} {text!r}")
            seen.add(form)

    def _check_short(
        self, item: ShortItem, accepted: list[AcceptedAnswer], path: Path_, label: str
    ) -> None:
        # Compared as the grader compares them: case, punctuation and accents do not count.
        seen: set[str] = set()
        for position, answer in enumerate(accepted):
            at = (*path, "answers", position)
            form = answer_form(answer.text, self.language)
            if form in seen:
                self.add(at, label, f"duplicate accepted answer {answer.text!r}")
            seen.add(form)
            if answer.credit > 0 and not normalize(answer.text.replace("*", ""), self.language):
                self.add(
                    at, label, f"{answer.text!r} with credit {answer.credit:g} accepts any answer"
                )
        if not any(a.credit > 0 for a in accepted):
            self.add((*path, "answers"), label, "no accepted answer earns any credit")

    def _check_number(
        self, item: NumberItem, raw_item: dict[str, Any], path: Path_, label: str
    ) -> None:
        if item.absolute_tolerance >= abs(item.answer) > 0:
            self.add(
                (*path, "tolerance"),
                label,
                f"a tolerance of {raw_item['tolerance']} accepts 0 for the answer "
                f"{raw_item['answer']}",
                severity="warning",
            )

    def _check_lengths(
        self, item: Item, accepted: list[AcceptedAnswer], path: Path_, label: str
    ) -> None:
        """Each text must fit a message, and so must the feedback message that shows them all.

        ``accepted`` is a short item's :attr:`~ShortItem.accepted` (empty for other types)."""
        sources = item.sources
        texts = [item.question, item.explanation, *sources]
        feedback = 0
        options: list[str] = []
        if isinstance(item, ChoiceItem):
            options = item.option_texts
            if item.feedback:
                texts += item.feedback.values()
                feedback = max(len(v) for v in item.feedback.values())
        elif isinstance(item, ShortItem):
            for answer in accepted:
                texts.append(answer.text)
                if answer.feedback:
                    texts.append(answer.feedback)
            feedback = max((len(a.feedback or "") for a in accepted), default=0)
        room = limits.MESSAGE_TEXT - limits.MESSAGE_CHROME
        if max(map(len, texts)) > room:
            self._report_long_text(item, accepted, path, label, room)
            return
        needed = (
            len(item.question)
            + sum(len(o) + 6 for o in options)
            + len(item.explanation)
            + sum(len(s) + 4 for s in sources)
            + feedback
            + limits.MESSAGE_CHROME
        )
        if needed > limits.MESSAGE_TEXT:
            self.add(
                path,
                label,
                f"the question, options, explanation and quote need {needed:,} characters "
                f"in one answer message; Telegram allows {limits.MESSAGE_TEXT:,}",
            )

    def _report_long_text(
        self, item: Item, accepted: list[AcceptedAnswer], path: Path_, label: str, room: int
    ) -> None:
        """Report the first text of ``item`` longer than ``room``."""
        texts: list[tuple[Path_, str, str]] = [
            ((*path, "question"), "question", item.question),
            ((*path, "explanation"), "explanation", item.explanation),
        ]
        if isinstance(item.source, str):
            texts.append(((*path, "source"), "source quote", item.source))
        elif item.source is not None:
            texts += [((*path, "source", n), "source quote", s) for n, s in enumerate(item.source)]
        if isinstance(item, ChoiceItem):
            texts += [((*path, "feedback", k), "feedback", v) for k, v in item.feedback.items()]
        elif isinstance(item, ShortItem):
            for n, answer in enumerate(accepted):
                texts.append(((*path, "answers", n), "answer", answer.text))
                if answer.feedback:
                    texts.append(((*path, "answers", n, "feedback"), "feedback", answer.feedback))
        for at, name, text in texts:
            if len(text) > room:
                self.add(
                    at,
                    label,
                    f"the {name} is {len(text):,} characters: more than a Telegram message holds "
                    f"({limits.MESSAGE_TEXT:,}, with {limits.MESSAGE_CHROME} kept for the bot's "
                    "own words)",
                )
                return

    # -- quotes

    def _check_quotes(self, item: Item, path: Path_) -> None:
        if item.source is None:
            if self.has_article:
                self.add(
                    path,
                    item.id,
                    "missing key 'source': a quote from the article that supports the answer "
                    "(only a pack without `article:` may leave it out)",
                )
            return
        if not self.has_article:
            self.add(
                (*path, "source"),
                item.id,
                "the pack has no `article:`, so this quote is not checked",
                severity="warning",
            )
            return
        if self.article is None:
            return  # the article is missing or unreadable: reported once, on `article`
        for position, source in enumerate(item.sources):
            if self.article.contains(source):
                continue
            at: Path_ = (
                (*path, "source") if isinstance(item.source, str) else (*path, "source", position)
            )
            self.add(
                at,
                item.id,
                "the source quote is not in the article; closest "
                f"passage: {self._closest_passage(source)}",
            )

    def _closest_passage(self, source: str) -> str:
        self.passage_searches += 1
        if self.passage_searches > MAX_PASSAGE_SEARCHES:
            return (
                f"not searched after {MAX_PASSAGE_SEARCHES} missing quotes "
                "(is `article` the right file?)"
            )
        assert self.article is not None
        return self.article.closest_passage(source)

    # -- pydantic

    def _validate_model(
        self, model: type[BaseModel], raw: dict[str, Any], path: Path_, label: str
    ) -> BaseModel | None:
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            self._report(exc.errors(), model, raw, path, label)
            return None

    def _report(
        self,
        errors: list[Any],
        model: type[BaseModel],
        raw: dict[str, Any],
        path: Path_,
        label: str,
    ) -> None:
        for loc, message in self._translate(errors, model, raw, path):
            self.add((*path, *loc), label, message)

    def _translate(
        self, errors: list[Any], model: type[BaseModel], raw: dict[str, Any], base: Path_
    ) -> list[tuple[Path_, str]]:
        cleaned: list[tuple[Path_, dict[str, Any]]] = [
            (_clean_loc(err["loc"], raw, err["type"]), err) for err in errors
        ]
        # Drop "wrong type for this union member" errors when another member got further.
        kept: list[tuple[Path_, dict[str, Any]]] = []
        for loc, err in cleaned:
            if err["type"] in _TYPE_MISMATCH and any(
                other is not err
                and other_loc[: len(loc)] == loc
                and (len(other_loc) > len(loc) or other["type"] not in _TYPE_MISMATCH)
                for other_loc, other in cleaned
            ):
                continue
            kept.append((loc, err))
        # A misspelt key is one mistake, not two: "unknown key 'skil' (did you mean 'skill'?)"
        # stands for the "missing key 'skill'" it causes.
        guesses = {
            loc: _guess_key(model, loc) for loc, err in kept if err["type"] == "extra_forbidden"
        }
        explained = {(*loc[:-1], guess) for loc, guess in guesses.items() if guess}
        grouped: dict[Path_, list[dict[str, Any]]] = {}
        for loc, err in kept:
            if err["type"] != "missing" or loc not in explained:
                grouped.setdefault(loc, []).append(err)
        out: list[tuple[Path_, str]] = []
        for loc, errs in grouped.items():
            if errs[0]["type"] == "extra_forbidden":
                out.append((loc, _unknown_key(model, loc, guesses.get(loc))))
            else:
                out.append((loc, self._message((*base, *loc), errs)))
        return out

    def _message(self, loc: Path_, errs: list[dict[str, Any]]) -> str:
        err = errs[0]
        kind = err["type"]
        name = next((str(p) for p in reversed(loc) if isinstance(p, str)), "value")
        mark = self.positions.exact(loc)
        if mark is not None and any(e["type"] in _TYPE_MISMATCH for e in errs):
            if mark.yaml11_boolean:
                return (
                    f"YAML read {mark.raw!r} as the boolean {str(err['input']).lower()}; "
                    f'write "{mark.raw}" in quotes if you mean the word'
                )
            reading = mark.yaml11_number
            if reading is not None and any(e["type"] == "string_type" for e in errs):
                return (
                    f"`{name}` must be text; YAML 1.1 reads {mark.raw} as {reading}: "
                    "put it in quotes"
                )
        if len(errs) > 1 and all(e["type"] in _TYPE_MISMATCH for e in errs):
            expected = _UNION_EXPECTATIONS.get(name, "a different kind of value")
            return f"`{name}` must be {expected}; got {_describe(err['input'])}"
        if kind == "missing":
            return f"missing key {loc[-1]!r}" if loc else "missing value"
        if kind == "string_type":
            hint = "; put it in quotes" if isinstance(err["input"], int | float) else ""
            return f"`{name}` must be text, got {_describe(err['input'])}{hint}"
        if kind in ("list_type",):
            return f"`{name}` must be a list, got {_describe(err['input'])}"
        if kind in ("dict_type", "model_type", "model_attributes_type"):
            return f"`{name}` must be a mapping of keys, got {_describe(err['input'])}"
        if kind in ("bool_type", "bool_parsing"):
            unquote = (
                "; write it without quotes"
                if str(err["input"]).lower() in ("true", "false")
                else ""
            )
            return f"`{name}` must be true or false, got {_describe(err['input'])}{unquote}"
        if kind in ("int_type", "int_parsing", "int_from_float"):
            return f"`{name}` must be a whole number, got {_describe(err['input'])}"
        if kind in ("float_type", "float_parsing"):
            return f"`{name}` must be a number, got {_describe(err['input'])}"
        if kind == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            return f"`{name}` is {_describe(err['input'])}; use one of: {expected}"
        if kind == "string_pattern_mismatch":
            hint = _FIELD_HINTS.get(name if name != "value" else "", "the allowed characters")
            if isinstance(loc[-1], int) and len(loc) >= 2:
                hint = _FIELD_HINTS.get(str(loc[-2]), hint)
            return (
                f"{err['input']!r} is not {hint}"
                if hint[:2] in ("a ", "an")
                else (f"{err['input']!r} does not match {hint}")
            )
        if kind == "too_short":
            wanted = err.get("ctx", {}).get("min_length", 1)
            return f"`{name}` needs at least {wanted} entr{'y' if wanted == 1 else 'ies'}"
        if kind in _BOUNDS:
            bound = next(iter(err.get("ctx", {}).values()), "?")
            return f"`{name}` must be {_BOUNDS[kind]} {bound}, got {_describe(err['input'])}"
        message = str(err["msg"]).removeprefix("Value error, ")
        if message == "empty text":
            return f"`{name}` is empty"
        return message


def _keys_at(model: type[BaseModel], parent: Path_) -> dict[str, Any]:
    """The keys allowed in the mapping at ``parent`` inside a value of ``model``."""
    if model is PackHeader and parent[:1] == ("settings",):
        return PackSettings.model_fields
    if model is ShortItem and parent[:1] == ("answers",):
        return AcceptedAnswer.model_fields
    return model.model_fields


def _guess_key(model: type[BaseModel], loc: Path_) -> str | None:
    """The allowed key that an unknown key at ``loc`` is most likely a misspelling of."""
    guess = difflib.get_close_matches(str(loc[-1]), sorted(_keys_at(model, loc[:-1])), 1, 0.7)
    return guess[0] if guess else None


def _unknown_key(model: type[BaseModel], loc: Path_, guess: str | None) -> str:
    key = str(loc[-1])
    if guess:
        return f"unknown key {key!r} (did you mean {guess!r}?)"
    kind = next((name for name, m in ITEM_MODELS.items() if m is model), None)
    if kind is not None and len(loc) == 1:
        users = [name for name, m in ITEM_MODELS.items() if key in m.model_fields]
        if users:
            return f"unknown key {key!r}: {kind} items do not use it (only {', '.join(users)})"
    return f"unknown key {key!r}"


def _clean_loc(loc: Sequence[str | int], raw: Any, kind: str) -> Path_:
    """Drop union-member tags (``'str'``, ``'list[...]'``) from a pydantic error location by
    walking the raw data: a segment that is neither a key nor an index of the data is a tag."""
    out: list[str | int] = []
    data = raw
    for position, segment in enumerate(loc):
        last = position == len(loc) - 1
        in_dict = isinstance(data, dict) and isinstance(segment, str) and segment in data
        in_list = isinstance(data, list) and isinstance(segment, int) and segment < len(data)
        if in_dict or in_list:
            out.append(segment)
            data = data[segment]
        elif last and kind == "missing" and isinstance(data, dict):
            out.append(segment)
    return tuple(out)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return repr(shorten(value, 60))
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_WORD = re.compile(r"\S+")


class ArticleQuotes:
    """An article prepared for quote checks: its comparison form (:func:`quote_form`), and the
    way back from a passage of that form to the article's own words."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.form = quote_form(text)
        # Capitals do not count when looking for the closest passage (but do in a quote). A
        # lower-casing that changes the length (rare, "İ") would misplace the passage.
        lower = self.form.lower()
        self._lower_form = lower if len(lower) == len(self.form) else self.form
        self._word_starts: list[int] = []  # where each word starts in `form`...
        self._word_origins: list[int] = []  # ...and in `text`

    def contains(self, quote: str) -> bool:
        return quote_form(quote) in self.form

    def closest_passage(self, quote: str, width: int = 160) -> str:
        """The passage most like ``quote`` in the article's own words (its typographic quotes
        included), quoted, with the similarity in percent."""
        needle = quote_form(quote)
        if not needle:
            return "(the quote is empty)"
        alignment = fuzz.partial_ratio_alignment(needle.lower(), self._lower_form)
        if alignment is None or alignment.score == 0:
            return "(nothing similar)"
        start, end = alignment.dest_start, alignment.dest_end
        # Widen to whole words so the author can search for the passage.
        while start > 0 and not self.form[start - 1].isspace():
            start -= 1
        while end < len(self.form) and not self.form[end].isspace():
            end += 1
        words = self.text[self._original(start) : self._original(end)]
        passage = shorten(squash_whitespace(words), width)
        return f'"{passage}" ({alignment.score:.0f}% similar)'

    def _original(self, position: int) -> int:
        if not self._word_starts:
            # The form is the article's words joined by single spaces (see `quote_form`).
            translated = replace_each(plain_quotes(self.text), _DASH_PAIRS)
            at = 0
            for word in _WORD.finditer(translated):
                self._word_starts.append(at)
                self._word_origins.append(word.start())
                at += word.end() - word.start() + 1
        if not self._word_starts:
            return 0
        index = max(0, bisect.bisect_right(self._word_starts, position) - 1)
        return self._word_origins[index] + position - self._word_starts[index]
