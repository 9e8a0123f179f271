"""Handlers for private chats and the commands every chat shares.

Each handler turns an update into an engine call and the engine's answer into messages.
Group games live in :mod:`bot.telegram.group`, instructor tools in the ``instructor_*``
modules; :mod:`bot.telegram.app` registers them all.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from telegram import Update, User
from telegram.constants import ChatMemberStatus, ChatType

from bot import phrases
from bot.i18n import N_, Translator
from bot.quiz.boards import NoBoard, parse_board_args
from bot.quiz.service import (
    Answered,
    Feedback,
    Moved,
    Question,
    Refused,
    RunSummary,
    Unreadable,
)
from bot.telegram import callbacks, group, render
from bot.telegram.context import (
    QuizContext,
    chat_id_of,
    drop_buttons,
    player_of,
    pressed,
    reply,
    services,
    tr,
    translator_for,
)

log = logging.getLogger("quizbot.telegram")

HELP = N_("""<b>Article quiz bot</b>
Read an article, then check how well you understood it.

/quiz — start or continue a quiz (/quiz <i>pack</i> for a given one)
/read — read the article the quiz is about
/skip — skip the current question (/stop ends the quiz)
/review — the questions you missed, when they are due again (spaced repetition)
/score — your scores, /leaderboard — the rankings (<i>week</i> or <i>all</i>, and a pack)
/settings — show or hide your name on leaderboards

Tap an option to answer, or type it. For typed questions, spelling slips are forgiven and \
numbers may be written as 11,000 or 11 000. After each answer you see why it is right, with \
the article's own words.

