"""Publishing packs by sending files in a private chat.

An instructor sends a pack (``.yaml``). Its ``article:`` is found by file name (the last part
of the path) among the ``.txt`` articles that instructor sent in the last 30 minutes, then
among the articles of published packs (their own, active ones, or any for an admin); the
server never reads its own files for an upload. A pack that arrives before its article waits
for it. A valid pack is answered with a summary, what publishing would change, and a Publish
button; the validated pack waits in the database for :data:`PENDING_MINUTES`
(:mod:`bot.quiz.uploads`), so Publish works after a restart and on any webhook worker. So do
the articles sent and a pack waiting for its article: the whole flow survives a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import PurePosixPath

from telegram import Update
from telegram.error import TelegramError

from bot.packs import ArticleError, PackReport, summarize, validate_pack_bytes
from bot.packs.validate import MAX_ARTICLE_BYTES, PACK_SUFFIXES, decode_article
from bot.quiz import uploads
from bot.quiz.uploads import WaitingPack
from bot.store.importer import ImportPlan
from bot.telegram import callbacks, render
from bot.telegram.context import QuizContext, Services, pressed, reply, services
from bot.telegram.staff import (
    Caller,
    caller_of,
    deep_link,
    paginate,
    plural,
    refuse,
    send_parts,
    size_text,
)
from bot.text import shorten

log = logging.getLogger("quizbot.instructor")


PENDING_MINUTES = uploads.PENDING_MINUTES
"""How long a validated upload waits for Publish, and an article or a pack for each other."""


ARTICLE_SUFFIXES = (".txt",)


def article_key(name: str) -> str:
    """The file name an article is known by: the last part of the path in ``article:``."""
    return PurePosixPath(name.replace("\\", "/")).name


def upload_kind(file_name: str) -> str | None:
    suffix = PurePosixPath(file_name).suffix.lower()
    if suffix in PACK_SUFFIXES:
        return "pack"
    if suffix in ARTICLE_SUFFIXES:
        return "article"
    return None


async def document_upload(update: Update, context: QuizContext) -> None:
    """A pack (.yaml) or an article (.txt) sent in a private chat."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.document is None:
        return
    document = message.document
    name = document.file_name or "the file"
    kind = upload_kind(document.file_name or "")
    caller = await caller_of(context, user)
    if not caller.staff:
        if kind is None:
            await message.reply_text("I read text only: send /quiz to start, or /help.")
        else:
            await refuse(update, caller, "publishing question packs")
        return
    if kind is None:
        await reply(
            update,
            f"I accept question packs as <b>.yaml</b> files and articles as <b>.txt</b> files; "
            f"<b>{render.esc(name)}</b> is neither. Nothing was published.",
        )
        return
    limit = services(context).settings.upload_max_bytes
    if kind == "article":
        limit = min(limit, MAX_ARTICLE_BYTES)
    if document.file_size is not None and document.file_size > limit:
        await reply(update, _too_big(name, document.file_size, limit))
        return
    data = await download(context, document.file_id, name, limit)
    if isinstance(data, str):
        await reply(update, data)
        return
    if kind == "article":
        await receive_article(update, context, caller, name, data)
    else:
        await receive_pack(update, context, caller, name, data)


def _too_big(name: str, size: int, limit: int) -> str:
    return (
        f"<b>{render.esc(name)}</b> is {size_text(size)}; I accept files up to "
        f"{size_text(limit)}. Nothing was published."
    )


