"""Classes and assignments in Telegram: /assign and /assignments in a group, the Start link,
the progress message, reminders, and the instructor's /report (bot/quiz/classes.py).

The group message of an assignment carries a **Start** URL button, a deep link
``https://t.me/<bot>?start=<token>`` into the private chat; it is edited (never reposted) as
students finish, at most once per ``SUMMARY_EVERY`` (bot/store/classes.py) through a timer.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.i18n import N_, Translator, pick_language, translator
from bot.quiz import zones
from bot.quiz.classes import (
    AssignRefused,
    ClassReport,
    ItemFacility,
    LinkRefused,
    Opened,
    Progress,
    ReminderBatch,
    StudentResult,
    Viewer,
)
from bot.quiz.export import csv_bytes, points, seconds, timestamp
from bot.quiz.timers import Timer
from bot.telegram import callbacks, render, timers
from bot.telegram.context import (
    AnyApp,
    QuizContext,
    group_tr,
    player_of,
    pressed,
    reply,
    services,
    services_of,
    tr,
)
from bot.telegram.handlers import send_question
from bot.telegram.staff import Caller, caller_of, paginate, send_parts, staff_only

log = logging.getLogger("quizbot.classes")

ASSIGN_USAGE = N_(
    "Usage: /assign <i>pack</i> [<i>due</i>] [accept|close] [<i>zone</i>]\n"
    "Due: <code>fri</code>, <code>tomorrow 18:00</code>, <code>2026-12-11</code>, "
    "<code>2026-12-11 18:00</code> or <code>in 3 days</code>, in the class's time zone. "
    "<code>accept</code> (the default) marks runs after the deadline late; <code>close</code> "
    "refuses them. A zone at the end (<code>Europe/Kyiv</code>, <code>UTC+2</code>) becomes "
    "the class's."
)

REPORT_USAGE = N_(
    "Usage: /report <i>number</i> for a class report, /report <i>number</i> csv for the "
    "results as a CSV file (the numbers are in /assignments)."
)


def when(due: datetime, zone: str | None) -> str:
    """A deadline in the class's zone: ``2026-12-11 18:00 (Europe/Kyiv)``."""
    return f"{zones.local_time(due, zone):%Y-%m-%d %H:%M} ({zone or 'UTC'})"


def start_link(bot_username: str | None, token: str) -> str:
    return f"https://t.me/{bot_username}?start={token}"


def start_keyboard(t: Translator, bot_username: str | None, token: str) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(t.gettext("▶ Start"), url=start_link(bot_username, token))
    return InlineKeyboardMarkup([[button]])


def counts_text(t: Translator, progress: Progress) -> str:
    return t.gettext(
        "done {done} / started {started} / not started {not_started}",
        done=progress.done,
        started=progress.started,
        not_started=progress.not_started,
    )


def deadline_text(t: Translator, due: datetime | None, zone: str | None, late: str) -> str:
    if due is None:
        return t.gettext("No deadline.")
    if late == "close":
        return t.gettext("Due {when}; closes at the deadline.", when=when(due, zone))
    return t.gettext("Due {when}; late runs are accepted and marked late.", when=when(due, zone))


def assignment_text(t: Translator, progress: Progress) -> str:
    """The group message of an assignment, with its progress."""
    lines = [
        t.gettext(
            "📚 <b>Assignment #{number}: {title}</b>",
            number=progress.assignment_id,
            title=render.esc(progress.pack_title),
        ),
        deadline_text(t, progress.due_at, progress.zone, progress.late),
        t.gettext(
            "Press Start to do it in a private chat with me: your first finished run counts."
        ),
        "",
        counts_text(t, progress),
    ]
    if not progress.is_open:
        lines.append(t.gettext("The deadline has passed."))
    return "\n".join(lines)


# --------------------------------------------------------------------------- /assign


async def is_group_admin(context: QuizContext, chat_id: int, user_id: int) -> bool:
    """Whether Telegram says ``user_id`` administers the group (getChatMember)."""
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError:
        return False
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


ASSIGN_REFUSALS = {
    "not_staff": N_(
        "Sorry, /assign is for instructors. If you teach with this bot, ask its admin to give "
        "you the instructor role."
    ),
    "not_group_admin": N_("Only an administrator of this group can give it an assignment."),
    "unknown_pack": N_("There is no published quiz called <b>{word}</b>. See /packs."),
    "unreadable_due": N_(
        "I cannot read <b>{word}</b> as a deadline. Try <code>fri</code>, "
        "<code>2026-12-11 18:00</code> or <code>in 3 days</code>."
    ),
    "past": N_("The deadline <b>{word}</b> is already past: nothing was assigned."),
}