In a group, /quiz opens a game for everyone. /language changes the language I speak. \
Instructors: /instructor.""")
HABITS_HELP = N_("""<b>Keep it going</b>
/remind — a daily reminder when questions are due for review (/remind 08:00, /remind off)
/timezone — your time zone, for your days, streaks and reminders (UTC until you set it)""")


# --------------------------------------------------------------------------- questions


async def send_question(
    context: QuizContext, t: Translator, chat_id: int, question: Question
) -> None:
    """Send a question as a new message, and remember it: a typed answer or /skip removes its
    buttons (a button press edits the message it names)."""
    message = await context.bot.send_message(
        chat_id,
        render.question_text(t, question),
        reply_markup=render.question_keyboard(t, question),
    )
    await services(context).quiz.set_message(question.run_id, message.message_id)


async def send_summary(
    context: QuizContext,
    t: Translator,
    chat_id: int,
    summary: RunSummary,
    offer_reminders: bool = False,
) -> None:
    text = render.summary_text(t, summary)
    if offer_reminders:
        text += "\n\n" + render.reminder_offer(t)
    await context.bot.send_message(
        chat_id, render.fit(text), reply_markup=render.summary_keyboard(t, summary)
    )


async def show_feedback(
    context: QuizContext,
    t: Translator,
    chat_id: int,
    outcome: Answered,
    message_id: int | None,
    typed_reply_to: int | None = None,
) -> None:
    """Edit the question message (``message_id``, from a button press) into the verdict, or
    reply to a typed answer (``typed_reply_to``), or else send the verdict; then the Next
    button, or the end-of-run summary."""
    feedback: Feedback = outcome.feedback
    question = feedback.question
    markup = None if outcome.finished else render.next_keyboard(t, question)
    if message_id is not None:
        await context.bot.edit_message_text(
            render.feedback_text(t, feedback),
            chat_id=chat_id,
            message_id=message_id,
            reply_markup=markup,
        )
    else:
        shown = outcome.question_message
        if shown is not None:  # answered by typing or /skip: its buttons would only refuse
            await drop_buttons(context.bot, chat_id, shown)
        await context.bot.send_message(
            chat_id,
            render.feedback_text(t, feedback, with_question=typed_reply_to is None),
            reply_markup=markup,
            reply_to_message_id=typed_reply_to,
        )
    finished = outcome.finished
    if finished is not None:
        # After a student's first finished run, one line offers /remind (once, stored).
        offer = (
            finished.status == "finished"
            and finished.mode == "full"
            and await services(context).habits.offer_reminders(chat_id)
        )
        await send_summary(context, t, chat_id, finished, offer)
        await send_leeches(context, t, chat_id, finished)


async def send_leeches(
    context: QuizContext, t: Translator, chat_id: int, summary: RunSummary
) -> None:
    """Each item the run made a leech, once in full (it leaves the reviews from now on)."""
    for item_id in summary.new_leeches:
        text = render.leech_text(t, summary.pack, item_id)
        if text is not None:
            await context.bot.send_message(chat_id, text)


async def offer_or_start(
    update: Update, context: QuizContext, slug: str, user: User, chat_id: int
) -> None:
    """Open a pack: offer to continue an unfinished run, or start a new one."""
    t = await tr(update, context)
    quiz = services(context).quiz
    player = player_of(user)
    pack, waiting = await quiz.unfinished_run(player, slug)
    if pack is None:
        await reply(update, render.no_such_pack(t, slug))
        return
    if waiting is not None:
        await reply(
            update,
            t.gettext(
                "You have an unfinished run of <b>{title}</b> at question {number} of {total}.",
                title=render.esc(pack.title),
                number=waiting.number,
                total=waiting.total,
            ),
            reply_markup=render.keyboard(
                [
                    [
                        (t.gettext("▶ Continue"), callbacks.resume(waiting.run_id)),
                        (t.gettext("↻ Start over"), callbacks.restart(pack.slug)),
                    ]
                ]
            ),
        )
        return
    current = await quiz.current_run(player)
    if current is not None:  # one run in progress per chat: ask before starting another
        await offer_switch(update, t, current, pack.title, callbacks.restart(pack.slug))
        return
    await start_new(update, context, slug, user, chat_id)


async def offer_switch(
    update: Update, t: Translator, current: Question, new_title: str, start: str
) -> None:
    """The player is in the middle of ``current``: offer to start ``new_title`` (button data
    ``start``) or to go back; the other run is kept either way."""
    back = (t.gettext("↩ Back to my run"), callbacks.resume(current.run_id))
    await reply(
        update,
        render.switch_text(t, current, new_title),
        reply_markup=render.keyboard([[(t.gettext("▶ Start it"), start), back]]),
    )


async def start_new(
    update: Update, context: QuizContext, slug: str, user: User, chat_id: int
) -> None:
    t = await tr(update, context)
    question = await services(context).quiz.start_run(player_of(user), slug, chat_id)
    if question is None:
        await reply(update, render.no_such_pack(t, slug))
        return
    await reply(
        update,
        t.ngettext(
            "📝 <b>{title}</b>: {n} question. "
            "Take your time; /read shows the article, /stop ends the quiz.",
            "📝 <b>{title}</b>: {n} questions. "
            "Take your time; /read shows the article, /stop ends the quiz.",
            question.total,
            title=render.esc(question.pack.title),
        ),
    )
    await send_question(context, t, chat_id, question)


async def ask_which_pack(update: Update, context: QuizContext, action: str) -> None:
    t = await tr(update, context)
    packs = await services(context).players.visible_packs()
    if not packs:
        await reply(update, t.gettext("No quizzes are published yet."))
        return
    await reply(update, t.gettext("Which quiz?"), reply_markup=render.pack_buttons(packs, action))


# --------------------------------------------------------------------------- commands


async def start(update: Update, context: QuizContext) -> None:
    """Greet the user and list the packs; ``/start <slug>`` (a deep link) opens that pack."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    if context.args:
        await offer_or_start(update, context, context.args[0], user, chat.id)
        return
    packs = await services(context).players.welcome(player_of(user))
    t = await tr(update, context)
    greeting = t.gettext(
        "Hello, {name}! 👋\n"
        "I check how well you understood an article: multiple choice, true or false and "
        "typed answers, each explained with the article's own words.",
        name=render.esc(user.first_name),
    )
    if packs:
        await reply(
            update,
            greeting + "\n\n" + t.gettext("Pick a quiz:"),
            reply_markup=render.pack_buttons(packs),
        )
    else:
        await reply(update, greeting + "\n\n" + t.gettext("No quizzes are published yet."))


