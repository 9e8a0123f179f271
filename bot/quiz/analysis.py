"""Item analysis: which questions of a pack work, from each student's first complete run.

The sample is one *sitting* per student: the first run of the pack (by finish time) that
reached its end (``status = 'finished'``) in ``mode = 'full'`` (review runs are practice and
ask only missed items), of any kind: a private chat, ``quizbot play`` in a terminal, or a group
game, where every player who answered at least one question of that game has a sitting. Later
runs are left out because a student who has seen the answers is no longer measured by them.

In a sitting, an item scores 1 when it was answered correctly (``attempts.correct``: full
marks) and 0 otherwise: a wrong answer, a skip, or, in a group game, no answer before the time
ran out. Partial credit and the group speed bonus do not count, so the statistics are the
classical ones for right/wrong items:

* **facility** p = correct / students asked the item;
* **discrimination** r = the Pearson (point-biserial) correlation, over the students asked the
  item, between the item score x (0 or 1) and the *rest score* y = the student's number of
  correct answers in the sitting minus x (the corrected item-total correlation):
  r = (n·Σxy − Σx·Σy) / √((n·Σx² − (Σx)²)·(n·Σy² − (Σy)²)); undefined (None) when x or y
  does not vary;
* how often each option of a choice or true/false item was picked (``attempts.response`` holds
  the chosen option texts as a JSON list);
* frequent wrong typed answers of short-answer items, grouped by the grader's normal form.

Flags, raised only for items that at least :data:`MIN_STUDENTS` students were asked: too easy
(p > 0.90), too hard (p < 0.20), negative (r < 0) or near-zero (r < 0.10) discrimination, a
distractor nobody picked, and a wrong short answer given by at least 2 students and 10 % of
those asked, which the grader does not recognise: a candidate accepted answer.

Pure computation is separate from the queries (:func:`load_sample`) so that it can be checked
against values computed by hand.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.packs.model import ChoiceItem, Item, PackSettings, ShortItem, TrueFalseItem, item_from_body
from bot.quiz.grading import grade_short
from bot.store.models import Attempt, ItemRow, PackRow, QuizRun, ReviewCard
from bot.text import normalize

if TYPE_CHECKING:
    from matplotlib.figure import Figure

EASY_ABOVE = 0.90
"""An item more than 90 % of students answer correctly tells them apart hardly at all."""
HARD_BELOW = 0.20
"""Under 20 % correct: too hard, or keyed wrong, or not answerable from the article."""
LOW_DISCRIMINATION = 0.10
"""A corrected item-total correlation under 0.10 is near zero: the item does not measure what
the rest of the pack measures."""
MIN_STUDENTS = 5
"""Flags need at least this many students asked the item; with fewer, chance decides."""
CANDIDATE_MIN_COUNT = 2
CANDIDATE_MIN_SHARE = 0.10

RUN_KINDS = ("private", "terminal", "group")

FLAG_LABELS = {
    "too-easy": "too easy",
    "too-hard": "too hard",
    "negative-discrimination": "negative discrimination",
    "low-discrimination": "near-zero discrimination",
    "unused-distractor": "distractor nobody picks",
    "candidate-answer": "frequent wrong answer: accept it?",
}


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class ItemInfo:
    """An item of the pack as stored now (``item`` is None if its body cannot be read)."""

    id: int
    key: str
    type: str
    position: int
    retired: bool
    item: Item | None


@dataclass(frozen=True)
class Answer:
    correct: bool
    response: str | None
    """As stored: option texts as a JSON list for choices, the typed text otherwise; None for
    a skip."""


@dataclass(frozen=True)
class Sitting:
    """One student's first complete run: the items it asked and the answers given."""

    user_id: int
    run_id: int
    kind: str
    asked: tuple[int, ...]
    answers: Mapping[int, Answer]

    def score(self, item_id: int) -> int:
        answer = self.answers.get(item_id)
        return int(answer is not None and answer.correct)

    @property
    def total(self) -> int:
        return sum(self.score(i) for i in self.asked)