async def assign_command(update: Update, context: QuizContext) -> None:
    """``/assign <pack> [due] [accept|close] [zone]`` in a group: post the assignment."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    t = await tr(update, context)
    svc = services(context)
    caller = await caller_of(context, user)
    group_admin = caller.staff and await is_group_admin(context, chat.id, user.id)
    posted = await svc.classes.assign(
        chat.id,
        chat.type,
        chat.title,
        player_of(user),
        staff=caller.staff,
        group_admin=group_admin,
        words=list(context.args or []),
    )
    if isinstance(posted, AssignRefused):
        if posted.reason in ("not_staff", "not_group_admin"):
            log.warning("refused /assign to Telegram user %s: %s", user.id, posted.reason)
        if posted.reason == "usage":
            await reply(update, t.gettext(ASSIGN_USAGE))
            return
        await reply(update, t.gettext(ASSIGN_REFUSALS[posted.reason], word=render.esc(posted.word)))
        return
    progress = await svc.classes.progress(posted.assignment_id)
    assert progress is not None
    message = await context.bot.send_message(
        chat.id,
        assignment_text(t, progress),
        reply_markup=start_keyboard(t, context.bot.username, posted.token),
    )
    await svc.classes.set_message(posted.assignment_id, message.message_id)
    for key, due in posted.timers:
        timers.arm(context.application, key, due)
    if posted.zone_changed:
        await reply(
            update, t.gettext("This class's time zone is now {zone}.", zone=posted.zone or "UTC")
        )
    log.info(
        "Telegram user %s assigned %s in chat %s (#%s)",
        user.id,
        posted.pack_slug,
        chat.id,
        posted.assignment_id,
    )


async def assign_in_private(update: Update, context: QuizContext) -> None:
    """/assign in a private chat: it belongs in the class's group."""
    t = await tr(update, context)
    await reply(
        update,
        t.gettext(
            "Send /assign in your class's group (I must be a member, and you an administrator "
            "there). /assignments here lists the assignments you gave."
        ),
    )


# --------------------------------------------------------------------------- the Start link


LINK_REFUSALS = {
    "unknown": N_(
        "This assignment link is not valid: it may be mistyped, or the assignment was "
        "removed. Ask your instructor for the link."
    ),
    "pack_gone": N_("The quiz of this assignment is no longer available. Ask your instructor."),
}


async def start_link_command(update: Update, context: QuizContext) -> None:
    """``/start <token>``: a student opened an assignment's Start link."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or not context.args:
        return
    t = await tr(update, context)
    if chat.type != ChatType.PRIVATE:
        await reply(update, t.gettext("Assignments are done in a private chat with me."))
        return
    opened = await services(context).classes.open_link(player_of(user), context.args[0], chat.id)
    if isinstance(opened, LinkRefused):
        if opened.reason == "closed" and opened.due_at is not None:
            text = t.gettext(
                "This assignment closed at its deadline, {when}.",
                when=when(opened.due_at, opened.zone),
            )
        else:
            text = t.gettext(LINK_REFUSALS[opened.reason])
        await reply(update, text)
        return
    await reply(update, opened_text(t, opened))
    if opened.question is not None:
        await send_question(context, t, chat.id, opened.question)


def opened_text(t: Translator, opened: Opened) -> str:
    title = render.esc(opened.pack_title)
    lines = [t.gettext("📚 Assignment: <b>{title}</b>", title=title)]
    lines.append(deadline_text(t, opened.due_at, opened.zone, opened.late))
    if opened.submitted:
        lines.append(
            t.gettext("You have handed it in already: this run is practice and does not count.")
        )
    elif opened.overdue:
        lines.append(t.gettext("The deadline has passed: your run will be marked late."))
    if opened.resumed:
        lines.append(t.gettext("Here is where you stopped."))
    else:
        lines.append(t.gettext("/read shows the article, /stop ends the quiz."))
    return "\n".join(lines)


# --------------------------------------------------------------------------- members


async def seen_in_group(update: Update, context: QuizContext) -> None:
    """Someone posted in a group: count them as a student of that class (Telegram gives bots
    no member list)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or user.is_bot:
        return
    await services(context).classes.seen(chat.id, chat.type, chat.title, player_of(user))


# --------------------------------------------------------------------------- /assignments