async def help_command(update: Update, context: QuizContext) -> None:
    """Explain the commands."""
    t = await tr(update, context)
    await reply(update, t.gettext(HELP) + "\n\n" + t.gettext(HABITS_HELP))


async def packs_command(update: Update, context: QuizContext) -> None:
    """List the published packs with buttons to start them."""
    packs = await services(context).players.visible_packs()
    await reply(
        update,
        render.pack_list(await tr(update, context), packs),
        reply_markup=render.pack_buttons(packs) if packs else None,
    )


async def quiz_command(update: Update, context: QuizContext) -> None:
    """Start (or continue) a quiz; without a pack, ask which one."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    if context.args:
        await offer_or_start(update, context, context.args[0], user, chat.id)
        return
    packs = await services(context).players.visible_packs()
    if len(packs) == 1:
        await offer_or_start(update, context, packs[0].slug, user, chat.id)
    else:
        await ask_which_pack(update, context, "pk")


async def read_command(update: Update, context: QuizContext) -> None:
    """Send the article in parts under Telegram's limit, split between paragraphs."""
    if context.args:
        await send_article(update, context, context.args[0])
        return
    packs = await services(context).players.visible_packs()
    if len(packs) == 1:
        await send_article(update, context, packs[0].slug)
    else:
        await ask_which_pack(update, context, "rd")


async def send_article(update: Update, context: QuizContext, slug: str) -> None:
    t = await tr(update, context)
    pack = await services(context).players.find_pack(slug)
    if pack is None:
        await reply(update, render.no_such_pack(t, slug))
        return
    if not pack.article_text:  # a pack imported from Moodle, GIFT... without `article:`
        await reply(
            update,
            t.gettext(
                "<b>{title}</b> has no article: its questions stand on their own, and each "
                "answer is explained without a quote.",
                title=render.esc(pack.title),
            ),
        )
        return
    for part in render.article_parts(pack.title, pack.article_text):
        await reply(update, part)


async def skip_command(update: Update, context: QuizContext) -> None:
    """Skip the current question of the user's quiz."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    outcome = await services(context).quiz.skip(player_of(user))
    t = await language_of(update, context, outcome)
    if isinstance(outcome, Answered):
        await show_feedback(context, t, chat.id, outcome, None)
    elif isinstance(outcome, Refused):
        text = phrases.refusal(t, outcome.reason)
        if outcome.reason == "already":
            text = t.gettext("You have answered this one: tap Next ▶ to go on.")
        elif outcome.reason == "no_run":
            text = t.gettext("No quiz is running. Send /quiz to start one.")
        await reply(update, render.esc(text))


async def review_command(update: Update, context: QuizContext) -> None:
    """Re-ask the items that spaced repetition says are due (``/review [pack]``)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    await start_review(update, context, user, chat.id, context.args[0] if context.args else None)


async def start_review(
    update: Update,
    context: QuizContext,
    user: User,
    chat_id: int,
    slug: str | None,
    confirmed: bool = False,
) -> None:
    """Start a review run of the due items (of ``slug``, or of the pack with the most); in the
    middle of another run, ask first (``confirmed`` skips that)."""
    svc = services(context)
    t = await tr(update, context)
    player = player_of(user)
    found = await svc.players.reviews(player, slug)
    due = found.due
    if found.unknown_pack:
        await reply(update, render.no_such_pack(t, slug or ""))
        return
    if not due.by_pack:
        if due.next_due is None:
            await reply(
                update, t.gettext("Nothing to review yet. Answer some questions first: /quiz")
            )
        else:
            wait = render.duration(t, (due.next_due - svc.clock()).total_seconds())
            await reply(
                update,
                t.gettext(
                    "Nothing to review right now. The next review is due in {wait}.", wait=wait
                ),
            )
        return
    slug, item_ids = max(due.by_pack.items(), key=lambda entry: len(entry[1]))
    current = None if confirmed else await svc.quiz.current_run(player)
    if current is not None:
        await offer_switch(update, t, current, t.gettext("a review"), callbacks.review_pack(slug))
        return
    question = await svc.quiz.start_run(player, slug, chat_id, mode="review", item_ids=item_ids)
    if question is None:
        await reply(update, t.gettext("Those questions are no longer in the quiz."))
        return
    await reply(
        update,
        t.ngettext(
            "🔁 <b>{title}</b>: {n} question is due for review. "
            "Review runs are practice: they do not change the leaderboard.",
            "🔁 <b>{title}</b>: {n} questions are due for review. "
            "Review runs are practice: they do not change the leaderboard.",
            question.total,
            title=render.esc(question.pack.title),
        ),
    )
    await send_question(context, t, chat_id, question)


