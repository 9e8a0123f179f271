"""The wheel carries what a non-editable install needs: every module of bot/, the Alembic
migrations and the bundled pack with its article; and a bad environment variable is one line
that names it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bot.cli import main
from bot.i18n import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 and "No module named" in done.stderr:
        pytest.skip(f"cannot build wheels here: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("quizbot-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_carries_every_module_the_migrations_and_the_bundled_pack(
    wheel: zipfile.ZipFile,
) -> None:
    names = set(wheel.namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "bot").rglob("*.py")}
    assert modules <= names, sorted(modules - names)
    versions = {p.name for p in (ROOT / "migrations" / "versions").glob("*.py")}
    assert versions and {f"bot/bundled/migrations/versions/{v}" for v in versions} <= names
    for needed in ("alembic.ini", "env.py", "script.py.mako"):
        assert f"bot/bundled/migrations/{needed}" in names
    packs = {p.name for p in (ROOT / "content").glob("*.yaml")}
    assert packs and {f"bot/bundled/content/{p}" for p in packs} <= names
    assert "bot/bundled/seeds/biden-atacms-2024.txt" in names
    catalogs = {p.relative_to(ROOT).as_posix() for p in (ROOT / "bot" / "locale").rglob("*.mo")}
    assert len(catalogs) == len(LANGUAGES) and catalogs <= names


def test_a_bad_variable_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QUIZBOT_LOG_LEVEL", "verbose")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "QUIZBOT_LOG_LEVEL" in err and "Traceback" not in err
