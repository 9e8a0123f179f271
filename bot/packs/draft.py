"""A first draft of a pack from an article: candidate items an instructor reviews and edits.

Rules over a well-kept sentence splitter, no language model (nothing is downloaded at run time,
and the official spaCy models are not on the package registry):

- sentences come from pysbd (rule-based, 22 languages; English rules for the others);
- figures are numbers written with digits (``11,000``, ``2.5``, ``40 %``) or, in English, as
  words (``two``); the word after a figure is its unit unless it is a function word. Each
  figure becomes a ``number`` item: its sentence with the figure blanked;
- names are runs of capitalised words that do not start a sentence (or that recur), grouped by
  simple cues: a title before the name (President, Senator, Minister…) makes a person, an
  organisation word (House, Council, Ministry, Party, University…) or an all-capitals acronym
  an organisation, a place word next to it (region, city, province…) or a preposition of place
  before it (in, to, from…) a place, and two or three plain capitalised words a person;
- each name's first sentence becomes a ``choice`` item with other names of the same kind as
  distractors when the article has at least two of them, otherwise a ``short`` (fill-in-the-gap)
  item accepting the full name, the surname alone and the name with its title; a later sentence
  naming it again becomes a ``short`` item.

:func:`draft_pack` is pure (article text in, YAML text and counts out); the CLI and the bot's
``/draft`` upload write or send its result.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import pysbd

from bot.i18n import Translator, translator
from bot.packs.facts import Fact, Say, Value, fact
from bot.packs.wording import english, say
from bot.text import squash_whitespace

MAX_SENTENCE = 280
"""Longer sentences are skipped: a question quoting them would not fit a quiz poll (300)."""


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_TITLES = {
    "en": "President President-elect Senator Sen. Minister Chancellor Prime Secretary General Gen. "
    "Governor Mayor Judge King Queen Prince Princess Pope Dr. Dr Mr. Mr Mrs. Mrs Ms. Ms Professor "
    "Prof. Lawmaker Leader Ambassador Spokesman Spokeswoman Commander Colonel Captain Lord Lady "
    "Sir Director Chief Representative Rep. CEO Chairman Councillor Councilor Councilwoman",
    "fr": "Président Présidente M. Mme Ministre Premier Sénateur Sénatrice Général Maire Docteur "
    "Dr Professeur Roi Reine Pape Madame Monsieur Député Députée Chancelier Chancelière",
    "de": "Präsident Präsidentin Kanzler Kanzlerin Minister Ministerin Senator Herr Frau Dr. "
    "Professor Prof. General Bürgermeister Bürgermeisterin König Königin Papst Abgeordnete",
    "es": "Presidente Presidenta Ministro Ministra Senador Senadora Sr. Sra. Don Doña General "
    "Alcalde Alcaldesa Doctor Doctora Dr. Rey Reina Papa Canciller Diputado Diputada",
    "it": "Presidente Ministro Ministra Senatore Senatrice Sig. Sig.ra Generale Sindaco Dottor "
    "Dott. Professor Re Regina Papa Cancelliere Deputato Deputata",
    "pt": "Presidente Ministro Ministra Senador Senadora Sr. Sra. General Prefeito Prefeita "
    "Doutor Doutora Dr. Rei Rainha Papa Chanceler Deputado Deputada",
}
_ORG_WORDS = _wordset(
    """House Council Ministry Party University Institute Institut Bank Agency Union Commission
    Office Department Company Corporation Inc Ltd Group Committee Court Parliament Congress Senate
    Assembly Army Navy Forces Organization Organisation Association Foundation Fund Times Post
    News Agence Ministère Ministerium Universität Université Universidad Università Banque Banco
    Comité Gobierno Regierung Gouvernement Governo Partido Parti Partei Partners Studio Atelier
    Architects Architectes Agence Cabinet Club"""
)
_PLACE_AFTER = _wordset(
    """region city province state county river island islands mountains valley oblast district
    capital border coast région ville province fleuve île Region Stadt Provinz Fluss Insel
    región ciudad provincia río isla regione città fiume isola região cidade rio ilha"""
)
_PLACE_BEFORE = _wordset(
    """in into to from near across toward towards at en à de dans vers im in nach aus bei
    en a desde hacia cerca in a da verso em para"""
)
# "of" is left out: it would join "James Nixey of Chatham House" into one name.
_CONNECTORS = _wordset("de du des la le von van der den del da di dos das")
_MONTHS = _wordset(
    """january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday janvier février mars avril mai juin
    juillet août septembre octobre novembre décembre januar februar märz juni juli oktober
    dezember enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre
    diciembre gennaio febbraio aprile maggio giugno luglio settembre ottobre dicembre janeiro
    fevereiro março maio junho julho setembro outubro novembro dezembro"""
)
_EN_NUMBER_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "hundred": 100,
}
_UNIT_STOP = _wordset(
    """a an the of and or to in on at for by with from as is are was were be been that this these
    those it its than then per cent de la le les et du des un une der die das und von zu el los
    las y en que di il e a o do da os em other more new autres other parmi"""
)
_SENTENCE_STARTERS = _wordset(
    """The A An This That These Those It Its After Before While When Whether Until If As But And
    However In On At For From With By To Some Many Most Le La Les Un Une Der Die Das Ein Eine El
    Los Las Il Lo Gli Os Um Uma Après Avant Mais Et Pendant Nach Vor Aber Und Während Después
    Antes Pero Durante Dopo Prima Ma Durante Depois Mas"""
)

# A capitalised word: an initial capital, then letters (any script), apostrophes, dots or
# hyphens; "U.S.-made" and "Kyiv’s" included.
_CAP = r"[A-ZÀ-ÖØ-ÞĀ-Ž][\w.\-]*(?:['’][A-Za-z]+)?"
_NAME_RUN = re.compile(rf"{_CAP}(?:\s+(?:(?:{'|'.join(sorted(_CONNECTORS))})\s+)?{_CAP})*")
_FIGURE = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:[,.\u00a0 ]\d{3})+|\d+(?:[.,]\d+)?)(?:\s?(%|percent|per cent))?"
    r"(?![\w])"
)
_MULTIPLIERS = _wordset(
    """thousand million millions billion billions milliard milliards Million Millionen Milliarde
    Milliarden millón millones mil milione milioni miliardo miliardi milhão milhões"""
)
_DEMONYM = re.compile(r"(?:ian|ean|ese|ish|ais|aise|ische?|ano|ana)$")
_WORD_FIGURE = re.compile(r"\b(" + "|".join(_EN_NUMBER_WORDS) + r")\b(?:-|\s)([a-z]+)", re.I)


@dataclass(frozen=True)
class DraftStats:
    """What the draft found and made."""

    paragraphs: int
    sentences: int
    figures: int
    names: dict[str, int]
    items: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.items.values())

    def fact(self) -> Fact:
        """What was found and made, as one fact (kinds of names and items in the format's words)."""

        def counts(values: dict[str, int]) -> Value:
            return ", ".join(f"{k} {v}" for k, v in values.items()) or fact(Say.SUMMARY_NONE)

        return fact(
            Say.DRAFT_STATS,
            candidates=fact(Say.DRAFT_CANDIDATES, n=self.total, types=counts(self.items)),
            sentences=fact(Say.DRAFT_SENTENCES, n=self.sentences),
            paragraphs=fact(Say.DRAFT_PARAGRAPHS, n=self.paragraphs),
            figures=fact(Say.DRAFT_FIGURES, n=self.figures),
            kinds=counts(self.names),
        )

    def line(self, t: Translator | None = None) -> str:
        return say(t or translator("en"), self.fact())


class DraftError(ValueError):
    """Nothing could be drafted (``fact`` says why)."""

    def __init__(self, fact: Fact) -> None:
        super().__init__(english(fact))
        self.fact = fact


@dataclass(frozen=True)
class Draft:
    yaml: str
    stats: DraftStats


@dataclass
class _Name:
    text: str  # as written, without a title
    kind: str  # person | place | organisation
    title: str | None = None
    mentions: list[tuple[int, str]] = field(default_factory=list)
    """Each sentence (index) naming it, with the words it is written with there (a surname)."""

    @property
    def answers(self) -> list[str]:
        found = [self.text]
        if self.kind == "person" and " " in self.text:
            found.append(self.text.split()[-1])
        if self.title:
            found.append(f"{self.title} {self.text}")
            if self.kind == "person" and " " in self.text:
                found.append(f"{self.title} {self.text.split()[-1]}")
        return list(dict.fromkeys(found))


@dataclass(frozen=True)
class _Figure:
    written: str  # as in the sentence, the part the gap replaces
    value: float
    unit: str | None
    sentence: int


def draft_pack(
    article: str,
    *,
    article_name: str,
    language: str = "en",
    slug: str = "draft",
    title: str | None = None,
) -> Draft:
    """A draft pack for ``article`` as YAML text whose ``article`` key is ``article_name``."""
    lang = language.split("-")[0].lower()
    paragraphs = [squash_whitespace(p) for p in re.split(r"\n\s*\n", article) if p.strip()]
    headline = paragraphs[0] if paragraphs else "Article"
    segmenter = pysbd.Segmenter(
        language=lang if lang in pysbd.languages.LANGUAGE_CODES else "en", clean=False
    )
    sentences: list[str] = []
    for number, paragraph in enumerate(paragraphs):
        if _is_heading(paragraph) or (number == 0 and not re.search(r"[.!?…]$", paragraph)):
            continue  # headings, and a headline in title case (every word a capital)
        sentences += [s.strip() for s in segmenter.segment(paragraph) if s.strip()]
    usable = [s if len(s) <= MAX_SENTENCE and s in article else "" for s in sentences]

    figures = _figures(usable, lang)
    names = _names(usable, lang, article)
    items: list[str] = []
    counts: Counter[str] = Counter()
    used_ids: set[str] = set()

    def add(kind: str, block: str) -> None:
        counts[kind] += 1
        items.append(block)

    for figure in figures:
        add("number", _number_item(figure, usable[figure.sentence], used_ids))
    by_kind: dict[str, list[_Name]] = {}
    for name in names:
        by_kind.setdefault(name.kind, []).append(name)
    for name in names:
        peers = [n.text for n in by_kind[name.kind] if n is not name]
        (first, written), *later = name.mentions
        if len(peers) >= 2:
            add("choice", _choice_item(name, peers, usable[first], written, used_ids))
        else:
            add("short", _short_item(name, usable[first], written, used_ids))
        for sentence, written in later[:2]:
            add("short", _short_item(name, usable[sentence], written, used_ids))

    name_counts = Counter(n.kind for n in names)
    stats = DraftStats(
        paragraphs=len(paragraphs),
        sentences=len(sentences),
        figures=len(figures),
        names={k: name_counts[k] for k in ("person", "place", "organisation") if name_counts[k]},
        items={k: counts[k] for k in ("choice", "short", "number") if counts[k]},
    )
    pack_title = (title or headline)[:128].strip()
    header = [
        "# DRAFT written by `quizbot pack draft` from the article's own sentences. Review every",
        "# item before publishing: keep the good ones, fix the wording where a line says",
        "# `# draft: check`, add inference, main-idea and true/false items by hand, and run",
        "# `quizbot pack check --strict` on the result.",
        f"pack: {_q(slug)}",
        f"title: {_q(pack_title)}",
        f"language: {_q(language)}",
        f"description: {_q('Draft comprehension quiz on: ' + pack_title)}",
        f"article: {_q(article_name)}",
        "settings: {shuffle_options: true, time_limit: 30}",
        "items:",
    ]
    if not items:
        raise DraftError(fact(Say.DRAFT_NOTHING))
    return Draft("\n".join(header) + "\n" + "\n".join(items), stats)


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _is_heading(paragraph: str) -> bool:
    return len(paragraph) < 90 and not re.search(r"[.!?…»\"”]$", paragraph)


def _item_id(prefix: str, text: str, used: set[str]) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40] or "item"
    candidate = f"{prefix}-{base}"
    n = 2
    while candidate in used:
        candidate = f"{prefix}-{base}-{n}"
        n += 1
    used.add(candidate)
    return candidate


