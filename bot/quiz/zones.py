"""Time zones of students and classes: what `/timezone` accepts, and a local day.

A zone is stored as text: an IANA name (``Europe/Kyiv``) or a fixed offset written
``UTC+03:00``. Nothing is guessed: a user or chat without a zone is on UTC, and the adapters
say so. The IANA database comes from the ``tzdata`` package (so it is the same on every
machine, with or without the system's zoneinfo).
"""

from __future__ import annotations

import math
import re
import unicodedata
import zoneinfo
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import cache
from importlib import resources

_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$")


def _fold(text: str) -> str:
    """Lower case, no accents, spaces and hyphens as ``_``: how city names are compared."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[\s\-]+", "_", plain.strip().lower())


@cache
def _names() -> dict[str, str]:
    """Folded spelling -> IANA name: full names (``europe/kyiv``) and their last part
    (``kyiv``, ``los_angeles``). Canonical zones win over old links (``Kiev``), and a city
    shared by two areas keeps the first in sorted order."""
    names: dict[str, str] = {}
    canonical = set(_principal_cities())
    links = _links()
    for name in sorted(zoneinfo.available_timezones(), key=lambda n: (n not in canonical, n)):
        if name.startswith(("Etc/", "SystemV/")) or name in {"localtime", "Factory"}:
            continue
        target = links.get(name, name)
        names.setdefault(_fold(name), target)
        names.setdefault(_fold(name.rsplit("/", 1)[-1]), target)
    return names


@cache
def _links() -> dict[str, str]:
    """Old name -> current name (``Europe/Kiev`` -> ``Europe/Kyiv``), from the ``L`` lines of
    the tz database's ``tzdata.zi``."""
    text = resources.files("tzdata.zoneinfo").joinpath("tzdata.zi").read_text(encoding="utf-8")
    return {
        parts[2]: parts[1]
        for parts in (line.split() for line in text.splitlines() if line.startswith("L "))
    }


@cache
def _principal_cities() -> dict[str, tuple[float, float]]:
    """IANA name -> (latitude, longitude) of its principal city, from the tz database's
    ``zone.tab`` (shipped by ``tzdata``)."""
    text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    cities: dict[str, tuple[float, float]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        _country, coordinates, name = line.split("\t")[:3]
        cities[name] = _iso6709(coordinates)
    return cities


def _iso6709(text: str) -> tuple[float, float]:
    """``+5026+03031`` or ``+404251-0740023`` -> degrees (latitude, longitude)."""
    split = max(text.rfind("+"), text.rfind("-"))
    return _degrees(text[:split], 2), _degrees(text[split:], 3)


def _degrees(part: str, width: int) -> float:
    sign = -1.0 if part[0] == "-" else 1.0
    digits = part[1:]
    whole = int(digits[:width])
    minutes = int(digits[width : width + 2])
    seconds = int(digits[width + 2 :] or 0)
    return sign * (whole + minutes / 60 + seconds / 3600)


def parse_zone(text: str) -> str | None:
    """The zone a user typed, as stored text; None when it names no zone.

    Accepts an IANA name (``Europe/Kyiv``, any case), a city of the tz database
    (``Kyiv``, ``Los Angeles``, ``new-york``, the old ``Kiev``), ``UTC``, and an offset
    (``+3``, ``UTC-7``, ``GMT+05:30``, ``+0530``; up to ±14:00, minutes in 15s as real
    offsets are).
    """
    typed = text.strip()
    if not typed:
        return None
    if _fold(typed) in {"utc", "gmt", "z"}:
        return "UTC"
    offset = _OFFSET.match(typed.lower().replace(" ", ""))
    if offset:
        sign, hours, minutes = offset.group(1), int(offset.group(2)), int(offset.group(3) or 0)
        if hours > 14 or minutes % 15 or (hours == 14 and minutes):
            return None
        if hours == minutes == 0:
            return "UTC"
        return f"UTC{sign}{hours:02d}:{minutes:02d}"
    return _names().get(_fold(typed))


def zone_at(latitude: float, longitude: float) -> str:
    """The zone of the tz database's principal city nearest to a shared location.

    Written by hand rather than with timezonefinder, which needs numpy, h3 and a 40 MB
    boundary file: the nearest principal city is right for almost everyone, and the reply
    names the zone so a user near a border can type theirs instead.
    """
    lat1, lon1 = math.radians(latitude), math.radians(longitude)

    def distance(city: tuple[float, float]) -> float:
        lat2, lon2 = math.radians(city[0]), math.radians(city[1])
        # Haversine: the central angle between the two points.
        h = (
            math.sin((lat2 - lat1) / 2) ** 2
            + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        )
        return 2 * math.asin(min(1.0, math.sqrt(h)))

    cities = _principal_cities()
    return min(cities, key=lambda name: distance(cities[name]))


def to_tzinfo(zone: str | None) -> tzinfo:
    """The tzinfo of a stored zone; UTC for None (not set) or a name no longer known."""
    if not zone or zone == "UTC":
        return UTC
    if zone.startswith("UTC") and len(zone) == 9:
        sign = -1 if zone[3] == "-" else 1
        return timezone(sign * timedelta(hours=int(zone[4:6]), minutes=int(zone[7:9])))
    try:
        return zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def local_date(moment: datetime, zone: str | None) -> date:
    """The calendar day ``moment`` (an aware datetime) falls on in ``zone``."""
    return moment.astimezone(to_tzinfo(zone)).date()


def local_time(moment: datetime, zone: str | None) -> datetime:
    """``moment`` in ``zone``."""
    return moment.astimezone(to_tzinfo(zone))
