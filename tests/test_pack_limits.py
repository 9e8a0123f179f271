"""The domain keeps Telegram's limits as plain numbers; they must match the library's."""

from telegram.constants import MessageLimit, PollLimit

from bot.packs import limits


def test_message_limit_matches_python_telegram_bot() -> None:
    assert limits.MESSAGE_TEXT == MessageLimit.MAX_TEXT_LENGTH


def test_poll_limits_match_python_telegram_bot() -> None:
    assert limits.POLL_QUESTION == PollLimit.MAX_QUESTION_LENGTH
    assert limits.POLL_OPTION == PollLimit.MAX_OPTION_LENGTH
    assert limits.POLL_OPTIONS == PollLimit.MAX_OPTION_NUMBER
    assert limits.POLL_EXPLANATION == PollLimit.MAX_EXPLANATION_LENGTH


def test_the_bot_leaves_room_for_an_items_own_text() -> None:
    assert 0 < limits.MESSAGE_CHROME < limits.MESSAGE_TEXT // 4
