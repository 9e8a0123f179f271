"""Instructor tools end to end: roles, uploads through the offline Bot API (getFile and the
download included), publishing, pack status, /stats and /export."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.constants import MessageLimit

from bot.packs import validate_pack_bytes
from bot.store import make_sessionmaker
from bot.store.models import Attempt, ItemRow, PackRow, QuizRun, Role, User
from bot.telegram import render
from bot.testing.offline import ApiCall
from botkit import ROOT, Clock, Harness, start_harness, user

ADMIN = user(900, "Ada", "ada")  # QUIZBOT_ADMIN_IDS in the test settings
TESS = user(201, "Tess", "tess")
OTTO = user(202, "Otto")
SAM = user(301, "Sam")
STUDENTS = [user(400 + n, f"Student {n}") for n in range(5)]

ARTICLE = (
    "Bees visit about 100 flowers on each trip.\n\n"
    "A worker bee lives for about six weeks in summer.\n\n"
    "Honey is made from nectar that bees carry back to the hive.\n"
)

ITEMS = {
    "trips": """\
  - id: trips
    type: choice
    question: How many flowers does a bee visit on each trip?
    answer: About 100
    distractors: [About 10, "About 1,000"]
    explanation: The article says about 100.
    source: about 100 flowers on each trip
    difficulty: easy
    skill: detail
""",
    "life": """\
  - id: life
    type: short
    question: How long does a worker bee live in summer?
    answers: [six weeks, 6 weeks]
    explanation: About six weeks.
    source: lives for about six weeks in summer
    difficulty: medium
    skill: detail
""",
    "honey": """\
  - id: honey
    type: truefalse
    question: Honey is made from nectar.
    answer: true
    explanation: Bees make it from nectar.
    source: Honey is made from nectar
    difficulty: easy
    skill: detail
""",
    "hive": """\
  - id: hive
    type: choice
    question: Where do bees carry the nectar?
    answer: Back to the hive
    distractors: [To the river, To the flowers]
    explanation: They carry it back to the hive.
    source: carry back to the hive
    difficulty: easy
    skill: detail