# --------------------------------------------------------------------------- figures


def _parse_number(text: str, language: str) -> float | None:
    raw = text.replace("\u00a0", " ")
    if language == "en":
        raw = raw.replace(",", "").replace(" ", "")
    else:
        # 11.000 and 11 000 group thousands; 2,5 is a decimal comma.
        if re.fullmatch(r"\d{1,3}(?:[. ]\d{3})+", raw):
            raw = raw.replace(".", "").replace(" ", "")
        raw = raw.replace(" ", "").replace(",", ".")
    try:
        return float(raw)
    except ValueError:
        return None


def _figures(sentences: Sequence[str], language: str) -> list[_Figure]:
    found: list[_Figure] = []
    seen: set[tuple[float, str | None]] = set()
    for index, sentence in enumerate(sentences):
        if not sentence:
            continue
        candidates: list[tuple[str, float, str | None]] = []
        for match in _FIGURE.finditer(sentence):
            value = _parse_number(match.group(1), language)
            if value is None:
                continue
            unit = match.group(2)
            if unit is None:
                after = re.match(r"\s+([^\W\d_][\w-]*)", sentence[match.end() :])
                word = after.group(1) if after else None
                lowered = word.lower() if word else ""
                # A unit is a common noun: in lower case, except in German.
                common = word is not None and (language == "de" or word[:1].islower())
                if common and lowered not in _UNIT_STOP and lowered not in _MONTHS:
                    unit = word
                if word in _MULTIPLIERS:
                    # "85 million euros", "32 millions d'euros": the multiplier and its noun.
                    rest = sentence[match.end() + len(after.group(0)) if after else 0 :]
                    noun = re.match(r"\s+(?:d['’]|de\s+)?([^\W\d_][\w-]*)", rest)
                    unit = f"{word} {noun.group(1)}" if noun else word
            elif unit != "%":
                unit = "%"
            if re.fullmatch(r"(?:19|20)\d\d", match.group(0)):
                unit = None  # a year: asked as a plain number
            candidates.append((match.group(0), value, unit))
        if language == "en":
            for match in _WORD_FIGURE.finditer(sentence):
                value = float(_EN_NUMBER_WORDS[match.group(1).lower()])
                unit = match.group(2)
                if unit.lower() in _UNIT_STOP:
                    continue
                candidates.append((match.group(1), value, unit))
        for written, value, unit in candidates:
            # One item per figure; a sentence that repeats the figure gives the gap away.
            if (value, unit) in seen or sentence.count(written) != 1:
                continue
            seen.add((value, unit))
            found.append(_Figure(written, value, unit, index))
    return found


