"""The Telegram side of issues 13 and 17, end to end through ``process_update``: quality
warnings in the reply to an upload, ``/draft``, uploads of other tools' question files, and
``/export <pack> <format>``."""

from __future__ import annotations

import itertools
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.constants import MessageLimit
from test_instructor import (
    ADMIN,
    ARTICLE,
    OTTO,
    SAM,
    TESS,
    as_json,
    grant,
    pack_yaml,
    publish,
    publish_data,
    scalar,
    texts,
    toast,
    upload,
)

from bot.packs import validate_pack_bytes
from bot.store.models import PackRow
from bot.testing.offline import ApiCall
from botkit import ROOT, Harness, html_problems

CONVERT = ROOT / "tests" / "convert"
_ids = itertools.count(1)


async def upload_with_caption(
    bot: Harness, who: dict[str, Any], name: str, data: bytes, caption: str
) -> list[ApiCall]:
    file_id = f"cap{next(_ids)}"
    path = f"documents/{file_id}/{name}"
    bot.api.documents[file_id] = (path, len(data))
    bot.api.files[path] = data
    message = bot.updates.message(who, None)
    message["message"]["document"] = {
        "file_id": file_id,
        "file_unique_id": f"u{file_id}",
        "file_name": name,
        "file_size": len(data),
    }
    message["message"]["caption"] = caption
    return await bot.send(message)


def documents(calls: list[ApiCall]) -> list[ApiCall]:
    return [c for c in calls if c.method == "sendDocument"]


def assert_telegram_safe(calls: list[ApiCall]) -> None:
    for call in calls:
        for key in ("text", "caption"):
            text = call.params.get(key)
            if isinstance(text, str):
                assert len(text) <= MessageLimit.MAX_TEXT_LENGTH
                assert html_problems(text) == [], text


# --------------------------------------------------------------------------- quality warnings

FLAWED = """\
  - id: flawed
    type: choice
    question: Which of these do bees do on each trip to the flowers?
    answer: They visit about 100 flowers on each trip, as the article says
    distractors: [Sleep, All of the above]
    explanation: The article says about 100.
    source: about 100 flowers on each trip
    difficulty: easy
    skill: detail
"""


async def test_upload_lists_quality_warnings_without_blocking_publish(
    bot: Harness, engine: AsyncEngine
) -> None:
    await grant(bot, TESS)
    await upload(bot, TESS, "lesson.txt", ARTICLE.encode())
    data = pack_yaml(["life", "honey"]) + FLAWED.encode()
    calls = await upload(bot, TESS, "bees.yaml", data)
    text = texts(calls)
    assert "🔎 quality: " in text and "with a warning" in text
    assert "not block publishing; see the pack format guide" in text
    assert "flawed" in text and "all of the above" in text.lower()
    assert_telegram_safe(calls)
    token = publish_data(calls)
    assert token is not None
    assert toast(await bot.press(TESS, token)) == "Published ✅"
    assert await scalar(engine, select(PackRow.id).where(PackRow.slug == "bees-101"))


# --------------------------------------------------------------------------- /draft


async def test_draft_from_an_article_then_publish_it(bot: Harness) -> None:
    await grant(bot, TESS)
    article = (ROOT / "tests" / "articles" / "harbour-bridge-en.txt").read_bytes()
    calls = await upload_with_caption(bot, TESS, "harbour_bridge.txt", article, "/draft")
    sent = documents(calls)
    assert len(sent) == 1 and sent[0].file_names["document"] == "harbour-bridge.yaml"
    draft = sent[0].files["document"]
    assert draft.decode().startswith("#")  # the comment that says it is a draft
    report = validate_pack_bytes(draft, "harbour-bridge.yaml", lambda _n: article.decode())
    assert report.ok, [str(p) for p in report.errors]
    body = yaml.safe_load(draft)
    assert body["article"] == "harbour_bridge.txt" and len(body["items"]) >= 5
    text = texts(calls)
    assert "candidate items" in text
    assert f"checker has {len(report.warnings)} warnings on it" in text
    assert_telegram_safe(calls)
    # The article was kept: the draft sent back is checked against it, ready to publish.
    calls = await upload(bot, TESS, "harbour-bridge.yaml", draft)
    assert "Article: harbour_bridge.txt, the article you sent" in texts(calls)
    assert publish_data(calls) is not None


