"""The bot speaks the student's language: a private quiz in each shipped language (picked from
Telegram's language_code), with each language's plurals; /language in a private chat and in a
group (admins only), remembered across a restart on the same database."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from test_bot_private import answer_correctly, buttons, item_of, next_data, question_ids, texts
from test_instructor import ARTICLE, grant, pack_yaml, publish_data, upload

from bot.packs.model import ChoiceItem
from bot.testing.offline import ApiCall
from botkit import Clock, Harness, start_harness, user

GROUP = -1001

# What each language must say, and words that only the English bot says.
SAYS = {
    "en": {
        "start": "Pick a quiz:",
        "header": "Question 1 of 34",
        "right": "✅ <b>Correct!</b>",
        "next": "Next ▶",
        "board": "Everyone · all time",
        "points": ["1 point", "2 points", "5 points", "21 points"],
    },
    "uk": {
        "start": "Оберіть вікторину:",
        "header": "Запитання 1 з 34",
        "right": "✅ <b>Правильно!</b>",
        "next": "Далі ▶",
        "board": "Усі · за весь час",
        "points": ["1 бал", "2 бали", "5 балів", "21 бал"],
    },
    "ru": {
        "start": "Выберите викторину:",
        "header": "Вопрос 1 из 34",
        "right": "✅ <b>Верно!</b>",
        "next": "Дальше ▶",
        "board": "Все · за всё время",
        "points": ["1 балл", "2 балла", "5 баллов", "21 балл"],
    },
    "es": {
        "start": "Elige un quiz:",
        "header": "Pregunta 1 de 34",
        "right": "✅ <b>¡Correcto!</b>",
        "next": "Siguiente ▶",
        "board": "Todos · desde siempre",
        "points": ["1 punto", "2 puntos", "5 puntos", "21 puntos"],
    },
}
ENGLISH_ONLY = ["Pick a quiz", "Question 1 of", "Correct!", "Next ▶", "Everyone", " points"]


def speaker(user_id: int, language: str | None, name: str = "Olena") -> dict[str, Any]:
    who = user(user_id, name)
    if language is not None:
        who["language_code"] = language
    return who


def all_buttons(calls: list[ApiCall]) -> list[str]:
    return [text for call in calls for text, _ in buttons(call)]


def toasts(calls: list[ApiCall]) -> list[str]:
    return [str(c.params.get("text", "")) for c in calls if c.method == "answerCallbackQuery"]


@pytest.mark.parametrize(("telegram_code", "language"), [
    ("en-US", "en"), ("uk", "uk"), ("ru", "ru"), ("es-419", "es"),
])  # fmt: skip
async def test_a_private_quiz_in_each_shipped_language(
    bot: Harness, telegram_code: str, language: str
) -> None:
    says = SAYS[language]
    who = speaker(301, telegram_code)
    seen = await bot.text(who, "/start")
    seen += await bot.text(who, "/quiz atacms-2024")
    assert says["start"] in texts(seen) and says["header"] in texts(seen)
    boards: list[str] = []
    for answered in range(1, 22):
        calls = await answer_correctly(bot, who)
        seen += calls
        if answered in (1, 2, 5, 21):
            boards.append(texts(await bot.text(who, "/leaderboard")))
        data = next_data(calls)
        assert data is not None
        seen += await bot.press(who, data, 2000 + answered)
    said = texts(seen)
    assert says["right"] in said
    assert says["next"] in all_buttons(seen)
    for board, points in zip(boards, says["points"], strict=True):
        assert says["board"] in board and f"— {points} (" in board, board
    if language != "en":
        english = [w for w in ENGLISH_ONLY if w in said + "".join(boards)]
        assert english == [], english
        assert not any("Correct!" in t for t in toasts(seen))
    # The pack's own words are the author's: never translated.
    assert "Biden approves ATACMS strikes deep into Russia" in said


async def test_an_unshipped_telegram_language_gets_english(bot: Harness) -> None:
    calls = await bot.text(speaker(302, "de"), "/start")
    assert "Pick a quiz:" in texts(calls)


async def test_language_in_a_private_chat_is_remembered_across_a_restart(
    engine: AsyncEngine, clock: Clock
) -> None:
    who = speaker(303, "en")
    first = await start_harness(engine, clock)
    try:
        offer = await first.text(who, "/language")
        assert "Which language should I speak with you?" in texts(offer)
        names = [text for text, _ in buttons(offer[-1])]
        assert names == ["✓ English", "Українська", "Русский", "Español"]
        chosen = await first.press(who, "lang:uk")
        assert "Збережено." in toasts(chosen)
        assert "Відтепер я розмовляю тут українською." in texts(chosen)
        menus = [c for c in chosen if c.method == "setMyCommands"]
        scopes = [
            json.loads(scope) if isinstance(scope := c.params["scope"], str) else scope
            for c in menus
        ]
        assert scopes == [{"type": "chat", "chat_id": 303}] * 4  # this chat, every app language
        assert "Змінити мову" in str(menus[0].params["commands"])
        forged = await first.press(who, "lang:xx")
        assert toasts(forged) == ["Ця кнопка не діє."]  # not a shipped language
    finally:
        await first.app.shutdown()
    second = await start_harness(engine, clock)  # a restart on the same database
    try:
        calls = await second.text(who, "/help")
        assert "Вікторини за статтями" in texts(calls)
        assert "Оберіть вікторину:" in texts(await second.text(who, "/start"))
        other = await second.text(speaker(304, "en"), "/start")  # nobody else changed
        assert "Pick a quiz:" in texts(other)
    finally:
        await second.app.shutdown()


async def test_language_in_a_group_is_set_by_an_admin_and_remembered(
    engine: AsyncEngine, clock: Clock
) -> None:
    admin, member = speaker(311, "uk", "Ada"), speaker(312, "ru", "Max")
    first = await start_harness(engine, clock)
    try:
        first.api.administrators[GROUP] = {311}
        refused = await first.text(member, "/language", GROUP)
        assert "Only a group admin can change the language here." in texts(refused)
        offer = await first.text(admin, "/language", GROUP)
        assert "Which language should I speak in this group?" in texts(offer)  # English so far
        sneaky = await first.press(member, "lang:es", chat_id=GROUP)
        assert toasts(sneaky) == ["Only a group admin can change the language here."]
        done = await first.press(admin, "lang:es", chat_id=GROUP)
        assert "A partir de ahora hablo español aquí." in texts(done)
    finally:
        await first.app.shutdown()
    second = await start_harness(engine, clock)
    try:
        said = texts(await second.text(member, "/help", GROUP))
        assert "Partidas en grupo" in said  # the group's language, not the member's Russian
        lobby = await second.text(member, "/quiz atacms-2024", GROUP)
        assert "🙋 Me apunto" in all_buttons(lobby) and "34 preguntas" in texts(lobby)
        private = await second.text(member, "/start")  # the member's own chat: Russian
        assert "Выберите викторину:" in texts(private)
    finally:
        await second.app.shutdown()


async def test_an_upload_is_answered_in_the_instructors_language(bot: Harness) -> None:
    olena = speaker(321, "uk")
    await grant(bot, olena)
    words = len(ARTICLE.split())
    assert words % 10 not in (1, 2, 3, 4)  # so the Ukrainian count takes its "many" form
    seen = await upload(bot, olena, "lesson.txt", ARTICLE.encode())
    assert f"📄 Статтю <b>lesson.txt</b> отримано ({words} слів)." in texts(seen)
    assert "я зберігаю статтю 30 хвилин" in texts(seen)
    broken = await upload(bot, olena, "broken.yaml", b"pack: [unclosed\n")
    assert "Нічого не опубліковано: виправте файл і надішліть його ще раз." in texts(broken)
    calls = await upload(bot, olena, "bees.yaml", pack_yaml(["trips", "life", "honey"]))
    said = texts(calls)
    assert "✅ <b>bees.yaml</b> без помилок: <b>Bees in summer</b>" in said  # the author's title
    assert "📄 Стаття: lesson.txt, стаття, яку ви надіслали" in said
    assert "🆕 Новий набір: буде опубліковано 3 запитання." in said
    assert "Натисніть «Опублікувати» протягом 30 хвилин" in said
    assert "📤 Опублікувати" in all_buttons(calls)
    data = publish_data(calls)
    assert data is not None
    published = await bot.press(olena, data)
    assert toasts(published) == ["Опубліковано ✅"]
    assert "Поділіться цим посиланням зі своїм класом:" in texts(published)
    seen += broken + calls + published
    english = ["Article <b>", "Nothing was published", "is valid", "New pack", "Tap Publish"]
    assert [w for w in english if w in texts(seen)] == []


async def test_pack_checks_are_said_in_the_instructors_language(bot: Harness) -> None:
    mykola = speaker(322, "uk", "Mykola")
    await grant(bot, mykola)
    # No article yet: the validator says so in Ukrainian, with the place and the item as written.
    calls = await upload(bot, mykola, "bees.yaml", pack_yaml(["trips"]))
    said = texts(calls)
    assert "4:1: набір: У мене немає статті 'lesson.txt'" in said, said
    await upload(bot, mykola, "lesson.txt", ARTICLE.encode())
    # A misspelt key and an answer missing from the options, each at its line.
    broken = pack_yaml(["trips"]).replace(b"skill: detail", b"skil: detail")
    broken = broken.replace(b"answer: About 100", b"answer: About 100\n    options: [a, b]")
    broken = broken.replace(b'    distractors: [About 10, "About 1,000"]\n', b"")
    said = texts(await upload(bot, mykola, "bees.yaml", broken))
    assert "trips: відповіді 'About 100' немає серед варіантів" in said, said
    assert "trips: невідомий ключ 'skil' (може, 'skill'?)" in said, said
    # A valid pack: the summary and the quality line, with Ukrainian plurals.
    said = texts(await upload(bot, mykola, "bees.yaml", pack_yaml(["trips", "life", "honey"])))
    assert "3 запитання · типи: choice 1, truefalse 1, short 1" in said, said
    assert "🔎 якість: 1 з 3 запитань (33%) із попередженням; правильний варіант найдовший" in said
    assert "«так/ні»: правдивих 1, хибних 0" in said
    assert "попередження: 1 з 2 дистракторів (50%) не мають жодного слова" in said
    english = ["missing key", "not among", "unknown key", "items", "quality:", "types:"]
    assert [w for w in english if w in said] == []


# --------------------------------------------------------------------------- typed letters


async def lettered_choice(bot: Harness, who: dict[str, Any]) -> tuple[ApiCall, ChoiceItem]:
    """Answer until the current question is a single-answer choice with lettered options."""
    for _ in range(34):
        _run, item_id, call = question_ids(bot)
        item = await item_of(bot, item_id)
        labels = [label for label, _ in buttons(call)]
        if isinstance(item, ChoiceItem) and not item.multiple and labels[0] in ("A", "А"):
            return call, item
        data = next_data(await answer_correctly(bot, who))
        await bot.press(who, data or "")
    raise AssertionError("the pack has no lettered single-answer choice")


def option_after(label: str, question: ApiCall) -> str:
    """The option shown after ``label.`` in a question's text."""
    found = re.search(rf"<b>{label}\.</b> (.*)", str(question.params["text"]))
    assert found is not None, question.params["text"]
    return found.group(1)


