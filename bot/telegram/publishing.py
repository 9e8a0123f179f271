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
import re
from collections.abc import Sequence
from pathlib import PurePosixPath

from telegram import Update
from telegram.error import TelegramError

from bot.i18n import N_, Translator
from bot.packs import ArticleError, PackReport, summarize, validate_pack_bytes
from bot.packs.convert import FORMATS as CONVERT_FORMATS
from bot.packs.convert import MAX_INPUT_BYTES, convert
from bot.packs.convert.aiken import looks_like_aiken
from bot.packs.facts import Say, fact
from bot.packs.validate import MAX_ARTICLE_BYTES, PACK_SUFFIXES, decode_article
from bot.packs.wording import say
from bot.quiz import uploads
from bot.quiz.uploads import WaitingPack
from bot.store.importer import ImportPlan
from bot.telegram import callbacks, drafts, render
from bot.telegram.context import QuizContext, Services, pressed, reply, services
from bot.telegram.staff import (
    PUBLISHING,
    Caller,
    caller_of,
    counted,
    deep_link,
    paginate,
    refuse,
    send_parts,
    size_text,
)
from bot.text import shorten

log = logging.getLogger("quizbot.instructor")


PENDING_MINUTES = uploads.PENDING_MINUTES
"""How long a validated upload waits for Publish, and an article or a pack for each other."""


ARTICLE_SUFFIXES = (".txt",)
QUESTION_SUFFIXES = tuple(suffix for suffix in CONVERT_FORMATS if suffix != ".txt")
"""Question files of other tools (Moodle XML, GIFT, Aiken, spreadsheets); a ``.txt`` file is
one of them when it reads like GIFT or Aiken (:func:`looks_like_questions`), else an article."""

_GIFT_ANSWERS = re.compile(r"(?<!\\)\{\s*(?:[=~#]|T(?:RUE)?\s*\}|F(?:ALSE)?\s*\})")

NOT_A_PACK = N_(
    "I accept question packs as <b>.yaml</b> files, articles as <b>.txt</b> files, and "
    "questions from other tools as Moodle XML (<b>.xml</b>), GIFT (<b>.gift</b>), Aiken "
    "(<b>.aiken</b>), <b>.csv</b> or <b>.xlsx</b> files; <b>{name}</b> is none of them. "
    "Nothing was published."
)
NOTHING_PUBLISHED = N_("Nothing was published: fix the file and send it again.")


def article_key(name: str) -> str:
    """The file name an article is known by: the last part of the path in ``article:``."""
    return PurePosixPath(name.replace("\\", "/")).name


def upload_kind(file_name: str) -> str | None:
    """``pack`` (YAML), ``questions`` (another tool's format), ``text`` (an article, or GIFT or
    Aiken questions: told apart once read), or None."""
    suffix = PurePosixPath(file_name).suffix.lower()
    if suffix in PACK_SUFFIXES:
        return "pack"
    if suffix in QUESTION_SUFFIXES:
        return "questions"
    if suffix in ARTICLE_SUFFIXES:
        return "text"
    return None


def looks_like_questions(data: bytes) -> bool:
    """A ``.txt`` file of GIFT questions (an answer block such as ``{=…``, ``{~…``, ``{#…``,
    ``{T}``) or of Aiken questions (``ANSWER: B`` lines), rather than an article."""
    text = data.decode("utf-8-sig", errors="replace")
    return looks_like_aiken(text) or _GIFT_ANSWERS.search(text) is not None


def is_draft_request(caption: str | None) -> bool:
    """The caption ``/draft`` (or ``/draft@bot``, with options after it)."""
    words = (caption or "").split()
    return bool(words) and words[0].split("@")[0].lower() == "/draft"


