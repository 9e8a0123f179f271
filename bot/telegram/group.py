"""Group games in Telegram: the lobby, quiz polls (buttons when a text is too long for a poll),
typed answers by reply, timers on the JobQueue, and the results.

Messages stay well under Telegram's group flood limit (about 20 a minute): each question
costs two messages (the question, then one batched result), answers are acknowledged with a
reaction rather than a message, and ``AIORateLimiter`` queues anything beyond.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from typing import Any

from telegram import InputPollOption, Poll, ReactionTypeEmoji, Update
from telegram.constants import ChatMemberStatus, PollLimit
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application

from bot import phrases
from bot.i18n import N_, Translator
from bot.packs.model import TrueFalseItem
from bot.quiz.game import (
    PAUSE,
    Finished,
    GameRefused,
    GameService,
    Lobby,
    QuestionResult,
    poll_fits,
)
from bot.quiz.service import Question, correct_answer_text
from bot.quiz.timers import Timer, game_key
from bot.telegram import callbacks, render, timers
from bot.telegram.context import (
    AnyApp,
    QuizContext,
    drop_buttons,
    group_tr,
    player_of,
    pressed,
    reply,
    services,
    services_of,
    tr,
)
from bot.text import shorten

log = logging.getLogger("quizbot.group")

GROUP_HELP = N_("""<b>Group games</b>
/quiz <i>pack</i> opens a lobby: tap “I'm in”, or just answer once the game is on (your first \
answer joins you). The host or an admin taps Start; the game also starts by itself a little \
after the first player joins. Add <i>speed</i> (/quiz <i>pack</i> speed) to reward fast \
correct answers.

Choice questions are quiz polls; for typed questions, <b>reply</b> to the question message. \
Your first answer counts. /stop (host or admin) ends the game with the standings so far. \
/leaderboard shows this chat's ranking (<i>week</i> or <i>all</i>, and a pack). \
A group admin sets the language I speak here with /language.""")

LATE = N_("⏱ Too late: time is up for this question, so this answer does not count.")
SKIP_IN_GROUP = N_(
    "Nobody skips in a group game: each question closes by itself when its time is up. "
    "/skip works in a private quiz with me."
)


def games(context_or_app: QuizContext | AnyApp) -> GameService:
    app = (
        context_or_app if isinstance(context_or_app, Application) else (context_or_app.application)
    )
    return services_of(app).games


def _player(update: Update) -> Any:
    assert update.effective_user is not None
    return player_of(update.effective_user)


# --------------------------------------------------------------------------- lobby


def lobby_text(t: Translator, lobby: Lobby, lobby_seconds: int) -> str:
    pack = lobby.pack
    limit = pack.settings.time_limit
    players = _names(t, lobby.players, 30) or t.gettext("nobody yet")
    size = t.ngettext(
        "{n} question, about {seconds} s each.",
        "{n} questions, about {seconds} s each.",
        len(pack.items),
        seconds=limit,
    )
    lines = [
        f"🎮 <b>{render.esc(pack.title)}</b>",
        size + (" " + t.gettext("⚡ Speed bonus on.") if lobby.speed_bonus else ""),
        "",
        t.gettext("Players ({count}): {players}", count=len(lobby.players), players=players),
        "",
        t.gettext(
            "Tap “I'm in” to play, or just answer once the game is on: your first answer joins "
            "you. The host or an admin taps Start; the game starts by itself "
            "{seconds} s after the first player joins.",
            seconds=lobby_seconds,
        ),
    ]
    return "\n".join(lines)


def lobby_keyboard(t: Translator, run_id: int) -> Any:
    return render.keyboard(
        [
            [
                (t.gettext("🙋 I'm in"), callbacks.join(run_id)),
                (t.gettext("▶ Start"), callbacks.go(run_id)),
            ]
        ]
    )


GAME_OPTIONS = {"speed": N_("turns on the speed bonus")}
"""The words ``/quiz`` takes in a group besides a pack."""


async def quiz_command(update: Update, context: QuizContext) -> None:
    """Open a lobby: ``/quiz [pack] [speed]``."""
    args = [a.lower() for a in context.args or []]
    speed = "speed" in args
    words = [a for a in args if a not in GAME_OPTIONS]
    svc = services(context)
    t = await tr(update, context)
    packs = await svc.players.visible_packs()
    pack = await svc.players.find_pack(words[0]) if words else None
    if len(words) > 1 or (words and pack is None):
        unknown = words[1] if pack is not None else words[0]
        await reply(update, game_usage(t, unknown, [p.slug for p in packs]))
    elif pack is not None:
        await open_lobby(update, context, pack.slug, speed)
    elif len(packs) == 1:
        await open_lobby(update, context, packs[0].slug, speed)
    elif packs:
        action = "pks" if speed else "pk"  # the option survives the choice of a pack
        await reply(
            update, t.gettext("Which quiz?"), reply_markup=render.pack_buttons(packs, action)
        )
    else:
        await reply(update, t.gettext("No quizzes are published yet."))


