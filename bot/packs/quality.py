"""Item-writing quality: the flaws that let a test-taker who has not read the article guess.

The rules follow the usual item-writing guidelines (Haladyna, Downing & Rodriguez, "A review of
multiple-choice item-writing guidelines", 2002) and what can be checked against the article:
cues in the length, wording and grammar of the options, distractors no reader would pick,
unbalanced true/false keys and answer positions, and items that give each other away. Every
finding is a warning; ``quizbot pack validate --strict`` makes them errors.

:func:`check_pack` takes a validated :class:`~bot.packs.model.Pack` and returns facts (rule,
item, where in the item, what is wrong and how to fix it) plus the pack's guessability figures;
the validator turns them into located warnings and the adapters render them.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer
from rapidfuzz import fuzz

from bot.i18n import Translator, translator
from bot.packs.facts import Fact, Say, fact
from bot.packs.model import ChoiceItem, Item, NumberItem, Pack, ShortItem, TrueFalseItem
from bot.packs.wording import english, say_all
from bot.text import plain_quotes, shorten

RULES: dict[str, str] = {
    "option-length": "the correct option stands out by its length",
    "longest-share": "across the pack, the correct option is the longest more often than chance",
    "clang": "the stem repeats a word of the correct option and of no distractor",
    "title-in-key": "the correct option repeats a title word that no distractor has",
    "above-option": "an 'all of the above', 'none of the above' or 'both A and B' option",
    "negative-stem": "a negative stem (not, except) written in small letters",
    "absolute-distractor": "absolute words (always, never, only) in distractors only",
    "foreign-distractors": "distractors that share no word with the article",
    "near-duplicate": "two options with the same words, or nearly the same spelling",
    "a-an": "the stem ends in 'a'/'an' and an option does not fit it",
    "truefalse-balance": "true/false answers nearly all true or all false",
    "position-bias": "fixed-order options whose correct answers sit mostly in one position",
    "answer-in-question": "a short or number item whose answer is in its own question",
    "gives-away": "an item's question or feedback states the answer of another item",
    "truefalse-wording": "a true/false statement whose wording signals its truth",
    "truefalse-cues": "across the pack, hedges and absolutes predict the true/false answers",
    "key-echo": "the key alone shares a phrase with another item's question or options",
}
"""Every rule's name and what it catches (documented with examples in docs/pack-format.md)."""

CROSS_ITEM_LIMIT = 2_000
"""Packs with more items skip the item-against-item check (it compares every pair)."""

LONGEST_SIGNIFICANCE = 0.05
"""How unlikely by chance "correct is the longest" must be before the pack-level rule warns."""

FOREIGN_SHARE = 0.10
"""Share of distractors foreign to the article above which the pack-level rule warns."""

TRUEFALSE_CUE_MIN = 4
TRUEFALSE_CUE_SHARE = 0.8
"""The pack-level true/false wording rule warns when at least this many hedged or absolute
statements follow one pattern (hedged true and absolute false, or the reverse) this often."""


# Function words that carry no cue. snowballstemmer has no stop-word lists and nltk's need a data
# download, so a short list per language the grader supports is kept here.
def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_STOPWORDS: dict[str, frozenset[str]] = {
    "en": _wordset(
        """a about above after again against all also am an and any are as at be because been
        before being below between both but by can could did do does doing down during each
        few for from further had has have having he her here hers him his how i if in into is
        it its itself just me more most my no nor not now of off on once only or other our out
        over own same she should so some such than that the their them then there these they
        this those through to too under until up very was we were what when where which while
        who whom why will with would you your yours one two new said says say according
        article"""
    ),
    "fr": _wordset(
        """le la les un une des du de d l et ou mais donc or ni car que qui quoi dont où ce cet
        cette ces il elle ils elles on nous vous je tu se sa son ses leur leurs au aux en dans
        par pour sur avec sans sous est sont été être a ont avait pas ne plus très"""
    ),
    "de": _wordset(
        """der die das den dem des ein eine einer eines einem einen und oder aber nicht ist
        sind war waren wird werden hat haben mit von zu zur zum im in an auf aus bei für über
        unter nach vor als auch es er sie wir ihr ich sich dass wie was wer"""
    ),
    "es": _wordset(
        """el la los las un una unos unas y o pero ni que de del al en con por para sin sobre
        es son fue ser está están ha han se su sus lo le les no más muy como"""
    ),
    "it": _wordset(
        """il lo la i gli le un una uno e o ma che di del della dei delle al alla in con per
        su da è sono era essere ha hanno si suo sua non più molto come"""
    ),
    "pt": _wordset(
        """o a os as um uma uns umas e ou mas que de do da dos das no na nos nas em com por
        para sem sobre é são foi ser está estão tem têm se seu sua não mais muito como"""
    ),
}