async def test_draft_in_another_language(bot: Harness) -> None:
    await grant(bot, TESS)
    article = (ROOT / "tests" / "articles" / "pont-fr.txt").read_bytes()
    calls = await upload_with_caption(bot, TESS, "pont.txt", article, "/draft fr")
    draft = documents(calls)[0].files["document"]
    assert yaml.safe_load(draft)["language"] == "fr"


async def test_draft_refuses_what_it_cannot_read(bot: Harness) -> None:
    await grant(bot, TESS)
    calls = await upload_with_caption(bot, TESS, "slides.pdf", b"%PDF-1.4", "/draft")
    assert "<b>slides.pdf</b> is not one" in texts(calls)
    calls = await upload_with_caption(bot, TESS, "empty.txt", b"  \n\n ", "/draft")
    assert "is empty. No draft was made." in texts(calls)
    calls = await upload_with_caption(bot, TESS, "latin1.txt", "café".encode("latin-1"), "/draft")
    assert "is not UTF-8 text" in texts(calls)
    calls = await upload_with_caption(bot, TESS, "none.txt", b"just words here.", "/draft")
    assert "nothing to draft from" in texts(calls)
    assert documents(calls) == []
    calls = await bot.text(TESS, "/draft")
    assert "with the caption <code>/draft</code>" in texts(calls)


async def test_students_cannot_draft(bot: Harness) -> None:
    article = (ROOT / "tests" / "articles" / "harbour-bridge-en.txt").read_bytes()
    calls = await upload_with_caption(bot, SAM, "a.txt", article, "/draft")
    assert "/draft is for instructors" in texts(calls)
    assert documents(calls) == []


# --------------------------------------------------------------------------- other formats


async def test_moodle_xml_upload_is_converted_and_published(
    bot: Harness, engine: AsyncEngine
) -> None:
    await grant(bot, TESS)
    calls = await upload(
        bot, TESS, "moodle-sample.xml", (CONVERT / "moodle-sample.xml").read_bytes()
    )
    text = texts(calls)
    assert "Converted from Moodle XML:" in text
    assert "skipped: " in text  # the sample has types we do not take (matching, essay...)
    assert_telegram_safe(calls)
    token = publish_data(calls)
    assert token is not None, text
    assert toast(await bot.press(TESS, token)) == "Published ✅"
    assert await scalar(engine, select(PackRow.id).where(PackRow.slug == "moodle-sample"))


async def test_gift_and_aiken_uploads_and_txt_told_apart(bot: Harness) -> None:
    await grant(bot, TESS)
    calls = await upload(bot, TESS, "gift-sample.gift", (CONVERT / "gift-sample.gift").read_bytes())
    assert "Converted from GIFT:" in texts(calls) and publish_data(calls) is not None
    aiken = (CONVERT / "aiken-sample.txt").read_bytes()
    calls = await upload(bot, TESS, "aiken-sample.txt", aiken)
    assert "Converted from Aiken:" in texts(calls) and publish_data(calls) is not None
    # A .txt that reads like neither is an article, as before.
    calls = await upload(bot, TESS, "lesson.txt", ARTICLE.encode())
    assert "Article <b>lesson.txt</b> received" in texts(calls)


async def test_broken_and_hostile_question_files_get_a_clear_reply(bot: Harness) -> None:
    await grant(bot, TESS)
    for name in ("billion-laughs.xml", "xxe.xml"):
        calls = await upload(bot, TESS, name, (CONVERT / name).read_bytes())
        text = texts(calls)
        assert "nothing could be converted" in text
        assert "refused: the file declares XML entities" in text
        assert publish_data(calls) is None
    calls = await upload(bot, TESS, "broken.gift", (CONVERT / "broken.gift").read_bytes())
    assert publish_data(calls) is None
    assert "broken.gift:" in texts(calls)  # line:column of the problem
    assert_telegram_safe(calls)