def _number_item(figure: _Figure, sentence: str, used: set[str]) -> str:
    gap = sentence.replace(figure.written, "___", 1)
    value = int(figure.value) if figure.value.is_integer() else figure.value
    item_id = _item_id("figure", f"{value}-{figure.unit or ''}", used)
    lines = [
        "  # draft: check that the gap asks for one number and the unit is right",
        f"  - id: {item_id}",
        "    type: number",
        f"    question: {_q('Which number fills the gap? ' + _quote(gap))}",
        f"    answer: {value}",
        "    tolerance: 0",
    ]
    if figure.unit:
        lines.append(f"    unit: {_q(figure.unit)}")
    lines += _common(sentence)
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return f"“{text}”"


def _common(sentence: str) -> list[str]:
    return [
        f"    explanation: {_q('The article says: ' + _quote(sentence))}",
        f"    source: {_q(sentence)}",
        "    difficulty: medium",
        "    skill: detail",
    ]


# --------------------------------------------------------------------------- names


def _titles(language: str) -> frozenset[str]:
    return frozenset(_TITLES.get(language, _TITLES["en"]).split())


def _names(sentences: Sequence[str], language: str, article: str) -> list[_Name]:
    titles = _titles(language)
    lowercase = frozenset(article.split())
    names: dict[str, _Name] = {}
    surnames: dict[str, str] = {}  # a person's last word -> the full name
    for index, sentence in enumerate(sentences):
        if not sentence:
            continue
        for match in _NAME_RUN.finditer(sentence):
            run = match.group(0)
            words = run.split()
            title = None
            while len(words) > 1 and _DEMONYM.search(words[0]):
                words.pop(0)  # "Ukrainian President Volodymyr Zelenskyy"
            while words and words[0] in titles:
                title = words.pop(0)
            words = [w.removesuffix("’s").removesuffix("'s") for w in words]
            while words and words[-1].lower() in _CONNECTORS:
                words.pop()
            if not words:
                continue
            text = written = " ".join(words)
            at_start = match.start() == 0 or sentence[: match.start()].strip() in ("“", '"', "«")
            # A capitalised first word is a name if the article never writes it in lower case.
            if at_start and title is None and len(words) == 1 and words[0].lower() in lowercase:
                continue
            if words[0] in _SENTENCE_STARTERS:
                continue
            if any(w.lower() in _MONTHS for w in words) or "-" in text or "." in text:
                continue  # dates, compounds (U.S.-made) and abbreviations (U.S.)
            if _DEMONYM.search(words[-1]):
                continue  # a demonym (Russian, North Korean): an adjective, not a name
            if text in surnames:
                text = surnames[text]
            name = names.get(text)
            if name is None:
                kind = _kind(words, title, sentence, match.start(), match.end(), language)
                if kind is None:
                    continue
                name = names[text] = _Name(text, kind, title)
                if kind == "person" and len(words) >= 2:
                    surnames[words[-1]] = text
            elif title and not name.title:
                name.title = title
            if all(index != seen for seen, _ in name.mentions):
                name.mentions.append((index, written))
    return [n for n in names.values() if _answerable(n, sentences)]