async def assignments_command(update: Update, context: QuizContext) -> None:
    """In a group: its assignments with counts. In private: the instructor's assignments with
    the students' names."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    if chat.type != ChatType.PRIVATE:
        t = await tr(update, context)
        found = await services(context).classes.in_chat(chat.id)
        if not found:
            await reply(update, t.gettext("This group has no assignments yet."))
            return
        blocks = [group_block(t, p) for p in found]
        await reply(update, render.fit("\n\n".join(blocks)))
        return
    caller = await staff_only(update, context, "/assignments")
    if caller is None:
        return
    viewer = Viewer(player_of(user), caller.admin)
    mine = await services(context).classes.visible_to(viewer)
    t = caller.t
    if not mine:
        await reply(
            update, t.gettext("You have given no assignments yet: send /assign in a class group.")
        )
        return
    header = t.gettext("📚 <b>Your assignments</b> (/report <i>number</i> for results)")
    parts, _ = paginate(header, [private_block(t, p) for p in mine], _assignments(t), t=t)
    await send_parts(update, parts)


def _assignments(t: Translator) -> Callable[[int], str]:
    return lambda n: t.ngettext("{n} assignment", "{n} assignments", n)


def group_block(t: Translator, progress: Progress, where: str = "") -> str:
    """One assignment in a list: number, (``where``,) pack, open or past, deadline, counts."""
    state = t.gettext("open") if progress.is_open else t.gettext("past")
    due = when(progress.due_at, progress.zone) if progress.due_at else t.gettext("no deadline")
    title = render.esc(progress.pack_title)
    return f"#{progress.assignment_id} {where}<b>{title}</b> · {state} · {due}\n" + counts_text(
        t, progress
    )


STATUS_NAMES = {
    "done": N_("Done"),
    "started": N_("Started"),
    "not_started": N_("Not started"),
}


def private_block(t: Translator, progress: Progress) -> str:
    lines = [group_block(t, progress, f"{render.esc(progress.chat_title)}: ")]
    late = " " + t.gettext("(late)")
    for status, label in STATUS_NAMES.items():
        names = [
            render.esc(s.name) + (late if s.late else "")
            for s in progress.students
            if s.status == status
        ]
        if names:
            lines.append(f"{t.gettext(label)}: {', '.join(names[:40])}")
    return render.fit("\n".join(lines), 3000)


# --------------------------------------------------------------------------- the message


async def fire_timer(app: AnyApp, timer: Timer) -> None:
    """An assignment's timer: edit its progress message (``summary``, ``due``), or send the
    next batch of reminders (``remind``)."""
    assignment_id = int(timer.payload["assignment"])
    if timer.payload.get("what") == "remind":
        await send_reminders(app, assignment_id)
    else:
        await refresh_message(app, assignment_id)


async def refresh_message(app: AnyApp, assignment_id: int) -> None:
    """Edit the assignment's group message with its current counts."""
    classes = services_of(app).classes
    progress = await classes.progress(assignment_id)
    if progress is None or progress.message_id is None:
        return
    t = await group_tr(app, progress.chat_id)
    markup = None
    if progress.is_open or progress.late == "accept":
        markup = start_keyboard(t, app.bot.username, progress.token)
    # "message is not modified" (nothing changed), or deleted from the group: nothing to do.
    with contextlib.suppress(BadRequest, Forbidden):
        await app.bot.edit_message_text(
            assignment_text(t, progress),
            chat_id=progress.chat_id,
            message_id=progress.message_id,
            reply_markup=markup,
        )
    await classes.summary_edited(assignment_id)


# --------------------------------------------------------------------------- reminders


def reminder_text(t: Translator, batch: ReminderBatch) -> str:
    return t.gettext(
        "⏰ Reminder: <b>{title}</b> for {group} is due {when}. "
        "Press Start to do it (your first finished run counts).",
        title=render.esc(batch.pack_title),
        group=render.esc(batch.chat_title or "your class"),
        when=when(batch.due_at, batch.zone),
    )


async def send_reminders(app: AnyApp, assignment_id: int) -> int:
    """Send one batch of reminders, each claimed before it is sent; a student who blocked the
    bot (or never started it) is skipped. Returns how many were sent."""
    batch = await services_of(app).classes.claim_reminders(assignment_id)
    if batch is None:
        return 0
    if batch.more_at is not None and batch.more_key is not None:
        timers.arm(app, batch.more_key, batch.more_at)
    sent = 0
    for recipient in batch.recipients:
        t = translator(pick_language(recipient.language, None, group=False))
        link = InlineKeyboardButton(
            t.gettext("▶ Start"), url=start_link(app.bot.username, batch.token)
        )
        mute = InlineKeyboardButton(
            t.gettext("🔕 No reminders for this class"),
            callback_data=callbacks.mute(batch.assignment_id),
        )
        try:
            await app.bot.send_message(
                recipient.telegram_id,
                reminder_text(t, batch),
                reply_markup=InlineKeyboardMarkup([[link], [mute]]),
            )
        except Forbidden:
            log.info(
                "reminder of #%s not sent to %s: forbidden", assignment_id, recipient.telegram_id
            )
            continue
        except TelegramError as exc:
            log.warning(
                "reminder of #%s to %s failed: %s", assignment_id, recipient.telegram_id, exc
            )
            continue
        sent += 1
    return sent


