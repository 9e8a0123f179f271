"""Instructor tools in Telegram: roles, publishing packs by sending files, pack status, item
analysis and results export.

Admins are the Telegram ids in ``QUIZBOT_ADMIN_IDS``; instructors are granted by an admin
(``/grant``) and stored in the ``roles`` table. An instructor manages the packs they published;
an admin manages every pack. Anyone else gets a polite refusal, nothing changes, and the
attempt is logged.

Publishing: an instructor sends a pack (``.yaml``) in a private chat. Its ``article:`` is found
by file name (the last part of the path) among the ``.txt`` articles that instructor sent in
the last 30 minutes, then among the articles of published packs (their own, active ones, or
any for an admin); the server never reads its own files for an upload. A pack that arrives
before its article waits for it. A valid pack is answered with a summary, what publishing
would change, and a Publish button; the validated pack waits in the database for
:data:`PENDING_MINUTES` (:mod:`bot.quiz.uploads`), so Publish works after a restart and on any
webhook worker. Articles and packs waiting for their article are held in this process only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, Update, User
from telegram.constants import MessageLimit, ParseMode
from telegram.error import TelegramError
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.packs import ArticleError, PackReport, summarize, validate_pack_bytes
from bot.packs.validate import MAX_ARTICLE_BYTES, PACK_SUFFIXES, decode_article
from bot.quiz import analysis, uploads
from bot.quiz.export import csv_bytes
from bot.quiz.packadmin import STATUS_OF_ACTION
from bot.store.importer import ImportPlan
from bot.store.models import PackRow
from bot.telegram import callbacks, render
from bot.telegram.app import QuizApp, QuizContext, Services
from bot.telegram.handlers import player_of, reply
from bot.text import shorten

log = logging.getLogger("quizbot.instructor")

PENDING_MINUTES = uploads.PENDING_MINUTES
"""How long a validated upload waits for Publish, and an article or a pack for each other."""

HELD_PER_USER = 5
"""Articles (and validated packs) kept per instructor; the oldest goes first."""

MESSAGE_PARTS = 3
"""Most messages one reply is split into; what does not fit is counted, not sent."""

DOCUMENT_LIMIT = 50 * 1024 * 1024
"""Largest file a bot may send (Bot API)."""

ARTICLE_SUFFIXES = (".txt",)

STATUS_OF = STATUS_OF_ACTION

INSTRUCTOR_HELP = """<b>Instructor tools</b>
<b>Publish a pack:</b> send me its <b>.yaml</b> file here. Its <code>article:</code> must name an \
article I have: send the article as a <b>.txt</b> file with that name (before or after the \
pack), or name the article of a pack that is already published. I check the pack like \
<code>quizbot pack validate</code> and show what publishing would change; the Publish button \
does it (within 30 minutes). You get the link to share with your class.

/mypacks — your packs and their status
/stats <i>pack</i> — item analysis: which questions work, with a chart
/export <i>pack</i> — the results as CSV files
/hide, /show, /retire <i>pack</i> — hidden and retired packs are not offered to students
/instructor — this help"""

ADMIN_HELP = """
<b>Admins:</b> /grant and /revoke the instructor role, with a user id or @username, or in \
reply to that person's message."""


def services(context: QuizContext) -> Services:
    return context.bot_data.services


# --------------------------------------------------------------------------- who is asking


@dataclass(frozen=True)
class Caller:
    """The Telegram user behind an update, with their roles."""

    user_id: int
    telegram_id: int
    name: str
    admin: bool
    instructor: bool

    @property
    def staff(self) -> bool:
        return self.admin or self.instructor

    def may_manage(self, owner_id: int | None) -> bool:
        """Admins manage every pack; instructors the packs they published."""
        return self.admin or (owner_id is not None and owner_id == self.user_id)


async def caller_of(context: QuizContext, user: User) -> Caller:
    svc = services(context)
    user_id = await svc.quiz.register(player_of(user))
    instructor = await svc.admin.is_instructor(user_id)
    admin = user.id in svc.settings.admin_ids
    return Caller(user_id, user.id, user.full_name or str(user.id), admin, instructor)


