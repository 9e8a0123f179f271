"""The pack format: pydantic models for a pack file and its four item types.

These models are both the schema the validator checks a YAML file against and the immutable
domain objects the quiz engine serves. Field-level rules live here; rules that need the whole
pack or the article (duplicate ids, quotes, Telegram limits) live in :mod:`bot.packs.validate`.
A change to these models must bump :data:`bot.packs.source.FORMAT_VERSION`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    TypeAdapter,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$"
ITEM_ID_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$"

MAX_CHOICE_OPTIONS = 20
"""Most options a choice item may have; more than a quiz poll allows (12) are served as buttons."""

Difficulty = Literal["easy", "medium", "hard"]
Skill = Literal["detail", "main-idea", "inference", "vocabulary", "purpose"]
TypoAction = Literal["accept", "hint", "reject"]

DIFFICULTIES: tuple[str, ...] = ("easy", "medium", "hard")
SKILLS: tuple[str, ...] = ("detail", "main-idea", "inference", "vocabulary", "purpose")
ITEM_TYPES: tuple[str, ...] = ("choice", "truefalse", "short", "number")

PACK_LANGUAGES: dict[str, str] = {
    "en": "English",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "uk": "Ukrainian",
    "ru": "Russian",
}
"""The languages a pack may be written in: the grader knows their number words, digit
conventions, articles and letters (docs/pack-format.md says what each one changes)."""


def base_language(language: str) -> str:
    """'pt-BR' -> 'pt': the part of a language code that decides grading."""
    return language.split("-", 1)[0].lower()


def _supported_language(language: str) -> str:
    if base_language(language) not in PACK_LANGUAGES:
        known = ", ".join(PACK_LANGUAGES)
        raise PydanticCustomError(
            "unknown_language",
            "the grader does not know the language {language}; use one of {known}",
            {"language": language, "known": known},
        )
    return language


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("empty_text", "empty text")
    return value


Text = Annotated[str, Field(strict=True), AfterValidator(_not_blank)]
"""Non-empty text. Strict: a YAML number or boolean is an error, never silently turned into text."""

TimeLimit = Annotated[int, Field(strict=True, ge=5, le=600)]
TypoTolerance = Annotated[int, Field(strict=True, ge=0, le=5)] | Literal["auto"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PackSettings(_Model):
    """Pack-wide defaults; an item may override ``time_limit`` and the typo settings."""

    shuffle_options: StrictBool = True
    time_limit: TimeLimit = 30
    typo_tolerance: TypoTolerance = "auto"
    on_typo: TypoAction = "accept"


class _ItemBase(_Model):
    id: Annotated[str, Field(strict=True, pattern=ITEM_ID_PATTERN)]
    question: Text
    explanation: Text
    # Required when the pack has an article (checked in bot.packs.validate); a pack without one
    # (imported from Moodle, GIFT...) has items without quotes.
    source: Text | Annotated[list[Text], Field(min_length=1)] | None = None
    difficulty: Difficulty
    skill: Skill
    # default_factory, not a literal: pydantic deep-copies a mutable default for every item.
    tags: list[Annotated[str, Field(strict=True, pattern=r"^[a-z0-9][a-z0-9-]*$")]] = Field(
        default_factory=list
    )
    time_limit: TimeLimit | None = None

    @property
    def sources(self) -> list[str]:
        """The supporting quotes as a list, whichever way the author wrote them (none when the
        pack has no article)."""
        if self.source is None:
            return []
        return [self.source] if isinstance(self.source, str) else list(self.source)


class ChoiceItem(_ItemBase):
    """One or several correct options among distractors, or a fixed list of options."""

    type: Literal["choice"]
    answer: Text | Annotated[list[Text], Field(min_length=1)]
    distractors: list[Text] | None = None
    options: list[Text] | None = None
    feedback: dict[str, Text] = Field(default_factory=dict)
    shuffle: StrictBool | None = None

    @model_validator(mode="after")
    def _one_way_of_listing_options(self) -> ChoiceItem:
        if self.distractors is not None and self.options is not None:
            raise PydanticCustomError(
                "options_both", "give either `distractors` or `options`, not both"
            )
        if self.distractors is None and self.options is None:
            raise PydanticCustomError("options_neither", "missing `distractors` or `options`")
        return self

    @property
    def multiple(self) -> bool:
        """True for a multi-select item (the answer is a list)."""
        return isinstance(self.answer, list)

    @property
    def answers(self) -> list[str]:
        return list(self.answer) if isinstance(self.answer, list) else [self.answer]

    @property
    def option_texts(self) -> list[str]:
        """Every option in authored order: the fixed list, or the answers then the distractors."""
        if self.options is not None:
            return list(self.options)
        return [*self.answers, *(self.distractors or [])]

    @property
    def correct_indices(self) -> frozenset[int]:
        wanted = set(self.answers)
        return frozenset(i for i, text in enumerate(self.option_texts) if text in wanted)

    def shuffles(self, pack_default: bool) -> bool:
        """Whether options are shuffled per run: fixed `options` lists never are."""
        if self.options is not None:
            return False
        return pack_default if self.shuffle is None else self.shuffle


class TrueFalseItem(_ItemBase):
    """A statement that is true or false."""

    type: Literal["truefalse"]
    answer: StrictBool

    @property
    def option_texts(self) -> list[str]:
        return ["True", "False"]

    @property
    def correct_indices(self) -> frozenset[int]:
        return frozenset({0 if self.answer else 1})


class AcceptedAnswer(_Model):
    """One accepted (or anticipated wrong) typed answer."""

    text: Text
    credit: Annotated[float, Field(ge=0, le=1)] = 1.0
    feedback: Text | None = None

    @field_validator("credit", mode="before")
    @classmethod
    def _no_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticCustomError("credit_boolean", "credit must be a number, not a boolean")
        return value


class ShortItem(_ItemBase):
    """A typed answer compared with accepted answers, tried in order; first match wins."""

    type: Literal["short"]
    answers: Annotated[list[Text | AcceptedAnswer], Field(min_length=1)]
    typo_tolerance: TypoTolerance | None = None
    on_typo: TypoAction | None = None

    @property
    def accepted(self) -> list[AcceptedAnswer]:
        return [AcceptedAnswer(text=a) if isinstance(a, str) else a for a in self.answers]

    @property
    def model_answer(self) -> str:
        """The answer shown as correct: the first one with full credit."""
        best = max(self.accepted, key=lambda a: a.credit)
        return best.text


_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


class NumberItem(_ItemBase):
    """A numeric answer with an absolute (``500``) or relative (``"5%"``) tolerance."""

    type: Literal["number"]
    answer: float
    tolerance: float | str = 0.0
    unit: Text | None = None

    @field_validator("answer", mode="before")
    @classmethod
    def _answer_is_number(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PydanticCustomError("answer_not_a_number", "the answer must be a number")
        if not math.isfinite(value):
            raise PydanticCustomError("answer_not_finite", "the answer must be a finite number")
        return value

    @field_validator("tolerance", mode="before")
    @classmethod
    def _tolerance_shape(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticCustomError(
                "tolerance_shape", "tolerance must be a number or a percentage"
            )
        if isinstance(value, int | float):
            if value < 0:
                raise PydanticCustomError("tolerance_negative", "tolerance is below zero")
            if not math.isfinite(value):
                raise PydanticCustomError("tolerance_not_finite", "tolerance must be finite")
            return value
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("-"):
                raise PydanticCustomError("tolerance_negative", "tolerance is below zero")
            if not _PERCENT.match(text):
                raise PydanticCustomError(
                    "tolerance_shape", "tolerance must be a number or a percentage"
                )
            return text
        raise PydanticCustomError("tolerance_shape", "tolerance must be a number or a percentage")

    @property
    def absolute_tolerance(self) -> float:
        """The tolerance in the answer's own units."""
        if isinstance(self.tolerance, str):
            match = _PERCENT.match(self.tolerance)
            assert match is not None  # checked by the validator
            return abs(self.answer) * float(match.group(1)) / 100
        return float(self.tolerance)