@dataclass(frozen=True)
class RunRecord:
    """A finished full run, as :func:`first_sittings` needs it."""

    id: int
    kind: str
    user_id: int | None
    item_order: tuple[int, ...]
    finished_at: datetime | None


@dataclass(frozen=True)
class AttemptRecord:
    run_id: int
    user_id: int
    item_id: int
    correct: bool
    response: str | None


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class OptionCount:
    text: str
    correct: bool
    picks: int
    current: bool = True
    """False for a text the item no longer offers (picked before an edit)."""


@dataclass(frozen=True)
class CandidateAnswer:
    text: str
    """The most common spelling among the students who gave it."""
    count: int
    share: float


@dataclass(frozen=True)
class ItemStats:
    id: int
    key: str
    type: str
    position: int
    retired: bool
    students: int
    """Students in the sample whose sitting asked this item."""
    answered: int
    """Of those, the ones who gave an answer (not a skip, not out of time)."""
    correct: int
    facility: float | None
    discrimination: float | None
    options: tuple[OptionCount, ...] = ()
    candidates: tuple[CandidateAnswer, ...] = ()
    flags: tuple[str, ...] = ()
    leeches: int = 0
    """Students for whom the item is a leech (missed 4 times in review): the items that most
    need rewriting. Counted over every student, not only the sample."""

    @property
    def unused_distractors(self) -> list[str]:
        return [o.text for o in self.options if o.current and not o.correct and o.picks == 0]

    def flag_notes(self) -> list[str]:
        """One human sentence per flag."""
        notes = []
        for flag in self.flags:
            if flag == "too-easy" and self.facility is not None:
                notes.append(f"too easy: {self.facility:.0%} correct")
            elif flag == "too-hard" and self.facility is not None:
                notes.append(f"too hard: {self.facility:.0%} correct")
            elif flag in ("negative-discrimination", "low-discrimination"):
                notes.append(f"{FLAG_LABELS[flag]} ({self.discrimination:+.2f})")
            elif flag == "unused-distractor":
                quoted = ", ".join(f"“{t}”" for t in self.unused_distractors)
                notes.append(f"nobody picks {quoted}")
            elif flag == "candidate-answer":
                quoted = ", ".join(f"“{c.text}” ×{c.count}" for c in self.candidates)
                notes.append(f"frequent wrong answers, accept them? {quoted}")
        return notes

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position + 1,
            "item": self.key,
            "type": self.type,
            "retired": self.retired,
            "students": self.students,
            "answered": self.answered,
            "correct": self.correct,
            "facility": _rounded(self.facility),
            "discrimination": _rounded(self.discrimination),
            "options": [
                {"text": o.text, "correct": o.correct, "picks": o.picks, "current": o.current}
                for o in self.options
            ],
            "candidate_answers": [
                {"text": c.text, "count": c.count, "share": _rounded(c.share)}
                for c in self.candidates
            ],
            "flags": list(self.flags),
            "leeches": self.leeches,
            "notes": self.flag_notes(),
        }


@dataclass(frozen=True)
class Analysis:
    slug: str
    title: str
    students: int
    sittings_by_kind: dict[str, int]
    mean_score: float | None
    """Mean number of correct answers per sitting."""
    items: tuple[ItemStats, ...] = field(default=())

    @property
    def flagged(self) -> list[ItemStats]:
        return [i for i in self.items if i.flags]

    def sample_text(self) -> str:
        kinds = ", ".join(f"{n} {k}" for k, n in self.sittings_by_kind.items() if n)
        runs = "run" if self.students == 1 else "runs"
        return (
            f"{self.students} student{'s' if self.students != 1 else ''}, "
            f"first complete {runs}" + (f" ({kinds})" if kinds else "")
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "pack": self.slug,
            "title": self.title,
            "students": self.students,
            "sittings_by_kind": self.sittings_by_kind,
            "mean_score": _rounded(self.mean_score),
            "thresholds": {
                "too_easy_above": EASY_ABOVE,
                "too_hard_below": HARD_BELOW,
                "low_discrimination_below": LOW_DISCRIMINATION,
                "min_students_for_flags": MIN_STUDENTS,
            },
            "items": [i.as_dict() for i in self.items],
        }


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