async def refuse(update: Update, caller: Caller, what: str, admins_only: bool = False) -> None:
    """Politely say no, change nothing, and log the attempt."""
    log.warning(
        "refused %s to Telegram user %s (%s): %s",
        what,
        caller.telegram_id,
        caller.name,
        "not an admin" if admins_only else "not an instructor",
    )
    if admins_only:
        text = "Sorry, only an admin of this bot can grant or revoke the instructor role."
    else:
        text = (
            f"Sorry, {render.esc(what)} is for instructors. If you teach with this bot, "
            "ask its admin to give you the instructor role. Send /help for what you can do."
        )
    if update.callback_query is not None:
        await update.callback_query.answer(text[:190], show_alert=True)
    else:
        await reply(update, text)


async def staff_only(update: Update, context: QuizContext, what: str) -> Caller | None:
    """The caller if they are an instructor or an admin; otherwise refuse and return None."""
    user = update.effective_user
    if user is None:
        return None
    caller = await caller_of(context, user)
    if not caller.staff:
        await refuse(update, caller, what)
        return None
    return caller


# --------------------------------------------------------------------------- long replies


def paginate(
    header: str,
    blocks: Sequence[str],
    unit: Callable[[int], str],
    footer: str = "",
    limit: int = MessageLimit.MAX_TEXT_LENGTH,
    max_parts: int = MESSAGE_PARTS,
) -> tuple[list[str], int]:
    """Messages of at most ``limit`` characters: ``header``, then as many ``blocks`` as fit in
    ``max_parts`` messages, then ``footer``. Blocks that do not fit are counted in a last line
    (``unit(n)`` names them); returns the messages and that count. Each block must be shorter
    than ``limit`` minus the room kept for the count and the footer."""
    room = limit - len(footer) - 80
    parts: list[str] = [header]
    left_out = 0
    for index, block in enumerate(blocks):
        if len(parts[-1]) + 1 + len(block) <= room:
            parts[-1] = f"{parts[-1]}\n{block}" if parts[-1] else block
        elif len(parts) < max_parts:
            parts.append(block)
        else:
            left_out = len(blocks) - index
            parts[-1] += f"\n… and {unit(left_out)} more, not shown."
            break
    if footer:
        parts[-1] += "\n\n" + footer
    return parts, left_out


def _plural(word: str) -> Callable[[int], str]:
    return lambda n: f"{n} {word}{'' if n == 1 else 's'}"


async def send_parts(update: Update, parts: Sequence[str], markup: Any = None) -> None:
    """Send the parts in order; ``markup`` (a keyboard) goes on the last one."""
    for number, part in enumerate(parts, start=1):
        await reply(update, part, reply_markup=markup if number == len(parts) else None)


def size_text(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:,.0f} KB"
    return f"{size / (1024 * 1024):,.1f} MB"


def deep_link(context: QuizContext, slug: str) -> str:
    return f"https://t.me/{context.bot.username}?start={slug}"


# --------------------------------------------------------------------------- pending uploads


@dataclass
class HeldArticle:
    name: str
    text: str
    expires_at: datetime


@dataclass
class WaitingPack:
    """A pack whose article has not arrived yet: checked again when it does."""

    file_name: str
    data: bytes
    article: str
    expires_at: datetime


@dataclass
class Uploads:
    """Articles, and packs waiting for their article, in this process's memory only."""

    articles: dict[int, dict[str, HeldArticle]] = field(default_factory=dict)
    waiting: dict[int, WaitingPack] = field(default_factory=dict)

    def prune(self, now: datetime) -> None:
        for telegram_id, held in list(self.articles.items()):
            kept = {n: a for n, a in held.items() if a.expires_at > now}
            if kept:
                self.articles[telegram_id] = kept
            else:
                del self.articles[telegram_id]
        self.waiting = {t: w for t, w in self.waiting.items() if w.expires_at > now}

    def hold_article(self, telegram_id: int, name: str, text: str, now: datetime) -> None:
        held = self.articles.setdefault(telegram_id, {})
        held.pop(name, None)
        held[name] = HeldArticle(name, text, now + timedelta(minutes=PENDING_MINUTES))
        while len(held) > HELD_PER_USER:
            held.pop(next(iter(held)))

    def articles_of(self, telegram_id: int) -> dict[str, str]:
        return {n: a.text for n, a in self.articles.get(telegram_id, {}).items()}