async def test_ukrainian_readers_see_and_type_cyrillic_option_letters(bot: Harness) -> None:
    olena = speaker(331, "uk")
    await bot.text(olena, "/quiz atacms-2024")
    question, item = await lettered_choice(bot, olena)
    count = len(item.option_texts)
    labels = [label for label, _ in buttons(question)][:count]
    assert labels == list("АБВГДЕЄЖЗИ"[:count])  # Cyrillic А, Б, В, Г as in Ukrainian tests
    hint = await bot.text(olena, "ґ")  # Ґ is not an option letter
    assert texts(hint) == f"Натисніть кнопку або напишіть літеру варіанта (від А до {labels[-1]})."
    # "в" is the third option (В), not a look-alike of the Latin B.
    calls = await bot.text(olena, "в")
    assert f"Ваша відповідь: {option_after('В', question)}" in texts(calls)


async def test_a_latin_letter_still_answers_in_a_ukrainian_chat(bot: Harness) -> None:
    olena = speaker(332, "uk")
    await bot.text(olena, "/quiz atacms-2024")
    question, _item = await lettered_choice(bot, olena)
    calls = await bot.text(olena, "b")
    assert f"Ваша відповідь: {option_after('Б', question)}" in texts(calls)


async def test_russian_readers_type_cyrillic_letters(bot: Harness) -> None:
    masha = speaker(333, "ru")
    await bot.text(masha, "/quiz atacms-2024")
    question, _item = await lettered_choice(bot, masha)
    calls = await bot.text(masha, "Г")
    assert f"Ваш ответ: {option_after('Г', question)}" in texts(calls)


async def test_cyrillic_lookalikes_are_the_latin_letters_in_an_english_chat(bot: Harness) -> None:
    ann = speaker(334, "en")
    await bot.text(ann, "/quiz atacms-2024")
    question, _item = await lettered_choice(bot, ann)
    calls = await bot.text(ann, "В")  # Cyrillic Ve, drawn like the Latin B shown
    assert f"Your answer: {option_after('B', question)}" in texts(calls)


async def test_next_asks_in_the_chosen_language_and_refuses_in_it(bot: Harness) -> None:
    """Next reads the reader's /language choice with the move itself (no read of its own):
    the next question, and a second tap on the same Next, are in the chosen language, not
    Telegram's."""
    who = speaker(305, "en")
    await bot.press(who, "lang:uk")
    await bot.text(who, "/quiz atacms-2024")
    data = next_data(await answer_correctly(bot, who))
    assert data is not None
    moved = await bot.press(who, data, 3001)
    assert "Запитання 2 з 34" in texts(moved)
    again = await bot.press(who, data, 3002)
    assert toasts(again) == ["Ви вже перейшли далі."]
    english = await bot.press(speaker(306, "en"), data, 3003)  # someone else's run, in English
    assert toasts(english) == ["This quiz belongs to someone else."]
