"""The pack validator: every mistake reported at its own line, and hostile files refused safely.

``tests/packs/broken/`` holds one pack per mistake. Each file declares what the validator must
say about it in its first lines, in the validator's own format::

    # expect: LINE:COLUMN: ITEM: MESSAGE        (the whole message)
    # expect-in: LINE:COLUMN: ITEM: MESSAGE     (the message starts with this text)

and the validator must report exactly the declared problems: no more, no fewer.
"""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.packs import summarize, validate_pack_bytes, validate_pack_file, yamlsafe
from bot.packs import validate as validate_module
from bot.packs.validate import PackReport, Problem, file_article_loader

TESTS = Path(__file__).parent
ROOT = TESTS.parent
CORPUS = TESTS / "packs" / "broken"
MINIMAL = TESTS / "packs" / "minimal.yaml"
ARTICLE = ROOT / "seeds" / "biden-atacms-2024.txt"
REAL_PACK = ROOT / "content" / "atacms-2024.yaml"

MINIMAL_TEXT = MINIMAL.read_text(encoding="utf-8")

_SIMILARITY = re.compile(r"\(\d+% similar\)")
_EXPECT = re.compile(r"# (expect|expect-in): (\d+):(\d+): (.+?): (.+)")


def validate_text(text: str, name: str = "pack.yaml") -> PackReport:
    """Validate pack text as if it were a file in tests/packs/ (its article path resolves)."""
    return validate_pack_bytes(text.encode(), name, file_article_loader(MINIMAL))


def variant(*changes: tuple[str, str]) -> str:
    """The minimal pack with each (old, new) replacement made once."""
    text = MINIMAL_TEXT
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def similarity_masked(text: str) -> str:
    """Closest-passage scores depend on rapidfuzz's scorer: the passage named is what counts."""
    return _SIMILARITY.sub("(N% similar)", text)


def located(report: PackReport) -> list[str]:
    return [similarity_masked(problem.located()) for problem in report.problems]


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


# --------------------------------------------------------------------------- the corpus


def expectations(path: Path) -> list[tuple[str, int, int, str, str]]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _EXPECT.fullmatch(line)
        if match is None:
            break
        kind, row, column, item, message = match.groups()
        found.append((kind, int(row), int(column), item, message))
    return found


CORPUS_FILES = sorted(CORPUS.glob("*.yaml"))


def test_the_corpus_has_a_pack_for_every_kind_of_mistake() -> None:
    assert len(CORPUS_FILES) >= 30
    undeclared = [path.name for path in CORPUS_FILES if not expectations(path)]
    assert not undeclared, f"declare the expected problem with '# expect:' in {undeclared}"


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.stem)
def test_a_broken_pack_reports_exactly_its_mistake(path: Path) -> None:
    expected = expectations(path)
    report = validate_pack_file(path)

    assert report.pack is None
    assert not report.ok
    assert len(report.errors) == 1, "\n".join(located(report))
    got = report.problems
    assert len(got) == len(expected), "\n".join(located(report))
    for problem, (kind, row, column, item, message) in zip(got, expected, strict=True):
        text = similarity_masked(problem.located().split(": ", 2)[2])  # the message
        assert (problem.line, problem.column, problem.item) == (row, column, item), text
        if kind == "expect":
            assert text == similarity_masked(message)
        else:
            assert text.startswith(message), text
        assert str(problem) == f"{path}:{problem.located()}"


def test_find_pack_files_lists_the_corpus_and_names_what_is_missing() -> None:
    files, missing = validate_module.find_pack_files([CORPUS, CORPUS / "no-such-file.yaml"])
    assert files == CORPUS_FILES
    assert missing == [str(CORPUS / "no-such-file.yaml")]


# --------------------------------------------------------------------------- valid packs


def test_the_minimal_pack_is_valid() -> None:
    report = validate_pack_file(MINIMAL)

    assert report.problems == []
    assert report.ok
    assert report.pack is not None
    assert [item.id for item in report.pack.items] == [
        "atacms-range",
        "slutsky-nickname",
        "korean-troops",
        "sumy-north",
    ]
    assert report.pack.article_text == ARTICLE.read_text(encoding="utf-8")
    assert summarize(report.pack).by_type == {"choice": 1, "truefalse": 1, "short": 1, "number": 1}