def _kind(
    words: list[str], title: str | None, sentence: str, start: int, end: int, language: str
) -> str | None:
    before = sentence[:start].split()[-2:] or [""]
    after = sentence[end:].split()[:1] or [""]
    if title is not None:
        return "person"
    if any(w in _ORG_WORDS for w in words) or (
        len(words) == 1 and words[0].isupper() and 2 <= len(words[0]) <= 6
    ):
        return "organisation"
    if (
        after[0].strip(".,;:").lower() in _PLACE_AFTER
        or before[-1].lower() in _PLACE_BEFORE
        or (before[-1] in ("of", "de", "di", "von") and before[0].lower() in _PLACE_AFTER)
    ):
        return "place"  # "the Kursk region", "in Kyiv", "the city of Sumy"
    if 2 <= len(words) <= 3:
        return "person"
    return None


def _answerable(name: _Name, sentences: Sequence[str]) -> bool:
    """Each sentence the name is asked from must contain it once (the gap) and stay a sentence."""
    name.mentions = [(i, w) for i, w in name.mentions if sentences[i].count(w) == 1]
    return bool(name.mentions)


_KIND_QUESTION = {
    "person": "Who fills the gap?",
    "place": "Which place fills the gap?",
    "organisation": "Which organisation fills the gap?",
}


