"""The ``quizbot`` command: run the bot, play in a terminal, manage packs and the database."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import case, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from bot.packs import find_pack_files, summarize, validate_pack_file
from bot.settings import Settings
from bot.store import StoreError, create_engine, describe_error, make_sessionmaker, migrate
from bot.store.models import ItemRow, PackRow

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2

TOKEN_MISSING = (
    "quizbot: TELEGRAM_BOT_TOKEN is not set. Get a token from @BotFather "
    "(https://t.me/BotFather, send /newbot), then run TELEGRAM_BOT_TOKEN=<token> quizbot run; "
    "or try the quiz in this terminal first with: quizbot play"
)


class CliError(Exception):
    """A failure to report as one line (exit status 1)."""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CliError(f"invalid setting {where}: {first['msg']}") from None


# --------------------------------------------------------------------------- pack validate


def cmd_validate(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths] or [load_settings().content_dir]
    files, missing = find_pack_files(paths)
    for name in missing:
        print(f"quizbot: error: no such file or folder: {name}", file=sys.stderr)
    if missing:
        return EXIT_USAGE
    if not files:
        print(f"quizbot: error: no .yaml packs in {', '.join(map(str, paths))}", file=sys.stderr)
        return EXIT_USAGE
    failed = False
    for path in files:
        report = validate_pack_file(path)
        if report.pack is not None:
            summary = summarize(report.pack)
            print(f"{path}: pack {report.pack.slug!r}: " + "; ".join(summary.lines()))
        else:
            print(f"{path}: not valid")
        for problem in report.problems:
            print(f"  {problem}")
        failed = failed or not report.ok
    print(f"{len(files)} pack(s) checked: " + ("problems found" if failed else "all valid"))
    return EXIT_PROBLEMS if failed else EXIT_OK


# --------------------------------------------------------------------------- database


def with_store(work: Callable[[Any, Settings], Awaitable[int]]) -> int:
    """Run ``work(engine, settings)`` on an upgraded database; errors become one line."""
    settings = load_settings()

    async def main() -> int:
        engine = create_engine(settings.database_url)
        try:
            await migrate.upgrade(engine)
            return await work(engine, settings)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except StoreError as exc:
        raise CliError(str(exc)) from None
    except (SQLAlchemyError, OSError) as exc:
        raise CliError(describe_error(exc, settings.database_url)) from None


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    async def work(engine: Any, settings: Settings) -> int:
        print(f"database is at revision {await migrate.current_revision(engine)} (head)")
        return EXIT_OK

    return with_store(work)


def cmd_pack_import(args: argparse.Namespace) -> int:
    from bot.store.importer import import_files

    async def work(engine: Any, settings: Settings) -> int:
        from bot.store.repo import utcnow

        paths = [Path(p) for p in args.paths] or [settings.content_dir]
        outcome = await import_files(make_sessionmaker(engine), paths, utcnow())
        for name in outcome.missing:
            print(f"quizbot: error: no such file or folder: {name}", file=sys.stderr)
        for report in outcome.reports:
            for problem in report.problems:
                print(f"  {problem}")
        if not outcome.ok:
            print("nothing imported: fix the problems above (quizbot pack validate)")
            return EXIT_USAGE if outcome.missing else EXIT_PROBLEMS
        for plan in outcome.plans:
            print(plan.describe())
            for line in plan.details():
                print(line)
        return EXIT_OK

    try:
        return with_store(work)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def cmd_pack_list(args: argparse.Namespace) -> int:
    async def work(engine: Any, settings: Settings) -> int:
        live = func.sum(case((ItemRow.retired.is_(False), 1), else_=0))
        async with make_sessionmaker(engine)() as session:
            rows = (
                await session.execute(
                    select(
                        PackRow.slug, PackRow.status, PackRow.title, func.count(ItemRow.id), live
                    )
                    .outerjoin(ItemRow, ItemRow.pack_id == PackRow.id)
                    .group_by(PackRow.id)
                    .order_by(PackRow.slug)
                )
            ).all()
        if not rows:
            print("no packs in the store: quizbot pack import content/")
            return EXIT_OK
        width = max(len(r[0]) for r in rows)
        for slug, status, title, items, live_items in rows:
            retired = items - int(live_items or 0)
            extra = f", {retired} retired" if retired else ""
            print(f"{slug:<{width}}  {status:<7}  {int(live_items or 0)} items{extra}  {title}")
        return EXIT_OK

    return with_store(work)


def cmd_pack_status(args: argparse.Namespace) -> int:
    status = {"hide": "hidden", "show": "active", "retire": "retired"}[args.action]

    async def work(engine: Any, settings: Settings) -> int:
        async with make_sessionmaker(engine)() as session, session.begin():
            result = await session.execute(
                update(PackRow).where(PackRow.slug == args.slug).values(status=status)
            )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise CliError(f"no pack {args.slug!r} in the store (see quizbot pack list)")
        print(f"{args.slug}: {status}")
        return EXIT_OK

    return with_store(work)


# --------------------------------------------------------------------------- instructors


def _telegram_id(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 2**63:
        raise argparse.ArgumentTypeError(f"{text!r} is not a Telegram user id (a number)")
    return int(text)


async def _stored_pack(session: Any, slug: str) -> PackRow:
    row = (
        await session.execute(select(PackRow).where(PackRow.slug == slug.strip().lower()))
    ).scalar_one_or_none()
    if row is None:
        raise CliError(f"no pack {slug!r} in the store (see quizbot pack list)")
    return row  # type: ignore[no-any-return]


def cmd_role(args: argparse.Namespace) -> int:
    from bot.store import repo, roles
    from bot.store.repo import utcnow

    async def work(engine: Any, settings: Settings) -> int:
        async with make_sessionmaker(engine)() as session, session.begin():
            if args.role_command == "list":
                holders = await roles.holders(session)
                print(f"instructors ({len(holders)}):" if holders else "no instructors")
                for h in holders:
                    handle = f" (@{h.username})" if h.username else ""
                    by = f" by {h.granted_by}" if h.granted_by else " from the shell"
                    when = h.granted_at.strftime("%Y-%m-%d %H:%M UTC")
                    print(f"  {h.telegram_id or '-'}  {h.name}{handle}  granted {when}{by}")
                admins = ", ".join(str(i) for i in sorted(settings.admin_ids)) or "none"
                print(f"admins (QUIZBOT_ADMIN_IDS): {admins}")
                return EXIT_OK
            now = utcnow()
            if args.role_command == "grant":
                user_id = await roles.ensure_telegram_user(
                    session, args.telegram_id, now, args.name
                )
                changed = await roles.grant(session, user_id, now)
                outcome = "is now an instructor" if changed else "already is an instructor"
            else:
                found = await repo.user_id_for_telegram(session, args.telegram_id)
                changed = found is not None and await roles.revoke(session, found)
                outcome = "is no longer an instructor" if changed else "was not an instructor"
        print(f"{args.telegram_id} {outcome}")
        return EXIT_OK

    return with_store(work)


def cmd_report(args: argparse.Namespace) -> int:
    import json

    from bot.quiz import analysis
    from bot.quiz.export import csv_text

    found: list[analysis.Analysis] = []

    async def work(engine: Any, settings: Settings) -> int:
        async with make_sessionmaker(engine)() as session:
            found.append(
                await analysis.analyse_pack(session, await _stored_pack(session, args.slug))
            )
        return EXIT_OK

    with_store(work)
    result = found[0]
    if args.format == "json":
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    elif args.format == "csv":
        sys.stdout.write(csv_text(analysis.csv_rows(result)))
    else:
        print("\n".join(analysis.table_lines(result)))
    if args.chart:
        if not result.students:
            print("no chart: no student has finished a full run yet", file=sys.stderr)
            return EXIT_OK
        try:
            Path(args.chart).write_bytes(analysis.chart_png(result))
        except OSError as exc:
            raise CliError(f"cannot write {args.chart}: {exc.strerror}") from None
        print(f"chart written to {args.chart}", file=sys.stderr)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from bot.quiz.export import Export, export_pack

    found: list[Export] = []

    async def work(engine: Any, settings: Settings) -> int:
        async with make_sessionmaker(engine)() as session:
            row = await _stored_pack(session, args.slug)
            found.append(await export_pack(session, row.id, row.slug))
        return EXIT_OK

    with_store(work)
    exported = found[0]
    out = Path(args.out)
    files = (
        (exported.attempts_name, exported.attempts_csv, f"{exported.attempts} attempts"),
        (exported.students_name, exported.students_csv, f"{exported.students} students"),
    )
    for name, data, what in files:
        try:
            out.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(data)
        except OSError as exc:
            raise CliError(f"cannot write {out / name}: {exc.strerror}") from None
        print(f"{out / name}: {what}")
    return EXIT_OK


# --------------------------------------------------------------------------- run and play


ALLOWED_UPDATES = ["message", "callback_query", "poll_answer", "my_chat_member"]


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if not settings.token:
        print(TOKEN_MISSING, file=sys.stderr)
        return EXIT_PROBLEMS
    from bot.metrics import MeteredRateLimiter, Metrics
    from bot.telegram.app import build_application
    from bot.telegram.webhook import WebhookError, WebhookOptions, serve

    metrics = Metrics()
    try:
        application = build_application(
            settings, rate_limiter=MeteredRateLimiter(metrics, max_retries=2)
        )
    except StoreError as exc:
        raise CliError(str(exc)) from None
    metrics.watch(application)
    try:
        if args.webhook_url:
            options = WebhookOptions(
                listen=args.listen,
                port=args.port,
                url_path=args.url_path,
                webhook_url=args.webhook_url,
                secret_token=args.secret_token or os.environ.get("QUIZBOT_WEBHOOK_SECRET"),
                allowed_updates=ALLOWED_UPDATES,
                metrics_address=settings.metrics_address,
                metrics_port=settings.metrics_port,
            )
            asyncio.run(serve(application, options, metrics))
        else:
            application.run_polling(allowed_updates=ALLOWED_UPDATES)
    except (StoreError, WebhookError) as exc:
        raise CliError(str(exc)) from None
    except (SQLAlchemyError, OSError) as exc:
        raise CliError(describe_error(exc, settings.database_url)) from None
    return EXIT_OK


def cmd_play(args: argparse.Namespace) -> int:
    from bot.play import play, stdio
    from bot.quiz.boards import Boards
    from bot.quiz.catalog import Catalog
    from bot.quiz.service import QuizService
    from bot.store.importer import import_files
    from bot.store.repo import utcnow

    async def work(engine: Any, settings: Settings) -> int:
        sessionmaker = make_sessionmaker(engine)
        outcome = await import_files(
            sessionmaker, [settings.content_dir], utcnow(), all_or_nothing=False
        )
        for report in outcome.reports:
            if not report.ok:
                print(
                    f"warning: {report.file} has problems and was not loaded "
                    "(quizbot pack validate)",
                    file=sys.stderr,
                )
        catalog = Catalog()
        quiz = QuizService(sessionmaker, catalog)
        boards = Boards(sessionmaker, catalog, utcnow, quiz.transactions)
        try:
            return await play(quiz, boards, args.name, args.pack, stdio())
        finally:
            quiz.close()

    return with_store(work)


# --------------------------------------------------------------------------- bench


def cmd_bench(args: argparse.Namespace) -> int:
    from bot import bench

    sizes: dict[str, Any] = {
        "database_url": args.database_url,
        "parts": tuple(args.only or bench.PARTS),
    }
    if args.users is not None:
        sizes["users"] = args.users
    if args.answers_per_user is not None:
        sizes["answers_per_user"] = args.answers_per_user
    options = bench.BenchOptions.quick_sizes(**sizes) if args.quick else bench.BenchOptions(**sizes)
    json_path = Path(args.json)
    try:
        results = bench.run(options, json_path, _progress)
    except (bench.BenchError, StoreError) as exc:
        raise CliError(str(exc)) from None
    except (SQLAlchemyError, OSError) as exc:
        raise CliError(describe_error(exc, args.database_url)) from None
    print(bench.table(results))
    print(f"\nfigures written to {json_path}")
    return EXIT_OK


def _progress(line: str) -> None:
    print(f"bench: {line}", file=sys.stderr)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quizbot",
        description="A Telegram quiz and comprehension-training bot built on YAML packs.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the Telegram bot (long polling, or --webhook-url)")
    run.add_argument("--webhook-url", help="public HTTPS URL Telegram posts updates to")
    run.add_argument("--listen", default="0.0.0.0", help="address to listen on (webhook)")
    run.add_argument("--port", type=int, default=8443, help="port to listen on (webhook)")
    run.add_argument("--url-path", default="", help="path part of the webhook URL to serve")
    run.add_argument("--secret-token", help="webhook secret (or QUIZBOT_WEBHOOK_SECRET)")
    run.set_defaults(func=cmd_run)

    play = sub.add_parser("play", help="play a quiz in this terminal (no token needed)")
    play.add_argument("--pack", help="pack slug (asked when there are several)")
    play.add_argument("--name", default=_default_name(), help="your name on the leaderboard")
    play.set_defaults(func=cmd_play)

    pack = sub.add_parser("pack", help="validate, import and manage packs")
    pack_sub = pack.add_subparsers(dest="pack_command", required=True, metavar="ACTION")
    validate = pack_sub.add_parser("validate", help="check pack files (default: content/)")
    validate.add_argument("paths", nargs="*", help="pack files or folders")
    validate.set_defaults(func=cmd_validate)
    imp = pack_sub.add_parser("import", help="validate, then publish packs into the store")
    imp.add_argument("paths", nargs="*", help="pack files or folders (default: content/)")
    imp.set_defaults(func=cmd_pack_import)
    listing = pack_sub.add_parser("list", help="packs in the store, with status and items")
    listing.set_defaults(func=cmd_pack_list)
    for action, text in (
        ("hide", "hide a pack from students"),
        ("show", "make a hidden pack visible again"),
        ("retire", "retire a pack for good (its history is kept)"),
    ):
        status = pack_sub.add_parser(action, help=text)
        status.add_argument("slug")
        status.set_defaults(func=cmd_pack_status, action=action)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_sub.add_parser("upgrade", help="apply the migrations (the bot also does)")
    upgrade.set_defaults(func=cmd_db_upgrade)

    role = sub.add_parser("role", help="grant, revoke and list the instructor role")
    role_sub = role.add_subparsers(dest="role_command", required=True, metavar="ACTION")
    grant = role_sub.add_parser("grant", help="make a Telegram user an instructor")
    grant.add_argument("telegram_id", type=_telegram_id, help="their Telegram user id")
    grant.add_argument("--name", help="their name, until they first write to the bot")
    grant.set_defaults(func=cmd_role)
    revoke = role_sub.add_parser("revoke", help="take the instructor role away")
    revoke.add_argument("telegram_id", type=_telegram_id, help="their Telegram user id")
    revoke.set_defaults(func=cmd_role)
    role_sub.add_parser("list", help="instructors and admins").set_defaults(func=cmd_role)

    report = sub.add_parser("report", help="item analysis of a pack (facility, discrimination)")
    report.add_argument("slug", help="the pack")
    report.add_argument("--format", choices=("table", "csv", "json"), default="table")
    report.add_argument("--chart", metavar="FILE.png", help="also draw the chart into this file")
    report.set_defaults(func=cmd_report)

    export = sub.add_parser("export", help="a pack's results as CSV: attempts and students")
    export.add_argument("slug", help="the pack")
    export.add_argument("--out", default=".", metavar="DIR", help="folder to write to (.)")
    export.set_defaults(func=cmd_export)

    bench = sub.add_parser(
        "bench",
        help="measure answer throughput, leaderboard latency, pack import and memory",
        description="Measure the bot against its own ceiling on a fresh SQLite file (and on "
        "PostgreSQL with --database-url); prints a table and writes the figures as JSON.",
    )
    bench.add_argument(
        "--users", type=_positive, metavar="N", help="simulated users (1000; --quick: 20)"
    )
    bench.add_argument(
        "--answers-per-user",
        type=_positive,
        metavar="N",
        help="items each user answers, from the first (5; the article pack has 34)",
    )
    bench.add_argument("--quick", action="store_true", help="small sizes: a smoke test (CI)")
    bench.add_argument(
        "--database-url",
        metavar="URL",
        help="a PostgreSQL server to measure too; scratch databases are created and dropped "
        "there (DATABASE_URL is never used)",
    )
    bench.add_argument(
        "--json",
        default="bench-results.json",
        metavar="PATH",
        help="where to write the figures (bench-results.json)",
    )
    bench.add_argument(
        "--only",
        action="append",
        choices=("throughput", "leaderboard", "import"),
        help="run only this part (repeatable)",
    )
    bench.set_defaults(func=cmd_bench)
    return parser


def _default_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "player"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("QUIZBOT_LOG_LEVEL", "INFO").upper()
        if args.command == "run"
        else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        status: int = args.func(args)
    except CliError as exc:
        print(f"quizbot: error: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
