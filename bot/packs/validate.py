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
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError

from bot.i18n import Translator, translator
from bot.packs import limits
from bot.packs.facts import Fact, Say, Value, fact
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
from bot.packs.wording import say
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

if TYPE_CHECKING:  # the quality checks (rapidfuzz, snowballstemmer) load when a pack is checked
    from bot.packs.quality import QualityReport

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
    """The article a pack names cannot be found or read (``fact`` says why)."""

    def __init__(self, fact: Fact) -> None:
        super().__init__(fact.code)
        self.fact = fact


_ITEM_NUMBER = re.compile(r"item #(\d+)")


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in a pack file: where, and a :class:`Fact`.

    ``item`` is the item's id, ``item #3`` for an item without one, or ``pack``; ``rule`` the
    item-quality rule of a quality warning. The texts are said in the reader's language with a
    :class:`~bot.i18n.Translator` (English without one, for logs and tests)."""

    file: str
    line: int
    column: int
    item: str
    fact: Fact
    severity: Severity = "error"
    rule: str = ""

    def __str__(self) -> str:
        return self.text()

    @property
    def message(self) -> str:
        """The problem in English (logs, tests)."""
        return self.said()

    def said(self, t: Translator | None = None) -> str:
        """What is wrong, with the quality rule in brackets."""
        text = say(t or translator("en"), self.fact)
        return f"{text} [{self.rule}]" if self.rule else text

    def label(self, t: Translator | None = None) -> str:
        """The item's id; for the pack or an item without an id, those words translated."""
        t = t or translator("en")
        numbered = _ITEM_NUMBER.fullmatch(self.item)
        if numbered:
            return say(t, fact(Say.ITEM_NUMBER, number=int(numbered.group(1))))
        return say(t, fact(Say.PACK_LABEL)) if self.item == "pack" else self.item

    def text(self, t: Translator | None = None) -> str:
        """``file:line:column: item: message``."""
        return f"{self.file}:{self.line}:{self.column}: {self.short(t)}"

    def short(self, t: Translator | None = None) -> str:
        """The problem without its place: ``item: message``."""
        message = self.said(t)
        if self.severity == "warning":
            message = say(t or translator("en"), fact(Say.WARNING, message=message))
        return f"{self.label(t)}: {message}"

    def located(self, t: Translator | None = None) -> str:
        """``line:column: item: message``."""
        return f"{self.line}:{self.column}: {self.short(t)}"


