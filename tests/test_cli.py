"""The quizbot command: run without a token, play through piped stdin, pack management."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.packs import validate_pack_file
from bot.packs.model import NumberItem, ShortItem, TrueFalseItem
from botkit import CONTENT, ROOT


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private database and content folder for each test (no .env, no token)."""
    database = tmp_path / "quizbot.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    monkeypatch.setenv("QUIZBOT_CONTENT_DIR", str(CONTENT))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    return database


def test_run_without_a_token_says_how_to_get_one(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "TELEGRAM_BOT_TOKEN is not set" in err
    assert "@BotFather" in err and "quizbot play" in err


def test_invalid_settings_are_one_line(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QUIZBOT_ADMIN_IDS", "12,abc")
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("quizbot: error: invalid setting QUIZBOT_ADMIN_IDS")
    assert err.count("\n") == 1


@pytest.mark.parametrize("rate", ["0", "45", "fast"])
def test_a_send_rate_beyond_telegrams_is_one_line(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], rate: str
) -> None:
    monkeypatch.setenv("QUIZBOT_SEND_RATE", rate)
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("quizbot: error: invalid setting QUIZBOT_SEND_RATE")
    assert err.count("\n") == 1


def test_webhook_options_parse() -> None:
    from bot.cli import build_parser

    args = build_parser().parse_args(
        [
            "run",
            "--webhook-url",
            "https://example.org/tg",
            "--port",
            "8080",
            "--secret-token",
            "s3cret",
            "--url-path",
            "tg",
        ]
    )
    assert (args.webhook_url, args.port, args.secret_token, args.url_path, args.listen) == (
        "https://example.org/tg",
        8080,
        "s3cret",
        "tg",
        "0.0.0.0",
    )


def english_terminal() -> dict[str, str]:
    """The environment with an English locale, whatever the machine running the tests uses."""
    environ = {
        k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")
    }
    return {**environ, "LANG": "C.UTF-8"}


def play(args: list[str], answers: str, env: dict[str, str] | None = None) -> Any:
    """``quizbot play ARGS`` in a child process with ``answers`` piped in (English terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "play", *args],
        input=answers,
        capture_output=True,
        text=True,
        timeout=120,
        env=env or english_terminal(),
    )


def test_play_through_piped_stdin(env: Path) -> None:
    """The first thing a new user can try: no token, answers piped in, same database."""
    report = validate_pack_file(CONTENT / "atacms-2024.yaml")
    assert report.pack is not None
    typed = ["1"]  # the first item is a choice: its first option, right or wrong
    for item in report.pack.items[1:5]:  # then the pack's own answers, a multi-select skipped
        if isinstance(item, TrueFalseItem):
            typed.append("t" if item.answer else "f")
        elif isinstance(item, ShortItem):
            typed.append(item.model_answer)
        elif isinstance(item, NumberItem):
            typed.append(f"{item.answer:g}")
        else:
            typed.append("skip")
    assert "skip" in typed and len([t for t in typed[1:] if t != "skip"]) >= 2
    answers = "\n".join([*typed, "quit"]) + "\n"
    done = play(["--name", "Ann", "--pack", "atacms-2024"], answers)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Biden approves ATACMS strikes deep into Russia: 34 questions" in out
    assert "Question 1 of 34" in out and "Question 6 of 34" in out
    assert out.count("Correct!") >= 2  # the short answer and the number
    assert "Skipped." in out and "Why:" in out and "Article: “" in out
    assert "Stopped: Biden approves ATACMS strikes deep into Russia" in out
    assert "Leaderboard (Everyone · all time)" in out and "Ann (you)" in out
    with sqlite3.connect(env) as db:
        attempts = db.execute("select count(*) from attempts").fetchone()[0]
        runs = db.execute("select kind, status from quiz_runs").fetchall()
    assert attempts == 5
    assert runs == [("terminal", "stopped")]


def test_play_rereads_unreadable_answers(env: Path) -> None:
    done = play(["--name", "Bo", "--pack", "atacms-2024"], "nine\n")
    assert done.returncode == 0, done.stderr
    assert "type an option number from 1 to 4" in done.stdout
    assert "Stopped" in done.stdout  # end of input stops the run cleanly


@pytest.mark.parametrize(
    ("lang", "flag", "said"),
    [
        ("uk_UA.UTF-8", [], ["Запитання 1 з 34", "Правильно!", "Рейтинг (Усі · за весь час)"]),
        ("ru_RU.UTF-8", [], ["Вопрос 1 из 34", "Верно!", "Рейтинг (Все · за всё время)"]),
        ("uk_UA.UTF-8", ["--lang", "es"], ["Pregunta 1 de 34", "¡Correcto!", "Clasificación"]),
    ],
)
def test_play_speaks_the_terminal_language(
    env: Path, lang: str, flag: list[str], said: list[str]
) -> None:
    """LANG picks the language, --lang overrides it; the pack's own words stay as written."""
    done = play(
        ["--name", "Ola", "--pack", "atacms-2024", *flag],
        "\n".join(["1", "fury", "f", "200", "quit"]) + "\n",
        env={**english_terminal(), "LANG": lang},
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for text in said:
        assert text in out, (text, out[-1500:])
    assert "Question 1 of" not in out and "Correct!" not in out
    assert "Biden approves ATACMS strikes deep into Russia" in out  # content: the author's


def test_validate_exit_codes(env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pack", "validate"]) == 0
    out = capsys.readouterr().out
    assert "pack 'atacms-2024': 34 items; types: choice 12, truefalse 10, short 8, number 4" in out
    assert "all valid" in out
    broken = ROOT / "tests" / "packs" / "broken" / "unknown-key.yaml"
    assert main(["pack", "validate", str(broken)]) == 1
    out = capsys.readouterr().out
    assert f"{broken}:" in out and "unknown key" in out
    assert main(["pack", "validate", str(tmp_path / "nope.yaml")]) == 2
    with pytest.raises(SystemExit) as usage:
        main(["pack", "validate", "--bogus"])
    assert usage.value.code == 2


def test_pack_checks_speak_the_terminal_language(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """LANG picks the language of problems and summaries, --lang overrides it; the format
    stays file:line:column: item: message, and the CLI's own frame is in that language too."""
    broken = ROOT / "tests" / "packs" / "broken" / "unknown-key.yaml"
    assert main(["pack", "validate", str(broken)]) == 1
    english = capsys.readouterr().out
    monkeypatch.setenv("LANG", "uk_UA.UTF-8")
    assert main(["pack", "validate", str(broken)]) == 1
    ukrainian = capsys.readouterr().out
    assert "unknown key" in english and "невідомий ключ" in ukrainian
    assert "unknown key" not in ukrainian
    assert "1 pack(s) checked: problems found" in english
    assert "Перевірено пакетів: 1. Знайдено проблеми" in ukrainian
    places = re.compile(r"^  (\S+:\d+:\d+): (\S+): ", re.MULTILINE)
    assert places.findall(ukrainian) == places.findall(english) != []
    assert main(["pack", "validate", "--lang", "es", str(broken)]) == 1
    spanish = capsys.readouterr().out
    assert "clave desconocida" in spanish and "Paquetes revisados: 1. Hay problemas" in spanish
    assert main(["pack", "check", str(CONTENT / "kyiv-metro-uk.yaml")]) == 0
    out = capsys.readouterr().out
    assert "Перевірено пакетів: 1. Усе гаразд" in out
    assert "22 запитання; типи: choice 5, truefalse 6, short 5, number 6" in out
    assert "якість: 0 з 22 запитань (0%) із попередженням" in out


def test_import_list_and_status(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pack", "import"]) == 0
    assert "atacms-2024: new pack, 34 items added" in capsys.readouterr().out
    assert main(["pack", "import"]) == 0
    assert "atacms-2024: unchanged (34 items)" in capsys.readouterr().out

    # An edit: a copy of the pack without its last item, and one question reworded.
    folder = tmp_path / "edited"
    folder.mkdir()
    text = (CONTENT / "atacms-2024.yaml").read_text(encoding="utf-8")
    text = text.replace("../seeds/", f"{ROOT}/seeds/")
    text = text[: text.rindex("  - id: challenges-ahead")]
    text = text.replace("Which verb does the article use for what", "Which verb describes what")
    (folder / "atacms-2024.yaml").write_text(text, encoding="utf-8")
    assert main(["pack", "import", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "atacms-2024: 0 added, 1 updated, 1 retired, 32 unchanged" in out
    assert "updated: kursk-verb" in out and "retired: challenges-ahead" in out

    broken = ROOT / "tests" / "packs" / "broken" / "unknown-key.yaml"
    assert main(["pack", "import", str(broken)]) == 1
    assert "nothing imported" in capsys.readouterr().out

    assert main(["pack", "list"]) == 0
    assert "atacms-2024    active   33 items, 1 retired" in capsys.readouterr().out
    assert main(["pack", "hide", "atacms-2024"]) == 0
    assert main(["pack", "list"]) == 0
    assert "hidden" in capsys.readouterr().out
    assert main(["pack", "retire", "nope"]) == 1
    assert "no pack 'nope'" in capsys.readouterr().err


def test_db_upgrade_creates_the_schema(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert "(head)" in capsys.readouterr().out
    with sqlite3.connect(env) as db:
        tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
    assert {"users", "packs", "items", "quiz_runs", "attempts", "score_totals"} <= tables


def test_console_script_is_installed() -> None:
    script = shutil.which("quizbot", path=str(Path(sys.executable).parent))
    assert script is not None
    done = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "play" in done.stdout and "pack" in done.stdout


def test_readme_piped_play_example(env: Path) -> None:
    """The quick start's piped `quizbot play` line runs as written and scores what it says."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^printf '([^']*)' \| quizbot play ([^\n#]*?)\s*$", readme, re.MULTILINE)
    assert found is not None, "the README lost its piped play example"
    answers = found.group(1).encode().decode("unicode_escape")
    done = play(shlex.split(found.group(2)), answers)
    assert done.returncode == 0, done.stderr
    assert "Skipped." in done.stdout
    assert done.stdout.count("Correct!") == 2  # the true/false and the typed word
    assert "Stopped:" in done.stdout
