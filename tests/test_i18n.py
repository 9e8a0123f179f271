"""The message catalogs match the code, every shipped language is translated in full with its
plural rules, and the language is picked as the issue says."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import get_args

import pytest

from bot import catalogs, phrases
from bot.i18n import LANGUAGES, locale_language, pick_language, shipped, translator
from bot.quiz.game import GameRefusal, GameRefused
from bot.quiz.grading import Note, NoteKind
from bot.quiz.service import RefusalReason


def test_every_message_is_translated_in_every_shipped_language_and_compiled() -> None:
    problems = catalogs.problems()
    assert problems == [], "run `python -m bot.catalogs update`, translate, compile:\n" + (
        "\n".join(problems[:40])
    )


def test_the_check_fails_on_a_new_message_a_fuzzy_one_and_a_stale_mo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locale = tmp_path / "locale"
    shutil.copytree(catalogs.LOCALE_DIR, locale)
    monkeypatch.setattr(catalogs, "LOCALE_DIR", locale)
    assert catalogs.problems() == []
    uk = catalogs.read("uk")
    message = uk.get("Correct!")
    assert message is not None
    message.flags.add("fuzzy")
    del uk["Not quite."]
    catalogs.write("uk", uk)
    es = catalogs.read("es")
    es_message = es.get("Correct!")
    assert es_message is not None
    es_message.string = "¡Bien!"
    catalogs.write("es", es)  # the .po changed, the .mo did not
    problems = catalogs.problems()
    assert "uk: fuzzy 'Correct!'" in problems
    assert "uk: missing 'Not quite.'" in problems
    assert "es: quizbot.mo is stale; run compile" in problems


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ["1 point", "2 points", "5 points", "21 points"]),
        ("uk", ["1 бал", "2 бали", "5 балів", "21 бал"]),
        ("ru", ["1 балл", "2 балла", "5 баллов", "21 балл"]),
        ("es", ["1 punto", "2 puntos", "5 puntos", "21 puntos"]),
    ],
)
def test_points_follow_each_language_s_plural_rules(language: str, expected: list[str]) -> None:
    t = translator(language)
    assert [phrases.points(t, n * 1000) for n in (1, 2, 5, 21)] == expected


def test_a_fractional_score_is_written_in_the_reader_s_digits() -> None:
    assert phrases.points(translator("en"), 2500) == "2.5 points"
    assert phrases.points(translator("uk"), 2500) == "2,5 бала"
    assert phrases.points(translator("es"), 500) == "0,5 puntos"


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_domain_fact_has_its_own_words_in_every_language(language: str) -> None:
    t, en = translator(language), translator("en")
    reasons: tuple[RefusalReason, ...] = get_args(RefusalReason)
    texts = {phrases.refusal(t, reason) for reason in reasons}
    assert len(texts) == len(reasons)
    assert not texts & {phrases.refusal(en, reason) for reason in reasons}
    kinds: tuple[NoteKind, ...] = get_args(NoteKind)
    notes = [phrases.note(t, Note(kind, "Київ", 4)) for kind in kinds]
    assert len(set(notes)) == len(kinds)
    assert all(n != phrases.note(en, Note(k, "Київ", 4)) for n, k in zip(notes, kinds, strict=True))


def test_game_refusals_are_all_worded() -> None:
    t = translator("ru")
    reasons: tuple[GameRefusal, ...] = get_args(GameRefusal)
    texts = {phrases.game_refusal(t, GameRefused(reason, "nope")) for reason in reasons}
    assert len(texts) == len(reasons) == 7
    assert "«nope»" in phrases.game_refusal(t, GameRefused("no_pack", "nope"))


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("uk", "uk"),
        ("ru", "ru"),
        ("es", "es"),
        ("en-US", "en"),
        ("es-419", "es"),
        ("uk_UA.UTF-8", "uk"),
        ("de", None),
        ("", None),
        (None, None),
    ],
)
def test_shipped_language_of_a_tag(code: str | None, expected: str | None) -> None:
    assert shipped(code) == expected


def test_the_choice_wins_then_telegram_s_language_then_english() -> None:
    assert pick_language("ru", "uk", group=False) == "ru"
    assert pick_language(None, "uk", group=False) == "uk"
    assert pick_language(None, "de", group=False) == "en"
    assert pick_language("xx", "es-MX", group=False) == "es"  # a language no longer shipped
    assert pick_language(None, "uk", group=True) == "en"  # a group's members differ
    assert pick_language("es", "uk", group=True) == "es"


def test_the_terminal_language_comes_from_the_locale_variables() -> None:
    assert locale_language({"LANG": "uk_UA.UTF-8"}) == "uk"
    assert locale_language({"LC_ALL": "es_ES.UTF-8", "LANG": "ru_RU.UTF-8"}) == "es"
    assert locale_language({"LANGUAGE": "de:ru", "LANG": "en_US.UTF-8"}) == "ru"
    assert locale_language({"LANG": "de_DE.UTF-8"}) == "en"
    assert locale_language({"LANG": "C"}) == "en"
    assert locale_language({}) == "en"