# --------------------------------------------------------------------------- computation


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """The Pearson correlation of two equally long series; None when either is constant."""
    n = len(xs)
    if n < 2:
        return None
    sx, sy = sum(xs), sum(ys)
    sxx = sum(x * x for x in xs)
    syy = sum(y * y for y in ys)
    sxy = sum(x * y for x, y in zip(xs, ys, strict=True))
    vx = n * sxx - sx * sx
    vy = n * syy - sy * sy
    if vx <= 0 or vy <= 0:
        return None
    return (n * sxy - sx * sy) / math.sqrt(vx * vy)


def first_sittings(runs: Sequence[RunRecord], attempts: Sequence[AttemptRecord]) -> list[Sitting]:
    """Each student's first finished full run (by finish time, then run id).

    A private or terminal run belongs to its player; a group game gives a sitting to every
    player who answered at least one of its questions."""
    by_run: dict[int, dict[int, dict[int, Answer]]] = {}
    for a in attempts:
        by_run.setdefault(a.run_id, {}).setdefault(a.user_id, {})[a.item_id] = Answer(
            a.correct, a.response
        )
    never = datetime.max.replace(tzinfo=UTC)
    ordered = sorted(runs, key=lambda r: (r.finished_at or never, r.id))
    seen: set[int] = set()
    sittings: list[Sitting] = []
    for run in ordered:
        answers = by_run.get(run.id, {})
        if run.kind == "group":
            players = sorted(answers)
        else:
            players = [run.user_id] if run.user_id is not None else []
        for user_id in players:
            if user_id in seen:
                continue
            seen.add(user_id)
            sittings.append(
                Sitting(user_id, run.id, run.kind, run.item_order, answers.get(user_id, {}))
            )
    return sittings


def _picked_options(response: str | None) -> list[str]:
    if not response:
        return []
    try:
        value = json.loads(response)
    except ValueError:
        return []
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str)]


def _option_counts(item: ChoiceItem | TrueFalseItem, answers: list[Answer]) -> list[OptionCount]:
    texts = item.option_texts
    right = {texts[i] for i in item.correct_indices}
    picks: Counter[str] = Counter()
    for answer in answers:
        picks.update(set(_picked_options(answer.response)))
    counts = [OptionCount(t, t in right, picks[t]) for t in texts]
    older = sorted((t for t in picks if t not in texts), key=lambda t: (-picks[t], t))
    counts += [OptionCount(t, False, picks[t], current=False) for t in older]
    return counts


def _candidates(
    item: ShortItem, answers: list[Answer], students: int, language: str, settings: PackSettings
) -> list[CandidateAnswer]:
    """Wrong typed answers that many students share and the grader does not recognise."""
    groups: dict[str, Counter[str]] = {}
    for answer in answers:
        if answer.correct or not answer.response or not answer.response.strip():
            continue
        form = normalize(answer.response, language)
        if form:
            groups.setdefault(form, Counter())[answer.response.strip()] += 1
    found = []
    for spellings in groups.values():
        count = sum(spellings.values())
        if count < CANDIDATE_MIN_COUNT or count < CANDIDATE_MIN_SHARE * students:
            continue
        text = min(spellings, key=lambda s: (-spellings[s], s))
        grade = grade_short(item, text, language, settings)
        if grade.matched is not None or grade.correct:
            continue  # an answer the author anticipated (partial credit, or feedback)
        found.append(CandidateAnswer(text, count, count / students))
    found.sort(key=lambda c: (-c.count, c.text))
    return found


