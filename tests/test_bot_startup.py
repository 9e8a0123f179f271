"""``quizbot run`` without a Bot API, as a real process (issue 11, bug 6): the database is opened
and upgraded before the first Bot API call, a network failure is one log line per retry, and
the process then exits with one clear line."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

from botkit import CONTENT


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there any more


def run_bot(tmp_path: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "123456:TEST-TOKEN",
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{closed_port()}/bot",
        "DATABASE_URL": database_url,
        "QUIZBOT_CONTENT_DIR": str(CONTENT),
        "QUIZBOT_STARTUP_RETRIES": "2",
        "QUIZBOT_STARTUP_BACKOFF": "0.1",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_no_bot_api_is_one_line_per_retry_then_a_clear_exit(tmp_path: Path) -> None:
    database = tmp_path / "quizbot.db"
    done = run_bot(tmp_path, f"sqlite+aiosqlite:///{database}")
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    retries = [line for line in lines if "retry" in line]
    assert len(retries) == 2, done.stderr
    assert "retry 1 of 2 in 0.1 s" in retries[0] and "retry 2 of 2 in 0.2 s" in retries[1]
    assert lines[-1].startswith("quizbot: error: cannot reach the Telegram Bot API at http://127")
    assert "gave up after 3 tries" in lines[-1]
    # Besides the migration and import notes: the two retries and the error, nothing else.
    noise = [line for line in lines[:-1] if " INFO " not in line and "retry" not in line]
    assert noise == [], done.stderr
    assert "TEST-TOKEN" not in done.stderr
    # The database was opened, upgraded and filled before the first Bot API call.
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT slug FROM packs ORDER BY slug").fetchall() == [
            ("atacms-2024",),
            ("kyiv-metro-uk",),
        ]


def test_a_database_error_comes_first_and_alone(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    done = run_bot(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'file' / 'quizbot.db'}")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "retry" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("quizbot: error:"), done.stderr
    assert "Bot API" not in done.stderr