""",
}


def pack_yaml(keys: list[str], slug: str = "bees-101", article: str = "lesson.txt") -> bytes:
    header = (
        f"pack: {slug}\ntitle: Bees in summer\ndescription: A short check.\n"
        f"article: {article}\nitems:\n"
    )
    return (header + "".join(ITEMS[k] for k in keys)).encode()


# --------------------------------------------------------------------------- helpers

_file_ids = itertools.count(1)
FILE = {"file_unique_id": "u", "file_name": "huge.yaml", "file_size": 10}


async def upload(
    bot: Harness,
    who: dict[str, Any],
    name: str,
    data: bytes,
    declared_size: int | None = None,
) -> list[ApiCall]:
    """Send ``data`` as a document; the offline Bot API serves it to getFile and download."""
    file_id = f"file{next(_file_ids)}"
    path = f"documents/{file_id}/{name}"
    bot.api.documents[file_id] = (path, len(data))
    bot.api.files[path] = data
    document = {
        "file_id": file_id,
        "file_unique_id": f"u{file_id}",
        "file_name": name,
        "file_size": len(data) if declared_size is None else declared_size,
    }
    return await bot.send(bot.updates.message(who, None, document=document))


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def texts(calls: list[ApiCall]) -> str:
    return "\n".join(str(c.params.get("text", "")) for c in calls if c.method == "sendMessage")


def buttons(call: ApiCall) -> list[tuple[str, str]]:
    markup = call.params.get("reply_markup")
    if markup is None:
        return []
    data = json.loads(markup) if isinstance(markup, str) else markup
    return [(b["text"], b["callback_data"]) for row in data["inline_keyboard"] for b in row]


def publish_data(calls: list[ApiCall]) -> str | None:
    for call in calls:
        for _, data in buttons(call):
            if data.startswith("pub:"):
                return data
    return None


def toast(calls: list[ApiCall]) -> str:
    return next(str(c.params.get("text")) for c in calls if c.method == "answerCallbackQuery")


async def grant(bot: Harness, who: dict[str, Any]) -> None:
    await bot.text(who, "/start")  # the bot has met them
    calls = await bot.text(ADMIN, f"/grant {who['id']}")
    assert "is now an instructor" in texts(calls)


async def publish(bot: Harness, who: dict[str, Any], keys: list[str], **kw: Any) -> list[ApiCall]:
    """Upload the article and a pack, then tap Publish."""
    await upload(bot, who, "lesson.txt", ARTICLE.encode())
    calls = await upload(bot, who, f"{kw.get('slug', 'bees-101')}.yaml", pack_yaml(keys, **kw))
    data = publish_data(calls)
    assert data is not None, texts(calls)
    return await bot.press(who, data)


async def scalar(engine: AsyncEngine, stmt: Any) -> Any:
    async with make_sessionmaker(engine)() as session:
        return (await session.execute(stmt)).scalar_one_or_none()


async def play(bot: Harness, who: dict[str, Any], slug: str, pick: int = 0) -> None:
    """Finish a run of ``slug``: option ``pick`` on choices, "nectar" on typed items."""
    calls = await bot.text(who, f"/start {slug}")
    for _ in range(20):
        data = None
        for call in reversed(calls):
            for _, d in buttons(call):
                if d.startswith(("a:", "k:")):
                    data = d
                    break
            if data:
                break
        assert data is not None, texts(calls)
        if data.startswith("k:"):
            calls = await bot.text(who, "nectar")
        else:
            run, item, _ = data[2:].split(":")
            calls = await bot.press(who, f"a:{run}:{item}:{pick}")
        nxt = next((d for c in calls for _, d in buttons(c) if d.startswith("n:")), None)
        if nxt is None:
            assert "finished" in texts(calls)
            return
        calls = await bot.press(who, nxt)
    raise AssertionError("the run did not end")


# --------------------------------------------------------------------------- roles


async def test_grant_and_revoke(bot: Harness, engine: AsyncEngine) -> None:
    await bot.text(TESS, "/start")
    calls = await bot.text(ADMIN, "/grant 201")
    assert "✅ <b>Tess</b> (id 201) is now an instructor." in texts(calls)
    welcome = [c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == 201]
    assert "You are now an instructor" in welcome[0].params["text"]
    menu = next(c for c in calls if c.method == "setMyCommands")
    assert as_json(menu.params["scope"]) == {"type": "chat", "chat_id": 201}
    assert "mypacks" in {c["command"] for c in as_json(menu.params["commands"])}
    calls = await bot.text(ADMIN, "/grant @TESS")
    assert "already is an instructor" in texts(calls)
    # In reply to someone's message in a group; someone the bot has never met.
    message = bot.updates.message(ADMIN, "/grant", chat_id=-1001)
    message["message"]["reply_to_message"] = {
        "message_id": 5,
        "date": 0,
        "chat": bot.updates.chat(-1001),
        "from": OTTO,
        "text": "I teach biology",
    }
    calls = await bot.send(message)
    assert "<b>Otto</b> (id 202) is now an instructor" in texts(calls)
    calls = await bot.text(ADMIN, "/grant 555")
    assert "<b>user 555</b> (id 555) is now an instructor" in texts(calls)
    async with make_sessionmaker(engine)() as session:
        granted = (
            await session.execute(
                select(User.telegram_id, Role.granted_by)
                .join(Role, Role.user_id == User.id)
                .order_by(User.telegram_id)
            )
        ).all()
    assert granted == [(201, 900), (202, 900), (555, 900)]
    calls = await bot.text(ADMIN, "/revoke 202")
    assert "<b>Otto</b> (id 202) is no longer an instructor" in texts(calls)
    assert any(c.method == "deleteMyCommands" for c in calls)
    calls = await bot.text(ADMIN, "/revoke 202")
    assert "was not an instructor" in texts(calls)
    calls = await bot.text(ADMIN, "/revoke 900")
    assert "They are an admin (QUIZBOT_ADMIN_IDS)" in texts(calls)
    calls = await bot.text(ADMIN, "/revoke 777")
    assert "<b>user 777</b> (id 777) was not an instructor." in texts(calls)
    assert await scalar(engine, select(User.id).where(User.telegram_id == 777)) is None
    for bad in ("/grant", "/grant tess", "/grant @nobody", "/grant 0"):
        calls = await bot.text(ADMIN, bad)
        assert "Usage" in texts(calls) or "I do not know @nobody" in texts(calls), bad
    assert await scalar(engine, select(func.count()).select_from(Role)) == 2


async def test_everyone_else_is_refused_politely_and_logged(
    bot: Harness, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "quizbot.instructor")
    for command in ("/mypacks", "/stats atacms-2024", "/export atacms-2024", "/hide atacms-2024"):
        calls = await bot.text(SAM, command)
        text = texts(calls)
        assert text.startswith("Sorry, /"), command
        assert "is for instructors" in text and "ask its admin" in text
    calls = await bot.text(SAM, "/grant 301")
    assert "only an admin of this bot can grant" in texts(calls)
    calls = await bot.text(TESS, "/grant 301")  # an instructor is not an admin
    assert "only an admin" in texts(calls)
    refusals = [r.getMessage() for r in caplog.records if r.name == "quizbot.instructor"]
    assert len(refusals) == 6
    assert all("Telegram user 301" in r or "Telegram user 201" in r for r in refusals)
    assert await scalar(engine, select(func.count()).select_from(Role)) == 0
    assert await scalar(engine, select(PackRow.status).where(PackRow.slug == "atacms-2024")) == (
        "active"
    )
    # In a group the tools answer that they work in private (to staff) or refuse.
    calls = await bot.text(ADMIN, "/stats atacms-2024", chat_id=-1001)
    assert "works in a private chat" in texts(calls)


# --------------------------------------------------------------------------- uploads


async def test_valid_upload_is_summarised_then_published(bot: Harness, engine: AsyncEngine) -> None:
    await grant(bot, TESS)
    calls = await upload(bot, TESS, "lesson.txt", ARTICLE.encode())
    assert f"Article <b>lesson.txt</b> received ({len(ARTICLE.split())} words)" in texts(calls)
    calls = await upload(bot, TESS, "bees.yaml", pack_yaml(["trips", "life", "honey"]))
    methods = [c.method for c in calls]
    assert methods[:2] == ["getFile", "sendMessage"]  # checked size, then downloaded
    reply = texts(calls)
    assert "✅ <b>bees.yaml</b> is valid: <b>Bees in summer</b> (<code>bees-101</code>)" in reply
    assert "3 items · types: choice 1, truefalse 1, short 1 · skills: detail 3" in reply
    assert "difficulty: easy 2, medium 1" in reply
    assert "Article: lesson.txt, the article you sent" in reply
    assert "🆕 New pack: 3 items will be published." in reply
    assert "Tap Publish within 30 minutes" in reply
    data = publish_data(calls)
    assert data is not None and len(data) == len("pub:") + 16
    assert await scalar(engine, select(PackRow.id).where(PackRow.slug == "bees-101")) is None
    # Only the uploader may publish it.
    await grant(bot, OTTO)
    for other in (OTTO, SAM):
        calls = await bot.press(other, data)
        assert toast(calls) == "Only the instructor who sent this file can publish it."
    assert await scalar(engine, select(PackRow.id).where(PackRow.slug == "bees-101")) is None
    calls = await bot.press(TESS, data)
    assert toast(calls) == "Published ✅"
    text = texts(calls)
    assert "📤 Published <b>Bees in summer</b>: bees-101: new pack, 3 items added." in text
    assert "https://t.me/article_quiz_bot?start=bees-101" in text
    owner = await scalar(engine, select(PackRow.owner_id).where(PackRow.slug == "bees-101"))
    assert owner == await scalar(engine, select(User.id).where(User.telegram_id == 201))
    # The deep link opens it for a student straight away (the catalog was refreshed).
    calls = await bot.text(SAM, "/start bees-101")
    assert "<b>Bees in summer</b>: 3 questions" in texts(calls)
    # A second tap publishes nothing more.
    calls = await bot.press(TESS, data)
    assert "no longer waiting" in toast(calls)


async def test_pack_waits_for_its_article(bot: Harness) -> None:
    await grant(bot, TESS)
    calls = await upload(bot, TESS, "bees.yaml", pack_yaml(["trips"], article="notes/lesson.txt"))
    text = texts(calls)
    assert "I do not have the article 'lesson.txt': send it to me as a .txt file" in text
    assert "Send the article <b>lesson.txt</b> as a .txt file and I will check" in text
    assert publish_data(calls) is None
    calls = await upload(bot, TESS, "other.txt", b"Some other text.")
    assert "is waiting for an article named <b>lesson.txt</b>, not this one" in texts(calls)
    calls = await upload(bot, TESS, "lesson.txt", ARTICLE.encode())
    text = texts(calls)
    assert "Checking <b>bees.yaml</b> again" in text
    assert "✅ <b>bees.yaml</b> is valid" in text
    assert publish_data(calls) is not None


async def test_upload_flow_survives_a_restart_and_another_worker(
    bot: Harness, engine: AsyncEngine, clock: Clock
) -> None:
    """The pack waiting for its article, the articles sent and the checked upload are all in
    the database: a new Application on the same database (a restart, or another webhook
    worker) carries on where the first one stopped."""
    await grant(bot, TESS)
    calls = await upload(bot, TESS, "bees.yaml", pack_yaml(["trips", "life"]))
    assert "Send the article <b>lesson.txt</b>" in texts(calls)
    await bot.app.shutdown()
    second = await start_harness(engine, clock)
    third = await start_harness(engine, clock)
    try:
        calls = await upload(second, TESS, "lesson.txt", ARTICLE.encode())
        text = texts(calls)
        assert "Checking <b>bees.yaml</b> again" in text
        assert "✅ <b>bees.yaml</b> is valid" in text
        # Taken once: the third worker does not check it again when the article comes back.
        calls = await upload(third, TESS, "lesson.txt", ARTICLE.encode())
        assert "Now send the pack" in texts(calls)
        await upload(second, TESS, "extra.txt", ARTICLE.encode())
        # The article sent to one worker serves a pack sent to another ...
        calls = await upload(third, TESS, "bees2.yaml", pack_yaml(["honey"], slug="bees-102"))
        assert "Article: lesson.txt, the article you sent" in texts(calls)
        data = publish_data(calls)
        assert data is not None
        # ... and Publish is pressed on yet another.
        calls = await second.press(TESS, data)
        assert toast(calls) == "Published ✅"
        assert await scalar(engine, select(PackRow.id).where(PackRow.slug == "bees-102"))
        # After 30 minutes, nothing of the flow is left.
        clock.advance(31 * 60)
        extra = pack_yaml(["life"], slug="bees-103", article="extra.txt")
        calls = await upload(third, TESS, "bees3.yaml", extra)
        assert "Send the article <b>extra.txt</b>" in texts(calls)
    finally:
        await second.app.shutdown()
        await third.app.shutdown()


async def test_article_of_a_published_pack_is_found_by_name(bot: Harness) -> None:
    await grant(bot, TESS)
    minimal = (ROOT / "tests" / "packs" / "minimal.yaml").read_bytes()
    calls = await upload(bot, TESS, "minimal.yaml", minimal)
    text = texts(calls)
    assert "✅ <b>minimal.yaml</b> is valid" in text
    assert "Article: biden-atacms-2024.txt, the article of the published pack atacms-2024" in text


async def test_broken_pack_lists_every_problem(bot: Harness, engine: AsyncEngine) -> None:
    await grant(bot, TESS)
    await upload(bot, TESS, "lesson.txt", ARTICLE.encode())
    broken = (
        pack_yaml(["trips", "life"])
        .replace(b"  - id: trips\n", b"  - id: trips\n    colour: red\n")
        .replace(b"difficulty: medium", b"difficulty: tricky")
        .replace(b"lives for about six weeks", b"lives for six months")
    )
    report = validate_pack_bytes(broken, "bees.yaml", lambda name: ARTICLE)
    assert len(report.errors) >= 3
    calls = await upload(bot, TESS, "bees.yaml", broken)
    text = texts(calls)
    assert f"❌ <b>bees.yaml</b>: {len(report.errors)} problems." in text
    for problem in report.problems:
        assert render.esc(problem.located()) in text
    assert "Nothing was published: fix the file and send it again." in text
    assert publish_data(calls) is None
    assert await scalar(engine, select(func.count()).select_from(PackRow)) == 2  # the shipped


async def test_long_problem_list_is_split_and_cut_with_a_count(bot: Harness) -> None:
    await grant(bot, TESS)
    await upload(bot, TESS, "lesson.txt", ARTICLE.encode())
    items = "".join(
        f"  - id: item-{n}\n    type: truefalse\n    question: Q{n}?\n    answer: maybe\n"
        for n in range(400)
    )
    data = (
        "pack: long\ntitle: Long\ndescription: Many problems.\narticle: lesson.txt\n"
        f"items:\n{items}"
    ).encode()
    report = validate_pack_bytes(data, "long.yaml", lambda name: ARTICLE)
    calls = await upload(bot, TESS, "long.yaml", data)
    parts = [c.params["text"] for c in calls if c.method == "sendMessage"]
    assert len(parts) == 3
    assert all(len(p) <= MessageLimit.MAX_TEXT_LENGTH for p in parts)
    last = parts[-1]
    assert "more, not shown." in last
    left_out = int(last.split("… and ")[1].split(" problems")[0])
    listed = sum(1 for p in report.problems if render.esc(p.located()) in "\n".join(parts))
    assert listed + left_out == len(report.problems) and left_out > 0
    assert last.endswith("Nothing was published: fix the file and send it again.")


async def test_size_and_type_limits_are_checked_before_downloading(bot: Harness) -> None:
    await grant(bot, TESS)
    calls = await upload(bot, TESS, "big.yaml", b"pack: x\n", declared_size=600 * 1024)
    assert [c.method for c in calls] == ["sendMessage"]  # no getFile: nothing downloaded
    assert "<b>big.yaml</b> is 600 KB; I accept files up to 512 KB." in texts(calls)
    calls = await upload(bot, TESS, "slides.pdf", b"%PDF-1.4")
    assert [c.method for c in calls] == ["sendMessage"]
    assert "<b>slides.pdf</b> is none of them" in texts(calls)
    calls = await upload(bot, TESS, "lesson.txt", b"x" * (3 * 1024 * 1024), 10)
    assert "is 3.0 MB; I accept files up to 512 KB" in texts(calls)  # Telegram's size was wrong
    calls = await upload(bot, TESS, "latin1.txt", "caf\xe9".encode("latin-1"))
    assert "is not UTF-8 text" in texts(calls)
    calls = await upload(bot, TESS, "empty.txt", b"  \n")
    assert "is empty" in texts(calls)
    # Telegram's sizes were both wrong: what arrived is measured too.
    bot.api.documents["huge"] = ("documents/huge.yaml", 10)
    bot.api.files["documents/huge.yaml"] = b"#" * (600 * 1024)
    calls = await bot.send(bot.updates.message(TESS, None, document=dict(FILE, file_id="huge")))
    assert [c.method for c in calls] == ["getFile", "sendMessage"]
    assert "<b>huge.yaml</b> is 600 KB; I accept files up to 512 KB" in texts(calls)
    # A file Telegram cannot serve.
    calls = await bot.send(bot.updates.message(TESS, None, document=dict(FILE, file_id="gone")))
    assert [c.method for c in calls] == ["getFile", "sendMessage"]
    assert "I could not download <b>huge.yaml</b> from Telegram" in texts(calls)


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("alias-bomb.yaml", "aliases that multiply, a 'billion laughs' file?"),
        ("custom-tag.yaml", "the tag !include is not allowed"),
    ],
)
async def test_hostile_yaml_gets_a_clear_reply(bot: Harness, file: str, expected: str) -> None:
    await grant(bot, TESS)
    data = (ROOT / "tests" / "packs" / "broken" / file).read_bytes()
    calls = await upload(bot, TESS, file, data)
    text = texts(calls)
    assert f"❌ <b>{file}</b>" in text and render.esc(expected) in text
    assert publish_data(calls) is None


async def test_non_utf8_and_python_tags_are_refused(bot: Harness) -> None:
    await grant(bot, TESS)
    calls = await upload(bot, TESS, "utf16.yaml", "pack: x".encode("utf-16"))
    assert "the file is UTF-16 text; save it as UTF-8" in texts(calls)
    calls = await upload(bot, TESS, "evil.yaml", b"pack: !!python/object/apply:os.system [ls]\n")
    assert "!!python/object/apply:os.system is not allowed" in texts(calls)


async def test_students_cannot_upload(
    bot: Harness, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "quizbot.instructor")
    calls = await upload(bot, SAM, "bees.yaml", pack_yaml(["trips"]))
    assert [c.method for c in calls] == ["sendMessage"]  # never downloaded
    assert "publishing question packs is for instructors" in texts(calls)
    assert any(
        "refused publishing question packs to Telegram user 301" in r.getMessage()
        for r in caplog.records
    )
    calls = await upload(bot, SAM, "photo.jpg", b"\xff\xd8")
    assert texts(calls) == "I read text only: send /quiz to start, or /help."
    assert await scalar(engine, select(func.count()).select_from(PackRow)) == 2  # the shipped


async def test_reupload_updates_items_and_keeps_history(bot: Harness, engine: AsyncEngine) -> None:
    await grant(bot, TESS)
    await publish(bot, TESS, ["trips", "honey", "life"])
    await play(bot, SAM, "bees-101")
    async with make_sessionmaker(engine)() as session:
        ids_before = dict((await session.execute(select(ItemRow.key, ItemRow.id))).all())
    edited = pack_yaml(["trips", "honey", "hive"]).replace(
        b"How many flowers does a bee visit on each trip?", b"How many flowers per trip?"
    )
    calls = await upload(bot, TESS, "bees.yaml", edited)
    text = texts(calls)
    assert "Already published; publishing will change:" in text
    assert "• 1 added: hive" in text
    assert "• 1 updated (their answers so far are kept): trips" in text
    assert "• 1 retired (no longer asked; their history is kept): life" in text
    assert "• 1 unchanged" in text
    calls = await bot.press(TESS, publish_data(calls) or "")
    assert "1 added, 1 updated, 1 retired, 1 unchanged" in texts(calls)
    async with make_sessionmaker(engine)() as session:
        rows = {
            key: (item_id, retired)
            for key, item_id, retired in (
                await session.execute(select(ItemRow.key, ItemRow.id, ItemRow.retired))
            ).all()
            if key in ITEMS
        }
        attempts = (await session.execute(select(func.count()).select_from(Attempt))).scalar()
    assert rows["trips"] == (ids_before["trips"], False)
    assert rows["life"] == (ids_before["life"], True)
    assert rows["hive"][1] is False
    assert attempts == 3  # Sam's answers survive the edit
    calls = await bot.text(SAM, "/start bees-101")
    assert "3 questions" in texts(calls)
    # The same file again changes nothing.
    calls = await upload(bot, TESS, "bees.yaml", edited)
    assert "It is the same as the published version (3 items)." in texts(calls)
    assert publish_data(calls) is None


async def test_slug_of_another_owner(bot: Harness, engine: AsyncEngine) -> None:
    await grant(bot, TESS)
    await grant(bot, OTTO)
    await publish(bot, TESS, ["trips"])
    await upload(bot, OTTO, "lesson.txt", ARTICLE.encode())
    calls = await upload(bot, OTTO, "mine.yaml", pack_yaml(["trips", "honey"]))
    text = texts(calls)
    assert "belongs to another instructor, so only an admin can overwrite it" in text
    assert publish_data(calls) is None
    # The operator's pack (imported from the content folder) is an admin's to replace too.
    atacms = (ROOT / "content" / "atacms-2024.yaml").read_bytes()
    calls = await upload(
        bot, OTTO, "atacms.yaml", atacms.replace(b"Biden approves", b"Otto approves")
    )
    assert "published by the bot's operator, so only an admin can replace it" in texts(calls)
    # An admin may overwrite, and is told whose pack it is; the owner stays.
    await upload(bot, ADMIN, "lesson.txt", ARTICLE.encode())
    calls = await upload(bot, ADMIN, "bees.yaml", pack_yaml(["trips", "honey"]))
    assert "belongs to another instructor; you replace it as admin" in texts(calls)
    calls = await bot.press(ADMIN, publish_data(calls) or "")
    assert "1 added" in texts(calls)
    owner = await scalar(engine, select(PackRow.owner_id).where(PackRow.slug == "bees-101"))
    assert owner == await scalar(engine, select(User.id).where(User.telegram_id == 201))


async def test_publish_rechecks_the_owner(bot: Harness, engine: AsyncEngine) -> None:
    """Between the check and the tap, another instructor published the same slug."""
    await grant(bot, TESS)
    await grant(bot, OTTO)
    await upload(bot, TESS, "lesson.txt", ARTICLE.encode())
    calls = await upload(bot, TESS, "bees.yaml", pack_yaml(["trips"]))
    data = publish_data(calls)
    await publish(bot, OTTO, ["trips", "honey"])
    calls = await bot.press(TESS, data or "")
    assert toast(calls) == "Not published: this pack belongs to someone else."
    assert "belongs to another instructor" in texts(calls)
    owner = await scalar(engine, select(PackRow.owner_id).where(PackRow.slug == "bees-101"))
    assert owner == await scalar(engine, select(User.id).where(User.telegram_id == 202))
    assert await scalar(engine, select(func.count()).select_from(ItemRow)) == 34 + 22 + 2


async def test_upload_expires(bot: Harness) -> None:
    await grant(bot, TESS)
    await upload(bot, TESS, "lesson.txt", ARTICLE.encode())
    calls = await upload(bot, TESS, "bees.yaml", pack_yaml(["trips"]))
    data = publish_data(calls)
    bot.clock.advance(seconds=31 * 60)
    calls = await bot.press(TESS, data or "")
    assert "no longer waiting" in toast(calls)
    calls = await upload(bot, TESS, "bees.yaml", pack_yaml(["trips"]))
    assert "I do not have the article 'lesson.txt'" in texts(calls)  # it expired too


# --------------------------------------------------------------------------- pack status


async def test_mypacks_and_status_changes(bot: Harness, engine: AsyncEngine) -> None:
    await grant(bot, TESS)
    await grant(bot, OTTO)
    calls = await bot.text(TESS, "/mypacks")
    assert "You have not published a pack yet" in texts(calls)
    await publish(bot, TESS, ["trips", "honey"])
    calls = await bot.text(TESS, "/mypacks")
    text = texts(calls)
    assert "📚 <b>Your packs</b>" in text and "atacms-2024" not in text
    assert "<b>Bees in summer</b> — <code>bees-101</code>" in text
    assert "✅ active · 2 items · 0 player(s)" in text
    assert "https://t.me/article_quiz_bot?start=bees-101" in text

    calls = await bot.text(TESS, "/hide bees-101")
    assert "is hidden: students no longer see it" in texts(calls)
    assert await scalar(engine, select(PackRow.status).where(PackRow.slug == "bees-101")) == (
        "hidden"
    )
    calls = await bot.text(SAM, "/start bees-101")
    assert "There is no quiz called <b>bees-101</b>" in texts(calls)
    calls = await bot.text(SAM, "/packs")
    assert "Bees in summer" not in texts(calls)
    calls = await bot.text(TESS, "/mypacks")
    assert "🙈 hidden · 2 items" in texts(calls)  # still visible to its instructor
    calls = await bot.text(ADMIN, "/mypacks")
    text = texts(calls)
    assert "📚 <b>All packs</b>" in text and "by Tess" in text and "operator's pack" in text
    assert "🙈 hidden" in text

    calls = await bot.text(OTTO, "/show bees-101")
    assert "belongs to another instructor" in texts(calls)
    calls = await bot.text(OTTO, "/retire atacms-2024")
    assert "belongs to the bot's operator" in texts(calls)
    calls = await bot.text(TESS, "/retire bees-101")
    assert "is retired" in texts(calls)
    calls = await bot.text(TESS, "/retire bees-101")
    assert "(It already was retired.)" in texts(calls)
    calls = await bot.text(ADMIN, "/show bees-101")
    assert "is visible to students" in texts(calls)
    calls = await bot.text(SAM, "/start bees-101")
    assert "2 questions" in texts(calls)
    for bad in ("/hide", "/hide a b", "/hide nope"):
        calls = await bot.text(TESS, bad)
        assert "Usage: /hide" in texts(calls) or "There is no pack called" in texts(calls)


# --------------------------------------------------------------------------- stats, export


async def test_stats_and_export(bot: Harness) -> None:
    await grant(bot, TESS)
    await grant(bot, OTTO)
    await publish(bot, TESS, ["trips", "life", "honey"])
    calls = await bot.text(TESS, "/stats bees-101")
    assert "No student has finished a full run" in texts(calls)
    calls = await bot.text(TESS, "/export bees-101")
    assert "Nobody has answered" in texts(calls)
    for n, student in enumerate(STUDENTS):
        await play(bot, student, "bees-101", pick=n % 2)
    calls = await bot.text(TESS, "/stats bees-101")
    text = texts(calls)
    assert "5 students, first complete runs (5 private)" in text
    assert "1. <b>trips</b> choice · 5 students" in text
    assert "3. <b>honey</b> truefalse · 5 students" in text
    assert "⚠ too hard: 0% correct" in text  # everyone typed "nectar" for life
    photo = next(c for c in calls if c.method == "sendPhoto")
    assert photo.files["photo"].startswith(b"\x89PNG\r\n\x1a\n")
    assert "facility against discrimination" in photo.params["caption"]

    calls = await bot.text(TESS, "/export bees-101")
    documents = [c for c in calls if c.method == "sendDocument"]
    assert len(documents) == 2
    attempts_csv = documents[0].files["document"].decode("utf-8-sig")
    assert attempts_csv.startswith("user_id,telegram_id,name,username,run_id")
    assert attempts_csv.count("\r\n") == 1 + 5 * 3
    assert "Student 3" in attempts_csv
    assert documents[1].files["document"].decode("utf-8-sig").count("\r\n") == 1 + 5
    assert "15 answers" in documents[0].params["caption"]

    calls = await bot.text(OTTO, "/stats bees-101")
    assert "belongs to another instructor" in texts(calls)
    assert not any(c.method in ("sendPhoto", "sendDocument") for c in calls)
    calls = await bot.text(ADMIN, "/export bees-101")
    assert sum(c.method == "sendDocument" for c in calls) == 2


async def test_restart_gives_instructors_their_menu(bot: Harness, engine: AsyncEngine) -> None:
    from bot.telegram.menus import set_menus

    await grant(bot, TESS)
    await bot.text(ADMIN, "/start")
    before = len(bot.api.calls)
    assert await set_menus(bot.app) == 2
    menus = {
        as_json(c.params["scope"])["chat_id"]: {m["command"] for m in as_json(c.params["commands"])}
        for c in bot.api.calls[before:]
    }
    assert sorted(menus) == [201, 900]
    assert "grant" in menus[900] and "grant" not in menus[201]
    assert {"mypacks", "stats", "export", "quiz"} <= menus[201]


async def test_cli_role_grant_list_revoke(
    bot: Harness,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("QUIZBOT_ADMIN_IDS", "900,901")

    async def quizbot(*args: str) -> tuple[int, str]:
        status = await asyncio.to_thread(main, list(args))
        return status, capsys.readouterr().out

    assert await quizbot("role", "grant", "201", "--name", "Tess") == (
        0,
        "201 is now an instructor\n",
    )
    assert await quizbot("role", "grant", "201") == (0, "201 already is an instructor\n")
    status, listing = await quizbot("role", "list")
    assert status == 0
    assert listing.startswith("instructors (1):\n  201  Tess  granted ")
    assert "from the shell" in listing
    assert listing.endswith("admins (QUIZBOT_ADMIN_IDS): 900, 901\n")
    # The bot sees the role at once: Tess may upload.
    calls = await upload(bot, TESS, "lesson.txt", ARTICLE.encode())
    assert "Article <b>lesson.txt</b> received" in texts(calls)
    assert await quizbot("role", "revoke", "201") == (0, "201 is no longer an instructor\n")
    assert await quizbot("role", "revoke", "201") == (0, "201 was not an instructor\n")
    assert await quizbot("role", "list") == (
        0,
        "no instructors\nadmins (QUIZBOT_ADMIN_IDS): 900, 901\n",
    )
    calls = await upload(bot, TESS, "lesson.txt", ARTICLE.encode())
    assert "is for instructors" in texts(calls)
    with pytest.raises(SystemExit):
        await asyncio.to_thread(main, ["role", "grant", "tess"])
    assert "is not a Telegram user id" in capsys.readouterr().err


def test_paginate_splits_and_counts() -> None:
    from bot.telegram.staff import paginate

    blocks = [f"line {n} " + "x" * 90 for n in range(200)]
    parts, left_out = paginate("head", blocks, lambda n: f"{n} lines", "foot", limit=1000)
    assert len(parts) == 3 and all(len(p) <= 1000 for p in parts)
    assert parts[0].startswith("head\nline 0 ")
    shown = sum(p.count("line ") for p in parts)
    assert parts[-1].endswith(f"… and {left_out} lines more, not shown.\n\nfoot")
    assert shown + left_out == 200
    parts, left_out = paginate("head", blocks[:2], lambda n: f"{n} lines", "foot")
    assert parts == [f"head\n{blocks[0]}\n{blocks[1]}\n\nfoot"] and left_out == 0


async def test_stats_of_a_long_pack_come_with_a_csv(bot: Harness, engine: AsyncEngine) -> None:
    await grant(bot, TESS)
    items = "".join(
        ITEMS["honey"].replace("id: honey", f"id: honey-{n}").replace("nectar.", f"nectar ({n}).")
        for n in range(150)
    )
    data = (
        "pack: long-bees\ntitle: Long\ndescription: Many items.\narticle: lesson.txt\n"
        f"items:\n{items}"
    ).encode()
    await upload(bot, TESS, "lesson.txt", ARTICLE.encode())
    calls = await upload(bot, TESS, "long.yaml", data)
    await bot.press(TESS, publish_data(calls) or "")
    student = await scalar(engine, select(User.id).where(User.telegram_id == 201))
    async with make_sessionmaker(engine)() as session, session.begin():
        pack_id = (
            await session.execute(select(PackRow.id).where(PackRow.slug == "long-bees"))
        ).scalar_one()
        item_ids = list(
            (
                await session.execute(
                    select(ItemRow.id).where(ItemRow.pack_id == pack_id).order_by(ItemRow.position)
                )
            ).scalars()
        )
        run = QuizRun(
            kind="private",
            mode="full",
            user_id=student,
            pack_id=pack_id,
            status="finished",
            item_order=item_ids,
            option_orders={},
            position=149,
            phase="answered",
            selected=[],
            options={},
            score=0,
            correct=0,
            answered=0,
            started_at=bot.clock.now,
            updated_at=bot.clock.now,
            finished_at=bot.clock.now,
        )
        session.add(run)
        await session.flush()
        for n, item_id in enumerate(item_ids):
            session.add(
                Attempt(
                    run_id=run.id,
                    item_id=item_id,
                    user_id=student,
                    pack_id=pack_id,
                    response='["True"]' if n % 2 else '["False"]',
                    correct=bool(n % 2),
                    score=1000 * (n % 2),
                    answered_at=bot.clock.now,
                    latency_ms=1000,
                )
            )
    calls = await bot.text(TESS, "/stats long-bees")
    parts = [c.params["text"] for c in calls if c.method == "sendMessage"]
    assert len(parts) == 4 and all(len(p) <= MessageLimit.MAX_TEXT_LENGTH for p in parts)
    assert "items more, not shown." in parts[-1]
    (document,) = [c for c in calls if c.method == "sendDocument"]
    rows = document.files["document"].decode("utf-8-sig").splitlines()
    assert len(rows) == 151 and rows[2].startswith("2,honey-1,truefalse,no,1,1,1,1.0,")
    assert any(c.method == "sendPhoto" for c in calls)