async def stop_command(update: Update, context: QuizContext) -> None:
    """Stop the user's current quiz and show the score so far."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    t = await tr(update, context)
    summary = await services(context).quiz.stop(player_of(user))
    if summary is None:
        await reply(update, t.gettext("No quiz is running. Send /quiz to start one."))
        return
    await send_summary(context, t, chat.id, summary)
    await send_leeches(context, t, chat.id, summary)


async def score_command(update: Update, context: QuizContext) -> None:
    """The streak of local days, then per pack: answered, correct, accuracy, best run."""
    user = update.effective_user
    if user is None:
        return
    scores = await services(context).habits.scores(player_of(user))
    await reply(update, render.score_text(await tr(update, context), scores))


async def leaderboard_command(update: Update, context: QuizContext) -> None:
    """The chat's ranking in a group, the global one in a private chat; always with the
    caller's own rank. Options: ``week`` or ``all``, and a pack."""
    user, chat = update.effective_user, update.effective_chat
    if chat is None:
        return
    query = parse_board_args(list(context.args or []))
    if isinstance(query, NoBoard):
        await reply(update, render.esc(phrases.no_board(await tr(update, context), query)))
        return
    await send_board(update, context, query, user, chat.id, chat.type != ChatType.PRIVATE)


async def send_board(
    update: Update,
    context: QuizContext,
    query: Any,
    user: User | None,
    chat_id: int,
    in_group: bool,
) -> None:
    svc = services(context)
    player = player_of(user) if user is not None else None
    # The board's unit of work reads the language too (one read fewer per /leaderboard).
    viewer_id, board, chosen = await svc.quiz.leaderboard(
        svc.boards, player, chat_id if in_group else None, query
    )
    t = translator_for(update, chosen)
    if isinstance(board, NoBoard):
        await reply(update, render.esc(phrases.no_board(t, board)))
        return
    text = render.leaderboard_text(
        t,
        phrases.board_title(t, board),
        board.top,
        board.mine,
        viewer_id,
        asked_by_player=player is not None,
    )
    await reply(update, text)


async def settings_command(update: Update, context: QuizContext) -> None:
    """Show the privacy setting with a button to change it."""
    user = update.effective_user
    if user is None:
        return
    hidden = await services(context).players.is_hidden(player_of(user))
    t = await tr(update, context)
    await reply(update, privacy_text(t, hidden), reply_markup=privacy_keyboard(t, hidden))


def privacy_text(t: Translator, hidden: bool) -> str:
    if hidden:
        return t.gettext(
            "🙈 You are <b>hidden</b>: others see you as “anonymous” on leaderboards. "
            "You still see your own rank."
        )
    return t.gettext("👀 Your name is <b>shown</b> on leaderboards.")


def privacy_keyboard(t: Translator, hidden: bool) -> Any:
    if hidden:
        return render.keyboard([[(t.gettext("Show my name"), callbacks.privacy(False))]])
    return render.keyboard([[(t.gettext("Hide me (anonymous)"), callbacks.privacy(True))]])


# --------------------------------------------------------------------------- typed answers