def test_the_real_pack_validates_without_any_problem() -> None:
    report = validate_pack_file(REAL_PACK)
    assert located(report) == []
    assert report.ok
    assert report.pack is not None
    summary = summarize(report.pack)
    # The minimums: 30 items; 12 choice (2 multi-select), 4 truefalse, 8 short, 3 number.
    assert summary.items >= 30
    assert summary.by_type["choice"] >= 12 and summary.by_type["truefalse"] >= 4
    assert summary.by_type["short"] >= 8 and summary.by_type["number"] >= 3
    multi = [i for i in report.pack.items if getattr(i, "multiple", False)]
    assert len(multi) >= 2
    assert summary.by_skill.get("inference", 0) >= 1 and len(summary.by_skill) >= 3
    assert len(summary.by_difficulty) == 3


def test_a_choice_too_long_for_a_quiz_poll_is_a_warning_not_an_error() -> None:
    long_question = "Which range does the article give?" + " Read the second paragraph." * 12
    report = validate_text(
        variant(("About how far away can the ATACMS missiles hit targets?", long_question))
    )

    assert report.ok
    assert report.pack is not None
    assert report.errors == []
    [warning] = report.warnings
    assert warning.severity == "warning"
    assert (warning.line, warning.item) == (7, "atacms-range")
    assert "too long for a native quiz poll" in warning.message
    assert f"the question is {len(long_question)} characters (a poll allows 300)" in warning.message


def test_merge_keys_share_values_between_items() -> None:
    # The plain-YAML way to share settings: an anchored mapping merged with `<<`.
    defaults = "    difficulty: easy\n    skill: detail\n"
    text = MINIMAL_TEXT.replace(
        defaults, "    <<: &easy-detail {difficulty: easy, skill: detail}\n", 1
    )
    text = text.replace(defaults, "    <<: *easy-detail\n", 1)
    text = text.replace(
        "    difficulty: medium\n    skill: detail\n",
        "    <<: *easy-detail\n    difficulty: medium\n",
        1,
    )
    report = validate_text(text)

    assert located(report) == []
    assert report.pack is not None
    assert [(item.difficulty, item.skill) for item in report.pack.items] == [
        ("easy", "detail"),
        ("medium", "detail"),  # a key of the item's own overrides the merged one
        ("medium", "detail"),
        ("easy", "detail"),
    ]


# --------------------------------------------------------------------------- many at once


def test_every_mistake_is_reported_in_one_run() -> None:
    text = variant(
        ("title: ATACMS in brief\n", "title: ATACMS in brief\nauthor: A. Teacher\n"),
        # Two different mistakes in the same item: a misspelt key and an answer not offered.
        ("    question: About how far", "    questoin: About how far"),
        (
            'distractors: [About 50 miles, About 500 miles, "About 1,000 miles"]',
            "options: [About 50 miles, Nearly 300 miles]",
        ),
        ("answers: [Bloody Joe]", "answers: [Bloody Joe, bloody joe!]"),
        ("tolerance: 5%", "tolerance: -5"),
        ("id: sumy-north", "id: atacms-range"),
        ("source: the northern city of Sumy", "source: the southern city of Sumy"),
    )
    report = validate_text(text)

    assert report.pack is None
    assert located(report) == [
        "4:1: pack: unknown key 'author'",
        "10:5: atacms-range: unknown key 'questoin' (did you mean 'question'?)",
        "11:5: atacms-range: the answer 'Nearly 200 miles' is not among the options "
        "(did you mean 'Nearly 300 miles'?)",
        "20:27: slutsky-nickname: duplicate accepted answer 'bloody joe!'",
        "29:5: korean-troops: tolerance is below zero",
        "35:5: atacms-range: duplicate item id 'atacms-range' (first used on line 8)",
        "40:5: atacms-range: the source quote is not in the article; closest passage: "
        '"the northern city of Sumy" (N% similar)',
    ]


def test_a_wrong_key_does_not_hide_the_items_other_mistakes() -> None:
    text = variant(
        ("question: What nickname did Leonid Slutsky use for Biden?", "question: 42"),
        ("source: accused Biden", "source: reportedly accused Biden"),
    )
    assert located(validate_text(text)) == [
        "18:5: slutsky-nickname: `question` must be text, got the number 42; put it in quotes",
        "21:5: slutsky-nickname: the source quote is not in the article; closest passage: "
        '"Leonid Slutsky accused Biden of aiming to end his presidency as “Bloody Joe.” Senator" '
        "(N% similar)",
    ]