def uploads_of(context: QuizContext) -> Uploads:
    svc = services(context)
    uploads: Uploads | None = svc.extras.get("uploads")
    if uploads is None:
        uploads = Uploads()
        svc.extras["uploads"] = uploads
    uploads.prune(svc.clock())
    return uploads


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


# --------------------------------------------------------------------------- uploads


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
    uploads = uploads_of(context)
    key = article_key(name)
    uploads.hold_article(caller.telegram_id, key, text, services(context).clock())
    words = len(text.split())
    waiting = uploads.waiting.get(caller.telegram_id)
    if waiting is not None and waiting.article == key:
        del uploads.waiting[caller.telegram_id]
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
    held = uploads_of(context).articles_of(caller.telegram_id)
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
            uploads_of(context).waiting[caller.telegram_id] = WaitingPack(
                name, data, missing, svc.clock() + timedelta(minutes=PENDING_MINUTES)
            )
            footer = (
                f"Send the article <b>{render.esc(missing)}</b> as a .txt file and I will check "
                f"{shown} again (I keep it for {PENDING_MINUTES} minutes)."
            )
        errors = len(report.errors)
        header = f"❌ {shown}: {errors} problem{'s' if errors != 1 else ''}."
        blocks = [render.esc(shorten(p.located(), 1000)) for p in report.problems]
        parts, _ = paginate(header, blocks, _plural("problem"), footer)
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
    parts, _ = paginate(header, blocks, _plural("line"), footer)
    await send_parts(update, parts, markup)


async def _publish_button(update: Update, context: QuizContext, action: Any) -> None:
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


# --------------------------------------------------------------------------- packs


async def _pack_for(
    update: Update, context: QuizContext, caller: Caller, command: str
) -> PackRow | None:
    """The pack named in the command's argument, if the caller may manage it; else reply."""
    args = context.args or []
    if len(args) != 1:
        await reply(update, f"Usage: /{command} <i>pack</i> (see /mypacks for yours).")
        return None
    slug = args[0].strip().lower()
    row = await services(context).admin.find(slug)
    if row is None:
        await reply(update, f"There is no pack called <b>{render.esc(slug)}</b>. See /mypacks.")
        return None
    if not caller.may_manage(row.owner_id):
        log.warning(
            "refused /%s %s to Telegram user %s: not the owner", command, slug, caller.telegram_id
        )
        whose = "the bot's operator" if row.owner_id is None else "another instructor"
        await reply(
            update,
            f"The pack <code>{render.esc(slug)}</code> belongs to {whose}; only they or an "
            "admin can do that. See /mypacks for yours.",
        )
        return None
    return row


async def mypacks_command(update: Update, context: QuizContext) -> None:
    """List the caller's packs (every pack for an admin) with status, items and players."""
    caller = await staff_only(update, context, "/mypacks")
    if caller is None:
        return
    rows = await services(context).admin.list_packs(None if caller.admin else caller.user_id)
    if not rows:
        await reply(
            update,
            "You have not published a pack yet: send me a <b>.yaml</b> pack file "
            "(see /instructor).",
        )
        return
    header = "📚 <b>All packs</b>" if caller.admin else "📚 <b>Your packs</b>"
    blocks = []
    for r in rows:
        status = {"active": "✅ active", "hidden": "🙈 hidden", "retired": "🗄 retired"}.get(
            r.status, r.status
        )
        owner = f" · by {render.esc(r.owner_name)}" if caller.admin and r.owner_name else ""
        owner = owner or (" · operator's pack" if caller.admin and r.owner_name is None else "")
        lines = [
            f"• <b>{render.esc(r.title)}</b> — <code>{r.slug}</code>{owner}",
            f"  {status} · {r.live_items} items · {r.players} player(s)",
        ]
        if r.status == "active":
            lines.append(f"  {deep_link(context, r.slug)}")
        blocks.append("\n".join(lines))
    footer = (
        "/stats <i>pack</i> · /export <i>pack</i> · /hide, /show or /retire <i>pack</i>. "
        "Hidden and retired packs are not offered to students."
    )
    parts, _ = paginate(header, blocks, _plural("pack"), footer)
    await send_parts(update, parts)