def game_usage(t: Translator, unknown: str, slugs: list[str]) -> str:
    options = "; ".join(f"<i>{word}</i> {t.gettext(what)}" for word, what in GAME_OPTIONS.items())
    packs = ", ".join(slugs[:20]) or t.gettext("none yet")
    return t.gettext(
        "I don't know “{word}”.\nUsage: /quiz [pack] [speed]. Packs: {packs}. Options: {options}.",
        word=render.esc(shorten(unknown, 64)),
        packs=render.esc(packs),
        options=options,
    )


async def open_lobby(update: Update, context: QuizContext, slug: str, speed: bool = False) -> None:
    chat = update.effective_chat
    if chat is None or update.effective_user is None:
        return
    t = await tr(update, context)
    lobby = await games(context).open_lobby(
        _player(update), chat.id, chat.type, chat.title, slug, speed
    )
    if isinstance(lobby, GameRefused):
        await reply(update, render.esc(phrases.game_refusal(t, lobby)))
        return
    seconds = services(context).settings.lobby_seconds
    message = await context.bot.send_message(
        chat.id,
        lobby_text(t, lobby, seconds),
        reply_markup=lobby_keyboard(t, lobby.run_id),
    )
    await games(context).set_message(lobby.run_id, message.message_id, None)
    if lobby.deadline is not None:
        schedule(context.application, lobby.run_id, "lobby", 0, lobby.deadline)


async def join_button(update: Update, context: QuizContext) -> None:
    """I'm in: join a lobby."""
    action = await pressed(update, context)
    if action is None:
        return
    query = update.callback_query
    assert query is not None
    seconds = services(context).settings.lobby_seconds
    t = await tr(update, context)
    joined = await games(context).join(_player(update), action.run, seconds)
    if isinstance(joined, GameRefused):
        await query.answer(phrases.game_refusal(t, joined))
        return
    lobby, countdown = joined
    await query.answer(t.gettext("You're in! 🎉"))
    await query.edit_message_text(
        lobby_text(t, lobby, seconds),
        reply_markup=lobby_keyboard(t, lobby.run_id),
    )
    if countdown and lobby.deadline is not None:
        schedule(context.application, lobby.run_id, "lobby", 0, lobby.deadline)


async def may_control(
    context: QuizContext, chat_id: int, user_id: int, host_id: int | None
) -> bool:
    """The host of a game, or an administrator of the group."""
    if user_id == host_id:
        return True
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError:
        return False
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


async def start_button(update: Update, context: QuizContext) -> None:
    """Start: the host or an admin starts the game."""
    action = await pressed(update, context)
    if action is None:
        return
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and chat is not None and update.effective_user is not None
    t = await tr(update, context)
    running = await games(context).running_in(chat.id)
    if running is None or running[0] != action.run:
        await query.answer(t.gettext("This lobby is closed."))
        return
    if not await may_control(context, chat.id, update.effective_user.id, running[1]):
        await query.answer(t.gettext("Only the host or a group admin can start the game."))
        return
    await query.answer()
    await begin(context.application, action.run, chat.id)


async def begin(app: AnyApp, run_id: int, chat_id: int) -> None:
    """Start a lobby's game and ask the first question."""
    question = await games(app).start(run_id)
    if isinstance(question, GameRefused):
        return
    cancel(app, run_id, "lobby", 0)
    lobby_message = await games(app).lobby_message(run_id)
    if lobby_message is not None:  # the lobby's buttons would only refuse from now on
        await drop_buttons(app.bot, chat_id, lobby_message)
    t = await group_tr(app, chat_id)
    title = render.esc(question.pack.title)
    await say(app, chat_id, t.gettext("🚦 <b>{title}</b>: here we go!", title=title))
    await ask(app, chat_id, question)


async def say(app: AnyApp, chat_id: int, text: str) -> bool:
    """Send a game message; a failure is logged, never raised (a timer has no one to
    apologise to, and the game must not stop half-way because of one message)."""
    try:
        await app.bot.send_message(chat_id, render.fit(text))
    except TelegramError as exc:
        log.warning("chat %s: could not send a game message: %s", chat_id, exc)
        return False
    return True


# --------------------------------------------------------------------------- questions