def test_a_wrong_optional_key_does_not_hide_the_choice_checks() -> None:
    text = variant(
        (
            'distractors: [About 50 miles, About 500 miles, "About 1,000 miles"]',
            "options: [About 50 miles, Nearly 300 miles]\n    feedback: [About 50 miles]",
        )
    )
    assert located(validate_text(text)) == [
        "10:5: atacms-range: the answer 'Nearly 200 miles' is not among the options "
        "(did you mean 'Nearly 300 miles'?)",
        "12:5: atacms-range: `feedback` must be a mapping of keys, got a list of 1",
    ]


def test_a_stand_in_value_never_causes_a_second_complaint() -> None:
    # The answer is unusable (a boolean): the options cannot be checked against it, and must
    # not be reported as missing the stand-in.
    text = variant(
        (
            "    answer: Nearly 200 miles\n",
            "    answer: yes\n",
        ),
    )
    assert located(validate_text(text)) == [
        "10:5: atacms-range: YAML read 'yes' as the boolean true; write \"yes\" in quotes "
        "if you mean the word"
    ]


def test_a_quote_problem_points_at_its_own_item_when_ids_repeat() -> None:
    text = variant(
        ("id: sumy-north", "id: atacms-range"),
        ("source: capable of hitting", "source: able to hit"),
    )
    assert located(validate_text(text)) == [
        "13:5: atacms-range: the source quote is not in the article; closest passage: "
        '"capable of hitting targets nearly 200 miles away." (N% similar)',
        "34:5: atacms-range: duplicate item id 'atacms-range' (first used on line 7)",
    ]


# --------------------------------------------------------------------------- quotes


@pytest.mark.parametrize(
    "source",
    [
        "capable of hitting targets nearly 200 miles away",
        "capable of hitting\n      targets   nearly 200\tmiles away",
        '"the third world war."',
        "“the third world war.”",
        "Until now, Ukraine's attacks inside Russia",
        "Until now, Ukraine’s attacks inside Russia",
        "Until now, Ukraine`s attacks inside Russia",
        "the Kursk region-where North Korean troops are stationed-their",
        "the Kursk region\u2013where North Korean troops are stationed",
        "nearly 200\u00a0miles away",
    ],
)
def test_quotes_ignore_whitespace_and_typographic_quotes(source: str) -> None:
    escaped = source.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    escaped = escaped.replace("\t", "\\t")
    text = variant(
        (
            "source: capable of hitting targets nearly 200 miles away",
            f'source: "{escaped}"',
        )
    )
    assert located(validate_text(text)) == []


@pytest.mark.parametrize(
    ("source", "passage"),
    [
        ("Bloody Joseph", '"as “Bloody Joe.”"'),
        (
            "Leonid Slutsky accused Biden of ending his presidency as a warmonger",
            '"Leonid Slutsky accused Biden of aiming to end his presidency as',
        ),
        ("capable of hitting targets 300 miles away", '"capable of hitting targets nearly'),
        # Quotes are verbatim, capitals included; the search for the passage ignores them.
        ("CAPABLE OF HITTING TARGETS", '"capable of hitting targets"'),
    ],
)
def test_a_quote_not_in_the_article_names_the_closest_passage(source: str, passage: str) -> None:
    text = variant(
        ("source: capable of hitting targets nearly 200 miles away", f"source: {source}")
    )
    [problem] = validate_text(text).problems
    assert (problem.line, problem.column, problem.item) == (13, 5, "atacms-range")
    prefix = "the source quote is not in the article; closest passage: "
    assert problem.message.startswith(prefix + passage)
    assert re.search(r"\(\d+% similar\)$", problem.message)


def test_after_many_missing_quotes_the_passage_search_stops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every quote missing usually means the wrong article: searching a long one for each
    # would take seconds.
    monkeypatch.setattr(validate_module, "MAX_PASSAGE_SEARCHES", 1)
    text = variant(
        ("source: capable of hitting", "source: able to hit"),
        ("source: the northern city of Sumy", "source: the southern city of Sumy"),
    )
    messages = [problem.message for problem in validate_text(text).problems]
    assert messages[0].startswith("the source quote is not in the article; closest passage: ")
    assert messages[1] == (
        "the source quote is not in the article; closest passage: not searched after 1 "
        "missing quotes (is `article` the right file?)"
    )


