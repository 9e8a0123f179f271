"""``/draft``: an instructor sends an article as a ``.txt`` file with the caption ``/draft``
(optionally a language: ``/draft fr``) and gets back a draft pack to review
(:mod:`bot.packs.draft`, the same as ``quizbot pack draft``), with a short summary. The article
is kept like any article sent, so the reviewed pack can be sent straight back to publish."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import PurePosixPath

from telegram import Update

from bot.i18n import N_, Translator
from bot.packs import ArticleError, validate_pack_bytes
from bot.packs.validate import decode_article
from bot.packs.wording import say
from bot.telegram import render
from bot.telegram.context import QuizContext, reply, services
from bot.telegram.staff import Caller, staff_only

log = logging.getLogger("quizbot.instructor")

HOW = N_(
    "To draft a pack, send me the article as a <b>.txt</b> file with the caption "
    "<code>/draft</code> (or <code>/draft fr</code> for a French article). I reply with a "
    "draft pack to review, fix and send back."
)


def needs_txt(t: Translator, name: str) -> str:
    return t.gettext(
        "I draft packs from plain-text articles: send the article as a <b>.txt</b> file "
        "(UTF-8) with the caption <code>/draft</code>; <b>{name}</b> is not one.",
        name=render.esc(name),
    )


def not_drafted(t: Translator, reason: str) -> str:
    return f"❌ {render.esc(reason)}. " + t.gettext("No draft was made.")


def draft_caption(t: Translator, article: str) -> str:
    return t.gettext(
        "📝 Draft pack from <b>{name}</b>: review it before publishing.", name=render.esc(article)
    )


def draft_summary(
    t: Translator,
    file_name: str,
    article: str,
    stats_line: str,
    warnings: int,
    errors: int,
    quality: str,
) -> str:
    """The message after the draft: what it holds, the checker's count, what to do next."""
    checker = t.ngettext(
        "The item-quality checker has {n} warning on it",
        "The item-quality checker has {n} warnings on it",
        warnings,
    )
    if errors:
        checker += t.ngettext(", and {n} error", ", and {n} errors", errors)
    lines = [f"📝 <b>{render.esc(file_name)}</b>: {render.esc(stats_line)}.", checker + "."]
    if quality:
        lines.append(f"🔎 {render.esc(quality)}")
    lines.append(
        t.gettext(
            "Check every line marked <code># draft: check</code>, delete the items you do not "
            "want, then send the file back to me: I keep <b>{name}</b> for 30 minutes, so it is "
            "checked against the article and ready to publish.",
            name=render.esc(article),
        )
    )
    return "\n".join(lines)


def draft_slug(name: str) -> str:
    stem = PurePosixPath(name.replace("\\", "/")).stem.lower()
    return re.sub(r"[^a-z0-9]+", "-", stem).strip("-")[:48] or "draft"


async def draft_command(update: Update, context: QuizContext) -> None:
    """``/draft`` typed without a file: say how."""
    caller = await staff_only(update, context, "/draft")
    if caller is None:
        return
    await reply(update, caller.t.gettext(HOW))


async def receive_draft(
    update: Update,
    context: QuizContext,
    caller: Caller,
    name: str,
    data: bytes,
    caption: str | None,
) -> None:
    """Draft a pack from an uploaded article and send it back as a ``.yaml`` document."""
    chat = update.effective_chat
    if chat is None:
        return
    words = (caption or "").split()
    language = words[1].lower() if len(words) > 1 else "en"
    key = PurePosixPath(name.replace("\\", "/")).name
    try:
        text = decode_article(data, key)
    except ArticleError as exc:
        await reply(update, not_drafted(caller.t, say(caller.t, exc.fact)))
        return
    slug = draft_slug(key)
    from bot.packs.draft import DraftError, draft_pack  # pysbd: loaded by the first /draft only

    try:
        draft = await asyncio.to_thread(
            draft_pack, text, article_name=key, language=language, slug=slug
        )
    except DraftError as exc:
        await reply(update, not_drafted(caller.t, say(caller.t, exc.fact)))
        return
    file_name = f"{slug}.yaml"
    report = await asyncio.to_thread(
        validate_pack_bytes, draft.yaml.encode(), file_name, lambda _name: text
    )
    await services(context).uploads.hold_article(caller.telegram_id, key, text)
    log.info("Telegram user %s drafted %s from %s", caller.telegram_id, file_name, key)
    await context.bot.send_document(
        chat.id,
        draft.yaml.encode(),
        filename=file_name,
        caption=draft_caption(caller.t, key),
    )
    quality = report.quality.summary(caller.t) if report.quality is not None else ""
    summary = draft_summary(
        caller.t,
        file_name,
        key,
        draft.stats.line(caller.t),
        len(report.warnings),
        len(report.errors),
        quality,
    )
    await reply(update, summary)