def poll_explanation(question: Question) -> str:
    """The explanation as a quiz poll can show it: at most 200 characters and 2 line feeds."""
    text = " ".join(question.item.explanation.split())
    return shorten(text, PollLimit.MAX_EXPLANATION_LENGTH)


async def ask(app: AnyApp, chat_id: int, question: Question) -> None:
    """Send a question: a quiz poll when it fits, else buttons; typed items by reply. A
    question that cannot be sent at all ends the game with the standings so far."""
    t = await group_tr(app, chat_id)
    try:
        message_id, poll_id = await _send_question(app, t, chat_id, question)
    except TelegramError as exc:
        log.warning(
            "chat %s: question %s of game %s could not be sent (%s); the game ends",
            chat_id,
            question.number,
            question.run_id,
            exc,
        )
        await abandon(app, t, chat_id, question)
        return
    deadline = await games(app).asked(question, message_id, poll_id)
    schedule(app, question.run_id, "close", question.number - 1, deadline)


async def _send_question(
    app: AnyApp, t: Translator, chat_id: int, question: Question
) -> tuple[int, str | None]:
    """The question's message id and poll id (None when it went out as a message)."""
    header = f"{question.number}/{question.total}"
    shown = render.shown_options(t, question)
    if poll_fits(question):
        correct = [n for n, i in enumerate(question.order) if i in question.item.correct_indices]  # type: ignore[union-attr]
        title = question.item.question
        if isinstance(question.item, TrueFalseItem):
            title = t.gettext("True or false? {statement}", statement=title)
        try:
            message = await app.bot.send_poll(
                chat_id,
                question=shorten(f"{header} · {title}", PollLimit.MAX_QUESTION_LENGTH),
                # Poll texts are plain: no HTML parsing of an author's "<" or "&".
                question_parse_mode=None,
                options=[InputPollOption(o, text_parse_mode=None) for o in shown],
                type=Poll.QUIZ,
                is_anonymous=False,
                allows_multiple_answers=question.multiple,
                correct_option_ids=correct,
                open_period=question.time_limit,
                explanation=poll_explanation(question),
                explanation_parse_mode=None,
            )
        except TelegramError as exc:  # e.g. a group whose permissions forbid polls
            log.warning("chat %s: quiz poll refused (%s); sending buttons instead", chat_id, exc)
        else:
            return message.message_id, message.poll.id if message.poll else None
    if question.typed:
        text = f"<b>{header}</b> · <b>{render.esc(question.item.question)}</b>\n\n" + t.gettext(
            "↩️ <b>Reply to this message</b> with your answer ({seconds} s). "
            "Your first reply counts.",
            seconds=question.time_limit,
        )
        message = await app.bot.send_message(chat_id, render.fit(text))
        return message.message_id, None
    buttons = [
        (render.letters(t)[n], callbacks.group_answer(question.run_id, question.item_id, i))
        for n, i in enumerate(question.order)
    ]
    lines = [f"<b>{header}</b> · <b>{render.esc(question.item.question)}</b>", ""]
    lines += [f"<b>{render.letters(t)[n]}.</b> {render.esc(o)}" for n, o in enumerate(shown)]
    tap = t.gettext(
        "Tap your answer ({seconds} s). Your first tap counts.", seconds=question.time_limit
    )
    lines += ["", tap]
    message = await app.bot.send_message(
        chat_id,
        render.fit("\n".join(lines)),
        reply_markup=render.keyboard(render.chunk(buttons, 5)),
    )
    return message.message_id, None


async def abandon(app: AnyApp, t: Translator, chat_id: int, question: Question) -> None:
    """End a game whose question could not be sent: nothing is left running, and the group
    hears why, with the standings so far."""
    finished = await games(app).stop(chat_id)
    text = t.gettext(
        "⚠️ I could not send question {number} to this chat, so the game has ended.",
        number=question.number,
    )
    if isinstance(finished, Finished):
        text += "\n\n" + final_text(t, finished)
    await say(app, chat_id, text)


async def poll_answer(update: Update, context: QuizContext) -> None:
    """A vote on a game's quiz poll."""
    answer = update.poll_answer
    if answer is None or answer.user is None:
        return
    outcome = await games(context).poll_answer(
        player_of(answer.user), answer.poll_id, answer.option_ids
    )
    if outcome == "late":  # a vote carries no chat: say it to the voter, if they let us
        t = await tr(update, context)  # the voter's own language: it goes to their chat
        try:
            await context.bot.send_message(answer.user.id, t.gettext(LATE))
        except TelegramError:
            log.info("late vote by %s: no private chat to say so", answer.user.id)