# --------------------------------------------------------------------------- the article


def write_pack(folder: Path, article: str) -> Path:
    pack = folder / "pack.yaml"
    pack.write_text(
        MINIMAL_TEXT.replace("article: ../../seeds/biden-atacms-2024.txt", f"article: {article}"),
        encoding="utf-8",
    )
    return pack


def test_a_pack_next_to_its_article_validates(tmp_path: Path) -> None:
    (tmp_path / "article.txt").write_bytes(ARTICLE.read_bytes())
    assert located(validate_pack_file(write_pack(tmp_path, "article.txt"))) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "the article 'article.txt' does not exist (looked for "),
        ("Ukraine\u2019s attacks".encode("cp1252"), "the article 'article.txt' is not UTF-8 text"),
        (b"", "the article 'article.txt' is empty"),
        (b" \n\n\t", "the article 'article.txt' is empty"),
        ("dir", "the article 'article.txt' is not a file"),
    ],
    ids=["missing", "not-utf8", "empty", "blank", "directory"],
)
def test_a_missing_or_unreadable_article_is_one_problem_on_the_article_key(
    tmp_path: Path, content: bytes | str | None, message: str
) -> None:
    article = tmp_path / "article.txt"
    if content == "dir":
        article.mkdir()
    elif isinstance(content, bytes):
        article.write_bytes(content)
    report = validate_pack_file(write_pack(tmp_path, "article.txt"))

    [problem] = report.problems
    assert (problem.line, problem.column, problem.item) == (5, 1, "pack")
    assert problem.message.startswith(message)
    assert report.pack is None


def test_an_article_over_the_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(validate_module, "MAX_ARTICLE_BYTES", 1000)
    (tmp_path / "article.txt").write_bytes(ARTICLE.read_bytes())
    [problem] = validate_pack_file(write_pack(tmp_path, "article.txt")).problems
    assert problem.message == "the article 'article.txt' is 4,103 bytes; at most 1,000 are allowed"


# --------------------------------------------------------------------------- safe loading


