"""Telegram's text limits, as plain numbers so that the domain never imports ``telegram``.

The values are ``telegram.constants.MessageLimit`` and ``PollLimit`` of python-telegram-bot
22.x; ``tests/test_pack_limits.py`` fails if the library ever disagrees.
"""

MESSAGE_TEXT = 4096
"""MessageLimit.MAX_TEXT_LENGTH: characters in one text message (after entity parsing)."""

POLL_QUESTION = 300
"""PollLimit.MAX_QUESTION_LENGTH."""

POLL_OPTION = 100
"""PollLimit.MAX_OPTION_LENGTH."""

POLL_OPTIONS = 12
"""PollLimit.MAX_OPTION_NUMBER."""

POLL_EXPLANATION = 200
"""PollLimit.MAX_EXPLANATION_LENGTH: longer explanations are trimmed in the poll and sent whole
when it closes."""

MESSAGE_CHROME = 160
"""Characters the bot adds around an item's own texts in one message: the header, the verdict
line, labels and numbering."""

TITLE = 128
"""Longest pack title: it is shown on buttons and in every question header."""

DESCRIPTION = 1024
"""Longest pack description."""