async def download(context: QuizContext, file_id: str, name: str, limit: int) -> bytes | str:
    """The file's bytes, or a message saying why not (Telegram's size is checked again, and
    so is the length of what arrived)."""
    try:
        telegram_file = await context.bot.get_file(file_id)
        if telegram_file.file_size is not None and telegram_file.file_size > limit:
            return _too_big(name, telegram_file.file_size, limit)
        data = bytes(await telegram_file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("could not download file %s: %s", file_id, exc)
        return (
            f"I could not download <b>{render.esc(name)}</b> from Telegram. Please send it again."
        )
    if len(data) > limit:
        return _too_big(name, len(data), limit)
    return data


async def receive_article(
    update: Update, context: QuizContext, caller: Caller, name: str, data: bytes
) -> None:
    try:
        text = decode_article(data, name)
    except ArticleError as exc:
        await reply(update, f"❌ {render.esc(str(exc))}. Nothing was kept.")
        return
    uploads = services(context).uploads
    key = article_key(name)
    await uploads.hold_article(caller.telegram_id, key, text)
    words = len(text.split())
    waiting = await uploads.waiting_of(caller.telegram_id)
    if waiting is not None and waiting.article == key:
        waiting = await uploads.waiting_of(caller.telegram_id, take=True)
    if waiting is not None and waiting.article == key:
        await reply(
            update,
            f"📄 Article <b>{render.esc(key)}</b> received ({words:,} words). Checking "
            f"<b>{render.esc(waiting.file_name)}</b> again…",
        )
        await receive_pack(update, context, caller, waiting.file_name, waiting.data)
        return
    text_out = (
        f"📄 Article <b>{render.esc(key)}</b> received ({words:,} words). Now send the pack "
        f"whose <code>article:</code> is <code>{render.esc(key)}</code>; I keep the article "
        f"for {PENDING_MINUTES} minutes."
    )
    if waiting is not None:
        text_out += (
            f"\nNote: <b>{render.esc(waiting.file_name)}</b> is waiting for an article named "
            f"<b>{render.esc(waiting.article)}</b>, not this one."
        )
    await reply(update, text_out)


async def stored_article(svc: Services, caller: Caller, key: str) -> tuple[str, str] | None:
    """``(slug, text)`` of the article named ``key`` kept with a published pack that the
    caller may read: their own first, then the most recently updated."""
    return await svc.admin.stored_article(
        key, caller.user_id, caller.admin, lambda name: article_key(name) == key
    )


async def check_pack(
    context: QuizContext, caller: Caller, name: str, data: bytes
) -> tuple[PackReport, str | None, str | None]:
    """Validate an uploaded pack like ``quizbot pack validate``; also return where its article
    came from, and the name of an article that is missing."""
    svc = services(context)
    held = await svc.uploads.articles_of(caller.telegram_id)
    loop = asyncio.get_running_loop()
    origin: list[str] = []
    missing: list[str] = []

    def load_article(article: str) -> str:
        # Runs in the validation thread; the database is read on the event loop.
        key = article_key(article)
        if key in held:
            origin.append(f"{key}, the article you sent")
            return held[key]
        found = asyncio.run_coroutine_threadsafe(stored_article(svc, caller, key), loop).result()
        if found is None:
            missing.append(key)
            raise ArticleError(
                f"I do not have the article {key!r}: send it to me as a .txt file named {key}"
            )
        slug, text = found
        origin.append(f"{key}, the article of the published pack {slug}")
        return text

    report = await asyncio.to_thread(validate_pack_bytes, data, name, load_article)
    return report, (origin[0] if origin else None), (missing[0] if missing else None)


def ownership_refusal(caller: Caller, plan: ImportPlan) -> str | None:
    """Why the caller may not publish over an existing pack, or None."""
    if plan.new_pack or plan.owner_id == caller.user_id or caller.admin:
        return None
    slug = f"<code>{render.esc(plan.slug)}</code>"
    if plan.owner_id is None:
        return (
            f"The pack {slug} was published by the bot's operator, so only an admin can "
            "replace it. Choose another <code>pack:</code> slug to publish your own."
        )
    return (
        f"The pack {slug} belongs to another instructor, so only an admin can overwrite it. "
        "Choose another <code>pack:</code> slug."
    )


def plan_blocks(plan: ImportPlan) -> list[str]:
    if plan.new_pack:
        return [f"🆕 New pack: {len(plan.added)} items will be published."]
    if not plan.changes_anything:
        return [f"It is the same as the published version ({plan.unchanged} items)."]
    blocks = ["Already published; publishing will change:"]
    for label, keys, note in (
        ("added", plan.added, ""),
        ("updated", plan.updated, " (their answers so far are kept)"),
        ("retired", plan.retired, " (no longer asked; their history is kept)"),
    ):
        if keys:
            shown = shorten(", ".join(keys), 600)
            blocks.append(f"• {len(keys)} {label}{note}: {render.esc(shown)}")
    blocks.append(f"• {plan.unchanged} unchanged")
    if plan.header_changed:
        blocks.append("• the title, description, settings or article change")
    return blocks


async def receive_pack(
    update: Update, context: QuizContext, caller: Caller, name: str, data: bytes
) -> None:
    """Validate an uploaded pack and reply with its problems, or its summary and plan."""
    svc = services(context)
    report, origin, missing = await check_pack(context, caller, name, data)
    shown = f"<b>{render.esc(name)}</b>"
    if not report.ok or report.pack is None:
        footer = "Nothing was published: fix the file and send it again."
        if missing is not None:
            await svc.uploads.hold_waiting(caller.telegram_id, WaitingPack(name, data, missing))
            footer = (
                f"Send the article <b>{render.esc(missing)}</b> as a .txt file and I will check "
                f"{shown} again (I keep it for {PENDING_MINUTES} minutes)."
            )
        errors = len(report.errors)
        header = f"❌ {shown}: {errors} problem{'s' if errors != 1 else ''}."
        blocks = [render.esc(shorten(p.located(), 1000)) for p in report.problems]
        parts, _ = paginate(header, blocks, plural("problem"), footer)
        await send_parts(update, parts)
        return
    pack = report.pack
    plan, row = await svc.admin.plan_upload(pack)
    header = f"✅ {shown} is valid: <b>{render.esc(pack.title)}</b> (<code>{pack.slug}</code>)"
    blocks = [render.esc(" · ".join(summarize(pack).lines()))]
    if origin:
        blocks.append(f"📄 Article: {render.esc(origin)}")
    if report.warnings:
        blocks.append(f"⚠ {len(report.warnings)} warning(s):")
        blocks += [render.esc(shorten(p.located(), 1000)) for p in report.warnings]
    blocks += plan_blocks(plan)
    refusal = ownership_refusal(caller, plan)
    markup = None
    if refusal is not None:
        log.warning(
            "refused publishing %s over pack %s to Telegram user %s: not the owner",
            name,
            pack.slug,
            caller.telegram_id,
        )
        footer = f"⛔ {refusal} Nothing was published."
    elif not plan.changes_anything:
        footer = "Nothing to publish."
    else:
        if row is not None and not plan.new_pack:
            if row.owner_id is None:
                blocks.append(
                    "⚠ This pack comes from the bot's content folder, which is imported again "
                    "at every start: change the file there too, or a restart brings it back."
                )
            elif row.owner_id != caller.user_id:
                blocks.append("⚠ This pack belongs to another instructor; you replace it as admin.")
            if row.status != "active":
                blocks.append(
                    f"It is {row.status}: students will not see it until /show {pack.slug}."
                )
        pending = await svc.uploads.hold(caller.telegram_id, pack, name)
        markup = render.keyboard([[("📤 Publish", callbacks.publish(pending.token))]])
        footer = f"Tap Publish within {PENDING_MINUTES} minutes: the upload expires then."
    parts, _ = paginate(header, blocks, plural("line"), footer)
    await send_parts(update, parts, markup)


async def publish_button(update: Update, context: QuizContext) -> None:
    """The Publish button under a checked upload."""
    action = await pressed(update)
    if action is None:
        return
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    svc = services(context)
    gone = (
        "This upload is no longer waiting (published already, or expired after "
        f"{PENDING_MINUTES} minutes). Send the file again."
    )
    uploader = await svc.uploads.uploader_of(action.slug)
    if uploader is None:
        await query.answer(gone, show_alert=True)
        return
    caller = await caller_of(context, user)
    if uploader != user.id:
        log.warning(
            "Telegram user %s pressed Publish on an upload by %s; refused", user.id, uploader
        )
        await query.answer("Only the instructor who sent this file can publish it.")
        return
    if not caller.staff:
        await refuse(update, caller, "publishing question packs")
        return
    # Claimed before publishing, so that a second tap cannot publish the same upload again.
    pack = await svc.uploads.claim(action.slug, user.id)
    if pack is None:
        await query.answer(gone, show_alert=True)
        return
    published = await svc.admin.publish(
        pack, caller.user_id, lambda plan: ownership_refusal(caller, plan)
    )
    plan, refusal, status = published.plan, published.refusal, published.status
    if refusal is not None:
        # Someone else published this slug since the upload was checked.
        await query.answer("Not published: this pack belongs to someone else.")
        await reply(update, f"⛔ {refusal} Nothing was published.")
        return
    assert status is not None
    log.info("Telegram user %s published %s", user.id, plan.describe())
    await query.answer("Published ✅")
    if query.message is not None:
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(reply_markup=None)
    title = f"<b>{render.esc(pack.title)}</b>"
    if status == "active":
        where = (
            f"Share this link with your class: {deep_link(context, pack.slug)}\n"
            f"Groups play it with /quiz {pack.slug}."
        )
    else:
        where = f"It is {status}: /show {pack.slug} makes it visible to students."
    await reply(
        update,
        f"📤 Published {title}: {render.esc(plan.describe())}.\n{where}\n"
        f"/stats {pack.slug} shows how its questions work once students have played.",
    )