async def document_upload(update: Update, context: QuizContext) -> None:
    """A pack (.yaml), an article (.txt), a question file of another tool, or an article to
    draft a pack from (caption /draft), sent in a private chat."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.document is None:
        return
    document = message.document
    caller = await caller_of(context, user)
    t = caller.t
    name = document.file_name or t.gettext("the file")
    kind = upload_kind(document.file_name or "")
    drafting = is_draft_request(message.caption)
    if not caller.staff:
        if kind is None and not drafting:
            await message.reply_text(t.gettext("I read text only: send /quiz to start, or /help."))
        else:
            await refuse(update, caller, "/draft" if drafting else PUBLISHING)
        return
    if drafting and kind != "text":
        await reply(update, drafts.needs_txt(caller.t, name))
        return
    if kind is None:
        await reply(update, t.gettext(NOT_A_PACK, name=render.esc(name)))
        return
    limit = services(context).settings.upload_max_bytes
    if kind == "text":
        limit = min(
            limit, MAX_ARTICLE_BYTES if drafting else max(MAX_ARTICLE_BYTES, MAX_INPUT_BYTES)
        )
    elif kind == "questions":
        limit = min(limit, MAX_INPUT_BYTES)
    if document.file_size is not None and document.file_size > limit:
        await reply(update, _too_big(t, name, document.file_size, limit))
        return
    data = await download(context, t, document.file_id, name, limit)
    if isinstance(data, str):
        await reply(update, data)
        return
    if drafting:
        await drafts.receive_draft(update, context, caller, name, data, message.caption)
    elif kind == "questions" or (kind == "text" and looks_like_questions(data)):
        await receive_questions(update, context, caller, name, data)
    elif kind == "text":
        await receive_article(update, context, caller, name, data)
    else:
        await receive_pack(update, context, caller, name, data)


def _too_big(t: Translator, name: str, size: int, limit: int) -> str:
    return t.gettext(
        "<b>{name}</b> is {size}; I accept files up to {limit}. Nothing was published.",
        name=render.esc(name),
        size=size_text(size),
        limit=size_text(limit),
    )


async def download(
    context: QuizContext, t: Translator, file_id: str, name: str, limit: int
) -> bytes | str:
    """The file's bytes, or a message saying why not (Telegram's size is checked again, and
    so is the length of what arrived)."""
    try:
        telegram_file = await context.bot.get_file(file_id)
        if telegram_file.file_size is not None and telegram_file.file_size > limit:
            return _too_big(t, name, telegram_file.file_size, limit)
        data = bytes(await telegram_file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("could not download file %s: %s", file_id, exc)
        return t.gettext(
            "I could not download <b>{name}</b> from Telegram. Please send it again.",
            name=render.esc(name),
        )
    if len(data) > limit:
        return _too_big(t, name, len(data), limit)
    return data


async def receive_article(
    update: Update, context: QuizContext, caller: Caller, name: str, data: bytes
) -> None:
    t = caller.t
    try:
        text = decode_article(data, name)
    except ArticleError as exc:
        error = render.esc(say(t, exc.fact))
        await reply(update, t.gettext("❌ {error}. Nothing was kept.", error=error))
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
            t.ngettext(
                "📄 Article <b>{key}</b> received ({n} word). Checking <b>{pack}</b> again…",
                "📄 Article <b>{key}</b> received ({n} words). Checking <b>{pack}</b> again…",
                words,
                key=render.esc(key),
                pack=render.esc(waiting.file_name),
            ),
        )
        await receive_pack(update, context, caller, waiting.file_name, waiting.data)
        return
    text_out = (
        t.ngettext(
            "📄 Article <b>{key}</b> received ({n} word).",
            "📄 Article <b>{key}</b> received ({n} words).",
            words,
            key=render.esc(key),
        )
        + " "
        + t.ngettext(
            "Now send the pack whose <code>article:</code> is <code>{key}</code>; I keep the "
            "article for {n} minute.",
            "Now send the pack whose <code>article:</code> is <code>{key}</code>; I keep the "
            "article for {n} minutes.",
            PENDING_MINUTES,
            key=render.esc(key),
        )
    )
    if waiting is not None:
        text_out += "\n" + t.gettext(
            "Note: <b>{pack}</b> is waiting for an article named <b>{article}</b>, not this one.",
            pack=render.esc(waiting.file_name),
            article=render.esc(waiting.article),
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
    t = caller.t
    held = await svc.uploads.articles_of(caller.telegram_id)
    loop = asyncio.get_running_loop()
    origin: list[str] = []
    missing: list[str] = []

    def load_article(article: str) -> str:
        # Runs in the validation thread; the database is read on the event loop.
        key = article_key(article)
        if key in held:
            origin.append(t.gettext("{key}, the article you sent", key=key))
            return held[key]
        found = asyncio.run_coroutine_threadsafe(stored_article(svc, caller, key), loop).result()
        if found is None:
            missing.append(key)
            raise ArticleError(fact(Say.ARTICLE_NOT_SENT, quoted=repr(key), key=key))
        slug, text = found
        origin.append(
            t.gettext("{key}, the article of the published pack {slug}", key=key, slug=slug)
        )
        return text

    report = await asyncio.to_thread(validate_pack_bytes, data, name, load_article)
    return report, (origin[0] if origin else None), (missing[0] if missing else None)


def ownership_refusal(t: Translator, caller: Caller, plan: ImportPlan) -> str | None:
    """Why the caller may not publish over an existing pack, or None."""
    if plan.new_pack or plan.owner_id == caller.user_id or caller.admin:
        return None
    slug = f"<code>{render.esc(plan.slug)}</code>"
    if plan.owner_id is None:
        return t.gettext(
            "The pack {slug} was published by the bot's operator, so only an admin can "
            "replace it. Choose another <code>pack:</code> slug to publish your own.",
            slug=slug,
        )
    return t.gettext(
        "The pack {slug} belongs to another instructor, so only an admin can overwrite it. "
        "Choose another <code>pack:</code> slug.",
        slug=slug,
    )


def plan_blocks(t: Translator, plan: ImportPlan) -> list[str]:
    if plan.new_pack:
        return [
            t.ngettext(
                "🆕 New pack: {n} item will be published.",
                "🆕 New pack: {n} items will be published.",
                len(plan.added),
            )
        ]
    if not plan.changes_anything:
        return [
            t.ngettext(
                "It is the same as the published version ({n} item).",
                "It is the same as the published version ({n} items).",
                plan.unchanged,
            )
        ]
    blocks = [t.gettext("Already published; publishing will change:")]
    changes = [
        (plan.added, t.ngettext("• {n} added", "• {n} added", len(plan.added))),
        (
            plan.updated,
            t.ngettext(
                "• {n} updated (their answers so far are kept)",
                "• {n} updated (their answers so far are kept)",
                len(plan.updated),
            ),
        ),
        (
            plan.retired,
            t.ngettext(
                "• {n} retired (no longer asked; their history is kept)",
                "• {n} retired (no longer asked; their history is kept)",
                len(plan.retired),
            ),
        ),
    ]
    for keys, line in changes:
        if keys:
            shown = shorten(", ".join(keys), 600)
            blocks.append(f"{line}: {render.esc(shown)}")
    blocks.append(t.ngettext("• {n} unchanged", "• {n} unchanged", plan.unchanged))
    if plan.header_changed:
        blocks.append(t.gettext("• the title, description, settings or article change"))
    return blocks


async def receive_pack(
    update: Update, context: QuizContext, caller: Caller, name: str, data: bytes
) -> None:
    """Validate an uploaded pack and reply with its problems, or its summary and plan."""
    report, origin, missing = await check_pack(context, caller, name, data)
    await answer_report(update, context, caller, name, report, origin, missing, data)


def not_converted(t: Translator, name: str, fmt: str, problems: int, nothing: bool) -> str:
    params = {"name": render.esc(name), "format": render.esc(fmt)}
    if nothing:
        return t.ngettext(
            "❌ <b>{name}</b> ({format}): nothing could be converted, {n} problem.",
            "❌ <b>{name}</b> ({format}): nothing could be converted, {n} problems.",
            problems,
            **params,
        )
    return t.ngettext(
        "❌ <b>{name}</b> ({format}): not every question could be read, {n} problem.",
        "❌ <b>{name}</b> ({format}): not every question could be read, {n} problems.",
        problems,
        **params,
    )


def converted(t: Translator, fmt: str, items: int) -> str:
    return t.ngettext(
        "🔁 Converted from {format}: {n} question, no article (answers are explained "
        "without a quote).",
        "🔁 Converted from {format}: {n} questions, no article (answers are explained "
        "without a quote).",
        items,
        format=render.esc(fmt),
    )


async def receive_questions(
    update: Update, context: QuizContext, caller: Caller, name: str, data: bytes
) -> None:
    """Convert another tool's question file into a pack (no article: its items stand on
    their own), then answer like a YAML upload, with what was skipped."""
    t = caller.t
    stem = PurePosixPath(article_key(name)).stem
    conversion = await asyncio.to_thread(convert, name, data, None, None, f"{stem}.yaml")
    notes = [
        render.esc(shorten(t.gettext("skipped: {note}", note=say(t, note)), 600))
        for note in conversion.skipped
    ]
    if conversion.report is None or conversion.problems:
        # Input that could not be read blocks publishing: a question would be lost unseen.
        header = not_converted(
            t, name, conversion.format, len(conversion.problems), conversion.report is None
        )
        blocks = [render.esc(shorten(f"{name}:{p.text(t)}", 1000)) for p in conversion.problems]
        footer = t.gettext(NOTHING_PUBLISHED)
        parts, _ = paginate(
            header, [*blocks, *notes], counted(caller.t, "line"), footer, t=caller.t
        )
        await send_parts(update, parts)
        return
    intro = [converted(t, conversion.format, conversion.items)]
    await answer_report(
        update, context, caller, name, conversion.report, None, None, data, [*intro, *notes]
    )


async def answer_report(
    update: Update,
    context: QuizContext,
    caller: Caller,
    name: str,
    report: PackReport,
    origin: str | None,
    missing: str | None,
    data: bytes,
    notes: Sequence[str] = (),
) -> None:
    """Reply to a checked upload: its problems, or its summary, quality warnings, what
    publishing would change and the Publish button. ``notes`` come first (a conversion's)."""
    svc = services(context)
    t = caller.t
    shown = f"<b>{render.esc(name)}</b>"
    if not report.ok or report.pack is None:
        footer = t.gettext(NOTHING_PUBLISHED)
        if missing is not None:
            await svc.uploads.hold_waiting(caller.telegram_id, WaitingPack(name, data, missing))
            footer = t.ngettext(
                "Send the article <b>{article}</b> as a .txt file and I will check {pack} "
                "again (I keep it for {n} minute).",
                "Send the article <b>{article}</b> as a .txt file and I will check {pack} "
                "again (I keep it for {n} minutes).",
                PENDING_MINUTES,
                article=render.esc(missing),
                pack=shown,
            )
        header = t.ngettext(
            "❌ {pack}: {n} problem.", "❌ {pack}: {n} problems.", len(report.errors), pack=shown
        )
        blocks = [render.esc(shorten(p.located(t), 1000)) for p in report.problems]
        parts, _ = paginate(
            header, [*notes, *blocks], counted(caller.t, "problem"), footer, t=caller.t
        )
        await send_parts(update, parts)
        return
    pack = report.pack
    plan, row = await svc.admin.plan_upload(pack)
    header = t.gettext(
        "✅ {pack} is valid: <b>{title}</b> (<code>{slug}</code>)",
        pack=shown,
        title=render.esc(pack.title),
        slug=pack.slug,
    )
    blocks = [*notes, render.esc(" · ".join(summarize(pack).lines(t)))]
    if origin:
        blocks.append(t.gettext("📄 Article: {origin}", origin=render.esc(origin)))
    if report.quality is not None:
        blocks.append(f"🔎 {render.esc(report.quality.summary(t))}")
    if report.warnings:
        blocks.append(
            t.ngettext(
                "⚠ {n} warning (it does not block publishing; see the pack format guide):",
                "⚠ {n} warnings (they do not block publishing; see the pack format guide):",
                len(report.warnings),
            )
        )
        blocks += [render.esc(shorten(p.located(t), 1000)) for p in report.warnings]
    blocks += plan_blocks(t, plan)
    refusal = ownership_refusal(t, caller, plan)
    markup = None
    if refusal is not None:
        log.warning(
            "refused publishing %s over pack %s to Telegram user %s: not the owner",
            name,
            pack.slug,
            caller.telegram_id,
        )
        footer = t.gettext("⛔ {refusal} Nothing was published.", refusal=refusal)
    elif not plan.changes_anything:
        footer = t.gettext("Nothing to publish.")
    else:
        if row is not None and not plan.new_pack:
            if row.owner_id is None:
                blocks.append(
                    t.gettext(
                        "⚠ This pack comes from the bot's content folder, which is imported "
                        "again at every start: change the file there too, or a restart brings "
                        "it back."
                    )
                )
            elif row.owner_id != caller.user_id:
                blocks.append(
                    t.gettext("⚠ This pack belongs to another instructor; you replace it as admin.")
                )
            if row.status != "active":
                blocks.append(not_shown(t, row.status, pack.slug))
        pending = await svc.uploads.hold(caller.telegram_id, pack, name)
        markup = render.keyboard([[(t.gettext("📤 Publish"), callbacks.publish(pending.token))]])
        footer = t.ngettext(
            "Tap Publish within {n} minute: the upload expires then.",
            "Tap Publish within {n} minutes: the upload expires then.",
            PENDING_MINUTES,
        )
    parts, _ = paginate(header, blocks, counted(caller.t, "line"), footer, t=caller.t)
    await send_parts(update, parts, markup)


async def publish_button(update: Update, context: QuizContext) -> None:
    """The Publish button under a checked upload."""
    action = await pressed(update, context)
    if action is None:
        return
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    svc = services(context)
    caller = await caller_of(context, user)
    t = caller.t
    gone = t.ngettext(
        "This upload is no longer waiting (published already, or expired after {n} minute). "
        "Send the file again.",
        "This upload is no longer waiting (published already, or expired after {n} minutes). "
        "Send the file again.",
        PENDING_MINUTES,
    )
    uploader = await svc.uploads.uploader_of(action.slug)
    if uploader is None:
        await query.answer(gone, show_alert=True)
        return
    if uploader != user.id:
        log.warning(
            "Telegram user %s pressed Publish on an upload by %s; refused", user.id, uploader
        )
        await query.answer(t.gettext("Only the instructor who sent this file can publish it."))
        return
    if not caller.staff:
        await refuse(update, caller, PUBLISHING)
        return
    # Claimed before publishing, so that a second tap cannot publish the same upload again.
    pack = await svc.uploads.claim(action.slug, user.id)
    if pack is None:
        await query.answer(gone, show_alert=True)
        return
    published = await svc.admin.publish(
        pack, caller.user_id, lambda plan: ownership_refusal(t, caller, plan)
    )
    plan, refusal, status = published.plan, published.refusal, published.status
    if refusal is not None:
        # Someone else published this slug since the upload was checked.
        await query.answer(t.gettext("Not published: this pack belongs to someone else."))
        await reply(update, t.gettext("⛔ {refusal} Nothing was published.", refusal=refusal))
        return
    assert status is not None
    log.info("Telegram user %s published %s", user.id, plan.describe())
    await query.answer(t.gettext("Published ✅"))
    if query.message is not None:
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(reply_markup=None)
    title = f"<b>{render.esc(pack.title)}</b>"
    if status == "active":
        where = t.gettext(
            "Share this link with your class: {link}\nGroups play it with /quiz {slug}.",
            link=deep_link(context, pack.slug),
            slug=pack.slug,
        )
    else:
        where = not_shown(t, status, pack.slug)
    published_line = t.gettext(
        "📤 Published {title}: {plan}.", title=title, plan=render.esc(plan.describe())
    )
    stats_line = t.gettext(
        "/stats {slug} shows how its questions work once students have played.", slug=pack.slug
    )
    await reply(update, f"{published_line}\n{where}\n{stats_line}")


def not_shown(t: Translator, status: str, slug: str) -> str:
    """A hidden or retired pack is not offered to students (a whole sentence per status, so
    that each language agrees the words with the pack)."""
    if status == "retired":
        return t.gettext("It is retired: students will not see it until /show {slug}.", slug=slug)
    return t.gettext("It is hidden: students will not see it until /show {slug}.", slug=slug)