async def group_answer_button(update: Update, context: QuizContext) -> None:
    """An option of a group question sent as buttons."""
    action = await pressed(update, context)
    if action is None:
        return
    query = update.callback_query
    assert query is not None
    outcome = await games(context).button_answer(
        _player(update), action.run, action.item, action.number
    )
    t = await tr(update, context)
    text = {
        "recorded": t.gettext("Answer recorded ✍"),
        "already": t.gettext("Your first answer counts."),
        "late": t.gettext("Time is up for this question."),
        "closed": t.gettext("This question is closed."),
        "invalid": t.gettext("This button is not valid."),
    }[outcome]
    await query.answer(text)


async def group_reply(update: Update, context: QuizContext) -> None:
    """A typed answer: a reply to the question message of the chat's game."""
    message = update.effective_message
    chat = update.effective_chat
    if (
        message is None
        or chat is None
        or message.text is None
        or message.reply_to_message is None
        or update.effective_user is None
    ):
        return
    outcome, _grade = await games(context).reply_answer(
        _player(update), chat.id, message.reply_to_message.message_id, message.text
    )
    if outcome == "late":
        await message.reply_text((await tr(update, context)).gettext(LATE))
        return
    emoji = None
    if outcome == "recorded":
        emoji = "✍"  # received; who was right is said when the question closes
    elif outcome == "invalid":
        emoji = "🤔"
    if emoji is not None:
        # Reactions may be off in this chat: the result message will say it all.
        with contextlib.suppress(BadRequest):
            await message.set_reaction(ReactionTypeEmoji(emoji))


# --------------------------------------------------------------------------- timers


def cancel(app: AnyApp, run_id: int, what: str, position: int) -> None:
    """Drop this worker's alarm for a game timer (the domain removes the timer itself)."""
    timers.disarm(app, game_key(run_id, what, position))


def schedule(app: AnyApp, run_id: int, what: str, position: int, when: datetime) -> None:
    """Ring this worker's alarm for a game timer the domain has set (any worker's poll would
    also find it, a moment later)."""
    timers.arm(app, game_key(run_id, what, position), when)


async def fire_timer(app: AnyApp, timer: Timer) -> None:
    """A game timer is due (claimed by this worker)."""
    assert timer.run_id is not None
    await fire(app, timer.run_id, str(timer.payload["what"]), int(timer.payload["position"]))


async def fire(app: AnyApp, run_id: int, what: str, position: int) -> None:
    service = games(app)
    if what == "lobby":
        decision = await service.lobby_expired(run_id)
        chat_id = await _chat_of(app, run_id)
        if decision == "start" and chat_id is not None:
            await begin(app, run_id, chat_id)
        elif decision == "close" and chat_id is not None:
            lobby_message = await service.lobby_message(run_id)
            if lobby_message is not None:
                await drop_buttons(app.bot, chat_id, lobby_message)
            t = await group_tr(app, chat_id)
            await say(
                app,
                chat_id,
                t.gettext("Nobody joined, so the lobby is closed. /quiz opens a new one."),
            )
        return
    if what == "close":
        result = await service.close_question(run_id, position)
        if result is None:
            return
        chat_id = await _chat_of(app, run_id)
        if chat_id is None:
            return
        await _drop_question_buttons(app, chat_id, result)
        await say(app, chat_id, result_text(await group_tr(app, chat_id), result))
        deadline = services_of(app).clock() + PAUSE
        schedule(app, run_id, "advance", position, deadline)
        return
    if what == "advance":
        step = await service.advance(run_id, position)
        chat_id = await _chat_of(app, run_id)
        if step is None or chat_id is None:
            return
        if isinstance(step, Finished):
            await say(app, chat_id, final_text(await group_tr(app, chat_id), step))
        else:
            await ask(app, chat_id, step)


async def _chat_of(app: AnyApp, run_id: int) -> int | None:
    return await services_of(app).players.chat_of_run(run_id)


async def _drop_question_buttons(app: AnyApp, chat_id: int, result: QuestionResult) -> None:
    if result.buttons and result.question.message_id is not None:
        await drop_buttons(app.bot, chat_id, result.question.message_id)


async def rearm_timers(app: AnyApp) -> int:
    """Arm this worker's alarms for every pending timer (at start-up), and poll for the
    timers nobody claims (a dead worker's, or a deadline that passed while the bot was down)."""
    armed = await timers.rearm(app)
    timers.start_polling(app)
    return armed


# --------------------------------------------------------------------------- texts