async def status_command(update: Update, context: QuizContext) -> None:
    """/hide, /show or /retire a pack."""
    message = update.effective_message
    if message is None or not message.text:
        return
    command = message.text.split()[0].lstrip("/").split("@")[0].lower()
    caller = await staff_only(update, context, f"/{command}")
    if caller is None:
        return
    row = await _pack_for(update, context, caller, command)
    if row is None:
        return
    status = STATUS_OF[command]
    svc = services(context)
    change = await svc.admin.set_status(row.slug, status)
    if change is not None and change.changed:
        log.info("Telegram user %s set pack %s to %s", caller.telegram_id, row.slug, status)
    title = f"<b>{render.esc(row.title)}</b>"
    if status == "active":
        text = f"👀 {title} is visible to students. Link: {deep_link(context, row.slug)}"
    elif status == "hidden":
        text = (
            f"🙈 {title} is hidden: students no longer see it or start it (games in progress "
            f"finish). You still have /stats and /export; /show {row.slug} brings it back."
        )
    else:
        text = (
            f"🗄 {title} is retired: it is no longer offered, and its history is kept for "
            f"/stats and /export. /show {row.slug} would bring it back."
        )
    if row.status == status:
        text = f"(It already was {status}.) " + text
    await reply(update, text)


# --------------------------------------------------------------------------- analysis, export


def _stats_block(item: analysis.ItemStats) -> str:
    number = "retired" if item.retired else f"{item.position + 1}."
    facility = "–" if item.facility is None else f"{item.facility:.2f}"
    discrimination = "–" if item.discrimination is None else f"{item.discrimination:+.2f}"
    lines = [
        f"{number} <b>{render.esc(item.key)}</b> {item.type} · {item.students} students · "
        f"facility {facility} · discrimination {discrimination}"
    ]
    if item.options:
        picks = " · ".join(
            f"{'✓ ' if o.correct else ''}{render.esc(shorten(o.text, 40))}"
            f"{'' if o.current else ' (old)'} {o.picks}"
            for o in item.options
        )
        lines.append(f"   picked: {picks}")
    for note in item.flag_notes():
        lines.append(f"   ⚠ {render.esc(shorten(note, 600))}")
    return "\n".join(lines)


async def stats_command(update: Update, context: QuizContext) -> None:
    """Item analysis of a pack: facility, discrimination, options picked, flags, a chart."""
    caller = await staff_only(update, context, "/stats")
    if caller is None:
        return
    row = await _pack_for(update, context, caller, "stats")
    if row is None:
        return
    result = await services(context).admin.analyse(row, in_thread=True)
    title = f"📊 <b>{render.esc(row.title)}</b> (<code>{row.slug}</code>)"
    if result.students == 0:
        await reply(
            update,
            f"{title}\nNo student has finished a full run of this pack yet, so there is "
            "nothing to analyse.",
        )
        return
    mean = (
        f" · {result.mean_score:.1f} correct answers on average"
        if result.mean_score is not None
        else ""
    )
    header = f"{title}\n{render.esc(result.sample_text())}{mean}\n"
    flagged = len(result.flagged)
    footer = (
        f"{flagged} item{'s' if flagged != 1 else ''} flagged. Facility is the share of correct "
        f"answers (flagged over {analysis.EASY_ABOVE:.0%} or under {analysis.HARD_BELOW:.0%}); "
        "discrimination is the correlation between an item and the rest of the quiz (flagged "
        f"under {analysis.LOW_DISCRIMINATION:.2f}). Flags need {analysis.MIN_STUDENTS}+ "
        "students per item."
    )
    parts, left_out = paginate(
        header, [_stats_block(i) for i in result.items], _plural("item"), footer, max_parts=4
    )
    await send_parts(update, parts)
    chat = update.effective_chat
    assert chat is not None
    if left_out:
        await context.bot.send_document(
            chat.id,
            csv_bytes(analysis.csv_rows(result)),
            filename=f"{row.slug}-items.csv",
            caption="Every item's statistics.",
        )
    png = await asyncio.to_thread(analysis.chart_png, result)
    await context.bot.send_photo(
        chat.id,
        png,
        caption=shorten(
            f"{row.title}: facility against discrimination; flagged items are labelled.", 1000
        ),
    )


