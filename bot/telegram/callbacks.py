"""Callback data: short strings that name an action, a run and an item.

Telegram returns whatever we put in a button, and anyone can send any callback data, so
:func:`parse` accepts only the exact shapes below (and numbers that fit in 63 bits). What the
data names is then checked against the database by the engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.packs.model import SLUG_PATTERN

_MAX_ID = 2**63 - 1
_SLUG = SLUG_PATTERN.strip("^$")


@dataclass(frozen=True)
class Action:
    kind: str
    run: int = 0
    item: int = 0
    number: int = 0
    slug: str = ""


# kind -> (pattern, field names of the groups)
_SHAPES: dict[str, tuple[re.Pattern[str], tuple[str, ...]]] = {
    # private runs
    "a": (re.compile(r"(\d{1,19}):(\d{1,19}):(\d{1,2})"), ("run", "item", "number")),
    "t": (re.compile(r"(\d{1,19}):(\d{1,19}):(\d{1,2})"), ("run", "item", "number")),
    "s": (re.compile(r"(\d{1,19}):(\d{1,19})"), ("run", "item")),
    "k": (re.compile(r"(\d{1,19}):(\d{1,19})"), ("run", "item")),
    "n": (re.compile(r"(\d{1,19}):(\d{1,5})"), ("run", "number")),
    "c": (re.compile(r"(\d{1,19})"), ("run",)),
    "rv": (re.compile(r"(\d{1,19})"), ("run",)),
    "rvn": (re.compile(r"(\d{1,19})"), ("run",)),  # review now, leaving the current run
    "rvp": (re.compile(f"({_SLUG})"), ("slug",)),  # /review of a pack, confirmed
    "rvd": (re.compile("due"), ()),  # review what is due (a reminder's button)
    # packs
    "pk": (re.compile(f"({_SLUG})"), ("slug",)),
    "pks": (re.compile(f"({_SLUG})"), ("slug",)),  # a group game with the speed bonus
    "new": (re.compile(f"({_SLUG})"), ("slug",)),
    "rd": (re.compile(f"({_SLUG})"), ("slug",)),
    "lb": (re.compile(f"({_SLUG})"), ("slug",)),
    # group games
    "j": (re.compile(r"(\d{1,19})"), ("run",)),
    "go": (re.compile(r"(\d{1,19})"), ("run",)),
    "ga": (re.compile(r"(\d{1,19}):(\d{1,19}):(\d{1,2})"), ("run", "item", "number")),
    # instructors
    "pub": (re.compile(r"([0-9a-f]{16})"), ("slug",)),
    # classes: mute the reminders of an assignment's class
    "mu": (re.compile(r"(\d{1,19})"), ("run",)),
    # settings
    "priv": (re.compile(r"([01])"), ("number",)),
    "lang": (re.compile(r"([a-z]{2})"), ("slug",)),  # a language code; shipped ones only
}


def pattern(*kinds: str) -> re.Pattern[str]:
    """What a ``CallbackQueryHandler`` matches for these kinds of button: the kind and its
    colon. The rest of the data is checked by :func:`parse` in the handler."""
    unknown = set(kinds) - set(_SHAPES)
    if unknown:
        raise ValueError(f"unknown kinds of button: {sorted(unknown)}")
    return re.compile(f"^(?:{'|'.join(map(re.escape, kinds))}):")


def parse(data: str | None) -> Action | None:
    """The action a button names, or None for anything malformed."""
    if not data or len(data) > 64:
        return None
    kind, sep, rest = data.partition(":")
    shape = _SHAPES.get(kind)
    if shape is None or not sep:
        return None
    pattern, names = shape
    match = pattern.fullmatch(rest)
    if match is None:
        return None
    values: dict[str, int | str] = {}
    for name, raw in zip(names, match.groups(), strict=True):
        if name == "slug":
            values[name] = raw
        else:
            number = int(raw)
            if number > _MAX_ID:
                return None
            values[name] = number
    return Action(kind, **values)  # type: ignore[arg-type]


def answer(run: int, item: int, option: int) -> str:
    return f"a:{run}:{item}:{option}"


def toggle(run: int, item: int, option: int) -> str:
    return f"t:{run}:{item}:{option}"


def submit(run: int, item: int) -> str:
    return f"s:{run}:{item}"


def skip(run: int, item: int) -> str:
    return f"k:{run}:{item}"


def next_(run: int, position: int) -> str:
    return f"n:{run}:{position}"


def resume(run: int) -> str:
    return f"c:{run}"


def review(run: int) -> str:
    return f"rv:{run}"


def review_now(run: int) -> str:
    return f"rvn:{run}"


def review_pack(slug: str) -> str:
    return f"rvp:{slug}"


def review_due() -> str:
    return "rvd:due"


def pack(slug: str) -> str:
    return f"pk:{slug}"


def pack_with_speed(slug: str) -> str:
    return f"pks:{slug}"


def restart(slug: str) -> str:
    return f"new:{slug}"


def read(slug: str) -> str:
    return f"rd:{slug}"


def leaderboard(slug: str) -> str:
    return f"lb:{slug}"


def join(run: int) -> str:
    return f"j:{run}"


def go(run: int) -> str:
    return f"go:{run}"


def group_answer(run: int, item: int, option: int) -> str:
    return f"ga:{run}:{item}:{option}"


def publish(token: str) -> str:
    return f"pub:{token}"


def privacy(hidden: bool) -> str:
    return f"priv:{int(hidden)}"


def language(code: str) -> str:
    return f"lang:{code}"


def mute(assignment_id: int) -> str:
    """🔕 under a reminder: no more reminders from the class of that assignment."""
    return f"mu:{assignment_id}"