@dataclass
class PackReport:
    """The outcome of validating one pack file."""

    file: str
    pack: Pack | None = None
    problems: list[Problem] = field(default_factory=list)
    quality: QualityReport | None = None
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
        raise ArticleError(fact(Say.ARTICLE_MISSING, name=shown, path=str(path))) from None
    except OSError as exc:
        raise ArticleError(_unreadable(shown, exc)) from None
    if not path.is_file():
        raise ArticleError(fact(Say.ARTICLE_NOT_FILE, name=shown, path=str(path)))
    if size > MAX_ARTICLE_BYTES:
        raise ArticleError(
            fact(Say.ARTICLE_TOO_BIG, name=shown, size=size, limit=MAX_ARTICLE_BYTES)
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArticleError(_unreadable(shown, exc)) from None
    return decode_article(data, shown)


def _unreadable(shown: str, exc: OSError) -> Fact:
    return fact(Say.ARTICLE_UNREADABLE, name=shown, reason=str(exc.strerror))


def decode_article(data: bytes, shown: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(fact(Say.ARTICLE_NOT_UTF8, name=shown, offset=exc.start)) from None
    if not text.strip():
        raise ArticleError(fact(Say.ARTICLE_EMPTY, name=shown))
    return text


def validate_pack_file(path: Path, display_name: str | None = None) -> PackReport:
    """Validate one pack file on disk; its article is resolved next to it."""
    shown = display_name or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_PACK_BYTES:
            return _fatal(
                shown, YamlLoadError(fact(Say.FILE_TOO_BIG, size=size, limit=MAX_PACK_BYTES))
            )
        with path.open("rb") as stream:
            # At most one byte over the limit, whatever `stat` said (a pipe, a growing file).
            data = stream.read(MAX_PACK_BYTES + 1)
    except OSError as exc:
        return _fatal(shown, YamlLoadError(fact(Say.FILE_UNREADABLE, reason=str(exc.strerror))))
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
    """Run the item-writing checks (:mod:`bot.packs.quality`) and add them as warnings.

    Imported here, not at the top: a bot serving students from certified packs never
    validates one, and need not hold the checks' libraries (docs/benchmark.md, issue 12)."""
    from bot.packs.quality import check_pack

    report.quality = check_pack(pack)
    for finding in report.quality.findings:
        path: Path_ = ("items",) if finding.index is None else ("items", finding.index)
        at = positions.get((*path, *finding.key))
        report.problems.append(
            Problem(
                report.file,
                at.line,
                at.column,
                finding.item,
                finding.fact,
                "warning",
                finding.rule,
            )
        )


def _fatal(file: str, exc: YamlLoadError) -> PackReport:
    return PackReport(file, None, [Problem(file, exc.line, exc.column, "pack", exc.fact)])


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

    def facts(self) -> list[Fact]:
        """The item count, then the counts by type, skill and difficulty (the format's words)."""

        def counts(values: dict[str, int]) -> Value:
            listed = ", ".join(f"{name} {count}" for name, count in values.items())
            return listed or fact(Say.SUMMARY_NONE)

        return [
            fact(Say.SUMMARY_ITEMS, n=self.items),
            fact(Say.SUMMARY_TYPES, counts=counts(self.by_type)),
            fact(Say.SUMMARY_SKILLS, counts=counts(self.by_skill)),
            fact(Say.SUMMARY_DIFFICULTY, counts=counts(self.by_difficulty)),
        ]

    def lines(self, t: Translator | None = None) -> list[str]:
        return [say(t or translator("en"), f) for f in self.facts()]


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
    "source": Say.EXPECT_SOURCE,
    "answer": Say.EXPECT_ANSWER,
    "answers": Say.EXPECT_ANSWERS,
    "typo_tolerance": Say.EXPECT_TYPO_TOLERANCE,
    "tolerance": Say.EXPECT_TOLERANCE,
}

_BOUNDS = {
    "greater_than_equal": Say.AT_LEAST,
    "less_than_equal": Say.AT_MOST,
    "greater_than": Say.MORE_THAN,
    "less_than": Say.LESS_THAN,
}

_FIELD_HINTS = {
    "id": Say.NOT_AN_ITEM_ID,
    "pack": Say.NOT_A_SLUG,
    "tags": Say.NOT_A_TAG,
    "language": Say.NOT_A_LANGUAGE,
}

# The model's own errors (pydantic custom errors whose type is a Say code).
_MODEL_ERRORS = frozenset(Say)


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
        said: Fact,
        severity: Severity = "error",
        mark: Mark | None = None,
    ) -> None:
        at = mark or self.positions.get(path)
        self.reported.add(path)
        self.problems.append(Problem(self.file, at.line, at.column, item, said, severity))

    # -- the whole pack

    def check(self, raw: Any, load_article: ArticleLoader) -> Pack | None:
        if not isinstance(raw, dict):
            self.add((), "pack", fact(Say.PACK_NOT_MAPPING))
            return None
        for path, mark in self.positions.duplicate_keys:
            self.add(
                path,
                self._item_label(raw, path),
                fact(Say.DUPLICATE_KEY, key=str(path[-1])),
                mark=mark,
            )
        raw_items = raw.get("items")
        if isinstance(raw_items, list) and len(raw_items) > MAX_ITEMS:
            self.add(
                ("items",),
                "pack",
                fact(Say.TOO_MANY_ITEMS, count=len(raw_items), limit=MAX_ITEMS),
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
            self.add(("article",), "pack", exc.fact)
            return None

    def _check_header_lengths(self, raw: dict[str, Any]) -> None:
        for key, limit, code in (
            ("title", limits.TITLE, Say.TITLE_TOO_LONG),
            ("description", limits.DESCRIPTION, Say.DESCRIPTION_TOO_LONG),
        ):
            text = raw.get(key)
            if isinstance(text, str) and len(text) > limit:
                self.add((key,), "pack", fact(code, length=len(text), limit=limit))

    def _check_yaml11_numbers(self, raw: dict[str, Any]) -> None:
        """Numbers YAML 1.1 reads unlike they look (``030`` is octal 24) where a number is
        accepted; where text is expected the type error already says so."""
        for path in self.positions.yaml11_numbers:
            mark = self.positions.get(path)
            reading = mark.yaml11_number
            if path not in self.reported and reading and reading.code == Say.OCTAL_NUMBER:
                self.add(
                    path,
                    self._item_label(raw, path),
                    fact(Say.YAML11_OCTAL, raw=str(mark.raw), reading=reading),
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
            self.add(path, label, fact(Say.ITEM_NOT_MAPPING))
            return None
        item_id = raw_item.get("id")
        if isinstance(item_id, str):
            if item_id in seen:
                first = self.positions.get(("items", seen[item_id])).line
                self.add(
                    (*path, "id"),
                    label,
                    fact(Say.DUPLICATE_ID, id=item_id, line=first),
                )
            else:
                seen[item_id] = index
        kind = raw_item.get("type")
        if "type" not in raw_item:
            self.add(path, label, fact(Say.MISSING_TYPE, types=", ".join(ITEM_TYPES)))
            return None
        model = ITEM_MODELS.get(kind) if isinstance(kind, str) else None
        if model is None:
            shown = kind if isinstance(kind, str) else repr(kind)
            guess = difflib.get_close_matches(str(kind), ITEM_TYPES, n=1) or [
                name for name in ITEM_TYPES if name in str(kind).lower()
            ]
            types = ", ".join(ITEM_TYPES)
            self.add(
                (*path, "type"),
                label,
                fact(Say.UNKNOWN_TYPE_GUESS, type=repr(shown), guess=guess[0], types=types)
                if guess
                else fact(Say.UNKNOWN_TYPE, type=repr(shown), types=types),
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
            self.add((*path, key), label, fact(Say.TOO_FEW_OPTIONS, count=len(texts)))
        if len(texts) > MAX_CHOICE_OPTIONS:
            self.add(
                (*path, key),
                label,
                fact(Say.TOO_MANY_OPTIONS, limit=MAX_CHOICE_OPTIONS, count=len(texts)),
            )
        answers = item.answers
        if item.options is not None:
            options = list(item.options)
            for position, answer in enumerate(answers):
                if answer not in options:
                    at = (*path, "answer", position) if item.multiple else (*path, "answer")
                    guess = difflib.get_close_matches(answer, options, n=1, cutoff=0.6)
                    self.add(
                        at,
                        label,
                        fact(Say.ANSWER_NOT_AN_OPTION_GUESS, answer=answer, guess=guess[0])
                        if guess
                        else fact(Say.ANSWER_NOT_AN_OPTION, answer=answer),
                    )
            self._duplicates(options, (*path, "options"), label, Say.DUPLICATE_OPTION)
        else:
            self._duplicates(answers, (*path, "answer"), label, Say.DUPLICATE_ANSWER)
            answer_forms = {_norm_option(a) for a in answers}
            for position, distractor in enumerate(item.distractors or []):
                if _norm_option(distractor) in answer_forms:
                    self.add(
                        (*path, "distractors", position),
                        label,
                        fact(Say.DISTRACTOR_IS_ANSWER, distractor=distractor),
                    )
            self._duplicates(
                item.distractors or [], (*path, "distractors"), label, Say.DUPLICATE_DISTRACTOR
            )
        if item.multiple and len(set(answers)) >= len(set(texts)) >= 2:
            self.add((*path, "answer"), label, fact(Say.ALL_OPTIONS_CORRECT))
        for option in item.feedback:
            if option not in texts:
                guess = difflib.get_close_matches(option, texts, n=1, cutoff=0.6)
                self.add(
                    (*path, "feedback", option),
                    label,
                    fact(Say.FEEDBACK_NOT_AN_OPTION_GUESS, option=option, guess=guess[0])
                    if guess
                    else fact(Say.FEEDBACK_NOT_AN_OPTION, option=option),
                )
        poll_problems: list[Fact] = []
        if len(item.question) > limits.POLL_QUESTION:
            poll_problems.append(
                fact(Say.POLL_QUESTION_LONG, length=len(item.question), limit=limits.POLL_QUESTION)
            )
        long_options = [t for t in texts if len(t) > limits.POLL_OPTION]
        if long_options:
            poll_problems.append(
                fact(Say.POLL_OPTIONS_LONG, n=len(long_options), limit=limits.POLL_OPTION)
            )
        if len(texts) > limits.POLL_OPTIONS:
            poll_problems.append(
                fact(Say.POLL_TOO_MANY_OPTIONS, count=len(texts), limit=limits.POLL_OPTIONS)
            )
        if poll_problems:
            self.add(
                path,
                label,
                fact(Say.POLL_TOO_LONG, reasons=tuple(poll_problems)),
                severity="warning",
            )

    def _duplicates(self, texts: Sequence[str], path: Path_, label: str, code: Say) -> None:
        seen: set[str] = set()
        for position, text in enumerate(texts):
            form = _norm_option(text)
            if form in seen:
                self.add((*path, position), label, fact(code, text=text))
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
                self.add(at, label, fact(Say.DUPLICATE_ACCEPTED, text=answer.text))
            seen.add(form)
            if answer.credit > 0 and not normalize(answer.text.replace("*", ""), self.language):
                self.add(
                    at,
                    label,
                    fact(Say.ACCEPTS_ANYTHING, text=answer.text, credit=f"{answer.credit:g}"),
                )
        if not any(a.credit > 0 for a in accepted):
            self.add((*path, "answers"), label, fact(Say.NO_CREDIT))

    def _check_number(
        self, item: NumberItem, raw_item: dict[str, Any], path: Path_, label: str
    ) -> None:
        if item.absolute_tolerance >= abs(item.answer) > 0:
            self.add(
                (*path, "tolerance"),
                label,
                fact(
                    Say.TOLERANCE_ACCEPTS_ZERO,
                    tolerance=str(raw_item["tolerance"]),
                    answer=str(raw_item["answer"]),
                ),
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
                fact(Say.ANSWER_MESSAGE_TOO_LONG, needed=needed, limit=limits.MESSAGE_TEXT),
            )

    def _report_long_text(
        self, item: Item, accepted: list[AcceptedAnswer], path: Path_, label: str, room: int
    ) -> None:
        """Report the first text of ``item`` longer than ``room``."""
        texts: list[tuple[Path_, Say, str]] = [
            ((*path, "question"), Say.QUESTION_TOO_LONG, item.question),
            ((*path, "explanation"), Say.EXPLANATION_TOO_LONG, item.explanation),
        ]
        if isinstance(item.source, str):
            texts.append(((*path, "source"), Say.SOURCE_TOO_LONG, item.source))
        elif item.source is not None:
            texts += [
                ((*path, "source", n), Say.SOURCE_TOO_LONG, s) for n, s in enumerate(item.source)
            ]
        if isinstance(item, ChoiceItem):
            texts += [
                ((*path, "feedback", k), Say.FEEDBACK_TOO_LONG, v) for k, v in item.feedback.items()
            ]
        elif isinstance(item, ShortItem):
            for n, answer in enumerate(accepted):
                texts.append(((*path, "answers", n), Say.ANSWER_TOO_LONG, answer.text))
                if answer.feedback:
                    at = (*path, "answers", n, "feedback")
                    texts.append((at, Say.FEEDBACK_TOO_LONG, answer.feedback))
        for at, code, text in texts:
            if len(text) > room:
                self.add(
                    at,
                    label,
                    fact(
                        code,
                        length=len(text),
                        limit=limits.MESSAGE_TEXT,
                        kept=limits.MESSAGE_CHROME,
                    ),
                )
                return

    # -- quotes

    def _check_quotes(self, item: Item, path: Path_) -> None:
        if item.source is None:
            if self.has_article:
                self.add(
                    path,
                    item.id,
                    fact(Say.MISSING_SOURCE),
                )
            return
        if not self.has_article:
            self.add(
                (*path, "source"),
                item.id,
                fact(Say.SOURCE_NOT_CHECKED),
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
                fact(Say.SOURCE_NOT_IN_ARTICLE, passage=self._closest_passage(source)),
            )

    def _closest_passage(self, source: str) -> Fact:
        self.passage_searches += 1
        if self.passage_searches > MAX_PASSAGE_SEARCHES:
            return fact(Say.PASSAGE_NOT_SEARCHED, limit=MAX_PASSAGE_SEARCHES)
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
        for loc, said in self._translate(errors, model, raw, path):
            self.add((*path, *loc), label, said)

    def _translate(
        self, errors: list[Any], model: type[BaseModel], raw: dict[str, Any], base: Path_
    ) -> list[tuple[Path_, Fact]]:
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
        out: list[tuple[Path_, Fact]] = []
        for loc, errs in grouped.items():
            if errs[0]["type"] == "extra_forbidden":
                out.append((loc, _unknown_key(model, loc, guesses.get(loc))))
            else:
                out.append((loc, self._message((*base, *loc), errs)))
        return out

    def _message(self, loc: Path_, errs: list[dict[str, Any]]) -> Fact:
        err = errs[0]
        kind = err["type"]
        name = next((str(p) for p in reversed(loc) if isinstance(p, str)), "value")
        got = _describe(err["input"])
        mark = self.positions.exact(loc)
        if mark is not None and any(e["type"] in _TYPE_MISMATCH for e in errs):
            if mark.yaml11_boolean:
                value = str(err["input"]).lower()
                return fact(Say.YAML_READ_BOOLEAN, raw=str(mark.raw), value=value)
            reading = mark.yaml11_number
            if reading is not None and any(e["type"] == "string_type" for e in errs):
                return fact(
                    Say.YAML11_READ_AS_NUMBER, name=name, raw=str(mark.raw), reading=reading
                )
        if len(errs) > 1 and all(e["type"] in _TYPE_MISMATCH for e in errs):
            shapes = fact(_UNION_EXPECTATIONS.get(name, Say.EXPECT_OTHER))
            return fact(Say.MUST_BE_ONE_OF_SHAPES, name=name, expected=shapes, got=got)
        if kind == "missing":
            return fact(Say.MISSING_KEY, key=str(loc[-1])) if loc else fact(Say.MISSING_VALUE)
        if kind == "string_type":
            quote = isinstance(err["input"], int | float)
            return fact(Say.MUST_BE_TEXT_QUOTE if quote else Say.MUST_BE_TEXT, name=name, got=got)
        if kind in ("list_type",):
            return fact(Say.MUST_BE_LIST, name=name, got=got)
        if kind in ("dict_type", "model_type", "model_attributes_type"):
            return fact(Say.MUST_BE_MAPPING, name=name, got=got)
        if kind in ("bool_type", "bool_parsing"):
            unquote = str(err["input"]).lower() in ("true", "false")
            code = Say.MUST_BE_BOOLEAN_UNQUOTE if unquote else Say.MUST_BE_BOOLEAN
            return fact(code, name=name, got=got)
        if kind in ("int_type", "int_parsing", "int_from_float"):
            return fact(Say.MUST_BE_WHOLE_NUMBER, name=name, got=got)
        if kind in ("float_type", "float_parsing"):
            return fact(Say.MUST_BE_NUMBER, name=name, got=got)
        if kind == "literal_error":
            expected = str(err.get("ctx", {}).get("expected", ""))
            return fact(Say.USE_ONE_OF, name=name, got=got, expected=expected)
        if kind == "string_pattern_mismatch":
            hint = _FIELD_HINTS.get(name if name != "value" else "", Say.BAD_CHARACTERS)
            if isinstance(loc[-1], int) and len(loc) >= 2:
                hint = _FIELD_HINTS.get(str(loc[-2]), hint)
            return fact(hint, value=str(err["input"]))
        if kind == "too_short":
            wanted = int(err.get("ctx", {}).get("min_length", 1))
            return fact(Say.NEEDS_ENTRIES, name=name, n=wanted)
        if kind in _BOUNDS:
            bound = str(next(iter(err.get("ctx", {}).values()), "?"))
            return fact(_BOUNDS[kind], name=name, bound=bound, got=got)
        if kind == Say.EMPTY_TEXT:
            return fact(Say.EMPTY_TEXT, name=name)
        if kind in _MODEL_ERRORS:
            context = err.get("ctx", {})
            return fact(Say(kind), **{key: str(value) for key, value in context.items()})
        return fact(Say.INVALID_VALUE, detail=str(err["msg"]))


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


def _unknown_key(model: type[BaseModel], loc: Path_, guess: str | None) -> Fact:
    key = str(loc[-1])
    if guess:
        return fact(Say.UNKNOWN_KEY_GUESS, key=key, guess=guess)
    kind = next((name for name, m in ITEM_MODELS.items() if m is model), None)
    if kind is not None and len(loc) == 1:
        users = [name for name, m in ITEM_MODELS.items() if key in m.model_fields]
        if users:
            return fact(Say.UNKNOWN_KEY_OTHER_TYPES, key=key, type=kind, types=", ".join(users))
    return fact(Say.UNKNOWN_KEY, key=key)


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


def _describe(value: Any) -> Value:
    """A value as the author gave it: their text quoted, or what kind of value it is."""
    if value is None:
        return fact(Say.GOT_NOTHING)
    if isinstance(value, bool):
        return fact(Say.GOT_BOOLEAN, value=str(value).lower())
    if isinstance(value, int | float):
        return fact(Say.GOT_NUMBER, value=repr(value))
    if isinstance(value, str):
        return repr(shorten(value, 60))
    if isinstance(value, list):
        return fact(Say.GOT_LIST, n=len(value))
    if isinstance(value, dict):
        return fact(Say.GOT_MAPPING)
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

    def closest_passage(self, quote: str, width: int = 160) -> Fact:
        """The passage most like ``quote`` in the article's own words (its typographic quotes
        included), quoted, with the similarity in percent."""
        needle = quote_form(quote)
        if not needle:
            return fact(Say.PASSAGE_EMPTY_QUOTE)
        from rapidfuzz import fuzz  # only for a quote not found: see _add_quality

        alignment = fuzz.partial_ratio_alignment(needle.lower(), self._lower_form)
        if alignment is None or alignment.score == 0:
            return fact(Say.PASSAGE_NOTHING_SIMILAR)
        start, end = alignment.dest_start, alignment.dest_end
        # Widen to whole words so the author can search for the passage.
        while start > 0 and not self.form[start - 1].isspace():
            start -= 1
        while end < len(self.form) and not self.form[end].isspace():
            end += 1
        words = self.text[self._original(start) : self._original(end)]
        passage = shorten(squash_whitespace(words), width)
        return fact(Say.PASSAGE, passage=passage, score=f"{alignment.score:.0f}")

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
