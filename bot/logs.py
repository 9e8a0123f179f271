"""Logging that never shows the bot token.

python-telegram-bot logs its API URL at DEBUG level and httpx logs every request URL at INFO;
both contain the token. A log-record factory replaces every registered secret in each
record's message before any handler sees it, whatever the logger or handler.
"""

from __future__ import annotations

import logging
from typing import Any

_SECRETS: set[str] = set()
_installed = False


def redact(secret: str | None) -> None:
    """Never let ``secret`` reach a log line from now on."""
    global _installed
    if not secret:
        return
    _SECRETS.add(secret)
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        message = record.getMessage()
        if any(s in message for s in _SECRETS):
            for s in _SECRETS:
                message = message.replace(s, "<redacted>")
            record.msg, record.args = message, None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