def analyse(
    slug: str,
    title: str,
    items: Sequence[ItemInfo],
    sittings: Sequence[Sitting],
    language: str = "en",
    settings: PackSettings | None = None,
) -> Analysis:
    """The item analysis of ``sittings`` (see the module docstring for the definitions)."""
    pack_settings = settings or PackSettings()
    totals = {s.user_id: s.total for s in sittings}
    asked_by_item: dict[int, list[Sitting]] = {}
    for sitting in sittings:
        for item_id in sitting.asked:
            asked_by_item.setdefault(item_id, []).append(sitting)
    stats: list[ItemStats] = []
    for info in sorted(items, key=lambda i: (i.retired, i.position, i.id)):
        asked = asked_by_item.get(info.id, [])
        if info.retired and not asked:
            continue
        xs = [s.score(info.id) for s in asked]
        ys = [totals[s.user_id] - x for s, x in zip(asked, xs, strict=True)]
        given = [s.answers[info.id] for s in asked if info.id in s.answers]
        answered = [a for a in given if a.response is not None]
        n = len(asked)
        correct = sum(xs)
        facility = correct / n if n else None
        discrimination = pearson(xs, ys)
        options: list[OptionCount] = []
        candidates: list[CandidateAnswer] = []
        item = info.item
        if isinstance(item, ChoiceItem | TrueFalseItem):
            options = _option_counts(item, answered)
        if isinstance(item, ShortItem):
            candidates = _candidates(item, answered, n, language, pack_settings)
        flags: list[str] = []
        if n >= MIN_STUDENTS and facility is not None:
            if facility > EASY_ABOVE:
                flags.append("too-easy")
            if facility < HARD_BELOW:
                flags.append("too-hard")
            if discrimination is not None and discrimination < 0:
                flags.append("negative-discrimination")
            elif discrimination is not None and discrimination < LOW_DISCRIMINATION:
                flags.append("low-discrimination")
            if isinstance(item, ChoiceItem) and any(
                o.current and not o.correct and o.picks == 0 for o in options
            ):
                flags.append("unused-distractor")
            if candidates:
                flags.append("candidate-answer")
        stats.append(
            ItemStats(
                id=info.id,
                key=info.key,
                type=info.type,
                position=info.position,
                retired=info.retired,
                students=n,
                answered=len(answered),
                correct=correct,
                facility=facility,
                discrimination=discrimination,
                options=tuple(options),
                candidates=tuple(candidates),
                flags=tuple(flags),
            )
        )
    by_kind = {kind: sum(1 for s in sittings if s.kind == kind) for kind in RUN_KINDS}
    mean = sum(totals.values()) / len(totals) if totals else None
    return Analysis(slug, title, len(sittings), by_kind, mean, tuple(stats))


# --------------------------------------------------------------------------- queries


async def load_sample(
    session: AsyncSession, pack_id: int, run_ids: Sequence[int] | None = None
) -> tuple[list[ItemInfo], list[Sitting]]:
    """The pack's items and its students' first sittings (three queries); ``run_ids``
    narrows the sample to those runs (a class's submissions)."""
    item_rows = (
        await session.execute(
            select(
                ItemRow.id,
                ItemRow.key,
                ItemRow.type,
                ItemRow.position,
                ItemRow.retired,
                ItemRow.body,
            )
            .where(ItemRow.pack_id == pack_id)
            .order_by(ItemRow.position, ItemRow.id)
        )
    ).all()
    items = [
        ItemInfo(r.id, r.key, r.type, r.position, r.retired, _item_or_none(r.body))
        for r in item_rows
    ]
    finished = (
        QuizRun.pack_id == pack_id,
        QuizRun.status == "finished",
        QuizRun.mode == "full",
        QuizRun.kind.in_(RUN_KINDS),
        *(() if run_ids is None else (QuizRun.id.in_(list(run_ids)),)),
    )
    run_rows = (
        await session.execute(
            select(
                QuizRun.id, QuizRun.kind, QuizRun.user_id, QuizRun.item_order, QuizRun.finished_at
            ).where(*finished)
        )
    ).all()
    runs = [
        RunRecord(r.id, r.kind, r.user_id, tuple(int(i) for i in r.item_order), r.finished_at)
        for r in run_rows
    ]
    attempt_rows = (
        await session.execute(
            select(
                Attempt.run_id, Attempt.user_id, Attempt.item_id, Attempt.correct, Attempt.response
            )
            .join(QuizRun, QuizRun.id == Attempt.run_id)
            .where(Attempt.pack_id == pack_id, *finished)
        )
    ).all()
    attempts = [AttemptRecord(*row) for row in attempt_rows]
    return items, first_sittings(runs, attempts)


