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

from bot.packs.model import TrueFalseItem
from bot.quiz.game import PAUSE, Finished, GameService, Lobby, QuestionResult, poll_fits
from bot.quiz.service import Question, correct_answer_text
from bot.quiz.timers import Timer, game_key
from bot.telegram import callbacks, render, timers
from bot.telegram.context import (
    AnyApp,
    QuizContext,
    drop_buttons,
    player_of,
    pressed,
    reply,
    services,
    services_of,
)
from bot.text import shorten

log = logging.getLogger("quizbot.group")

GROUP_HELP = """<b>Group games</b>
/quiz <i>pack</i> opens a lobby: tap “I'm in”, or just answer once the game is on (your first \
answer joins you). The host or an admin taps Start; the game also starts by itself a little \
after the first player joins. Add <i>speed</i> (/quiz <i>pack</i> speed) to reward fast \
correct answers.

Choice questions are quiz polls; for typed questions, <b>reply</b> to the question message. \
Your first answer counts. /stop (host or admin) ends the game with the standings so far. \
/leaderboard shows this chat's ranking (<i>week</i> or <i>all</i>, and a pack)."""

LATE = "⏱ Too late: time is up for this question, so this answer does not count."
SKIP_IN_GROUP = (
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


def lobby_text(lobby: Lobby, lobby_seconds: int) -> str:
    pack = lobby.pack
    limit = pack.settings.time_limit
    players = _names(lobby.players, 30) or "nobody yet"
    lines = [
        f"🎮 <b>{render.esc(pack.title)}</b>",
        f"{len(pack.items)} questions, about {limit} s each."
        + (" ⚡ Speed bonus on." if lobby.speed_bonus else ""),
        "",
        f"Players ({len(lobby.players)}): {players}",
        "",
        "Tap “I'm in” to play, or just answer once the game is on: your first answer joins "
        "you. The host or an admin taps Start; the game starts by itself "
        f"{lobby_seconds} s after the first player joins.",
    ]
    return "\n".join(lines)


def lobby_keyboard(run_id: int) -> Any:
    return render.keyboard(
        [[("🙋 I'm in", callbacks.join(run_id)), ("▶ Start", callbacks.go(run_id))]]
    )


GAME_OPTIONS = {"speed": "turns on the speed bonus"}
"""The words ``/quiz`` takes in a group besides a pack."""


async def quiz_command(update: Update, context: QuizContext) -> None:
    """Open a lobby: ``/quiz [pack] [speed]``."""
    args = [a.lower() for a in context.args or []]
    speed = "speed" in args
    words = [a for a in args if a not in GAME_OPTIONS]
    svc = services(context)
    packs = await svc.players.visible_packs()
    pack = await svc.players.find_pack(words[0]) if words else None
    if len(words) > 1 or (words and pack is None):
        unknown = words[1] if pack is not None else words[0]
        await reply(update, game_usage(unknown, [p.slug for p in packs]))
    elif pack is not None:
        await open_lobby(update, context, pack.slug, speed)
    elif len(packs) == 1:
        await open_lobby(update, context, packs[0].slug, speed)
    elif packs:
        action = "pks" if speed else "pk"  # the option survives the choice of a pack
        await reply(update, "Which quiz?", reply_markup=render.pack_buttons(packs, action))
    else:
        await reply(update, "No quizzes are published yet.")


def game_usage(unknown: str, slugs: list[str]) -> str:
    options = "; ".join(f"<i>{word}</i> {what}" for word, what in GAME_OPTIONS.items())
    packs = ", ".join(slugs[:20]) or "none yet"
    return (
        f"I don't know “{render.esc(shorten(unknown, 64))}”.\n"
        f"Usage: /quiz [pack] [speed]. Packs: {render.esc(packs)}. Options: {options}."
    )


async def open_lobby(update: Update, context: QuizContext, slug: str, speed: bool = False) -> None:
    chat = update.effective_chat
    if chat is None or update.effective_user is None:
        return
    lobby = await games(context).open_lobby(
        _player(update), chat.id, chat.type, chat.title, slug, speed
    )
    if isinstance(lobby, str):
        await reply(update, render.esc(lobby))
        return
    seconds = services(context).settings.lobby_seconds
    message = await context.bot.send_message(
        chat.id,
        lobby_text(lobby, seconds),
        reply_markup=lobby_keyboard(lobby.run_id),
    )
    await games(context).set_message(lobby.run_id, message.message_id, None)
    if lobby.deadline is not None:
        schedule(context.application, lobby.run_id, "lobby", 0, lobby.deadline)


async def join_button(update: Update, context: QuizContext) -> None:
    """I'm in: join a lobby."""
    action = await pressed(update)
    if action is None:
        return
    query = update.callback_query
    assert query is not None
    seconds = services(context).settings.lobby_seconds
    joined = await games(context).join(_player(update), action.run, seconds)
    if isinstance(joined, str):
        await query.answer(joined)
        return
    lobby, countdown = joined
    await query.answer("You're in! 🎉")
    await query.edit_message_text(
        lobby_text(lobby, seconds),
        reply_markup=lobby_keyboard(lobby.run_id),
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
    action = await pressed(update)
    if action is None:
        return
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and chat is not None and update.effective_user is not None
    running = await games(context).running_in(chat.id)
    if running is None or running[0] != action.run:
        await query.answer("This lobby is closed.")
        return
    if not await may_control(context, chat.id, update.effective_user.id, running[1]):
        await query.answer("Only the host or a group admin can start the game.")
        return
    await query.answer()
    await begin(context.application, action.run, chat.id)


async def begin(app: AnyApp, run_id: int, chat_id: int) -> None:
    """Start a lobby's game and ask the first question."""
    question = await games(app).start(run_id)
    if isinstance(question, str):
        return
    cancel(app, run_id, "lobby", 0)
    lobby_message = await games(app).lobby_message(run_id)
    if lobby_message is not None:  # the lobby's buttons would only refuse from now on
        await drop_buttons(app.bot, chat_id, lobby_message)
    await say(app, chat_id, f"🚦 <b>{render.esc(question.pack.title)}</b>: here we go!")
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
    try:
        message_id, poll_id = await _send_question(app, chat_id, question)
    except TelegramError as exc:
        log.warning(
            "chat %s: question %s of game %s could not be sent (%s); the game ends",
            chat_id,
            question.number,
            question.run_id,
            exc,
        )
        await abandon(app, chat_id, question)
        return
    deadline = await games(app).asked(question, message_id, poll_id)
    schedule(app, question.run_id, "close", question.number - 1, deadline)


async def _send_question(app: AnyApp, chat_id: int, question: Question) -> tuple[int, str | None]:
    """The question's message id and poll id (None when it went out as a message)."""
    header = f"{question.number}/{question.total}"
    if poll_fits(question):
        correct = [n for n, i in enumerate(question.order) if i in question.item.correct_indices]  # type: ignore[union-attr]
        title = question.item.question
        if isinstance(question.item, TrueFalseItem):
            title = f"True or false? {title}"
        try:
            message = await app.bot.send_poll(
                chat_id,
                question=shorten(f"{header} · {title}", PollLimit.MAX_QUESTION_LENGTH),
                # Poll texts are plain: no HTML parsing of an author's "<" or "&".
                question_parse_mode=None,
                options=[InputPollOption(o, text_parse_mode=None) for o in question.shown_options],
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
        text = (
            f"<b>{header}</b> · <b>{render.esc(question.item.question)}</b>\n\n"
            f"↩️ <b>Reply to this message</b> with your answer ({question.time_limit} s). "
            "Your first reply counts."
        )
        message = await app.bot.send_message(chat_id, render.fit(text))
        return message.message_id, None
    buttons = [
        (render.LETTERS[n], callbacks.group_answer(question.run_id, question.item_id, i))
        for n, i in enumerate(question.order)
    ]
    lines = [f"<b>{header}</b> · <b>{render.esc(question.item.question)}</b>", ""]
    lines += [
        f"<b>{render.LETTERS[n]}.</b> {render.esc(t)}" for n, t in enumerate(question.shown_options)
    ]
    lines += ["", f"Tap your answer ({question.time_limit} s). Your first tap counts."]
    message = await app.bot.send_message(
        chat_id,
        render.fit("\n".join(lines)),
        reply_markup=render.keyboard(render.chunk(buttons, 5)),
    )
    return message.message_id, None


async def abandon(app: AnyApp, chat_id: int, question: Question) -> None:
    """End a game whose question could not be sent: nothing is left running, and the group
    hears why, with the standings so far."""
    finished = await games(app).stop(chat_id)
    text = f"⚠️ I could not send question {question.number} to this chat, so the game has ended."
    if isinstance(finished, Finished):
        text += "\n\n" + final_text(finished)
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
        try:
            await context.bot.send_message(answer.user.id, LATE)
        except TelegramError:
            log.info("late vote by %s: no private chat to say so", answer.user.id)


async def group_answer_button(update: Update, context: QuizContext) -> None:
    """An option of a group question sent as buttons."""
    action = await pressed(update)
    if action is None:
        return
    query = update.callback_query
    assert query is not None
    outcome = await games(context).button_answer(
        _player(update), action.run, action.item, action.number
    )
    text = {
        "recorded": "Answer recorded ✍",
        "already": "Your first answer counts.",
        "late": "Time is up for this question.",
        "closed": "This question is closed.",
        "invalid": "This button is not valid.",
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
        await message.reply_text(LATE)
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
            await say(app, chat_id, "Nobody joined, so the lobby is closed. /quiz opens a new one.")
        return
    if what == "close":
        result = await service.close_question(run_id, position)
        if result is None:
            return
        chat_id = await _chat_of(app, run_id)
        if chat_id is None:
            return
        await _drop_question_buttons(app, chat_id, result)
        await say(app, chat_id, result_text(result))
        deadline = services_of(app).clock() + PAUSE
        schedule(app, run_id, "advance", position, deadline)
        return
    if what == "advance":
        step = await service.advance(run_id, position)
        chat_id = await _chat_of(app, run_id)
        if step is None or chat_id is None:
            return
        if isinstance(step, Finished):
            await say(app, chat_id, final_text(step))
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


def _names(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(render.esc(shorten(n, 64)) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def result_text(result: QuestionResult) -> str:
    question = result.question
    item = question.item
    lines = [
        f"⏱ <b>{question.number}/{question.total}</b> · Answer: "
        f"<b>{render.esc(correct_answer_text(item))}</b>",
        f"{result.answered} answered · ✅ {len(result.right)} right"
        + (f": {_names(result.right)}" if result.right else ""),
    ]
    if result.partly:
        lines.append(f"🟡 partly right: {_names(result.partly)}")
    lines += ["", f"💡 {render.esc(item.explanation)}", *render.quote_lines(item.sources)]
    return render.fit("\n".join(lines))


FINAL_LINES = 20
"""Players listed by name at the end of a game (the rest are counted)."""


def final_text(finished: Finished) -> str:
    heading = "Game stopped" if finished.stopped else "Game over"
    lines = [f"🏁 <b>{heading}: {render.esc(finished.pack.title)}</b>", ""]
    if not finished.standings:
        lines.append("Nobody answered.")
    medals = {1: "🥇", 2: "🥈", 3: "🥉"}
    shown = finished.standings[:FINAL_LINES]
    for n, s in enumerate(shown, start=1):
        lines.append(
            f"{medals.get(n, f'{n}.')} {render.esc(shorten(s.name, 64))} — "
            f"{render.points(s.points)} pts "
            f"({s.correct}/{finished.total} right, {render.duration(s.seconds_ms / 1000)})"
        )
    if len(finished.standings) > len(shown):
        lines.append(f"… and {len(finished.standings) - len(shown)} more")
    lines += ["", "/leaderboard shows this chat's ranking."]
    return render.fit("\n".join(lines))


# --------------------------------------------------------------------------- commands


async def stop_command(update: Update, context: QuizContext) -> None:
    """End the chat's game now (host or admin), with the standings so far."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    running = await games(context).running_in(chat.id)
    if running is None:
        await reply(update, "No game is on. /quiz opens one.")
        return
    if not await may_control(context, chat.id, user.id, running[1]):
        await reply(update, "Only the host or a group admin can stop the game.")
        return
    stopped = await games(context).stop(chat.id)
    if isinstance(stopped, Finished):
        await reply(update, final_text(stopped))
    elif stopped is not None:
        if stopped.message_id is not None:
            await drop_buttons(context.application.bot, chat.id, stopped.message_id)
        await reply(update, "The lobby is closed.")


async def help_command(update: Update, context: QuizContext) -> None:
    """How group games work."""
    await reply(update, GROUP_HELP)


async def skip_command(update: Update, context: QuizContext) -> None:
    """/skip in a group: there is nothing to skip."""
    await reply(update, SKIP_IN_GROUP)


async def review_command(update: Update, context: QuizContext) -> None:
    """/review in a group: reviews are personal, in a private chat."""
    link = f"https://t.me/{context.bot.username}" if context.bot.username else "me"
    await reply(
        update,
        f"Reviews are personal: send /review to {render.esc(link)} in a private chat, and "
        "the questions you missed come back when they are due.",
    )


async def speed_pack_button(update: Update, context: QuizContext) -> None:
    """A pack picked for a game with the speed bonus."""
    action = await pressed(update)
    if action is None:
        return
    assert update.callback_query is not None
    await update.callback_query.answer()
    await open_lobby(update, context, action.slug, speed=True)