async def mute_button(update: Update, context: QuizContext) -> None:
    """🔕 under a reminder: no more reminders from that class."""
    action = await pressed(update, context)
    query = update.callback_query
    if action is None or query is None or update.effective_user is None:
        return
    t = await tr(update, context)
    muted = await services(context).classes.mute(player_of(update.effective_user), action.run)
    if not muted:
        await query.answer(t.gettext("This button is no longer valid."))
        return
    await query.answer(t.gettext("No more reminders from this class."))
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(reply_markup=None)


# --------------------------------------------------------------------------- /report


async def report_command(update: Update, context: QuizContext) -> None:
    """``/report <number> [csv]``: an assignment's class report, or its results as CSV."""
    caller = await staff_only(update, context, "/report")
    user, chat = update.effective_user, update.effective_chat
    if caller is None or user is None or chat is None:
        return
    t = caller.t
    args = [a.lower() for a in context.args or []]
    number = args[0].lstrip("#") if args else ""
    if not number.isdigit() or len(args) > 2 or (len(args) == 2 and args[1] != "csv"):
        await reply(update, t.gettext(REPORT_USAGE))
        return
    viewer = Viewer(player_of(user), caller.admin)
    report = await services(context).classes.report(viewer, int(number))
    if report is None:
        await reply(update, no_assignment(t, number))
        return
    if len(args) == 2:
        await send_csv(context, caller, chat.id, report)
        return
    header = report_header(t, report)
    blocks = [student_line(t, s) for s in report.students]
    items = "\n".join(item_line(t, i) for i in report.items)
    footer = "\n" + t.gettext("<b>Facility per item</b> (share correct in this class):") + "\n"
    parts, _ = paginate(header, blocks, _students(t), footer + items, t=t)
    await send_parts(update, parts)


def no_assignment(t: Translator, number: str) -> str:
    return t.gettext(
        "There is no assignment #{number} of yours. See /assignments.", number=render.esc(number)
    )


def _students(t: Translator) -> Callable[[int], str]:
    return lambda n: t.ngettext("{n} student", "{n} students", n)


def report_header(t: Translator, report: ClassReport) -> str:
    progress = report.progress
    return (
        t.gettext(
            "📋 <b>#{number} {title}</b> in {group}",
            number=progress.assignment_id,
            title=render.esc(progress.pack_title),
            group=render.esc(progress.chat_title),
        )
        + "\n"
        + deadline_text(t, progress.due_at, progress.zone, progress.late)
        + "\n"
        + counts_text(t, progress)
        + "\n"
    )


def student_line(t: Translator, student: StudentResult) -> str:
    name = render.esc(student.name)
    if student.status != "done":
        return f"• {name}: {t.gettext(STATUS_NAMES[student.status])}"
    late = " · " + t.gettext("late") if student.late else ""
    score = t.gettext(
        "{points} of {total}", points=render.points(t, student.score), total=student.total
    )
    return f"• {name}: {score} · {render.duration(t, student.seconds)}{late}"


def item_line(t: Translator, item: ItemFacility) -> str:
    share = "–" if item.facility is None else render.percent(item.facility)
    counts = f"({item.correct}/{item.answered})"
    return f"{item.position + 1}. <code>{render.esc(item.key)}</code> {share} {counts}"


EXPORT_CLASS_USAGE = N_(
    "Usage: /export class <i>number</i> for a class's results as a CSV file (the numbers are "
    "in /assignments)."
)


async def export_class(
    update: Update, context: QuizContext, caller: Caller, args: list[str]
) -> None:
    """``/export class <number>``: the class's results as CSV (as ``/report <number> csv``)."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    t = caller.t
    number = args[0].lstrip("#") if len(args) == 1 else ""
    if not number.isdigit():
        await reply(update, t.gettext(EXPORT_CLASS_USAGE))
        return
    viewer = Viewer(player_of(user), caller.admin)
    report = await services(context).classes.report(viewer, int(number))
    if report is None:
        await reply(update, no_assignment(t, number))
        return
    await send_csv(context, caller, chat.id, report)


async def send_csv(context: QuizContext, caller: Caller, chat_id: int, report: ClassReport) -> None:
    """The class's results as CSV (cells made safe for spreadsheets, as /export does)."""
    t = caller.t
    rows: list[list[object]] = [
        ["student", "status", "score", "correct", "total", "seconds", "late", "finished_at"]
    ]
    for s in report.students:
        rows.append(
            [
                s.name,
                s.status,
                points(s.score),
                s.correct,
                s.total,
                seconds(int(s.seconds * 1000)),
                "yes" if s.late else "no" if s.status == "done" else "",
                timestamp(s.finished_at),
            ]
        )
    name = f"{report.progress.pack_slug}-class-{report.progress.assignment_id}.csv"
    await context.bot.send_document(
        chat_id,
        csv_bytes(rows),
        filename=name,
        caption=t.ngettext(
            "{n} student: one row each.", "{n} students: one row each.", len(report.students)
        ),
    )