def _choice_item(name: _Name, peers: list[str], sentence: str, written: str, used: set[str]) -> str:
    gap = sentence.replace(written, "___", 1)
    distractors = sorted(peers, key=lambda p: abs(len(p) - len(name.text)))[:3]
    lines = [
        f"  # draft: check the distractors are all wrong here ({name.kind}s from the article)",
        f"  - id: {_item_id(name.kind, name.text, used)}",
        "    type: choice",
        f"    question: {_q(_KIND_QUESTION[name.kind] + ' ' + _quote(gap))}",
        f"    answer: {_q(name.text)}",
        f"    distractors: [{', '.join(_q(d) for d in distractors)}]",
        *_common(sentence),
    ]
    return "\n".join(lines) + "\n"


def _short_item(name: _Name, sentence: str, written: str, used: set[str]) -> str:
    gap = sentence.replace(written, "___", 1)
    answers = [a for a in name.answers if a.lower() not in gap.lower()]
    lines = [
        "  # draft: check the accepted answers (surname alone, with and without the title)",
        f"  - id: {_item_id(name.kind + '-gap', name.text, used)}",
        "    type: short",
        f"    question: {_q(_KIND_QUESTION[name.kind] + ' ' + _quote(gap))}",
        f"    answers: [{', '.join(_q(a) for a in answers or [name.text])}]",
        *_common(sentence),
    ]
    return "\n".join(lines) + "\n"
