"""The shape of the code, checked: the Telegram adapter has no import circle, test support
stays out of the bot's runtime path, and nothing in ``bot/`` reaches into a library object's
private attributes (issue 12)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"


def imported_modules(tree: ast.AST, package: str) -> set[str]:
    """Every module a file imports, anywhere in it (deferred imports included)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the file's package
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def telegram_graph(folder: Path) -> dict[str, set[str]]:
    """``module -> modules of the same folder it imports``, for every ``*.py`` in ``folder``."""
    package = "bot.telegram"
    modules = {f"{package}.{p.stem}": p for p in folder.glob("*.py") if p.stem != "__init__"}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = {m for m in imported_modules(tree, package) if m in modules} - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph``, or None."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_telegram_adapter_has_no_import_circle() -> None:
    graph = telegram_graph(BOT / "telegram")
    assert "bot.telegram.app" in graph and len(graph) >= 8
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_circles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_deferred_imports_count_as_edges(tmp_path: Path) -> None:
    (tmp_path / "one.py").write_text("def f():\n    from bot.telegram import two\n")
    (tmp_path / "two.py").write_text("from bot.telegram.one import f\n")
    assert find_cycle(telegram_graph(tmp_path)) is not None


def test_test_support_stays_out_of_the_runtime_path() -> None:
    """The offline Bot API is for the tests and ``quizbot bench`` only."""
    users = []
    for path in BOT.rglob("*.py"):
        if path.is_relative_to(BOT / "testing"):
            continue
        modules = imported_modules(ast.parse(path.read_text(encoding="utf-8")), "bot")
        if any(m == "bot.testing" or m.startswith("bot.testing.") for m in modules):
            users.append(path.relative_to(BOT).as_posix())
    assert users == ["bench.py"]


# --------------------------------------------------------------------------- private attributes


def project_private_names(root: Path) -> set[str]:
    """Every ``_name`` the project itself defines: functions, classes, assigned names and
    attributes (``self._x = ...``), parameters, and dataclass/class fields."""
    names: set[str] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return {n for n in names if n.startswith("_")}


def private_accesses(source: str, own: set[str]) -> list[str]:
    """``line: .attr`` for every access to a single-underscore attribute the project does
    not define: a library object's private state."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and node.attr not in own
        ):
            found.append(f"{node.lineno}: .{node.attr}")
    return found


def test_nothing_in_bot_uses_a_library_objects_private_attributes() -> None:
    own = project_private_names(BOT)
    problems = {
        path.relative_to(BOT).as_posix(): found
        for path in BOT.rglob("*.py")
        if (found := private_accesses(path.read_text(encoding="utf-8"), own))
    }
    assert problems == {}


@pytest.mark.parametrize(
    "source",
    [
        "conn.driver_connection._connection.execute('x')",  # aiosqlite's thread connection
        "engine.sync_engine.pool._pool.qsize()",
        "bot._request[0]",
        "session._proxied",
    ],
)
def test_the_private_attribute_scan_catches_library_internals(source: str) -> None:
    assert private_accesses(source, project_private_names(BOT))


# ------------------------------------------------------------------ no sessions in handlers


def runtime_imports(tree: ast.Module) -> set[str]:
    """Modules imported outside ``if TYPE_CHECKING:`` blocks (those are for types only)."""
    kept = ast.Module(
        body=[
            node
            for node in tree.body
            if not (isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test))
        ],
        type_ignores=[],
    )
    return imported_modules(kept, "bot.telegram")


SESSION_CALLS = {"sessionmaker", "begin", "execute", "scalar", "scalars", "commit", "get"}


def session_problems(source: str) -> list[str]:
    """sqlalchemy imported at run time, or a sessionmaker called, or a session's methods."""
    tree = ast.parse(source)
    problems = [m for m in runtime_imports(tree) if m.split(".")[0] == "sqlalchemy"]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = ast.unparse(func.value) if isinstance(func, ast.Attribute) else ""
            if name == "sessionmaker" or (name in SESSION_CALLS and "session" in owner):
                problems.append(f"{node.lineno}: {ast.unparse(func)}()")
    return problems


def test_the_telegram_adapter_never_opens_a_session() -> None:
    """Handlers translate updates into domain calls; the domain owns the units of work."""
    problems = {
        path.name: found
        for path in sorted((BOT / "telegram").glob("*.py"))
        if (found := session_problems(path.read_text(encoding="utf-8")))
    }
    assert problems == {}


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy import select",
        "import sqlalchemy.exc",
        "async def f(svc):\n    async with svc.sessionmaker() as s:\n        pass",
        "async def f(session):\n    await session.execute(1)",
    ],
)
def test_the_session_scan_catches_database_work(source: str) -> None:
    assert session_problems(source)


def test_type_only_imports_are_allowed() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import sqlalchemy\n"
    assert session_problems(source) == []