# --------------------------------------------------------------------------- /export formats


async def test_export_questions_in_each_format(bot: Harness) -> None:
    await grant(bot, TESS)
    await publish(bot, TESS, ["trips", "life", "honey"])
    expected = {
        "moodle": "bees-101.xml",
        "gift": "bees-101.gift",
        "aiken": "bees-101.aiken.txt",
        "anki": "bees-101.apkg",
        "yaml": "bees-101.yaml",
    }
    for fmt, file_name in expected.items():
        calls = await bot.text(TESS, f"/export bees-101 {fmt}")
        sent = documents(calls)
        assert [c.file_names["document"] for c in sent] == [file_name], (fmt, texts(calls))
        assert sent[0].files["document"], fmt
        assert_telegram_safe(calls)
    # Aiken holds one-answer choices only (true/false is one): the short item is skipped.
    calls = await bot.text(TESS, "/export bees-101 aiken")
    assert "2 items, 1 skipped" in str(documents(calls)[0].params["caption"])
    assert "Skipped:\nlife (short)" in texts(calls)
    # The YAML export is a pack again.
    calls = await bot.text(TESS, "/export bees-101 yaml")
    assert yaml.safe_load(documents(calls)[0].files["document"])["pack"] == "bees-101"
    calls = await bot.text(TESS, "/export bees-101 pdf")
    assert "Usage: /export <i>pack</i>" in texts(calls) and documents(calls) == []


async def test_export_formats_are_for_instructors_and_packs_they_may_see(bot: Harness) -> None:
    await grant(bot, TESS)
    await publish(bot, TESS, ["trips", "life"])
    calls = await bot.text(SAM, "/export bees-101 gift")
    assert "/export is for instructors" in texts(calls) and documents(calls) == []
    await grant(bot, OTTO)
    # Another instructor may export an active pack's questions, not its results ...
    calls = await bot.text(OTTO, "/export bees-101 gift")
    assert [c.file_names["document"] for c in documents(calls)] == ["bees-101.gift"]
    calls = await bot.text(OTTO, "/export bees-101")
    assert "belongs to another instructor" in texts(calls)
    # ... and nothing of a hidden one; an admin may export every pack.
    await bot.text(TESS, "/hide bees-101")
    calls = await bot.text(OTTO, "/export bees-101 gift")
    assert "belongs to another instructor" in texts(calls) and documents(calls) == []
    calls = await bot.text(ADMIN, "/export bees-101 moodle")
    assert [c.file_names["document"] for c in documents(calls)] == ["bees-101.xml"]


async def test_instructor_menu_and_help_name_the_new_tools(bot: Harness) -> None:
    await grant(bot, TESS)
    calls = await bot.text(TESS, "/instructor")
    text = texts(calls)
    assert "/draft" in text and "moodle|gift|aiken|anki|yaml" in text and ".xlsx" in text
    menus = [
        {m["command"] for m in as_json(c.params["commands"])}
        for c in bot.api.calls
        if c.method == "setMyCommands" and "chat_id" in str(c.params.get("scope"))
    ]
    assert menus and all({"draft", "export"} <= m for m in menus)


async def test_spreadsheet_upload_and_size_limit(bot: Harness) -> None:
    await grant(bot, TESS)
    sheet = (CONVERT / "sheet-sample.csv").read_bytes()
    calls = await upload(bot, TESS, "sheet-sample.csv", sheet)
    assert "Converted from CSV:" in texts(calls) and publish_data(calls) is not None
    # Refused on the declared size, before downloading.
    calls = await upload(bot, TESS, "big.xlsx", b"PK", declared_size=10 * 1024 * 1024)
    assert [c.method for c in calls] == ["sendMessage"]
    assert "<b>big.xlsx</b> is 10.0 MB; I accept files up to" in texts(calls)