def _names(t: Translator, names: list[str], limit: int = 12) -> str:
    shown = ", ".join(render.esc(shorten(n, 64)) for n in names[:limit])
    if len(names) <= limit:
        return shown
    return t.gettext("{names} and {count} more", names=shown, count=len(names) - limit)


def result_text(t: Translator, result: QuestionResult) -> str:
    question = result.question
    item = question.item
    answer = correct_answer_text(item)
    if isinstance(item, TrueFalseItem):
        answer = t.gettext("True") if item.answer else t.gettext("False")
    right = t.ngettext(
        "{answered} answered · ✅ {n} right",
        "{answered} answered · ✅ {n} right",
        len(result.right),
        answered=result.answered,
    )
    lines = [
        f"⏱ <b>{question.number}/{question.total}</b> · "
        + t.gettext("Answer: <b>{answer}</b>", answer=render.esc(answer)),
        right + (f": {_names(t, result.right)}" if result.right else ""),
    ]
    if result.partly:
        lines.append(t.gettext("🟡 partly right: {names}", names=_names(t, result.partly)))
    lines += ["", f"💡 {render.esc(item.explanation)}", *render.quote_lines(item.sources)]
    return render.fit("\n".join(lines))


FINAL_LINES = 20
"""Players listed by name at the end of a game (the rest are counted)."""


def final_text(t: Translator, finished: Finished) -> str:
    title = render.esc(finished.pack.title)
    if finished.stopped:
        heading = t.gettext("🏁 <b>Game stopped: {title}</b>", title=title)
    else:
        heading = t.gettext("🏁 <b>Game over: {title}</b>", title=title)
    lines = [heading, ""]
    if not finished.standings:
        lines.append(t.gettext("Nobody answered."))
    medals = {1: "🥇", 2: "🥈", 3: "🥉"}
    shown = finished.standings[:FINAL_LINES]
    for n, s in enumerate(shown, start=1):
        detail = t.gettext(
            "({correct}/{total} right, {duration})",
            correct=s.correct,
            total=finished.total,
            duration=render.duration(t, s.seconds_ms / 1000),
        )
        lines.append(
            f"{medals.get(n, f'{n}.')} {render.esc(shorten(s.name, 64))} — "
            f"{phrases.points(t, s.points)} {detail}"
        )
    if len(finished.standings) > len(shown):
        more = len(finished.standings) - len(shown)
        lines.append(t.gettext("… and {count} more", count=more))
    lines += ["", t.gettext("/leaderboard shows this chat's ranking.")]
    return render.fit("\n".join(lines))


# --------------------------------------------------------------------------- commands


async def stop_command(update: Update, context: QuizContext) -> None:
    """End the chat's game now (host or admin), with the standings so far."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    t = await tr(update, context)
    running = await games(context).running_in(chat.id)
    if running is None:
        await reply(update, t.gettext("No game is on. /quiz opens one."))
        return
    if not await may_control(context, chat.id, user.id, running[1]):
        await reply(update, t.gettext("Only the host or a group admin can stop the game."))
        return
    stopped = await games(context).stop(chat.id)
    if isinstance(stopped, Finished):
        await reply(update, final_text(t, stopped))
    elif stopped is not None:
        if stopped.message_id is not None:
            await drop_buttons(context.application.bot, chat.id, stopped.message_id)
        await reply(update, t.gettext("The lobby is closed."))


async def help_command(update: Update, context: QuizContext) -> None:
    """How group games work."""
    t = await tr(update, context)
    await reply(update, t.gettext(GROUP_HELP) + "\n\n" + t.gettext(GROUP_CLASSES_HELP))


GROUP_CLASSES_HELP = N_(
    "Instructors: /assign <i>pack</i> [<i>due</i>] gives this class a quiz to do in private; "
    "/assignments shows its progress."
)


async def skip_command(update: Update, context: QuizContext) -> None:
    """/skip in a group: there is nothing to skip."""
    await reply(update, (await tr(update, context)).gettext(SKIP_IN_GROUP))


async def review_command(update: Update, context: QuizContext) -> None:
    """/review in a group: reviews are personal, in a private chat."""
    t = await tr(update, context)
    link = f"https://t.me/{context.bot.username}" if context.bot.username else t.gettext("me")
    await reply(
        update,
        t.gettext(
            "Reviews are personal: send /review to {link} in a private chat, and "
            "the questions you missed come back when they are due.",
            link=render.esc(link),
        ),
    )


async def speed_pack_button(update: Update, context: QuizContext) -> None:
    """A pack picked for a game with the speed bonus."""
    action = await pressed(update, context)
    if action is None:
        return
    assert update.callback_query is not None
    await update.callback_query.answer()
    await open_lobby(update, context, action.slug, speed=True)