async def export_command(update: Update, context: QuizContext) -> None:
    """Send a pack's results as two CSV files: every attempt, and one row per student."""
    caller = await staff_only(update, context, "/export")
    if caller is None:
        return
    row = await _pack_for(update, context, caller, "export")
    if row is None:
        return
    exported = await services(context).admin.export(row, in_thread=True)
    if exported.attempts == 0:
        await reply(update, f"Nobody has answered <b>{render.esc(row.title)}</b> yet.")
        return
    if max(len(exported.attempts_csv), len(exported.students_csv)) > DOCUMENT_LIMIT:
        await reply(
            update,
            "The export is larger than the 50 MB a bot may send: run "
            f"<code>quizbot export {row.slug}</code> on the server instead.",
        )
        return
    chat = update.effective_chat
    assert chat is not None
    log.info("Telegram user %s exported pack %s", caller.telegram_id, row.slug)
    await context.bot.send_document(
        chat.id,
        exported.attempts_csv,
        filename=exported.attempts_name,
        caption=f"{exported.attempts:,} answers: one row per attempt.",
    )
    await context.bot.send_document(
        chat.id,
        exported.students_csv,
        filename=exported.students_name,
        caption=f"{exported.students:,} students: one row each.",
    )


# --------------------------------------------------------------------------- roles


async def _role_target(
    update: Update, context: QuizContext, command: str
) -> tuple[int, str | None, str | None] | None:
    """``(Telegram id, name, username)`` named by the argument or the replied-to message."""
    message = update.effective_message
    args = context.args or []
    replied = message.reply_to_message if message is not None else None
    if not args and replied is not None and replied.from_user is not None:
        target = replied.from_user
        if target.is_bot:
            await reply(update, "That is a bot; roles are for people.")
            return None
        return target.id, target.full_name, target.username
    if len(args) == 1 and args[0].isdigit() and 0 < int(args[0]) < 2**63:
        return int(args[0]), None, None
    if len(args) == 1 and args[0].startswith("@") and len(args[0]) > 1:
        found = await services(context).admin.find_by_username(args[0])
        if found is None:
            await reply(
                update,
                f"I do not know {render.esc(args[0])} yet: they must write to me first, or use "
                "their numeric user id.",
            )
            return None
        return found[1], None, None
    await reply(
        update,
        f"Usage: /{command} <i>user id</i> or /{command} @<i>username</i>, or send /{command} "
        "in reply to a message of that person.",
    )
    return None


async def grant_command(update: Update, context: QuizContext) -> None:
    """Give someone the instructor role (admins only)."""
    await _change_role(update, context, "grant")


async def revoke_command(update: Update, context: QuizContext) -> None:
    """Take the instructor role away (admins only)."""
    await _change_role(update, context, "revoke")


async def _change_role(update: Update, context: QuizContext, command: str) -> None:
    user = update.effective_user
    if user is None:
        return
    caller = await caller_of(context, user)
    if not caller.admin:
        await refuse(update, caller, f"/{command}", admins_only=True)
        return
    target = await _role_target(update, context, command)
    if target is None:
        return
    telegram_id, name, username = target
    svc = services(context)
    if command == "grant":
        role = await svc.admin.grant(telegram_id, name, username, granted_by=caller.telegram_id)
    else:  # revoking never creates a user
        role = await svc.admin.revoke(telegram_id)
    changed = role.changed
    shown = role.name or f"user {telegram_id}"
    who = f"<b>{render.esc(shown)}</b> (id {telegram_id})"
    log.info("admin %s: %s instructor %s -> %s", caller.telegram_id, command, telegram_id, changed)
    if command == "grant":
        if changed:
            await reply(update, f"✅ {who} is now an instructor.")
            await _welcome(context, telegram_id)
        else:
            await reply(update, f"{who} already is an instructor.")
        return
    admin_note = (
        " They are an admin (QUIZBOT_ADMIN_IDS), so they keep every instructor tool."
        if telegram_id in svc.settings.admin_ids
        else ""
    )
    if changed:
        await reply(
            update,
            f"{who} is no longer an instructor. Their packs stay as they are; an admin can "
            f"/hide or /retire them.{admin_note}",
        )
        if telegram_id not in svc.settings.admin_ids:
            with contextlib.suppress(TelegramError):
                await context.bot.delete_my_commands(scope=BotCommandScopeChat(telegram_id))
    else:
        await reply(update, f"{who} was not an instructor.{admin_note}")