def _item_or_none(body: dict[str, Any]) -> Item | None:
    try:
        return item_from_body(body)
    except ValueError:
        return None


async def analyse_pack(
    session: AsyncSession,
    pack: PackRow,
    in_thread: bool = False,
    run_ids: Sequence[int] | None = None,
) -> Analysis:
    """The item analysis of a stored pack (of ``run_ids`` only, when given); ``in_thread``
    computes it in a worker thread, so that a server's event loop is not held up by a long
    history."""
    items, sittings = await load_sample(session, pack.id, run_ids)
    settings = PackSettings.model_validate(pack.settings)
    args = (pack.slug, pack.title, items, sittings, pack.language, settings)
    if in_thread:
        result = await asyncio.to_thread(analyse, *args)
    else:
        result = analyse(*args)
    return with_leeches(result, await leech_counts(session, pack.id))


async def leech_counts(session: AsyncSession, pack_id: int) -> dict[int, int]:
    """Per item of the pack: the students for whom it is a leech."""
    rows = await session.execute(
        select(ReviewCard.item_id, func.count())
        .join(ItemRow, ItemRow.id == ReviewCard.item_id)
        .where(ItemRow.pack_id == pack_id, ReviewCard.leech_at.is_not(None))
        .group_by(ReviewCard.item_id)
    )
    return {int(item_id): int(n) for item_id, n in rows.all()}


def with_leeches(result: Analysis, counts: Mapping[int, int]) -> Analysis:
    """The analysis with each item's leech count."""
    if not counts:
        return result
    items = tuple(replace(i, leeches=counts.get(i.id, 0)) for i in result.items)
    return replace(result, items=items)


# --------------------------------------------------------------------------- the chart


def chart_png(analysis: Analysis) -> bytes:
    """The chart of :func:`chart_figure` as a PNG image."""
    buffer = io.BytesIO()
    chart_figure(analysis).savefig(buffer, format="png")
    return buffer.getvalue()


