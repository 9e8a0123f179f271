"""The item-writing checker: every rule fires on a flawed pack and stays quiet on a fixed one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.packs import PackReport, validate_pack_file
from bot.packs.quality import RULES
from botkit import ROOT

ARTICLE = ROOT / "seeds" / "biden-atacms-2024.txt"
QUOTE = "capable of hitting targets nearly 200 miles away"


def choice(item_id: str, question: str, answer: Any, distractors: list[str], **extra: Any) -> dict:
    return {
        "id": item_id,
        "type": "choice",
        "question": question,
        "answer": answer,
        "distractors": distractors,
        **_common(),
        **extra,
    }


def truefalse(item_id: str, question: str, answer: bool, **extra: Any) -> dict:
    return {"id": item_id, "type": "truefalse", "question": question, "answer": answer} | {
        **_common(),
        **extra,
    }


def short(item_id: str, question: str, answers: list[str], **extra: Any) -> dict:
    return {"id": item_id, "type": "short", "question": question, "answers": answers} | {
        **_common(),
        **extra,
    }


def _common() -> dict[str, str]:
    return {
        "explanation": "See the article.",
        "source": QUOTE,
        "difficulty": "easy",
        "skill": "detail",
    }


def check(
    tmp_path: Path, items: list[dict], title: str = "A comprehension quiz", **header: Any
) -> PackReport:
    data = {
        "pack": "quality-test",
        "title": title,
        "description": "Items for the quality checker.",
        "article": str(ARTICLE),
        **header,
        "items": items,
    }
    path = tmp_path / "pack.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    report = validate_pack_file(path)
    assert report.errors == [], [str(p) for p in report.errors]
    assert report.quality is not None
    return report


def rules(report: PackReport) -> set[str]:
    assert report.quality is not None
    return {f.rule for f in report.quality.findings}


def fires(tmp_path: Path, rule: str, items: list[dict], **kw: Any) -> PackReport:
    assert rule in RULES
    report = check(tmp_path, items, **kw)
    assert rule in rules(report), [str(p) for p in report.problems]
    # Every finding is a located warning that says which rule it is.
    assert any(p.message.endswith(f"[{rule}]") and p.severity == "warning" for p in report.problems)
    return report


def quiet(tmp_path: Path, rule: str, items: list[dict], **kw: Any) -> PackReport:
    report = check(tmp_path, items, **kw)
    assert rule not in rules(report), [str(p) for p in report.problems]
    return report


# --------------------------------------------------------------------------- option cues


def test_correct_option_much_the_longest(tmp_path: Path) -> None:
    q = "How far can the missiles reach?"
    report = fires(
        tmp_path,
        "option-length",
        [
            choice(
                "range", q, "Nearly 200 miles, says the article", ["11 miles", "2 miles", "3 miles"]
            )
        ],
    )
    [warning] = [p for p in report.warnings if "[option-length]" in p.message]
    assert warning.line == 9 and warning.item == "range"  # the `answer` line of the item
    quiet(
        tmp_path,
        "option-length",
        [
            choice(
                "range", q, "Nearly 200 miles", ["About 11 miles", "About 2 miles", "Over 3 miles"]
            )
        ],
    )


def test_correct_option_much_the_shortest(tmp_path: Path) -> None:
    q = "Who warned of catastrophic consequences?"
    many = ["Leonid Slutsky of the Duma", "Vladimir Putin in Moscow", "James Nixey in London"]
    fires(tmp_path, "option-length", [choice("who", q, "Dzhabarov", many)])
    quiet(tmp_path, "option-length", [choice("who", q, "Vladimir Dzhabarov", many)])


def test_correct_option_longest_more_often_than_chance(tmp_path: Path) -> None:
    def item(n: int, longest: bool) -> dict:
        right = "Vladimir Dzhabarov" if longest else "Slutsky"
        return choice(f"i{n}", f"Who is person {n}?", right, ["Leonid Slutsky", "Putin", "Nixey"])

    report = fires(tmp_path, "longest-share", [item(n, True) for n in range(6)])
    assert report.quality is not None
    assert report.quality.correct_longest == 6 and report.quality.longest_by_chance == 1.5
    mixed = [item(n, n < 2) for n in range(6)]
    quiet(tmp_path, "longest-share", mixed)


def test_clang_between_stem_and_key(tmp_path: Path) -> None:
    q = "Which missiles may Ukraine now fire into Russia?"
    fires(tmp_path, "clang", [choice("c", q, "ATACMS missiles", ["Drones", "Shells", "Rockets"])])
    quiet(
        tmp_path,
        "clang",
        [choice("c", q, "ATACMS missiles", ["Storm Shadow missiles", "Drones", "Shells"])],
    )


def test_key_repeats_the_title(tmp_path: Path) -> None:
    items = [choice("t", "What may Ukraine now use?", "ATACMS", ["Drones", "Tanks", "Jets"])]
    fires(tmp_path, "title-in-key", items, title="ATACMS strikes approved")
    quiet(tmp_path, "title-in-key", items, title="A policy shift in Washington")


def test_all_and_none_of_the_above(tmp_path: Path) -> None:
    q = "Which city was struck by a ballistic missile?"
    fires(tmp_path, "above-option", [choice("a", q, "Sumy", ["Kursk", "Kyiv", "All of the above"])])
    fires(tmp_path, "above-option", [choice("a", q, "Sumy", ["Kursk", "Kyiv", "Both A and B"])])
    quiet(tmp_path, "above-option", [choice("a", q, "Sumy", ["Kursk", "Kyiv", "Moscow"])])


def test_negative_stem_must_be_emphasised(tmp_path: Path) -> None:
    opts = ["Kursk", "Kyiv", "Moscow"]
    fires(tmp_path, "negative-stem", [choice("n", "Which city was not hit?", "Sumy", opts)])
    fires(tmp_path, "negative-stem", [choice("n", "Which city wasn't hit?", "Sumy", opts)])
    quiet(tmp_path, "negative-stem", [choice("n", "Which city was NOT hit?", "Sumy", opts)])


def test_absolutes_only_in_distractors(tmp_path: Path) -> None:
    q = "What does Nixey say about the U.S.?"
    bad = ["It always takes risks", "It never helps Kyiv", "It is reckless"]
    fires(tmp_path, "absolute-distractor", [choice("a", q, "It remains cautious", bad)])
    good = ["It takes big risks", "It helps Kyiv less", "It is reckless"]
    quiet(tmp_path, "absolute-distractor", [choice("a", q, "It remains cautious", good)])


def test_distractors_foreign_to_the_article(tmp_path: Path) -> None:
    q = "Which city was struck by a ballistic missile?"
    report = fires(
        tmp_path, "foreign-distractors", [choice("f", q, "Sumy", ["Paris", "Berlin", "Madrid"])]
    )
    [warning] = [p for p in report.warnings if "[foreign-distractors]" in p.message]
    assert warning.item == "pack" and "f ('Paris')" in warning.message
    quiet(tmp_path, "foreign-distractors", [choice("f", q, "Sumy", ["Kursk", "Kyiv", "Moscow"])])


def test_near_duplicate_options(tmp_path: Path) -> None:
    q = "What may Ukraine now fire into Russia?"
    dup = ["The U.S. missile", "Drones", "Shells"]
    fires(tmp_path, "near-duplicate", [choice("d", q, "The U.S. missiles", dup)])
    # Options that differ by a number, or by a word, are different options.
    ok = ["About 2,000 miles", "About 20 miles", "About 11 miles"]
    quiet(tmp_path, "near-duplicate", [choice("d", q, "About 200 miles", ok)])
    quiet(tmp_path, "near-duplicate", [choice("d", q, "Northern Ukraine", ["Southern Ukraine"])])


def test_a_an_before_the_options(tmp_path: Path) -> None:
    q = "The article calls the decision an"
    fires(tmp_path, "a-an", [choice("g", q, "important shift", ["minor step", "error"])])
    quiet(tmp_path, "a-an", [choice("g", q, "important shift", ["ordinary step", "error"])])
    quiet(
        tmp_path, "a-an", [choice("g", "What does the article call it?", "a shift", ["an error"])]
    )


# --------------------------------------------------------------------------- pack balance


def test_true_false_balance(tmp_path: Path) -> None:
    statements = [f"Statement number {n} about the article." for n in range(5)]
    all_true = [truefalse(f"t{n}", s, True) for n, s in enumerate(statements)]
    report = fires(tmp_path, "truefalse-balance", all_true)
    assert report.quality is not None and report.quality.true_items == 5
    balanced = [truefalse(f"t{n}", s, n % 2 == 0) for n, s in enumerate(statements)]
    quiet(tmp_path, "truefalse-balance", balanced)


def test_fixed_positions_of_the_correct_answer(tmp_path: Path) -> None:
    names = ["Sumy", "Kursk", "Kyiv", "Moscow"]

    def fixed(n: int, position: int) -> dict:
        item = choice(f"p{n}", f"Which place is place {n}?", names[position], [])
        del item["distractors"]
        return item | {"options": names}

    fires(tmp_path, "position-bias", [fixed(n, 0) for n in range(5)])
    quiet(tmp_path, "position-bias", [fixed(n, n % 4) for n in range(5)])
    # Answer-then-distractors lists that are never shuffled always show the answer first.
    unshuffled = [
        choice(f"s{n}", f"Which place is place {n}?", "Sumy", ["Kursk", "Kyiv"]) for n in range(4)
    ]
    fires(tmp_path, "position-bias", unshuffled, settings={"shuffle_options": False})
    quiet(tmp_path, "position-bias", unshuffled)


# --------------------------------------------------------------------------- answers given away


def test_short_answer_in_its_own_question(tmp_path: Path) -> None:
    q = "Which weapons, such as drones, had Ukraine used before?"
    fires(tmp_path, "answer-in-question", [short("s", q, ["drones"])])
    quiet(
        tmp_path, "answer-in-question", [short("s", "Which weapons had Ukraine used?", ["drones"])]
    )


def test_number_answer_in_its_own_question(tmp_path: Path) -> None:
    def number(question: str) -> dict:
        return {"id": "n", "type": "number", "question": question, "answer": 200} | _common()

    fires(tmp_path, "answer-in-question", [number("How far is 200 miles, in miles?")])
    quiet(tmp_path, "answer-in-question", [number("How many miles can ATACMS reach?")])


def test_a_stem_that_gives_another_item_away(tmp_path: Path) -> None:
    nickname = short("nickname", "What did Slutsky call Biden?", ["Bloody Joe"])
    giver = truefalse("giver", "Slutsky called Biden Bloody Joe in anger.", True)
    report = fires(tmp_path, "gives-away", [nickname, giver])
    [warning] = [p for p in report.warnings if "[gives-away]" in p.message]
    assert warning.item == "giver" and "'nickname'" in warning.message
    fair = truefalse("giver", "Slutsky called Biden a nickname in anger.", True)
    quiet(tmp_path, "gives-away", [nickname, fair])


def test_an_explanation_gives_later_items_away_not_earlier_ones(tmp_path: Path) -> None:
    range_item = {"id": "range", "type": "number", "question": "How many miles?", "answer": 200}
    range_item |= _common() | {"source": "nearly 200 miles", "explanation": "A long way."}
    telling = short("drones", "Which weapons had Ukraine used?", ["drones"])
    telling |= {"explanation": "Drones, and now missiles that reach 200 miles."}
    fires(tmp_path, "gives-away", [telling, range_item])  # shown before the range item
    quiet(tmp_path, "gives-away", [range_item, telling])  # shown after it: no harm


def test_a_question_naming_a_distractor_too_gives_nothing_away(tmp_path: Path) -> None:
    who = choice("who", "Who warned of catastrophe?", "Vladimir Dzhabarov", ["Leonid Slutsky"])
    both = truefalse("both", "Vladimir Dzhabarov and Leonid Slutsky are Russian.", True)
    quiet(tmp_path, "gives-away", [who, both])


def test_true_false_wording_that_signals_the_answer(tmp_path: Path) -> None:
    fires(tmp_path, "truefalse-wording", [truefalse("f", "Ukraine always used drones.", False)])
    fires(tmp_path, "truefalse-wording", [truefalse("t", "The effect may be limited.", True)])
    quiet(tmp_path, "truefalse-wording", [truefalse("f", "Ukraine used tanks.", False)])
    quiet(tmp_path, "truefalse-wording", [truefalse("t", "The effect is limited.", True)])
    # An absolute false statement is no cue when some true statements are absolute too.
    mixed = [
        truefalse("f", "Ukraine always used drones.", False),
        truefalse("t", "Zelenskyy is the only Ukrainian named.", True),
        truefalse("h", "Some civilians died in the south.", True),
        truefalse("g", "Nixey says the U.S. may risk a wider war.", False),
    ]
    quiet(tmp_path, "truefalse-wording", mixed)


def test_true_false_wording_that_predicts_the_answers_across_the_pack(tmp_path: Path) -> None:
    # Every absolute statement true and every hedged one false: the reverse cue.
    reverse = [
        truefalse("a1", "Zelenskyy is the only Ukrainian named.", True),
        truefalse("a2", "Ukraine had used only non-U.S. weapons.", True),
        truefalse("h1", "The U.S. had resisted for some weeks.", False),
        truefalse("h2", "Nixey says the U.S. may risk a wider war.", False),
        truefalse("p1", "Dzhabarov is a senator.", True),
        truefalse("p2", "Slutsky is a senator.", False),
    ]
    report = fires(tmp_path, "truefalse-cues", reverse)
    assert report.quality is not None
    assert (report.quality.signal_guessed, report.quality.signalled_statements) == (4, 4)
    [warning] = [p for p in report.warnings if "[truefalse-cues]" in p.message]
    assert warning.item == "pack" and "absolute true, hedged false" in warning.message
    # One absolute false and one hedged true statement break the pattern.
    mixed = [
        *reverse[:3],
        truefalse("h2", "Some of the dead were in the south.", True),
        truefalse("p1", "The phrase came only from state media.", False),
        reverse[5],
    ]
    report = quiet(tmp_path, "truefalse-cues", mixed)
    assert report.quality is not None and report.quality.signal_guessed == 3


def test_a_key_echoed_in_another_items_question(tmp_path: Path) -> None:
    shift = choice(
        "shift",
        "How does the first sentence describe the decision?",
        "A significant policy shift",
        ["A bold, calculated risk", "A measured approach"],
    )
    echo = truefalse("echo", "Moscow reacted angrily to the policy shift.", True)
    report = fires(tmp_path, "key-echo", [shift, echo])
    [warning] = [p for p in report.warnings if "[key-echo]" in p.message]
    assert warning.item == "shift" and "'echo'" in warning.message
    # A distractor echoed by another item too: the echo no longer points at the key.
    risk = truefalse("risk", "The final section calls the decision a calculated risk.", True)
    quiet(tmp_path, "key-echo", [shift, echo, risk])
    quiet(tmp_path, "key-echo", [shift, truefalse("echo", "Moscow reacted angrily.", True)])
    # Without a function-word list (Dutch here) every "of the" would be a phrase: not checked.
    quiet(tmp_path, "key-echo", [shift, echo], language="nl")


def test_a_short_answer_echoed_in_another_items_options(tmp_path: Path) -> None:
    target = short(
        "target", "What did Moscow attack, say Ukraine's leaders?", ["civilian infrastructure"]
    )
    other = choice(
        "other",
        "What do Ukraine's leaders want to counter?",
        "Attacks on civilian infrastructure",
        ["Attacks on North Korean troops", "Drone strikes on Kursk"],
    )
    fires(tmp_path, "key-echo", [target, other])
    fair = choice(
        "other",
        "What do Ukraine's leaders want to counter?",
        "Russian missile attacks",
        ["Attacks on North Korean troops", "Drone strikes on Kursk"],
    )
    quiet(tmp_path, "key-echo", [target, fair])


# --------------------------------------------------------------------------- reporting


def test_summary_figures(tmp_path: Path) -> None:
    items = [
        choice("c", "Which city was hit?", "Sumy", ["Paris", "Kursk", "Kyiv"]),
        truefalse("t", "Ukraine used drones.", True),
        truefalse("f", "Ukraine used tanks.", False),
    ]
    report = check(tmp_path, items)
    assert report.quality is not None
    summary = report.quality.summary()
    assert summary.startswith("quality: 1 of 3 items (33%) with a warning")
    assert "correct option longest in 0 of 1 single-answer choices (chance 0.2)" in summary
    assert "1 of 3 distractors not from the article" in summary
    assert "true/false 1 true, 1 false" in summary and "0 items giving another away" in summary
    assert "0 keys echoed in another question" in summary


def test_every_rule_is_documented_with_examples() -> None:
    doc = (ROOT / "docs" / "pack-format.md").read_text(encoding="utf-8")
    for rule in RULES:
        section = doc.split(f"`{rule}`", 1)
        assert len(section) == 2, f"{rule} is not documented"
        assert "Bad:" in section[1][:1500] and "Good:" in section[1][:1500], rule


def test_the_article_pack_passes_strict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pack", "validate", "--strict", str(ROOT / "content")]) == 0
    out = capsys.readouterr().out
    assert "quality: 0 of 34 items (0%) with a warning" in out and "all valid" in out


def test_strict_turns_warnings_into_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    q = "Which city was struck by a ballistic missile?"
    check(tmp_path, [choice("f", q, "Sumy", ["Paris", "Berlin", "Madrid"])])
    pack = str(tmp_path / "pack.yaml")
    assert main(["pack", "validate", pack]) == 0
    out = capsys.readouterr().out
    assert f"{pack}:" in out and "warning:" in out and "all valid" in out
    assert main(["pack", "validate", "--strict", pack]) == 1
    assert main(["pack", "check", "--strict", pack]) == 1  # the alias
    assert "problems found" in capsys.readouterr().out


def test_a_name_tells_nothing_when_every_option_is_named_elsewhere(tmp_path: Path) -> None:
    who = choice("who", "Who warned of catastrophe?", "Vladimir Dzhabarov", ["Leonid Slutsky"])
    named = truefalse("named", "Vladimir Dzhabarov is a senator.", True)
    fires(tmp_path, "gives-away", [who, named])
    other = truefalse("other", "Leonid Slutsky is a lawmaker.", False)
    quiet(tmp_path, "gives-away", [who, named, other])