Item = ChoiceItem | TrueFalseItem | ShortItem | NumberItem

ITEM_MODELS: dict[str, type[_ItemBase]] = {
    "choice": ChoiceItem,
    "truefalse": TrueFalseItem,
    "short": ShortItem,
    "number": NumberItem,
}

_ITEM_ADAPTER: TypeAdapter[Item] = TypeAdapter(Annotated[Item, Field(discriminator="type")])


class PackHeader(_Model):
    """Everything in a pack file except the items, which are validated one by one."""

    pack: Annotated[str, Field(strict=True, pattern=SLUG_PATTERN)]
    title: Text
    language: Annotated[
        str,
        Field(strict=True, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"),
        AfterValidator(_supported_language),
    ] = "en"
    description: Text
    article: Text | None = None
    settings: PackSettings = PackSettings()
    items: Annotated[list[Any], Field(min_length=1)]


class Pack(_Model):
    """A validated pack: its header, its items and the article text its quotes come from.

    A pack without an article (``article:`` unset, as imported from Moodle or GIFT) has empty
    ``article_name`` and ``article_text``: the store keeps it like any other pack, ``/read``
    says the quiz has no article, and feedback shows the explanation without a quote."""

    slug: str
    title: str
    language: str
    description: str
    article_name: str
    article_text: str
    settings: PackSettings
    items: tuple[Item, ...]

    @property
    def content_hash(self) -> str:
        return self.content_hash_of(item_hash(item) for item in self.items)

    def content_hash_of(self, item_hashes: Iterable[str]) -> str:
        """:attr:`content_hash` from the items' hashes, for a caller that has them already."""
        header = {
            "slug": self.slug,
            "title": self.title,
            "language": self.language,
            "description": self.description,
            "settings": self.settings.model_dump(mode="json"),
        }
        digest = hashlib.sha256(canonical_json(header).encode())
        for hashed in item_hashes:
            digest.update(hashed.encode())
        return digest.hexdigest()

    @property
    def has_article(self) -> bool:
        return bool(self.article_text)

    @property
    def article_hash(self) -> str:
        return hashlib.sha256(self.article_text.encode()).hexdigest()


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def canonical_json(value: Any) -> str:
    # What json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")) gives,
    # without building an encoder for every item.
    return _CANONICAL.encode(value)


def item_body(item: Item) -> dict[str, Any]:
    """The item as JSON-ready data, as stored in the database."""
    return item.model_dump(mode="json", exclude_none=True)


def item_hash(item: Item) -> str:
    return body_hash(item_body(item))


def body_hash(body: dict[str, Any]) -> str:
    """The content hash of an item whose :func:`item_body` is ``body``."""
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def item_from_body(body: dict[str, Any]) -> Item:
    """Rebuild an item from its stored body (already validated when it was imported)."""
    return _ITEM_ADAPTER.validate_python(body)


def time_limit(item: Item, settings: PackSettings) -> int:
    return item.time_limit if item.time_limit is not None else settings.time_limit
