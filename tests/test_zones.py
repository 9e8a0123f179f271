"""bot/quiz/zones.py: what /timezone accepts, the nearest zone to a location, local days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.quiz.zones import local_date, parse_zone, to_tzinfo, zone_at


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Europe/Kyiv", "Europe/Kyiv"),
        ("europe/kyiv", "Europe/Kyiv"),
        ("Kyiv", "Europe/Kyiv"),
        ("Kiev", "Europe/Kyiv"),
        ("Los Angeles", "America/Los_Angeles"),
        ("new-york", "America/New_York"),
        ("São Paulo", "America/Sao_Paulo"),
        ("UTC", "UTC"),
        ("gmt", "UTC"),
        ("+3", "UTC+03:00"),
        ("UTC-7", "UTC-07:00"),
        ("GMT+05:30", "UTC+05:30"),
        ("+0545", "UTC+05:45"),
        ("utc+0", "UTC"),
    ],
)
def test_parse_zone_accepts_names_cities_and_offsets(typed: str, zone: str) -> None:
    assert parse_zone(typed) == zone


@pytest.mark.parametrize("typed", ["", "   ", "Atlantis", "+15", "UTC+03:20", "+14:30", "Etc"])
def test_parse_zone_refuses_what_names_no_zone(typed: str) -> None:
    assert parse_zone(typed) is None


def test_a_shared_location_gets_the_nearest_principal_city() -> None:
    assert zone_at(50.45, 30.52) == "Europe/Kyiv"  # Kyiv
    assert zone_at(34.05, -118.24) == "America/Los_Angeles"
    assert zone_at(-33.87, 151.21) == "Australia/Sydney"


def test_local_date_crosses_midnight_per_zone() -> None:
    moment = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)
    assert local_date(moment, None) == date(2026, 12, 1)
    assert local_date(moment, "Europe/Kyiv") == date(2026, 12, 2)  # 00:30 in Kyiv
    assert local_date(moment, "America/Los_Angeles") == date(2026, 12, 1)
    assert local_date(datetime(2026, 12, 2, 7, 30, tzinfo=UTC), "America/Los_Angeles") == date(
        2026, 12, 1
    )
    assert local_date(moment, "UTC+03:00") == date(2026, 12, 2)
    assert local_date(moment, "UTC-03:00") == date(2026, 12, 1)


def test_an_unknown_stored_zone_falls_back_to_utc() -> None:
    assert to_tzinfo("Mars/Olympus_Mons") is UTC
    assert to_tzinfo(None) is UTC