def chart_figure(analysis: Analysis) -> Figure:
    """Facility against discrimination, one dot per item, flagged items labelled.

    Drawn on matplotlib's Agg canvas directly (no pyplot, no display, no global state), so
    it is safe in a worker thread of a server."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.axvspan(-0.05, HARD_BELOW, color="#f4cccc", alpha=0.5, lw=0, label="too hard / too easy")
    axes.axvspan(EASY_ABOVE, 1.05, color="#f4cccc", alpha=0.5, lw=0)
    axes.axhspan(
        -1.05, LOW_DISCRIMINATION, color="#fce5cd", alpha=0.5, lw=0, label="weak discrimination"
    )
    axes.axhline(0, color="#999999", lw=0.8)
    # An item everyone (or no one) got right has no discrimination: it is drawn hollow on
    # the zero line, so that the too-easy and too-hard ones are still seen.
    points = [
        (i.key, i.facility, i.discrimination, bool(i.flags))
        for i in analysis.items
        if i.facility is not None
    ]
    groups: list[tuple[Callable[[float | None, bool], bool], str, dict[str, Any]]] = [
        (lambda d, f: d is not None and not f, "item", {"color": "#3c78d8", "marker": "o"}),
        (lambda d, f: d is not None and f, "flagged item", {"color": "#cc0000", "marker": "D"}),
        (
            lambda d, f: d is None,
            "no discrimination (no variation)",
            {"facecolors": "none", "edgecolors": "#cc0000", "marker": "o"},
        ),
    ]
    for wanted, label, style in groups:
        shown = [(key, x, y, flag) for key, x, y, flag in points if wanted(y, flag)]
        if shown:
            axes.scatter(
                [x for _, x, _, _ in shown],
                [0.0 if y is None else y for _, _, y, _ in shown],
                s=38,
                label=label,
                **style,
            )
        for key, x, y, flag in shown:
            if flag:
                axes.annotate(
                    key,
                    (x, 0.0 if y is None else y),
                    xytext=(5, 4),
                    textcoords="offset points",
                    fontsize=8,
                    color="#990000",
                )
    axes.set_xlim(-0.05, 1.05)
    axes.set_ylim(-1.05, 1.05)
    axes.set_xlabel("facility (share of correct answers)")
    axes.set_ylabel("discrimination (corrected item-total correlation)")
    axes.set_title(f"{analysis.title[:70]}\n{analysis.sample_text()}", fontsize=10)
    axes.legend(loc="lower left", fontsize=8)
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    return figure


# --------------------------------------------------------------------------- text reports


def _number(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def table_lines(analysis: Analysis) -> list[str]:
    """The analysis as a plain-text table with notes (``quizbot report``)."""
    lines = [f"{analysis.slug}: {analysis.title}", analysis.sample_text()]
    if analysis.mean_score is not None:
        lines.append(f"mean score {analysis.mean_score:.2f}")
    if not analysis.items:
        return [*lines, "no items"]
    width = max(4, *(len(i.key) for i in analysis.items))
    lines += [
        "",
        f"{'#':>3}  {'item':<{width}}  {'type':<9}  {'n':>5}  {'correct':>7}  "
        f"{'facility':>8}  {'discr.':>6}  flags",
    ]
    for stats in analysis.items:
        position = "-" if stats.retired else str(stats.position + 1)
        flags = ", ".join(FLAG_LABELS[f] for f in stats.flags)
        lines.append(
            f"{position:>3}  {stats.key:<{width}}  {stats.type:<9}  {stats.students:>5}  "
            f"{stats.correct:>7}  {_number(stats.facility):>8}  "
            f"{_number(stats.discrimination, signed=True):>6}  {flags}"
        )
    options = [s for s in analysis.items if s.options]
    if options:
        lines += ["", "options picked (✓ correct):"]
        for stats in options:
            picks = ", ".join(
                f"{'✓ ' if o.correct else ''}{o.text}{'' if o.current else ' (old)'} {o.picks}"
                for o in stats.options
            )
            lines.append(f"  {stats.key}: {picks}")
    typed = [s for s in analysis.items if s.candidates]
    if typed:
        lines += ["", "frequent wrong short answers:"]
        for stats in typed:
            shown = ", ".join(f"{c.text!r} ×{c.count} ({c.share:.0%})" for c in stats.candidates)
            lines.append(f"  {stats.key}: {shown}")
    leeches = [s for s in analysis.items if s.leeches]
    if leeches:
        lines += ["", "leeches (students who missed the item 4 times in review):"]
        lines += [f"  {s.key}: {s.leeches}" for s in leeches]
    if analysis.flagged:
        lines += ["", "flags:"]
        for stats in analysis.flagged:
            lines.append(f"  {stats.key}: " + "; ".join(stats.flag_notes()))
    lines += [
        "",
        f"Flags need {MIN_STUDENTS}+ students per item: too easy over {EASY_ABOVE:.0%} correct, "
        f"too hard under {HARD_BELOW:.0%}, discrimination under {LOW_DISCRIMINATION:.2f}.",
    ]
    return lines


CSV_COLUMNS = (
    "position",
    "item",
    "type",
    "retired",
    "students",
    "answered",
    "correct",
    "facility",
    "discrimination",
    "flags",
    "options",
    "candidate_answers",
    "leeches",
)


def csv_rows(analysis: Analysis) -> list[list[object]]:
    """One row per item (``quizbot report --format csv``); write it with :mod:`bot.quiz.export`
    so that no cell can start a spreadsheet formula."""
    rows: list[list[object]] = [list(CSV_COLUMNS)]
    for stats in analysis.items:
        rows.append(
            [
                "" if stats.retired else stats.position + 1,
                stats.key,
                stats.type,
                "yes" if stats.retired else "no",
                stats.students,
                stats.answered,
                stats.correct,
                "" if stats.facility is None else round(stats.facility, 4),
                "" if stats.discrimination is None else round(stats.discrimination, 4),
                " ".join(stats.flags),
                " | ".join(f"{o.text}={o.picks}" for o in stats.options),
                " | ".join(f"{c.text}={c.count}" for c in stats.candidates),
                stats.leeches,
            ]
        )
    return rows
