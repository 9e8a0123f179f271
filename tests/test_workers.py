"""Several real ``quizbot run --webhook-url`` workers on one PostgreSQL database, with the Bot
API stand-in: start-up together on an empty database, a private run split over workers, the
same update delivered twice, the secret token, /healthz and /metrics, SIGTERM during a burst,
a group game whose timer-owning worker is SIGKILLed, a deadline passed while no bot ran
(issue 15); then, in this process, the migration lock, /healthz's 503s, a refused setWebhook,
the stand-in itself and the documented nginx config."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from telegram.error import TimedOut

from bot.metrics import Metrics
from bot.packs import validate_pack_file
from bot.packs.model import ChoiceItem, Item, NumberItem, ShortItem, TrueFalseItem
from bot.quiz.grading import format_number
from bot.store import create_engine, migrate
from bot.store.models import Attempt, ItemRow, PackRow, QuizRun
from bot.telegram.app import BotApiUnreachable, QuizApp, build_application
from bot.telegram.webhook import WebhookError, WebhookOptions, serve
from bot.telegram.webhook import Worker as WebhookWorker
from bot.testing.offline import ApiCall, OfflineRequest, UpdateFactory
from botapi_standin import BotApiStandin, Failure
from botkit import (
    PG_ENV,
    ROOT,
    create_pg_database,
    drop_pg_database,
    empty_pg_database,
    make_settings,
    pg_base_url,
)
from workers import (
    SECRET_HEADER,
    STOP_TIMEOUT,
    Workers,
    free_port,
    metric,
    minimal_content,
    query,
)

WORKERS = 4
"""Workers started at once on an empty database; the other tests use the first two."""
BURST = 20
"""Updates in flight when the workers get SIGTERM."""
WAIT = 15.0
"""Seconds to wait for the bot's answer to one update (generous: 2 shared cores)."""


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A content folder with the four-item minimal pack (its article path made absolute)."""
    return minimal_content(tmp_path_factory.mktemp("content"))


@pytest.fixture(scope="module")
def api() -> Iterator[BotApiStandin]:
    with BotApiStandin() as standin:
        yield standin


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A new, empty PostgreSQL database (no schema: the workers create it)."""
    yield from empty_pg_database("quizbot_workers")


@pytest.fixture(scope="module")
def cluster(
    api: BotApiStandin, database: str, content: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workers]:
    """Four workers started at the same moment on the empty database."""
    with Workers(api, database, content, tmp_path_factory.mktemp("workers")) as workers:
        workers.start(WORKERS)
        workers.wait_ready()
        yield workers


@pytest.fixture(scope="module")
def updates() -> UpdateFactory:
    return UpdateFactory()


# --------------------------------------------------------------------------- helpers