_SNOWBALL = {
    "en": "english",
    "fr": "french",
    "de": "german",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "ru": "russian",
    "uk": "russian",
}

_ABSOLUTES = _wordset(
    """always never only all none every completely entirely totally fully nothing nobody
    everyone everything forever solely"""
)
_HEDGES = _wordset(
    """may might some partly partially sometimes often possibly perhaps likely usually
    generally somewhat probably"""
)
_NEGATIVES = ("not", "except", "never", "cannot", "least")

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_DIGIT = re.compile(r"\d")
_GROUPING = re.compile(r"[,\u00a0 ]")
_NUMBER = re.compile(r"\d[\d,\u00a0 ]*(?:\.\d+)?")
_ABOVE = re.compile(
    r"\b(?:all|none|neither|any) of (?:the )?(?:above|these|those|them|the options)\b"
    r"|\b(?:both|either|neither)\s+[a-e1-5]\)?\s+(?:and|or|nor)\s+[a-e1-5]\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    """One quality warning: the rule, the item (``index`` None for the whole pack), the key
    inside the item it is about, and what is wrong and how to fix it."""

    rule: str
    item: str
    index: int | None
    key: tuple[str | int, ...]
    fact: Fact
    involves: tuple[int, ...] = ()
    """For a pack-level finding: the items it lists (they count as items with a warning)."""

    @property
    def message(self) -> str:
        """What is wrong and how to fix it, in English (logs, tests)."""
        return english(self.fact)


@dataclass
class QualityReport:
    """A pack's quality warnings and its guessability figures."""

    items: int
    findings: list[Finding] = field(default_factory=list)
    single_choice: int = 0
    correct_longest: int = 0
    longest_by_chance: float = 0.0
    distractors: int = 0
    foreign_distractors: int = 0
    true_items: int = 0
    false_items: int = 0
    fixed_items: int = 0
    fixed_top_position: int = 0
    giveaways: int = 0
    echoed_keys: int = 0
    signalled_statements: int = 0
    signal_guessed: int = 0
    cross_item_checked: bool = True

    @property
    def flagged_items(self) -> int:
        flagged = {f.index for f in self.findings if f.index is not None}
        return len(flagged.union(*(f.involves for f in self.findings)))

    def summary_facts(self) -> list[Fact]:
        """The share of items with a warning and the guessability figures."""
        share = self.flagged_items / self.items if self.items else 0.0
        facts = [fact(Say.QUALITY_FLAGGED, flagged=self.flagged_items, n=self.items, share=share)]
        if self.single_choice:
            facts.append(
                fact(
                    Say.QUALITY_LONGEST,
                    longest=self.correct_longest,
                    choices=self.single_choice,
                    chance=self.longest_by_chance,
                )
            )
        if self.distractors:
            facts.append(
                fact(
                    Say.QUALITY_FOREIGN,
                    foreign=self.foreign_distractors,
                    distractors=self.distractors,
                )
            )
        if self.true_items or self.false_items:
            facts.append(fact(Say.QUALITY_TRUEFALSE, true=self.true_items, false=self.false_items))
        if self.signalled_statements:
            facts.append(
                fact(
                    Say.QUALITY_SIGNALS,
                    guessed=self.signal_guessed,
                    signalled=self.signalled_statements,
                )
            )
        if self.fixed_items:
            facts.append(
                fact(Say.QUALITY_FIXED, top=self.fixed_top_position, fixed=self.fixed_items)
            )
        if self.cross_item_checked:
            facts.append(fact(Say.QUALITY_GIVEAWAYS, n=self.giveaways))
            facts.append(fact(Say.QUALITY_ECHOES, n=self.echoed_keys))
        else:
            facts.append(fact(Say.QUALITY_UNCHECKED, limit=CROSS_ITEM_LIMIT))
        return facts

    def summary(self, t: Translator | None = None) -> str:
        """One line: the share of items with a warning and the guessability figures."""
        return say_all(t or translator("en"), self.summary_facts(), "; ")


# --------------------------------------------------------------------------- words


@lru_cache(maxsize=16)
def _stemmer(language: str) -> snowballstemmer.Stemmer | None:
    name = _SNOWBALL.get(language.split("-")[0].lower())
    return snowballstemmer.stemmer(name) if name else None


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", plain_quotes(text)).casefold()
    return [w.replace("’", "'") for w in _WORD.findall(text)]


class _Words:
    """Content-word stems of texts in one language (function words and 1-letter words out)."""

    def __init__(self, language: str) -> None:
        self.language = language.split("-")[0].lower()
        self.stop = _STOPWORDS.get(self.language, frozenset())
        self.stemmer = _stemmer(self.language)
        self.cache: dict[str, str] = {}
        self.contents: dict[str, frozenset[str]] = {}

    def stem(self, word: str) -> str:
        found = self.cache.get(word)
        if found is None:
            base = word.removesuffix("'s")
            found = self.stemmer.stemWord(base) if self.stemmer is not None else base
            self.cache[word] = found
        return found

    def content(self, text: str) -> frozenset[str]:
        found = self.contents.get(text)
        if found is None:
            found = frozenset(
                {
                    self.stem(w)
                    for w in _words(text)
                    if w not in self.stop and len(w) > 1 and not w.isdigit()
                }
            ).union(_numbers(text))
            self.contents[text] = found
        return found


def _numbers(text: str) -> list[str]:
    """The numbers in ``text`` in one form: ``11,000`` and ``11 000`` are ``11000``."""
    out: list[str] = []
    if not _DIGIT.search(text):
        return out
    for match in _NUMBER.finditer(text):
        digits = _GROUPING.sub("", match.group().rstrip(", "))
        try:
            out.append(_number_form(float(digits)))
        except ValueError:
            continue
    return out


def _number_form(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _quoted(text: str) -> str:
    return repr(shorten(text, 50))


# --------------------------------------------------------------------------- the checker


def check_pack(pack: Pack) -> QualityReport:
    """Every quality warning for ``pack``, item by item then for the pack as a whole."""
    words = _Words(pack.language)
    report = QualityReport(items=len(pack.items))
    english = words.language == "en"
    article_stems = words.content(pack.article_text) if pack.article_text else set()
    article_form = _flat(pack.article_text) if pack.article_text else ""
    title_stems = words.content(pack.title)
    foreign: list[tuple[int, str, str]] = []
    fixed_positions: Counter[int] = Counter()
    longest_chances: list[float] = []

    for index, item in enumerate(pack.items):
        add = _adder(report, item, index)
        if isinstance(item, ChoiceItem):
            _check_choice(item, add, words, english, title_stems)
            texts = item.option_texts
            correct = item.correct_indices
            if not item.multiple and len(texts) >= 2:
                report.single_choice += 1
                longest_chances.append(1 / len(texts))
                lengths = [len(t) for t in texts]
                (right,) = correct
                if lengths[right] == max(lengths) and lengths.count(max(lengths)) == 1:
                    report.correct_longest += 1
                if not item.shuffles(pack.settings.shuffle_options):
                    report.fixed_items += 1
                    fixed_positions[right] += 1
            if pack.article_text:
                for position, distractor in enumerate(texts):
                    if position in correct:
                        continue
                    report.distractors += 1
                    if _flat(distractor) not in article_form and not (
                        words.content(distractor) & article_stems
                    ):
                        foreign.append((index, item.id, distractor))
        elif isinstance(item, TrueFalseItem):
            if item.answer:
                report.true_items += 1
            else:
                report.false_items += 1
        elif isinstance(item, ShortItem):
            _check_short(item, add)
        elif isinstance(item, NumberItem):
            _check_number(item, add)

    report.longest_by_chance = sum(longest_chances)
    _check_longest_share(report, longest_chances)
    report.foreign_distractors = len(foreign)
    if report.distractors and len(foreign) / report.distractors > FOREIGN_SHARE:
        listed = ", ".join(f"{item} ({_quoted(text)})" for _, item, text in foreign[:12])
        more = len(foreign) - 12
        report.findings.append(
            Finding(
                "foreign-distractors",
                "pack",
                None,
                (),
                fact(
                    Say.Q_FOREIGN_DISTRACTORS_MORE if more > 0 else Say.Q_FOREIGN_DISTRACTORS,
                    foreign=len(foreign),
                    n=report.distractors,
                    share=len(foreign) / report.distractors,
                    listed=listed,
                    more=more,
                ),
                tuple(sorted({index for index, _, _ in foreign})),
            )
        )
    _check_truefalse_balance(report)
    if english:
        _check_truefalse_wording(pack, report)
    if fixed_positions:
        position, count = fixed_positions.most_common(1)[0]
        report.fixed_top_position = count
        if report.fixed_items >= 4 and count >= 3 and count / report.fixed_items > 0.5:
            report.findings.append(
                Finding(
                    "position-bias",
                    "pack",
                    None,
                    (),
                    fact(
                        Say.Q_POSITION_BIAS,
                        position=position + 1,
                        count=count,
                        fixed=report.fixed_items,
                    ),
                )
            )
    if len(pack.items) <= CROSS_ITEM_LIMIT:
        given = _check_giveaways(pack, report, words)
        _check_key_echoes(pack, report, words, given)
    else:
        report.cross_item_checked = False
    return report


def _flat(text: str) -> str:
    return " ".join(_words(text))


_AddFn = Callable[[str, tuple[str | int, ...], Fact], None]
"""Records a finding about one item: rule, key inside the item, what is wrong."""


def _adder(report: QualityReport, item: Item, index: int) -> _AddFn:
    def add(rule: str, key: tuple[str | int, ...], said: Fact) -> None:
        report.findings.append(Finding(rule, item.id, index, key, said))

    return add


def _option_key(item: ChoiceItem, position: int) -> tuple[str | int, ...]:
    """Where the option at ``position`` (in :attr:`ChoiceItem.option_texts`) is written."""
    if item.options is not None:
        return ("options", position)
    answers = len(item.answers)
    if position < answers:
        return ("answer", position) if item.multiple else ("answer",)
    return ("distractors", position - answers)


def _check_choice(
    item: ChoiceItem, add: _AddFn, words: _Words, english: bool, title_stems: frozenset[str]
) -> None:
    texts = item.option_texts
    correct = sorted(item.correct_indices)
    wrong = [i for i in range(len(texts)) if i not in item.correct_indices]
    stems = [words.content(t) for t in texts]
    stem_words = words.content(item.question)
    wrong_stems: set[str] = set().union(*(stems[i] for i in wrong)) if wrong else set()

    # option-length
    if len(correct) == 1 and len(wrong) >= 2:
        right = correct[0]
        length = len(texts[right])
        others = [len(texts[i]) for i in wrong]
        if length >= 1.3 * max(others) and length - max(others) >= 5:
            add(
                "option-length",
                _option_key(item, right),
                fact(Say.Q_OPTION_LONGEST, length=length, other=max(others)),
            )
        elif 1.3 * length <= min(others) and min(others) - length >= 5:
            add(
                "option-length",
                _option_key(item, right),
                fact(Say.Q_OPTION_SHORTEST, length=length, other=min(others)),
            )

    # clang and title-in-key
    for right in correct:
        cue = sorted((stems[right] & stem_words) - wrong_stems)
        if cue:
            add(
                "clang",
                _option_key(item, right),
                fact(Say.Q_CLANG, words=", ".join(map(repr, cue))),
            )
        title_cue = sorted((stems[right] & title_stems) - wrong_stems - stem_words)
        if title_cue:
            add(
                "title-in-key",
                _option_key(item, right),
                fact(Say.Q_TITLE_IN_KEY, words=", ".join(map(repr, title_cue))),
            )

    # above-option
    for position, text in enumerate(texts):
        if _ABOVE.search(text):
            add(
                "above-option",
                _option_key(item, position),
                fact(Say.Q_ABOVE_OPTION, option=_quoted(text)),
            )

    if english:
        # negative-stem
        question_words = re.findall(r"[A-Za-z']+", plain_quotes(item.question))
        negative = next(
            (w for w in question_words if w in _NEGATIVES or w.lower().endswith("n't")), None
        )
        if negative is not None and not negative.isupper():
            add(
                "negative-stem",
                ("question",),
                fact(Say.Q_NEGATIVE_STEM, word=repr(negative)),
            )
        # absolute-distractor
        absolute = [set(_words(t)) & _ABSOLUTES for t in texts]
        if not any(absolute[i] for i in correct):
            for position in wrong:
                if absolute[position]:
                    add(
                        "absolute-distractor",
                        _option_key(item, position),
                        fact(
                            Say.Q_ABSOLUTE_DISTRACTOR,
                            words=repr(", ".join(sorted(absolute[position]))),
                        ),
                    )
        # a-an
        last = question_words[-1].lower() if question_words else ""
        if last in ("a", "an"):
            for position, text in enumerate(texts):
                letter = text.strip().lstrip("\"'“‘(").lower()[:1]
                vowel = letter in set("aeiou")
                # "h" and "u" go either way (an hour, a university): never flagged.
                if (last == "an") != vowel and letter.isalpha() and letter not in "hu":
                    add(
                        "a-an",
                        _option_key(item, position),
                        fact(Say.Q_A_AN, article=repr(last), option=_quoted(text)),
                    )

    # near-duplicate
    normal = [_flat(t) for t in texts]
    figures = [_numbers(t) for t in normal]
    for first in range(len(texts)):
        for second in range(first + 1, len(texts)):
            a, b = normal[first], normal[second]
            if a == b or figures[first] != figures[second]:
                continue
            same_words = stems[first] == stems[second]
            # Inflections share stems; a long option with a letter or two changed is a typo.
            if same_words or (min(len(a), len(b)) >= 20 and fuzz.ratio(a, b) >= 95):
                add(
                    "near-duplicate",
                    _option_key(item, second),
                    fact(
                        Say.Q_NEAR_DUPLICATE,
                        option=_quoted(texts[second]),
                        other=_quoted(texts[first]),
                    ),
                )


def _check_truefalse_wording(pack: Pack, report: QualityReport) -> None:
    """Hedges and absolutes in true/false statements, item by item and across the pack.

    The classic cue is "absolute means false, hedged means true". A single absolute false
    statement is no cue when true statements in the pack are absolute too (and likewise for
    hedges), so an item is flagged only when its kind of wording sits on one side of the key
    alone. Across the pack, the wording must not predict the key in either direction: a writer
    who dodged the classic cue by making every absolute statement true has built the reverse one.
    """
    statements: list[tuple[int, TrueFalseItem, frozenset[str], frozenset[str]]] = []
    for index, item in enumerate(pack.items):
        if isinstance(item, TrueFalseItem):
            said = set(_words(item.question))
            statements.append(
                (index, item, frozenset(said & _ABSOLUTES), frozenset(said & _HEDGES))
            )
    absolute_true = any(item.answer and absolute for _, item, absolute, _ in statements)
    hedged_false = any(not item.answer and hedged for _, item, _, hedged in statements)
    classic = reverse = 0
    for index, item, absolute, hedged in statements:
        add = _adder(report, item, index)
        if not item.answer and absolute and not absolute_true:
            add(
                "truefalse-wording",
                ("question",),
                fact(Say.Q_ABSOLUTE_FALSE, words=repr(", ".join(sorted(absolute)))),
            )
        if item.answer and hedged and not hedged_false:
            add(
                "truefalse-wording",
                ("question",),
                fact(Say.Q_HEDGED_TRUE, words=repr(", ".join(sorted(hedged)))),
            )
        if bool(absolute) == bool(hedged):
            continue  # no signal, or a mixed one
        if item.answer == bool(hedged):
            classic += 1
        else:
            reverse += 1
    signalled = classic + reverse
    report.signalled_statements = signalled
    report.signal_guessed = max(classic, reverse)
    if signalled >= TRUEFALSE_CUE_MIN and max(classic, reverse) / signalled >= TRUEFALSE_CUE_SHARE:
        code = Say.Q_CUES_CLASSIC if classic >= reverse else Say.Q_CUES_REVERSE
        report.findings.append(
            Finding(
                "truefalse-cues",
                "pack",
                None,
                (),
                fact(code, count=max(classic, reverse), n=signalled),
                tuple(index for index, _, absolute, hedged in statements if absolute or hedged),
            )
        )


def _check_short(item: ShortItem, add: _AddFn) -> None:
    question = f" {_flat(item.question)} "
    for position, accepted in enumerate(item.accepted):
        if accepted.credit < 1 or "*" in accepted.text:
            continue
        form = _flat(accepted.text)
        if form and f" {form} " in question:
            add(
                "answer-in-question",
                ("answers", position),
                fact(Say.Q_ACCEPTED_IN_QUESTION, answer=_quoted(accepted.text)),
            )
            return


def _check_number(item: NumberItem, add: _AddFn) -> None:
    if _number_form(item.answer) in _numbers(item.question):
        add(
            "answer-in-question",
            ("answer",),
            fact(Say.Q_NUMBER_IN_QUESTION, answer=_number_form(item.answer)),
        )


def _check_longest_share(report: QualityReport, chances: Sequence[float]) -> None:
    observed = report.correct_longest
    if observed < 3 or observed <= report.longest_by_chance:
        return
    tail = _tail_probability(chances, observed)
    if tail < LONGEST_SIGNIFICANCE:
        report.findings.append(
            Finding(
                "longest-share",
                "pack",
                None,
                (),
                fact(
                    Say.Q_LONGEST_SHARE,
                    observed=observed,
                    n=report.single_choice,
                    chance=report.longest_by_chance,
                    tail=tail,
                ),
            )
        )


def _tail_probability(chances: Sequence[float], at_least: int) -> float:
    """P(X >= at_least) where X counts successes of independent trials with these chances."""
    dist = [1.0]
    for p in chances:
        nxt = [0.0] * (len(dist) + 1)
        for k, q in enumerate(dist):
            nxt[k] += q * (1 - p)
            nxt[k + 1] += q * p
        dist = nxt
    return math.fsum(dist[at_least:])


def _check_truefalse_balance(report: QualityReport) -> None:
    total = report.true_items + report.false_items
    if total < 4:
        return
    minority = min(report.true_items, report.false_items)
    if minority / total < 0.3:
        more = report.true_items > report.false_items
        report.findings.append(
            Finding(
                "truefalse-balance",
                "pack",
                None,
                (),
                fact(
                    Say.Q_MOSTLY_TRUE if more else Say.Q_MOSTLY_FALSE,
                    count=max(report.true_items, report.false_items),
                    n=total,
                ),
            )
        )


# --------------------------------------------------------------------------- item against item


@dataclass(frozen=True)
class _Key:
    """What gives an item's answer away: the stems of a correct answer, minus the stem's own."""

    index: int
    shown: str
    stems: frozenset[str]
    rivals: tuple[frozenset[str], ...]  # the distractors' stems


def _keys(pack: Pack, words: _Words) -> list[_Key]:
    keys: list[_Key] = []
    for index, item in enumerate(pack.items):
        own = words.content(item.question)
        if isinstance(item, ChoiceItem):
            texts = item.option_texts
            rivals = tuple(
                frozenset(words.content(t))
                for i, t in enumerate(texts)
                if i not in item.correct_indices
            )
            for answer in item.answers:
                stems = frozenset(words.content(answer) - own)
                if stems:
                    keys.append(_Key(index, answer, stems, rivals))
        elif isinstance(item, ShortItem):
            stems = frozenset(words.content(item.model_answer) - own)
            if stems:
                keys.append(_Key(index, item.model_answer, stems, ()))
        elif isinstance(item, NumberItem):
            number = _number_form(item.answer)
            if number not in own:
                keys.append(_Key(index, number, frozenset({number}), ()))
    return keys


def _check_giveaways(pack: Pack, report: QualityReport, words: _Words) -> set[tuple[int, int]]:
    """Flag the items whose question or earlier feedback states another item's answer; return
    the (giver, target) pairs found."""
    keys = _keys(pack, words)
    pairs: set[tuple[int, int]] = set()
    # Which texts hold each stem: an item's question (seen before it is answered, by everyone)
    # and its feedback (explanation and quote, seen after it, so only by later items).
    questions: dict[str, set[int]] = {}
    feedback: dict[str, set[int]] = {}
    question_stems: list[frozenset[str]] = []
    feedback_stems: list[frozenset[str]] = []
    for index, item in enumerate(pack.items):
        asked = words.content(item.question)
        told = words.content(" ".join([item.explanation, *item.sources, *_feedback(item)]))
        question_stems.append(asked)
        feedback_stems.append(told)
        for stem in asked:
            questions.setdefault(stem, set()).add(index)
        for stem in told:
            feedback.setdefault(stem, set()).add(index)
    givers: set[int] = set()
    for key in keys:
        target = pack.items[key.index]
        others = {key.index}
        if key.rivals and all(
            _holders(rival, questions) - others or _holders(rival, feedback) - others
            for rival in key.rivals
            if rival
        ):
            continue  # every option is named elsewhere in the quiz: seeing one tells nothing
        for where, index_of, texts in (
            (Say.Q_GIVES_AWAY_QUESTION, questions, question_stems),
            (Say.Q_GIVES_AWAY_FEEDBACK, feedback, feedback_stems),
        ):
            holders = _holders(key.stems, index_of)
            for giver in sorted(holders - {key.index}):
                if where != Say.Q_GIVES_AWAY_QUESTION and giver > key.index:
                    continue  # its feedback is shown after the target item
                if any(rival and rival <= texts[giver] for rival in key.rivals):
                    continue  # it names a distractor as well: no give-away
                givers.add(giver)
                pairs.add((giver, key.index))
                item = pack.items[giver]
                report.findings.append(
                    Finding(
                        "gives-away",
                        item.id,
                        giver,
                        ("question",) if where == Say.Q_GIVES_AWAY_QUESTION else ("explanation",),
                        fact(where, answer=_quoted(key.shown), item=repr(target.id)),
                    )
                )
    report.giveaways = len(givers)
    return pairs


def _options(item: Item) -> list[str]:
    """The options a taker reads with an item's question (none for typed items)."""
    return list(item.option_texts) if isinstance(item, ChoiceItem) else []


def _feedback(item: Item) -> list[str]:
    """The feedback an item may show after it is answered, besides its explanation."""
    if isinstance(item, ChoiceItem):
        return list(item.feedback.values())
    if isinstance(item, ShortItem):
        return [a.feedback for a in item.accepted if a.feedback]
    return []


def _holders(stems: Iterable[str], index_of: dict[str, set[int]]) -> set[int]:
    postings = sorted((index_of.get(stem, set()) for stem in stems), key=len)
    if not postings:
        return set()
    found = set(postings[0])
    for posting in postings[1:]:
        found &= posting
    return found


def _phrases(words: _Words, text: str) -> frozenset[tuple[str, str]]:
    """The pairs of neighbouring content words in ``text`` (function words skipped), stemmed:
    "a significant policy shift" gives (signific, polici) and (polici, shift)."""
    content = [
        words.stem(w) for w in _words(text) if (w not in words.stop and len(w) > 1) or w.isdigit()
    ]
    return frozenset(itertools.pairwise(content))


def _check_key_echoes(
    pack: Pack, report: QualityReport, words: _Words, given: set[tuple[int, int]]
) -> None:
    """Flag a key that shares a two-word phrase with another item's question or options when none
    of its distractors shares a phrase with any other item: a guesser picks the option whose
    words the quiz repeats elsewhere. (A whole key stated in a question is ``gives-away``.)"""
    if not words.stop:
        return  # without a function-word list, "of the" would count as a shared phrase
    asked = [_phrases(words, " \n ".join([item.question, *_options(item)])) for item in pack.items]
    own = [_phrases(words, item.question) for item in pack.items]
    holders: dict[tuple[str, str], set[int]] = {}
    for index, phrases in enumerate(asked):
        for phrase in phrases:
            holders.setdefault(phrase, set()).add(index)

    def echoes(text: str, index: int) -> dict[tuple[str, str], set[int]]:
        found = {}
        for phrase in _phrases(words, text) - own[index]:
            others = holders.get(phrase, set()) - {index}
            if others:
                found[phrase] = others
        return found

    echoed: set[int] = set()
    for index, item in enumerate(pack.items):
        if isinstance(item, ChoiceItem):
            texts = item.option_texts
            if any(
                echoes(texts[i], index) for i in range(len(texts)) if i not in item.correct_indices
            ):
                continue  # a distractor is echoed too: the echo does not point at the key
            keys = [(_option_key(item, i), texts[i]) for i in sorted(item.correct_indices)]
        elif isinstance(item, ShortItem):
            model = next(i for i, a in enumerate(item.accepted) if a.text == item.model_answer)
            keys = [(("answers", model), item.model_answer)]
        else:
            continue
        for key, text in keys:
            found = echoes(text, index)
            others = sorted(set().union(*found.values()) - {g for g, t in given if t == index})
            if not others:
                continue
            shown = sorted(" ".join(p) for p in found)[0]
            echoed.add(index)
            report.findings.append(
                Finding(
                    "key-echo",
                    item.id,
                    index,
                    key,
                    fact(
                        Say.Q_KEY_ECHO_CHOICE if isinstance(item, ChoiceItem) else Say.Q_KEY_ECHO,
                        answer=_quoted(text),
                        phrase=repr(shown),
                        item=repr(pack.items[others[0]].id),
                    ),
                    tuple(others),
                )
            )
    report.echoed_keys = len(echoed)