async def private_text(update: Update, context: QuizContext) -> None:
    """A typed answer to the current question, or a hint when no quiz is running."""
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    if user is None or chat is None or message is None or message.text is None:
        return
    # The reader's language comes first: it decides the option letters a typed answer uses.
    t = await tr(update, context)
    outcome = await services(context).quiz.answer_text(
        player_of(user), message.text, language=t.language
    )
    if isinstance(outcome, Answered):
        await show_feedback(context, t, chat.id, outcome, None, typed_reply_to=message.message_id)
    elif isinstance(outcome, Unreadable):
        hint = (
            phrases.note(t, outcome.hint)
            if outcome.question.typed
            else render.choice_hint(t, outcome.question)
        )
        await message.reply_text(render.esc(hint))
    elif outcome.reason == "already":
        await message.reply_text(t.gettext("You have answered this one: tap Next ▶ to go on."))
    else:
        await message.reply_text(
            t.gettext("No quiz is running. Send /quiz to start one, or /help.")
        )


async def private_other(update: Update, context: QuizContext) -> None:
    """Stickers, photos and other messages the bot does not expect."""
    message = update.effective_message
    if message is not None:
        t = await tr(update, context)
        await message.reply_text(t.gettext("I read text only: send /quiz to start, or /help."))


# --------------------------------------------------------------------------- buttons


async def answer_button(update: Update, context: QuizContext) -> None:
    """An option, a toggle, Submit or Skip under a private question."""
    action = await pressed(update, context)
    if action is None:
        return
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    quiz = services(context).quiz
    player = player_of(update.effective_user)
    if action.kind == "t":
        t = await tr(update, context)
        toggled = await quiz.toggle(player, action.run, action.item, action.number)
        if isinstance(toggled, Refused):
            await query.answer(phrases.refusal(t, toggled.reason))
            return
        await query.answer()
        await query.edit_message_text(
            render.question_text(t, toggled),
            reply_markup=render.question_keyboard(t, toggled),
        )
        return
    if action.kind == "k":
        outcome = await quiz.skip(player, action.run, action.item)
    else:
        option = action.number if action.kind == "a" else None
        outcome = await quiz.choose(player, action.run, action.item, option)
    t = await language_of(update, context, outcome)
    if isinstance(outcome, Refused):
        await query.answer(phrases.refusal(t, outcome.reason))
        return
    if isinstance(outcome, Unreadable):
        await query.answer(phrases.note(t, outcome.hint))
        return
    grade = outcome.feedback.grade
    if grade.correct:
        toast = t.gettext("✅ Correct!")
    elif action.kind == "k":
        toast = t.gettext("Skipped")
    else:
        toast = t.gettext("❌ Not quite")
    await query.answer(toast)
    message = query.message
    chat_id = message.chat.id if message is not None else update.effective_user.id
    message_id = message.message_id if message is not None else None
    await show_feedback(context, t, chat_id, outcome, message_id)


async def language_of(update: Update, context: QuizContext, outcome: object) -> Translator:
    """The translator for the reply to an answer or a Next: an answer recorded or a move made
    brings the player's language (read by the statement that claimed it); anything else reads
    it."""
    if isinstance(outcome, Answered | Moved):
        return translator_for(update, outcome.language)
    return await tr(update, context)


async def next_button(update: Update, context: QuizContext) -> None:
    """Next ▶ after a verdict: the following question."""
    action = await pressed(update, context)
    if action is None:
        return
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    moved = await services(context).quiz.next_question(
        player_of(update.effective_user), action.run, action.number
    )
    t = await language_of(update, context, moved)
    if isinstance(moved, Refused):
        await query.answer(phrases.refusal(t, moved.reason))
        return
    await query.answer()
    if query.message is not None:
        await drop_buttons(context.bot, query.message.chat.id, query.message.message_id)
    await send_question(context, t, chat_id_of(update), moved.question)


async def resume_button(update: Update, context: QuizContext) -> None:
    """Continue an unfinished run."""
    action = await pressed(update, context)
    if action is None:
        return
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    t = await tr(update, context)
    question = await services(context).quiz.resume(player_of(update.effective_user), action.run)
    if isinstance(question, Refused):
        await query.answer(phrases.refusal(t, question.reason))
        return
    await query.answer()
    await send_question(context, t, chat_id_of(update), question)