def buttons(call: ApiCall) -> list[tuple[str, str]]:
    markup = call.params.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [
        (b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row
    ]


def to_chat(chat_id: int, *methods: str) -> Any:
    def pick(calls: list[ApiCall]) -> list[ApiCall]:
        return [
            c
            for c in calls
            if c.method in methods and int(c.params.get("chat_id", 0) or 0) == chat_id
        ]

    return pick


def question_in(calls: list[ApiCall]) -> tuple[int, int] | None:
    """(run, item) of the last question message among ``calls``."""
    for call in reversed(calls):
        for _, data in buttons(call):
            kind, *rest = data.split(":")
            if kind in ("a", "t", "s", "k"):
                return int(rest[0]), int(rest[1])
    return None


def moved_on(calls: list[ApiCall], chat_id: int, item_id: int, last: bool) -> bool:
    """The verdict on ``item_id`` is out, and so is the next question or a "Next" button
    (or, after the last answer, the verdict alone)."""
    mine = to_chat(chat_id, "sendMessage", "editMessageText")(calls)
    if not any("Correct" in str(c.params.get("text")) for c in mine):
        return False
    asked = question_in(mine)
    next_button = any(d.startswith("n:") for c in mine for _, d in buttons(c))
    return last or next_button or (asked is not None and asked[1] != item_id)


def updates_seen(cluster: Workers, index: int) -> float:
    """Updates one worker has received, from its own metrics."""
    worker = cluster.workers[index]
    text = httpx.get(f"http://127.0.0.1:{worker.metrics_port}/metrics", timeout=10).text
    return sum(
        metric(text, "quizbot_updates_total", default=0.0, kind=kind)
        for kind in ("message", "callback_query")
    )


def pack_items(content: Path) -> dict[str, Item]:
    report = validate_pack_file(content / "minimal.yaml")
    assert report.pack is not None, report.problems
    return {item.id: item for item in report.pack.items}


def item_keys(url: str) -> dict[int, str]:
    return dict(query(url, select(ItemRow.id, ItemRow.key)))  # type: ignore[arg-type]


def right_answer(
    updates: UpdateFactory, who: dict[str, Any], run: int, item_id: int, item: Item
) -> dict[str, Any]:
    """The update that answers ``item`` right: a button press or a typed answer."""
    if isinstance(item, ChoiceItem | TrueFalseItem):
        (index,) = item.correct_indices
        return updates.callback(who, f"a:{run}:{item_id}:{index}", message_id=1000)
    if isinstance(item, ShortItem):
        return updates.message(who, item.model_answer)
    assert isinstance(item, NumberItem)
    return updates.message(who, format_number(item.answer))


def start_quiz(
    cluster: Workers, api: BotApiStandin, updates: UpdateFactory, who: dict[str, Any], worker: int
) -> tuple[int, int]:
    since = api.count()
    assert cluster.post(updates.message(who, "/quiz minimal-example"), worker).status_code == 200
    calls = api.wait_for(
        lambda c: question_in(to_chat(who["id"], "sendMessage")(c)) is not None,
        WAIT,
        since,
        "the first question",
    )
    found = question_in(to_chat(who["id"], "sendMessage")(calls))
    assert found is not None
    return found


# --------------------------------------------------------------------------- tests


@pytest.mark.postgres
@pytest.mark.workers
def test_four_workers_start_at_once_on_an_empty_database(cluster: Workers, database: str) -> None:
    assert all(w.alive() for w in cluster.workers)
    assert len(cluster.workers) == WORKERS
    (packs,) = query(database, select(func.count()).select_from(PackRow))[0]
    assert packs == 1  # the content folder imported once, whoever did it

    async def current() -> str | None:
        engine = create_engine(database)
        try:
            return await migrate.current_revision(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(current()) == migrate.head_revision()
    for worker in cluster.workers:
        assert "Traceback" not in worker.log(), worker.log()
        assert "serving 1 pack(s): minimal-example (4 items)" in worker.log()


@pytest.mark.postgres
@pytest.mark.workers
def test_private_run_alternates_between_workers(
    cluster: Workers, api: BotApiStandin, updates: UpdateFactory, content: Path, database: str
) -> None:
    ann = UpdateFactory.user(301, "Ann")
    items, keys = pack_items(content), item_keys(database)
    before = [updates_seen(cluster, n) for n in (0, 1)]
    run, item_id = start_quiz(cluster, api, updates, ann, worker=0)
    for step in range(len(items)):  # bounded: one answer per item
        worker = (step + 1) % 2  # the first answer goes to the worker that did not ask
        last = step == len(items) - 1
        since = api.count()
        response = cluster.post(
            right_answer(updates, ann, run, item_id, items[keys[item_id]]), worker
        )
        assert response.status_code == 200
        calls = api.wait_for(
            lambda c, current=item_id, last=last: moved_on(c, ann["id"], current, last),
            WAIT,
            since,
            f"the verdict on answer {step + 1} and what comes next",
        )
        if last:
            break
        asked = question_in(to_chat(ann["id"], "sendMessage", "editMessageText")(calls))
        if asked is None or asked[1] == item_id:  # a "Next" button: press it on the other one
            (next_button,) = {d for c in calls for _, d in buttons(c) if d.startswith("n:")}
            since = api.count()
            cluster.post(updates.callback(ann, next_button, message_id=1000), 1 - worker)
            calls = api.wait_for(
                lambda c: question_in(c) is not None, WAIT, since, "the next question"
            )
            asked = question_in(calls)
        assert asked is not None and asked[0] == run and asked[1] != item_id
        item_id = asked[1]
    # Each worker counted its share: /quiz and two answers on worker 0, two answers and the
    # "Next" presses on worker 1 (or none when the next question comes by itself).
    after = [updates_seen(cluster, n) for n in (0, 1)]
    assert after[0] - before[0] >= 3 and after[1] - before[1] >= 2, (before, after)
    status, correct, answered_count = query(
        database, select(QuizRun.status, QuizRun.correct, QuizRun.answered).where(QuizRun.id == run)
    )[0]
    assert (status, correct, answered_count) == ("finished", len(items), len(items))
    attempts = query(
        database, select(func.count(), func.sum(Attempt.score)).where(Attempt.run_id == run)
    )[0]
    assert attempts[0] == len(items)


def post_into(cluster: Workers, update: dict[str, Any], worker: int, statuses: list[int]) -> None:
    statuses.append(cluster.post(update, worker).status_code)


@pytest.mark.postgres
@pytest.mark.workers
def test_same_update_twice_is_recorded_once(
    cluster: Workers, api: BotApiStandin, updates: UpdateFactory, content: Path, database: str
) -> None:
    items, keys = pack_items(content), item_keys(database)
    for who, targets in (
        (UpdateFactory.user(302, "Bob"), (0, 0)),
        (UpdateFactory.user(303, "Cy"), (0, 1)),
    ):
        run, item_id = start_quiz(cluster, api, updates, who, worker=targets[0])
        duplicate = right_answer(updates, who, run, item_id, items[keys[item_id]])
        since = api.count()
        statuses: list[int] = []
        posts = [
            threading.Thread(target=post_into, args=(cluster, duplicate, w, statuses))
            for w in targets
        ]
        for post in posts:
            post.start()
        for post in posts:
            post.join(timeout=WAIT)
        assert statuses == [200, 200]
        press = duplicate["callback_query"]["id"]  # the pack's first item is a choice
        api.wait_for(
            lambda c, press=press: (
                sum(
                    x.method == "answerCallbackQuery"
                    and str(x.params.get("callback_query_id")) == press
                    for x in c
                )
                >= 2
            ),
            WAIT,
            since,
            "both deliveries of the press answered",
        )

        # The delivery that records the answer answers its press, then edits in the verdict:
        # wait for that edit too (a loaded machine may run the check between the two).
        def is_verdict(call: Any, chat: int = who["id"]) -> bool:
            return "Correct" in str(call.params.get("text")) and str(
                call.params.get("chat_id")
            ) == str(chat)

        api.wait_for(lambda c: any(is_verdict(x) for x in c), WAIT, since, "the verdict edited in")
        rows = query(
            database,
            select(func.count(), func.sum(Attempt.score)).where(
                Attempt.run_id == run, Attempt.item_id == item_id
            ),
        )
        assert rows[0][0] == 1, f"{who['first_name']}: {rows}"
        answered = query(database, select(QuizRun.answered).where(QuizRun.id == run))[0][0]
        assert answered == 1
        verdicts = [c for c in api.sent()[since:] if is_verdict(c)]
        assert len(verdicts) == 1, [c.params for c in verdicts]


@pytest.mark.postgres
@pytest.mark.workers
def test_wrong_secret_token_is_refused(
    cluster: Workers, api: BotApiStandin, updates: UpdateFactory
) -> None:
    dee = UpdateFactory.user(304, "Dee")
    since = api.count()
    for secret in ("wrong", ""):
        response = cluster.post(updates.message(dee, "/start"), 0, secret=secret)
        assert response.status_code == 403
    bad = httpx.post(
        f"{cluster.workers[1].url}/{cluster.url_path}",
        content=b"{not json",
        headers={"X-Telegram-Bot-Api-Secret-Token": cluster.secret},
        timeout=10,
    )
    assert bad.status_code == 400
    # A right update afterwards is answered, and nothing was sent for the refused ones.
    assert cluster.post(updates.message(dee, "/start"), 0).status_code == 200
    calls = api.wait_for(lambda c: bool(to_chat(304, "sendMessage")(c)), WAIT, since, "/start")
    assert len(to_chat(304, "sendMessage")(calls)) == 1
    assert "refused a webhook request without the right secret token" in cluster.workers[0].log()


@pytest.mark.postgres
@pytest.mark.workers
def test_healthz_and_metrics(cluster: Workers, api: BotApiStandin, updates: UpdateFactory) -> None:
    worker = cluster.workers[2]
    health = httpx.get(f"{worker.url}/healthz", timeout=10)
    assert health.status_code == 200
    assert health.json() == {
        "status": "ok",
        "database": "up",
        "revision": migrate.head_revision(),
    }
    metrics_url = f"http://127.0.0.1:{worker.metrics_port}/metrics"
    before = httpx.get(metrics_url, timeout=10).text
    # One sendMessage refused for good, one throttled with retry_after: the limiter retries it.
    api.fail("sendMessage", Failure(400, "Bad Request: chat not found"))
    api.fail("sendMessage", Failure(429, "Too Many Requests: retry after 1", retry_after=1))
    eve = UpdateFactory.user(305, "Eve")
    since = api.count()
    cluster.post(updates.message(eve, "/start"), 2)
    cluster.post(updates.message(eve, "/quiz minimal-example"), 2)
    api.wait_for(
        lambda c: (
            question_in(to_chat(305, "sendMessage")(c)) is not None
            and any(x.result is not None and x.result.get("ok") is False for x in c)
        ),
        WAIT,
        since,
        "the question after the failures",
    )
    # The stand-in records the retried call before the worker has its answer and observes
    # the wait: read the metrics until the wait is in (bounded).
    deadline = time.monotonic() + 10
    after = httpx.get(metrics_url, timeout=10).text
    while (
        metric(after, "quizbot_rate_limiter_wait_seconds_sum", default=0.0) < 1.0
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
        after = httpx.get(metrics_url, timeout=10).text
    messages_before = metric(before, "quizbot_updates_total", default=0.0, kind="message")
    assert metric(after, "quizbot_updates_total", kind="message") == messages_before + 2
    assert (
        metric(after, "quizbot_bot_api_errors_total", method="sendMessage", error="BadRequest") == 1
    )
    assert (
        metric(after, "quizbot_bot_api_errors_total", method="sendMessage", error="RetryAfter") == 1
    )
    assert metric(after, "quizbot_rate_limiter_wait_seconds_count") >= 1
    assert metric(after, "quizbot_rate_limiter_wait_seconds_sum") >= 1.0  # the retry_after
    assert metric(after, "quizbot_open_runs", kind="private", status="active") >= 1
    assert metric(after, "quizbot_open_runs", kind="group", status="active") == 0
    assert metric(after, "quizbot_timers_due_unclaimed") == 0


@pytest.mark.postgres
@pytest.mark.workers
def test_sigterm_during_a_burst_loses_no_update(
    cluster: Workers, api: BotApiStandin, updates: UpdateFactory
) -> None:
    """Last: a burst of updates round robin, every reply slowed down so they are still in
    flight, then SIGTERM to all four at once: every accepted update is answered, and each
    worker exits 0 in time."""
    students = [UpdateFactory.user(400 + n, f"Student {n}") for n in range(BURST)]
    api.fail("sendMessage", Failure(200, delay=0.5, times=BURST))
    since = api.count()
    for student in students:
        assert cluster.post(updates.message(student, "/start")).status_code == 200
    started = time.monotonic()
    assert cluster.stop_all() == [0] * WORKERS
    assert time.monotonic() - started < STOP_TIMEOUT
    sent = [c for c in api.sent()[since:] if c.method == "sendMessage"]
    answered = {int(c.params["chat_id"]) for c in sent}
    logs = "\n".join(w.log() for w in cluster.workers)
    assert answered >= {s["id"] for s in students}, logs[-6000:]
    for worker in cluster.workers:
        log = worker.log()
        assert "Application.stop() complete" in log and log.rstrip().endswith("stopped"), log


TIME_LIMIT = 6
"""Seconds per question in the timed game (the least a pack allows is 5)."""
TAKEOVER = 6.0
"""Seconds past a deadline by which a surviving worker has acted on it (it polls every
second; 2 shared cores)."""


@pytest.fixture
def timed_content(tmp_path: Path) -> Path:
    """The minimal pack as a timed group game: another slug, 6 s a question."""
    folder = tmp_path / "timed"
    folder.mkdir()
    text = (ROOT / "tests/packs/minimal.yaml").read_text(encoding="utf-8")
    text = text.replace("../../seeds/", f"{ROOT / 'seeds'}/")
    text = text.replace("pack: minimal-example", "pack: timed-minimal")
    text = text.replace("items:", f"settings: {{time_limit: {TIME_LIMIT}}}\nitems:", 1)
    (folder / "timed-minimal.yaml").write_text(text, encoding="utf-8")
    return folder


def game_message(chat_id: int, needle: str) -> Any:
    """A match for ``api.wait_for``: a message or poll to ``chat_id`` that contains
    ``needle``."""

    def match(calls: list[ApiCall]) -> bool:
        return any(
            needle in str(c.params.get("text", c.params.get("question", "")))
            for c in to_chat(chat_id, "sendMessage", "sendPoll")(calls)
        )

    return match


def recorded(database: str, column: Any, run: int) -> Any:
    """The value of a game's ``column`` once a worker has recorded it (just after the
    question it belongs to went out)."""
    for _ in range(50):  # bounded: 5 s
        ((value,),) = query(database, select(column).where(QuizRun.id == run))
        if value is not None:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{column} of game {run} never recorded")


@pytest.mark.postgres
@pytest.mark.workers
def test_a_group_game_survives_its_timer_owner_and_a_full_outage(
    api: BotApiStandin,
    updates: UpdateFactory,
    database: str,
    timed_content: Path,
    tmp_path: Path,
) -> None:
    """After the four have stopped (the test above): two workers play a group game. The worker
    that asked question 1 (and armed its close) is SIGKILLed: the other closes it within the
    time limit plus a few seconds, once, and asks question 2. Then the other dies too, the
    deadline of question 2 passes with no bot at all, and a worker started afterwards acts on
    it at once: the game goes on."""
    group = -100777
    host, ann = UpdateFactory.user(701, "Hana"), UpdateFactory.user(702, "Ann")
    with Workers(api, database, timed_content, tmp_path) as pair:
        pair.start(2)
        pair.wait_ready()
        since = api.count()
        assert pair.post(updates.message(host, "/quiz timed-minimal", group), 0).status_code == 200
        lobby = api.wait_for(game_message(group, "Players (0)"), WAIT, since, "the lobby")
        (run,) = {int(d.split(":")[1]) for c in lobby for _, d in buttons(c) if d[:2] == "j:"}
        pair.post(updates.callback(host, f"j:{run}", chat_id=group), 0)
        since = api.count()
        pair.post(updates.callback(host, f"go:{run}", chat_id=group), 1)  # worker 1 asks
        calls = api.wait_for(game_message(group, "1/4"), WAIT, since, "question 1")
        (poll,) = [c for c in calls if c.method == "sendPoll"]
        asked = time.monotonic()
        assert poll.result is not None
        recorded(database, QuizRun.poll_id, run)  # else the vote finds no open poll
        votes = updates.poll_answer(ann, poll.result["poll"]["id"], [0])
        assert pair.post(votes, 0).status_code == 200

        pair.workers[1].process.kill()  # SIGKILL: its alarm for question 1 dies with it
        pair.workers[1].process.wait(timeout=STOP_TIMEOUT)
        calls = api.wait_for(
            game_message(group, "2/4"), TIME_LIMIT + TAKEOVER + 4, since, "question 2"
        )
        assert time.monotonic() - asked < TIME_LIMIT + TAKEOVER + 4  # + the 4 s pause
        results = [c for c in calls if "1/4</b> · Answer" in str(c.params.get("text"))]
        assert len(results) == 1 and "1 answered" in results[0].params["text"], results

        deadline = recorded(database, QuizRun.deadline_at, run)
        since = api.count()
        pair.workers[0].process.kill()  # now nobody runs the bot
        pair.workers[0].process.wait(timeout=STOP_TIMEOUT)
        while time.time() < deadline.timestamp() + 2:  # bounded: the deadline is ~6 s away
            time.sleep(0.2)
        (late,) = pair.start(1)
        pair.wait_ready([late])
        api.wait_for(game_message(group, "3/4"), TAKEOVER + 4, since, "question 3 after restart")
        status, position = query(
            database, select(QuizRun.status, QuizRun.position).where(QuizRun.id == run)
        )[0]
        assert (status, position) == ("active", 2)
        assert "re-armed 1 game timer(s)" in late.log()


# --------------------------------------------------------------------------- in this process


@pytest.mark.postgres
async def test_upgrade_from_four_engines_at_once() -> None:
    """The advisory lock makes concurrent upgrades take turns instead of racing."""
    base = pg_base_url()
    if base is None:
        pytest.skip(f"{PG_ENV} is not set")
    url = await asyncio.to_thread(create_pg_database, base, "quizbot_workers")
    engines = [create_engine(url) for _ in range(4)]
    try:
        await asyncio.wait_for(
            asyncio.gather(*(migrate.upgrade(engine) for engine in engines)), WAIT * 2
        )
        assert await migrate.current_revision(engines[0]) == migrate.head_revision()
    finally:
        for engine in engines:
            await engine.dispose()
        await asyncio.to_thread(drop_pg_database, url)


def webhook_worker(database_url: str) -> WebhookWorker:
    settings = make_settings(database_url)
    application = build_application(settings, request=OfflineRequest(), rate_limiter=None)
    options = WebhookOptions("127.0.0.1", 8443, "tg", "https://example.org/tg", None, [])
    return WebhookWorker(application, options, Metrics())


async def test_healthz_is_503_until_the_schema_is_at_head(tmp_path: Path) -> None:
    worker = webhook_worker(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    engine = worker.application.bot_data.services.engine
    try:
        status, body = await worker.health()
        assert (status, body["revision"]) == (503, None)
        await migrate.upgrade(engine, "0001")
        status, body = await worker.health()
        assert (status, body["revision"], body["head"]) == (503, "0001", migrate.head_revision())
        await migrate.upgrade(engine)
        assert await worker.health() == (
            200,
            {"status": "ok", "database": "up", "revision": migrate.head_revision()},
        )
    finally:
        await engine.dispose()


async def test_healthz_is_503_when_the_database_is_unreachable() -> None:
    worker = webhook_worker(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none")
    try:
        assert await worker.health() == (503, {"status": "unavailable", "database": "down"})
    finally:
        await worker.application.bot_data.services.engine.dispose()


# --------------------------------------------------------------------------- the nginx config

NGINX_CONF = ROOT / "docs/deploy/nginx.conf"
CERTIFICATES = {
    "/etc/letsencrypt/live/bot.example.org/fullchain.pem": "cert.pem",
    "/etc/letsencrypt/live/bot.example.org/privkey.pem": "key.pem",
}


def nginx_check(config: str, folder: Path) -> subprocess.CompletedProcess[str]:
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light; .ci/run does)")
    path = folder / "nginx.conf"
    path.write_text(config, encoding="utf-8")
    command = [nginx, "-t", "-p", str(folder), "-c", str(path), "-e", str(folder / "error.log")]
    command += ["-g", f"pid {folder / 'nginx.pid'};"]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def test_the_documented_nginx_config_is_valid(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate for nginx -t to load")
    certificate = ["-subj", "/CN=bot.example.org", "-keyout", "key.pem", "-out", "cert.pem"]
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", *certificate],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=True,
    )
    config = NGINX_CONF.read_text(encoding="utf-8")
    for documented, generated in CERTIFICATES.items():
        assert documented in config
        config = config.replace(documented, str(tmp_path / generated))
    checked = nginx_check(config, tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr
    broken = nginx_check(
        config.replace("proxy_pass http://quizbot_workers;", "proxy_pass"), tmp_path
    )
    assert broken.returncode != 0


async def test_a_webhook_telegram_refuses_stops_the_worker_with_one_line(
    tmp_path: Path, content: Path
) -> None:
    api = OfflineRequest()
    api.failures["setWebhook"] = (400, "Bad Request: bad webhook: an HTTPS URL must be provided")
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", content)
    application = build_application(settings, request=api, rate_limiter=None)
    port = free_port()
    options = WebhookOptions("127.0.0.1", port, "tg", "http://127.0.0.1/tg", "secret", [])
    with pytest.raises(
        WebhookError,
        match=r"cannot set the webhook to http://127\.0\.0\.1/tg: Bad webhook: an https",
    ):
        await serve(application, options, Metrics())
    assert not application.running
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # the webhook server let go of its port


class SlowBotApi(OfflineRequest):
    """A Bot API that does not answer in time the first ``times`` calls of each of ``methods``
    (python-telegram-bot raises ``TimedOut``), then answers as usual."""

    def __init__(self, methods: dict[str, int]) -> None:
        super().__init__()
        self.slow = dict(methods)

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> Any:
        name = url.rsplit("/", 1)[-1]
        if self.slow.get(name, 0) > 0:
            self.slow[name] -= 1
            self.calls.append(ApiCall(name, {}, {}))
            raise TimedOut()
        return await super().do_request(url, method, *args, **kwargs)


def slow_api_app(tmp_path: Path, content: Path, api: SlowBotApi, retries: int) -> QuizApp:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        content,
        QUIZBOT_STARTUP_BACKOFF="0.1",
        QUIZBOT_STARTUP_RETRIES=str(retries),
    )
    return build_application(settings, request=api, rate_limiter=None)


async def until(condition: Callable[[], bool], serving: asyncio.Task[None]) -> None:
    """Wait (up to 30 s) for ``condition`` while the worker keeps serving."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline and not serving.done()
        await asyncio.sleep(0.02)


async def test_a_bot_api_slow_to_answer_at_start_up_is_asked_again_while_updates_are_served(
    tmp_path: Path, content: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A slow answer to setWebhook (or to the menus) stopped a worker that already served
    updates, dropping the ones in flight (seen as a reset connection in a CI run): each start-up
    call is now asked again with back-off, one log line per retry."""
    api = SlowBotApi({"setWebhook": 2, "setMyCommands": 1})
    application = slow_api_app(tmp_path, content, api, retries=3)
    port = free_port()
    options = WebhookOptions("127.0.0.1", port, "tg", "http://127.0.0.1/tg", "secret", [])
    serving = asyncio.create_task(serve(application, options, Metrics()))

    def set_webhook_calls() -> int:
        return [c.method for c in api.calls].count("setWebhook")

    await until(lambda: set_webhook_calls() > 0, serving)  # the server listens by then
    update = UpdateFactory().message(UpdateFactory.user(4242, "Student"), "/start")
    async with httpx.AsyncClient(timeout=10) as client:
        posted = await client.post(
            f"http://127.0.0.1:{port}/tg", json=update, headers={SECRET_HEADER: "secret"}
        )
    assert posted.status_code == 200  # taken while setWebhook is asked again
    await until(lambda: set_webhook_calls() == 3, serving)
    await until(lambda: any(c.method == "sendMessage" for c in api.calls), serving)
    assert not serving.done()  # still serving after the third setWebhook succeeded
    serving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await serving
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == 3, retries  # one for the menus, two for setWebhook
    assert all("cannot reach the Telegram Bot API" in line for line in retries)


async def test_a_bot_api_that_never_answers_setwebhook_stops_the_worker_with_one_line(
    tmp_path: Path, content: Path
) -> None:
    api = SlowBotApi({"setWebhook": 10})
    application = slow_api_app(tmp_path, content, api, retries=2)
    options = WebhookOptions("127.0.0.1", free_port(), "tg", "http://127.0.0.1/tg", "secret", [])
    with pytest.raises(BotApiUnreachable, match=r"gave up after 3 tries"):
        await serve(application, options, Metrics())
    assert [c.method for c in api.calls].count("setWebhook") == 3
    assert not application.running


def test_the_standin_records_fails_and_delays_as_told() -> None:
    with BotApiStandin() as api:
        url = f"{api.base_url}123:TOKEN/"
        markup = json.dumps({"inline_keyboard": [[{"text": "A", "callback_data": "a:1:2:0"}]]})
        message = {"chat_id": "5", "text": "42", "reply_markup": markup}
        sent = httpx.post(url + "sendMessage", data=message, timeout=10).json()
        assert sent["ok"] and sent["result"]["text"] == "42"
        assert sent["result"]["chat"]["id"] == 5
        assert buttons(api.sent("sendMessage")[0]) == [("A", "a:1:2:0")]
        api.fail("sendMessage", Failure(429, "Too Many Requests: retry after 3", retry_after=3))
        api.fail("getMe", Failure(200, delay=0.3))
        throttled = httpx.post(url + "sendMessage", data=message, timeout=10)
        assert throttled.status_code == 429
        assert throttled.json()["parameters"] == {"retry_after": 3}
        assert httpx.post(url + "sendMessage", data=message, timeout=10).status_code == 200
        started = time.monotonic()
        assert httpx.post(url + "getMe", timeout=10).json()["result"]["is_bot"] is True
        assert time.monotonic() - started >= 0.3
        assert [c.method for c in api.sent()] == ["sendMessage"] * 3 + ["getMe"]
