"""Importing questions from other tools: Moodle XML, GIFT, Aiken, CSV and .xlsx samples written
from the formats' documentation (tests/convert/), hostile XML, malformed input with line and
column, and the proposed quotes when an article is given."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import Workbook

from bot.packs import validate_pack_bytes
from bot.packs.convert import Conversion, convert
from bot.packs.convert.common import SentenceFinder, category_tags, html_to_text, sentences
from bot.packs.convert.gift import find, unescape
from bot.packs.convert.sheet import MAX_XLSX_UNPACKED
from bot.packs.model import ChoiceItem, NumberItem, Pack, ShortItem, TrueFalseItem
from bot.packs.wording import english
from bot.quiz.grading import grade_short

SAMPLES = Path(__file__).parent / "convert"
BEES = (SAMPLES / "bees.txt").read_text(encoding="utf-8")


def converted(name: str, **kwargs: Any) -> Conversion:
    return convert(name, (SAMPLES / name).read_bytes(), **kwargs)


def pack_of(result: Conversion) -> Pack:
    assert result.report is not None, [str(p) for p in result.problems]
    assert result.report.pack is not None, [str(p) for p in result.report.problems]
    return result.report.pack


def by_id(pack: Pack) -> dict[str, Any]:
    return {item.id: item for item in pack.items}


# --------------------------------------------------------------------------- Moodle XML


def test_moodle_sample_imports_every_supported_type() -> None:
    result = converted("moodle-sample.xml")
    assert result.ok and not result.problems
    items = by_id(pack_of(result))
    assert list(items) == [
        "bee-trips",
        "honey-sources",
        "honey-nectar",
        "what-bees-make",
        "flower-count",
    ]
    trips = items["bee-trips"]
    assert isinstance(trips, ChoiceItem)
    # HTML in CDATA became plain text; the image is noted, entities decoded.
    assert trips.question == "How many flowers does a bee visit on each trip?"
    assert trips.answer == "About 100"
    assert trips.distractors == ["About 10", "About 1 000 & more"]
    assert trips.feedback == {"About 100": "Right.", "About 10": "Far too few."}
    assert trips.explanation == 'The text says "about 100 flowers" & no more.'
    assert trips.tags == ["bees-and-honey", "insects"]
    assert trips.source is None
    assert "image" in result.yaml_text
    sources = items["honey-sources"]
    assert isinstance(sources, ChoiceItem) and sources.multiple
    assert sources.answers == ["Nectar", "Pollen"]
    assert sources.options == ["Nectar", "Pollen", "Salt"]  # shuffleanswers 0: fixed order
    assert isinstance(items["honey-nectar"], TrueFalseItem) and items["honey-nectar"].answer
    short = items["what-bees-make"]
    assert isinstance(short, ShortItem)
    assert [(a.text, a.credit) for a in short.accepted] == [
        ("honey", 1.0),
        ("*syrup*", 0.5),
        ("wax", 0.0),
    ]
    assert grade_short(short, "maple syrup").score == 0.5  # the `*` wildcard survives
    assert grade_short(short, "wax").feedback == "Wax comes from glands."
    number = items["flower-count"]
    assert isinstance(number, NumberItem)
    assert (number.answer, number.tolerance, number.unit) == (100, 10, "flowers")


def test_moodle_types_we_cannot_serve_are_listed_by_name() -> None:
    skipped = [english(note) for note in converted("moodle-sample.xml").skipped]
    assert skipped == [
        "'Intro' (description): a description, not a question",
        "'Why bees matter' (essay): not supported",
        "'Match insects' (matching): not supported",
        "'Cloze bees' (multianswer): not supported",
    ]


@pytest.mark.parametrize("name", ["billion-laughs.xml", "xxe.xml"])
def test_entity_bombs_and_external_entities_are_refused(name: str) -> None:
    result = converted(name)
    assert not result.ok and result.yaml_text == "" and result.items == 0
    (problem,) = result.problems
    assert problem.message.startswith("refused: the file declares XML entities")
    assert "passwd" not in str(problem) and "lollol" not in str(problem)


def test_malformed_xml_reports_line_and_column() -> None:
    data = b'<?xml version="1.0"?>\n<quiz>\n  <question type="truefalse">\n</quiz>\n'
    result = convert("bad.xml", data)
    (problem,) = result.problems
    assert (problem.line, problem.column) == (4, 3)
    assert "not well-formed XML" in problem.message


def test_a_file_that_is_not_a_moodle_quiz_is_refused() -> None:
    result = convert("feed.xml", b"<rss><channel/></rss>")
    assert [p.message for p in result.problems] == [
        "a Moodle XML file starts with <quiz>, not <rss>"
    ]


def test_single_choice_partial_credit_is_noted_not_silently_dropped() -> None:
    data = b"""<quiz><question type="multichoice"><name><text>q</text></name>
    <questiontext format="html"><text>Pick</text></questiontext><single>true</single>
    <answer fraction="100"><text>a</text></answer><answer fraction="50"><text>b</text></answer>
    <answer fraction="0"><text>c</text></answer></question></quiz>"""
    result = convert("partial.xml", data)
    assert result.ok
    assert "# note: partial credit for 'b' dropped: counted wrong" in result.yaml_text


@pytest.mark.parametrize(
    ("path", "tags"),
    [
        ("$course$/top/Default for Reading 101/Bees and Honey", ["bees-and-honey"]),
        ("$course$/top/Default for Reading 101", []),
        ("$course$/top", []),
        ("$module$", []),
        ("Ünits/Week 3 – Honey ", ["week-3-honey"]),
    ],
)
def test_category_tags(path: str, tags: list[str]) -> None:
    assert category_tags(path) == tags


def test_html_to_text() -> None:
    text, images = html_to_text('<p>One&nbsp;<b>two</b></p><p>three<br/>four <img src="x"></p>')
    assert text == "One two\nthree\nfour" and images == 1


# --------------------------------------------------------------------------- GIFT


def test_gift_sample_imports_every_construct() -> None:
    result = converted("gift-sample.gift")
    assert result.ok and not result.problems
    items = by_id(pack_of(result))
    trips = items["bee-trips"]
    assert isinstance(trips, ChoiceItem)
    # A question written over two lines is one line of text; `::title::` became the id.
    assert trips.question == "How many flowers does a bee visit on each trip?"
    assert trips.feedback["About 100"] == "Right: the text says so."
    assert trips.explanation == 'The text says "about 100 flowers".'  # ####general feedback
    assert trips.tags == ["bees-and-honey"]  # $CATEGORY
    sources = items["honey-sources"]
    assert isinstance(sources, ChoiceItem) and sources.answers == ["Nectar", "Pollen"]
    assert sources.distractors == ["Salt"]
    assert isinstance(items["honey-nectar"], TrueFalseItem) and items["honey-nectar"].answer
    assert items["honey-nectar"].explanation == "Yes."
    assert items["Wax"].answer is False
    short = items["what-bees-make"]
    assert isinstance(short, ShortItem)
    assert [(a.text, a.credit, a.feedback) for a in short.accepted] == [
        ("honey", 1.0, None),
        ("*syrup*", 0.5, "Close."),
        ("wax", 0.0, "Wax comes from glands."),
    ]
    count, span, multi = items["flower-count"], items["range"], items["multi-numeric"]
    assert (count.answer, count.tolerance) == (100, 10)
    assert (span.answer, span.tolerance) == (7.5, 2.5)  # {#5..10}
    assert (multi.answer, multi.tolerance) == (1998, 0)
    escapes = items["escapes"]
    assert escapes.question == "Which sign means = in maths, and what is 1:2 {a ratio}?"
    assert escapes.answers == ["equals ~ the same"]
    assert escapes.distractors == ["a \\ backslash"]
    assert escapes.feedback == {"equals ~ the same": "Yes # indeed."}
    missing_word = items["q10"]
    assert missing_word.question == "Bees make _____ from nectar."
    assert items["html-question"].question == "Is honey sweet & sticky?"
    # Written as Moodle's own GIFT export writes them:
    assert [(a.text, a.credit) for a in items["moodle-style"].accepted] == [
        ("honey", 1.0),
        ("nectar", 0.5),
    ]
    partial = items["partial"]
    assert (partial.answer, partial.distractors) == ("honey", ["nectar", "water"])
    assert "# note: partial credit for 'nectar' dropped: counted wrong" in result.yaml_text
    assert items["wrong-feedback"].answer == 6
    assert "# note: the feedback for wrong numbers was dropped" in result.yaml_text
    assert [english(note) for note in result.skipped] == [
        "'Essay': an essay (no answers)",
        "'Match': a matching question",
        "'A description only, with no answer block.': no answer block, a description",
    ]


def test_gift_errors_have_line_and_column_and_good_questions_still_convert() -> None:
    result = converted("broken.gift")
    assert [str(p) for p in result.problems] == [
        "5:37: the answer block is not closed with '}'",
        "9:33: no right answer: mark one with '=' (or weights with '~%50%')",
        "11:22: '{' inside an answer block (write \\{ for a brace)",
        "13:30: '12x' is not a number",
    ]
    assert result.items == 1 and not result.ok
    assert [i.id for i in pack_of(result).items] == ["good"]


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("a\\=b", "a=b"),
        ("\\~\\#\\{\\}\\:", "~#{}:"),
        ("back\\\\slash", "back\\slash"),
        ("line\\nbreak", "line\nbreak"),
        ("kept \\q", "kept \\q"),
    ],
)
def test_gift_escapes(raw: str, text: str) -> None:
    assert unescape(raw) == text


def test_gift_find_skips_escaped_characters() -> None:
    assert find("a\\=b=c", "=") == 4
    assert find("a\\\\=b", "=") == 3  # an escaped backslash does not escape the '='
    assert find("abc", "=") == -1


def test_gift_weights_on_right_answers_make_a_multiple_answer_item() -> None:
    result = convert("w.gift", b"Pick {=%50%a =%50%b ~c}")
    item = pack_of(result).items[0]
    assert isinstance(item, ChoiceItem) and item.answers == ["a", "b"]


def test_gift_without_questions_says_so() -> None:
    result = convert("empty.gift", b"// only a comment\n")
    assert [p.message for p in result.problems] == ["no question could be converted"]


# --------------------------------------------------------------------------- Aiken


def test_aiken_sample() -> None:
    result = converted("aiken-sample.txt")
    assert result.format == "Aiken" and result.ok
    first, second = pack_of(result).items
    assert isinstance(first, ChoiceItem)
    assert first.answer == "About 100 flowers"
    assert first.distractors == ["About 10 flowers", "Only trees"]
    assert (second.answer, second.distractors) == ("Nectar", ["Salt"])


def test_aiken_errors_have_lines() -> None:
    result = converted("broken-aiken.txt")
    assert [str(p) for p in result.problems] == [
        "8:1: option D where A was expected",
        "9:1: a question needs at least two options (A., B.)",
        "14:8: ANSWER: C is not one of the options A, B",
    ]
    assert result.items == 1


# --------------------------------------------------------------------------- spreadsheets


def test_csv_template() -> None:
    result = converted("sheet-sample.csv")
    assert result.ok, [str(p) for p in result.problems]
    items = by_id(pack_of(result))
    trips = items["bee-trips"]
    assert trips.distractors == ["About 10", "About 1000"]
    assert (trips.difficulty, trips.skill) == ("easy", "detail")
    assert trips.tags == ["insects", "counting"]
    assert trips.explanation == "The text says about 100."
    assert items["sources"].answers == ["Nectar", "Pollen"]
    assert items["honey-nectar"].answer is True
    assert [a.text for a in items["what"].accepted] == ["honey", "bee honey"]
    assert items["what"].question == "What do bees make, from nectar?"
    count = items["count"]
    assert (count.answer, count.tolerance, count.unit) == (100, "10%", "flowers")


def test_csv_with_semicolons_and_bad_rows() -> None:
    data = (
        b"question;answer;type\n"
        b"Fine?;true;truefalse\n"
        b";x;short\n"
        b"How many?;lots;number\n"
        b"Odd?;x;essay\n"
    )
    result = convert("sheet.csv", data)
    assert [str(p) for p in result.problems] == [
        "3:1: the question is empty",
        "4:2: a number item's answer must be a number, not 'lots'",
        "5:3: unknown type 'essay'; use choice, truefalse, short or number",
    ]
    assert result.items == 1


def test_csv_header_must_name_known_columns() -> None:
    result = convert("sheet.csv", b"question,anwser\nq,a\n")
    assert [str(p) for p in result.problems] == [
        "1:2: unknown column 'anwser'; use: id, type, question, answer, distractors, "
        "explanation, source, difficulty, skill, tags, tolerance, unit",
        "1:1: the header row has no 'answer' column",
    ]


def xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def test_xlsx_made_with_openpyxl() -> None:
    data = xlsx(
        [
            ["Type", "Question", "Answer", "Distractors", "Tolerance"],
            ["choice", "Bees visit?", "flowers", "rocks | cars", None],
            [None, "How many flowers?", 100, None, 5],
            [None, "Honey is sweet.", True, None, None],
            [None, "=HYPERLINK(A1)", "2", None, None],
        ]
    )
    result = convert("questions.xlsx", data)
    # A formula is never evaluated: with no value computed by a spreadsheet, none is read.
    assert [str(p) for p in result.problems] == ["5:2: the question is empty"]
    choice, number, truefalse = pack_of(result).items
    assert isinstance(choice, ChoiceItem) and choice.distractors == ["rocks", "cars"]
    assert isinstance(number, NumberItem) and (number.answer, number.tolerance) == (100, 5)
    assert isinstance(truefalse, TrueFalseItem) and truefalse.answer is True


def test_an_xlsx_that_unpacks_too_far_is_refused() -> None:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"\0" * (MAX_XLSX_UNPACKED + 1))
    assert len(stream.getvalue()) < 1024 * 1024
    result = convert("bomb.xlsx", stream.getvalue())
    (problem,) = result.problems
    assert problem.message == (
        f"not a readable .xlsx workbook: it unpacks to {MAX_XLSX_UNPACKED + 1:,} bytes; "
        f"at most {MAX_XLSX_UNPACKED:,}"
    )


def test_a_broken_xlsx_gets_a_clear_message() -> None:
    result = convert("questions.xlsx", b"PK\x03\x04 not really a workbook")
    (problem,) = result.problems
    assert problem.message.startswith("not a readable .xlsx workbook")


# --------------------------------------------------------------------------- files and limits


def test_unknown_file_kinds_and_large_files_are_refused() -> None:
    assert "unknown kind of file '.docx'" in convert("q.docx", b"x").problems[0].message
    huge = convert("q.gift", b" " * (8 * 1024 * 1024 + 1))
    assert "at most" in huge.problems[0].message and huge.yaml_text == ""


def test_a_long_file_name_gives_a_valid_slug_and_title() -> None:
    result = convert("Week 3 — " + "very " * 40 + "long.gift", b"Q? {=a ~b}")
    pack = pack_of(result)
    assert pack.slug.startswith("week-3-very-very") and len(pack.slug) <= 48
    assert pack.title.startswith("Week 3 — very") and len(pack.title) <= 128


def test_txt_is_read_as_gift_unless_it_is_aiken() -> None:
    assert convert("a.txt", b"Q? {=a ~b}").format == "GIFT"
    assert converted("aiken-sample.txt").format == "Aiken"


def test_converted_yaml_is_plain_safe_yaml_with_check_marks() -> None:
    result = converted("gift-sample.gift")
    document = yaml.safe_load(result.yaml_text)
    assert "article" not in document
    assert all("source" not in item for item in document["items"])
    assert "# check: difficulty and skill are defaults" in result.yaml_text


# --------------------------------------------------------------------------- with an article


def test_article_sentences_are_proposed_as_sources() -> None:
    result = converted("moodle-sample.xml", article_name="bees.txt", article_text=BEES)
    assert result.ok, [str(p) for p in result.report.problems] if result.report else None
    pack = pack_of(result)
    assert pack.article_name == "bees.txt" and pack.article_text == BEES
    items = by_id(pack)
    assert items["bee-trips"].source == "Bees visit about 100 flowers on each trip."
    assert items["honey-sources"].source == ("They collect nectar and pollen from the flowers.")
    assert items["honey-nectar"].source == "Honey is made from nectar."
    assert result.yaml_text.count("# check: proposed from the article") == 5


def test_an_item_with_no_supporting_sentence_is_flagged() -> None:
    result = convert("q.gift", b"::moon::Is the moon made of cheese? {F}", "bees.txt", BEES)
    assert "no supporting sentence found" in result.yaml_text
    assert result.report is not None and not result.ok
    assert result.report.errors[0].message.startswith("missing key 'source'")


def test_sentences_do_not_end_at_initials() -> None:
    assert sentences("The U.S. Army said so. Mr. Smith agreed! Then 2 more came.") == [
        "The U.S. Army said so.",
        "Mr. Smith agreed!",
        "Then 2 more came.",
    ]


def test_sentences_may_span_wrapped_lines_but_not_headlines() -> None:
    article = (
        "Bees and Honey\nBy A. Writer\n\nBees visit about 100\nflowers on each trip. They rest.\n"
    )
    finder = SentenceFinder(article)
    assert [s for s, _ in finder.sentences] == [
        "Bees and Honey",
        "By A. Writer",
        "Bees visit about 100 flowers on each trip.",
        "They rest.",
    ]


def test_sentence_finder_prefers_rare_words() -> None:
    finder = SentenceFinder("Bees fly. Bees fly to clover fields. Bees rest.")
    assert finder.best("Where do bees fly?", ["clover"]) == "Bees fly to clover fields."
    assert finder.best("Unrelated?", ["zebra"]) is None


def test_converted_pack_is_valid_without_article_and_imports_as_it_is() -> None:
    result = converted("gift-sample.gift")
    again = validate_pack_bytes(result.yaml_text.encode(), "again.yaml", lambda name: "")
    assert again.ok and again.pack is not None and not again.pack.has_article