def test_an_alias_bomb_is_refused_in_well_under_a_second() -> None:
    lines = ['lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):  # 10**10 values once expanded
        lines.append(f"lol{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    bomb = "\n".join(lines).encode()

    started = time.perf_counter()
    report = validate_pack_bytes(bomb, "bomb.yaml", file_article_loader(MINIMAL))
    elapsed = time.perf_counter() - started

    assert elapsed < 1.0
    [problem] = report.problems
    assert "expands to more than 1,000,000 values" in problem.message
    assert problem.line == 6  # the first anchor whose expansion is too big


def test_a_wide_alias_bomb_is_refused_in_well_under_a_second() -> None:
    entries = ", ".join(f"v{n}" for n in range(2000))
    bomb = f"a: &a [{entries}]\nb: [" + ", ".join(["*a"] * 2000) + "]\n"

    started = time.perf_counter()
    report = validate_pack_bytes(bomb.encode(), "wide.yaml", file_article_loader(MINIMAL))
    assert time.perf_counter() - started < 1.0
    [problem] = report.problems
    assert (problem.line, problem.item) == (2, "pack")
    assert "billion laughs" in problem.message


@pytest.mark.parametrize(
    ("tag_text", "shown"),
    [
        ("!!python/object/apply:builtins.open [{path}, w]", "!!python/object/apply:builtins.open"),
        ("!!python/object/new:builtins.open [{path}, w]", "!!python/object/new:builtins.open"),
        ("!!python/name:builtins.open", "!!python/name:builtins.open"),
        ("!!python/module:os", "!!python/module:os"),
        ("!include {path}", "!include"),
        ("!!binary aGVsbG8=", "!!binary"),
        ("!!set {{a, b}}", "!!set"),
        ("!<tag:example.com,2024:x> y", "tag:example.com,2024:x"),
    ],
)
def test_python_and_custom_tags_are_refused_without_running_anything(
    tmp_path: Path, tag_text: str, shown: str
) -> None:
    target = tmp_path / "created-by-yaml.txt"
    value = tag_text.format(path=target)
    text = variant(("question: Sumy is a city in northern Ukraine.", f"question: {value}"))
    report = validate_text(text)

    [problem] = report.problems
    assert (problem.line, problem.column, problem.item) == (line_of(text, value), 15, "pack")
    assert problem.message == (
        f"the tag {shown} is not allowed: packs are plain YAML (no Python or custom tags)"
    )
    assert not target.exists()


def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_parsing(data: bytes) -> None:
        raise AssertionError("an oversized file reached the YAML parser")

    monkeypatch.setattr(validate_module, "load_yaml", no_parsing)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * (yamlsafe.MAX_PACK_BYTES - 2) + b"\n")
    report = validate_pack_file(big)

    [problem] = report.problems
    assert (problem.line, problem.column, problem.item) == (1, 1, "pack")
    assert problem.message == "the file is 8,388,609 bytes; a pack may be at most 8,388,608 bytes"


def test_bytes_over_the_size_limit_are_refused_before_they_are_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_decoding(data: bytes) -> str:
        raise AssertionError("an oversized upload was decoded")

    monkeypatch.setattr(yamlsafe, "MAX_PACK_BYTES", 100)
    monkeypatch.setattr(yamlsafe, "decode_pack_bytes", no_decoding)
    [problem] = validate_text(MINIMAL_TEXT).problems
    assert problem.message.endswith("a pack may be at most 100 bytes")


def test_a_pack_over_the_item_limit_is_refused_before_its_items_are_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(validate_module, "MAX_ITEMS", 3)
    report = validate_text(MINIMAL_TEXT)
    assert located(report) == ["6:1: pack: the pack has 4 items; at most 3 are allowed"]

    monkeypatch.setattr(validate_module, "MAX_ITEMS", 4)
    assert validate_text(MINIMAL_TEXT).ok


def test_the_item_limit_is_ten_thousand() -> None:
    assert validate_module.MAX_ITEMS == 10_000


def test_a_pack_that_is_not_utf8_gets_a_clear_error() -> None:
    data = MINIMAL_TEXT.encode("utf-8").replace(b"Sumy is a city", b"Sumy is a caf\xe9 city")
    report = validate_pack_bytes(data, "latin1.yaml", file_article_loader(MINIMAL))

    [problem] = report.problems
    offset = data.index(b"\xe9")
    assert problem.message == (
        f"the file is not UTF-8 text (byte 0xe9 at offset {offset}); save it as UTF-8"
    )
    assert (problem.line, problem.column) == (36, 28)


def test_a_utf16_pack_is_named_as_such() -> None:
    report = validate_pack_bytes(
        MINIMAL_TEXT.encode("utf-16"), "utf16.yaml", file_article_loader(MINIMAL)
    )
    assert [p.message for p in report.problems] == ["the file is UTF-16 text; save it as UTF-8"]


def test_a_byte_order_mark_is_fine() -> None:
    report = validate_pack_bytes(
        MINIMAL_TEXT.encode("utf-8-sig"), "bom.yaml", file_article_loader(MINIMAL)
    )
    assert report.ok


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\ufffe"])
def test_a_control_character_is_refused_at_its_position(character: str) -> None:
    text = variant(("Sumy is a city", f"Sumy is{character} a city"))
    [problem] = validate_text(text).problems
    assert problem.message.startswith(f"the control character U+{ord(character):04X}")
    assert (problem.line, problem.column) == (36, 22)


def test_deep_nesting_is_refused_without_a_recursion_error() -> None:
    for depth in (100, 900, 5000):
        text = "items: " + "[" * depth + "]" * depth + "\n"
        [problem] = validate_text(text).problems
        assert "nest" in problem.message


def test_a_recursive_alias_is_refused() -> None:
    [problem] = validate_text("a: &a [1, *a]\n").problems
    assert problem.message == "a recursive alias refers to itself; refused"


def test_an_empty_upload_is_one_clear_problem() -> None:
    for data in (b"", b"\n\n", b"# only a comment\n", b"---\n"):
        report = validate_pack_bytes(data, "empty.yaml", file_article_loader(MINIMAL))
        assert [p.message for p in report.problems] in (
            ["the file is empty"],
            ["a pack file must be a mapping with `pack`, `title`, `items`…"],
        )


def test_a_file_that_cannot_be_read_is_one_problem(tmp_path: Path) -> None:
    report = validate_pack_file(tmp_path)  # a folder, not a file
    [problem] = report.problems
    assert problem.message.startswith("cannot read the file")


# Mutations of a real pack: deleting, inserting or swapping characters must give problems,
# never an exception.
_YAML_NOISE = st.sampled_from([*":-[]{}&*!|>'\"#%@`,?\n\t ", "yes", "~", "<<", "- ", "\ufeff"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(MINIMAL_TEXT)),
            st.integers(min_value=0, max_value=8),
            st.one_of(_YAML_NOISE, st.text(max_size=4)),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_a_damaged_pack_never_raises(edits: list[tuple[int, int, str]]) -> None:
    text = MINIMAL_TEXT
    for at, cut, insert in edits:
        text = text[:at] + insert + text[at + cut :]
    report = validate_text(text)
    assert isinstance(report, PackReport)
    assert all(isinstance(p, Problem) and p.line >= 1 and p.column >= 1 for p in report.problems)
    assert report.ok == (report.pack is not None)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    report = validate_pack_bytes(data, "noise.yaml", file_article_loader(MINIMAL))
    assert not report.ok


# A plain document is built from the parser's events, anything else from the node graph: both
# must give the same values, duplicate keys and surprising numbers.
_SCALARS = st.sampled_from(
    [
        *("yes", "No", "off", "017", "1:20", "0x1F", "1_000", "1e3", ".inf", ".nan", "~", ""),
        *("true", "2024-01-01", "3.5", "-1", "a b", "'q'", '"d"', "é’", "x: y", "<<", "="),
        *("&a v", "*a", "!!str 5", "!custom v", "|\n  block", "[1, 2]", "{k: v}"),
    ]
)
_KEYS = st.sampled_from(["id", "id", "answer", "yes", "2024", "1.5", "~", "<<", "a b", "k"])


@st.composite
def _yaml_block(draw: st.DrawFn, depth: int = 0, indent: int = 0) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    is_mapping = draw(st.booleans())
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        head = f"{pad}{draw(_KEYS)}:" if is_mapping else f"{pad}-"
        if depth < 3 and draw(st.booleans()):
            lines += [head, *draw(_yaml_block(depth + 1, indent + 2))]
        else:
            lines.append(f"{head} {draw(_SCALARS)}")
    return lines


@settings(max_examples=300, deadline=None)
@given(lines=_yaml_block(), document=st.sampled_from(["", "---\n", "%YAML 1.1\n---\n"]))
def test_plain_yaml_loads_the_same_from_events_as_from_nodes(
    lines: list[str], document: str
) -> None:
    text = document + "\n".join(lines) + "\n"
    plain = yamlsafe._load_plain(text)
    try:
        nodes = yamlsafe._load_nodes(text)
    except Exception:  # a problem (or PyYAML's own error, such as `- <<`): the node path's
        assert plain is None
        return
    if plain is None:
        return  # anchors, aliases, tags or merge keys: the node path's alone
    assert repr(plain[0]) == repr(nodes[0])  # the same types and key order (and NaN is NaN)
    assert plain[1].duplicate_keys == nodes[1].duplicate_keys
    assert plain[1].yaml11_numbers == nodes[1].yaml11_numbers


def test_anchors_aliases_tags_and_merges_take_the_node_path() -> None:
    for text in ("a: &x 1\nb: *x\n", "a: !!str 1\n", "a: {<<: {b: 1}}\n", "? [a]\n: b\n"):
        assert yamlsafe._load_plain(text) is None
        with contextlib.suppress(yamlsafe.YamlLoadError):  # loads, or says what is wrong
            yamlsafe._load_nodes(text)
    assert yamlsafe._load_plain(REAL_PACK.read_text(encoding="utf-8")) is not None


# --------------------------------------------------------------------------- quality hook


def test_quality_warnings_never_block_a_pack() -> None:
    # A distractor foreign to the article and the answer in the title: warnings, not errors.
    text = variant(("[About 50 miles, About 500 miles,", "[Paris, Berlin,"))
    report = validate_text(text)
    assert report.ok and report.pack is not None and report.errors == []
    assert report.quality is not None
    assert report.quality.items == len(report.pack.items)
    quality = [p for p in report.warnings if p.message.endswith("]")]
    assert quality and all(p.severity == "warning" and p.line > 1 for p in quality)
    assert report.problems == sorted(report.problems, key=lambda p: (p.line, p.column))


def test_no_quality_pass_on_a_pack_with_errors() -> None:
    report = validate_text(variant(("type: number", "type: numbr")))
    assert report.errors and report.quality is None
    assert not any(p.message.endswith("]") for p in report.problems)