async def _welcome(context: QuizContext, telegram_id: int) -> None:
    """Tell a new instructor what they can do, and give them the instructor menu. Someone who
    has never started the bot cannot be messaged: they see it with /instructor."""
    with contextlib.suppress(TelegramError):
        await set_menu(context.bot, telegram_id, admin=False)
        await context.bot.send_message(
            telegram_id,
            "🎓 You are now an instructor of this bot.\n\n" + INSTRUCTOR_HELP,
            parse_mode=ParseMode.HTML,
        )


async def instructor_help(update: Update, context: QuizContext) -> None:
    """How instructors publish packs, and their commands."""
    caller = await staff_only(update, context, "/instructor")
    if caller is None:
        return
    await reply(update, INSTRUCTOR_HELP + (ADMIN_HELP if caller.admin else ""))


async def in_private_only(update: Update, context: QuizContext) -> None:
    """Instructor tools in a group: results stay private, so they work in a private chat."""
    message = update.effective_message
    if message is None or not message.text:
        return
    command = message.text.split()[0].split("@")[0]
    caller = await staff_only(update, context, command)
    if caller is None:
        return
    await reply(
        update,
        f"{render.esc(command)} works in a private chat with me, so that results stay private.",
    )


# --------------------------------------------------------------------------- menus


async def set_menu(bot: Any, telegram_id: int, admin: bool) -> None:
    """Give one instructor (or admin) the instructor command menu in their private chat."""
    from bot.telegram.app import ADMIN_COMMANDS, INSTRUCTOR_COMMANDS

    commands = ADMIN_COMMANDS if admin else INSTRUCTOR_COMMANDS
    await bot.set_my_commands(
        [BotCommand(c, d) for c, d in commands], scope=BotCommandScopeChat(telegram_id)
    )


async def set_menus(application: QuizApp) -> int:
    """At start-up: the instructor menu for every instructor and admin the bot has met."""
    svc: Services = application.bot_data.services
    admins = set(svc.settings.admin_ids)
    holders = await svc.admin.holders()
    known_admins = await svc.admin.known_telegram_ids(sorted(admins))
    targets = {h.telegram_id: False for h in holders if h.telegram_id is not None}
    targets.update({int(t): True for t in known_admins if t is not None})
    done = 0
    for telegram_id, admin in sorted(targets.items()):
        try:
            await set_menu(application.bot, telegram_id, admin)
            done += 1
        except TelegramError as exc:
            log.info("no instructor menu for %s: %s", telegram_id, exc)
    return done


# --------------------------------------------------------------------------- wiring

BUTTONS = {"pub": _publish_button}

PRIVATE_TOOLS = ("mypacks", "stats", "export", "hide", "show", "retire", "instructor")


def register(application: QuizApp) -> None:
    """Add the instructor handlers (before the private chat's catch-all handlers)."""
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("grant", grant_command))
    application.add_handler(CommandHandler("revoke", revoke_command))
    application.add_handler(CommandHandler("mypacks", mypacks_command, filters=private))
    application.add_handler(CommandHandler("stats", stats_command, filters=private))
    application.add_handler(CommandHandler("export", export_command, filters=private))
    application.add_handler(
        CommandHandler(["hide", "show", "retire"], status_command, filters=private)
    )
    application.add_handler(CommandHandler("instructor", instructor_help, filters=private))
    application.add_handler(
        CommandHandler(list(PRIVATE_TOOLS), in_private_only, filters=filters.ChatType.GROUPS)
    )
    application.add_handler(MessageHandler(private & filters.Document.ALL, document_upload))