async def pack_button(update: Update, context: QuizContext) -> None:
    """A pack picked from a list: open it (in a group, open a lobby)."""
    action = await pressed(update, context)
    if action is None:
        return
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    await query.answer()
    chat = update.effective_chat
    if chat is not None and chat.type != ChatType.PRIVATE:
        await group.open_lobby(update, context, action.slug)
        return
    if action.kind == "new":
        await start_new(update, context, action.slug, update.effective_user, chat_id_of(update))
    else:
        await offer_or_start(
            update, context, action.slug, update.effective_user, chat_id_of(update)
        )


async def review_button(update: Update, context: QuizContext) -> None:
    """Review the mistakes of a finished run (asking first in the middle of another)."""
    action = await pressed(update, context)
    if action is None:
        return
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    quiz = services(context).quiz
    t = await tr(update, context)
    player = player_of(update.effective_user)
    summary = await quiz.summary(player, action.run)
    if isinstance(summary, Refused):
        await query.answer(phrases.refusal(t, summary.reason))
        return
    if not summary.missed_item_ids:
        await query.answer(t.gettext("No mistakes to review in that run. 🎉"))
        return
    current = await quiz.current_run(player) if action.kind == "rv" else None
    if current is not None:
        await query.answer()
        review_now = callbacks.review_now(action.run)
        await offer_switch(update, t, current, t.gettext("a review"), review_now)
        return
    question = await quiz.start_run(
        player,
        summary.pack.slug,
        chat_id_of(update),
        mode="review",
        item_ids=summary.missed_item_ids,
    )
    if question is None:
        await query.answer(t.gettext("Those questions are no longer in the quiz."))
        return
    await query.answer()
    await send_question(context, t, chat_id_of(update), question)


async def review_pack_button(update: Update, context: QuizContext) -> None:
    """A confirmed /review of a pack, leaving the current run."""
    action = await pressed(update, context)
    if action is None:
        return
    assert update.callback_query is not None and update.effective_user is not None
    await update.callback_query.answer()
    await start_review(
        update, context, update.effective_user, chat_id_of(update), action.slug, confirmed=True
    )


async def review_due_button(update: Update, context: QuizContext) -> None:
    """**Review now** under a reminder: /review of what is due."""
    action = await pressed(update, context)
    if action is None:
        return
    assert update.callback_query is not None and update.effective_user is not None
    await update.callback_query.answer()
    await start_review(update, context, update.effective_user, chat_id_of(update), None)


async def read_button(update: Update, context: QuizContext) -> None:
    """Read the article of a pack."""
    action = await pressed(update, context)
    if action is None:
        return
    assert update.callback_query is not None
    await update.callback_query.answer()
    await send_article(update, context, action.slug)


async def board_button(update: Update, context: QuizContext) -> None:
    """A pack's leaderboard."""
    action = await pressed(update, context)
    if action is None:
        return
    assert update.callback_query is not None
    await update.callback_query.answer()
    chat = update.effective_chat
    in_group = chat is not None and chat.type != ChatType.PRIVATE
    await send_board(
        update,
        context,
        parse_board_args([action.slug]),
        update.effective_user,
        chat_id_of(update),
        in_group,
    )


async def privacy_button(update: Update, context: QuizContext) -> None:
    """Show or hide the name on leaderboards."""
    action = await pressed(update, context)
    if action is None:
        return
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    hidden = bool(action.number)
    await services(context).players.set_hidden(player_of(update.effective_user), hidden)
    t = await tr(update, context)
    await query.answer(t.gettext("Saved."))
    await query.edit_message_text(privacy_text(t, hidden), reply_markup=privacy_keyboard(t, hidden))


# --------------------------------------------------------------------------- life cycle


async def member_update(update: Update, context: QuizContext) -> None:
    """A user who blocks the bot is marked inactive (and active again on return)."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.PRIVATE:
        return
    blocked = change.new_chat_member.status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT)
    await services(context).players.set_active(change.from_user.id, not blocked)


async def unknown_command(update: Update, context: QuizContext) -> None:
    """A command the bot does not know."""
    message = update.effective_message
    if message is not None:
        command = html.escape((message.text or "").split()[0][:40])
        t = await tr(update, context)
        await message.reply_text(
            t.gettext("I don't know {command}. Send /help for the commands.", command=command)
        )
