"""Start real ``quizbot run --webhook-url`` worker processes on one database, talking to the
Bot API stand-in (tests/botapi_standin.py), and post Update JSON to them as Telegram would.

Everything listens on 127.0.0.1; every wait is bounded in time and every loop in count.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import httpx

from bot.store import create_engine, make_sessionmaker
from botapi_standin import BotApiStandin

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TOKEN = "123456:WORKERS-TEST-TOKEN"
START_TIMEOUT = 40.0
"""Seconds a worker may take to come up (imports, migrations, the content import)."""
STOP_TIMEOUT = 10.0
"""Seconds a worker may take to exit after SIGTERM before it is killed."""
TELEGRAM_CONNECTIONS = 40
"""Webhook requests Telegram keeps in flight at once by default (setWebhook's
``max_connections``)."""


def query(url: str, statement: Any) -> list[Any]:
    """The rows of one statement on the workers' database, from the test's own engine."""

    async def run() -> list[Any]:
        engine = create_engine(url)
        try:
            async with make_sessionmaker(engine)() as session:
                return list((await session.execute(statement)).all())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def free_port() -> int:
    """A port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def quizbot_command() -> list[str]:
    """``quizbot`` from this interpreter's environment (``python -m bot.cli`` without it)."""
    script = Path(sys.executable).parent / "quizbot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


@dataclass
class Worker:
    index: int
    port: int
    metrics_port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class Workers:
    """N webhook workers on one database. Use as a context manager (stops them all)."""

    api: BotApiStandin
    database_url: str
    content: Path
    folder: Path
    secret: str = "s3cret-token_for-tests"
    url_path: str = "telegram"
    env: dict[str, str] = field(default_factory=dict)
    workers: list[Worker] = field(default_factory=list)
    _round_robin: Any = field(default_factory=count)

    def start(self, n: int) -> list[Worker]:
        """Start ``n`` workers at once (no waiting between them); see ``wait_ready``."""
        started = [self._spawn(len(self.workers) + i) for i in range(n)]
        self.workers.extend(started)
        return started

    def _spawn(self, index: int) -> Worker:
        port, metrics_port = free_port(), free_port()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.folder),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": self.api.base_url,
            "DATABASE_URL": self.database_url,
            "QUIZBOT_CONTENT_DIR": str(self.content),
            "QUIZBOT_METRICS_PORT": str(metrics_port),
            "QUIZBOT_LOG_LEVEL": "INFO",
            **self.env,
        }
        log_path = self.folder / f"worker-{index}.log"
        command = [
            *quizbot_command(),
            "run",
            "--webhook-url",
            f"http://127.0.0.1:{port}/{self.url_path}",
            "--listen",
            "127.0.0.1",
            "--port",
            str(port),
            "--url-path",
            self.url_path,
            "--secret-token",
            self.secret,
        ]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, cwd=self.folder, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        return Worker(index, port, metrics_port, log_path, process)

    def wait_ready(
        self, workers: list[Worker] | None = None, timeout: float = START_TIMEOUT
    ) -> None:
        """Wait until every worker answers GET /healthz with 200; a worker that exits or
        stays unready fails with its log."""
        deadline = time.monotonic() + timeout
        for worker in workers or self.workers:
            while True:
                if not worker.alive():
                    raise AssertionError(
                        f"worker {worker.index} exited with {worker.process.returncode}:\n"
                        + worker.log()
                    )
                try:
                    if httpx.get(f"{worker.url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"worker {worker.index} not ready after {timeout} s:\n" + worker.log()
                    )
                time.sleep(0.1)

    def post(
        self, update: dict[str, Any], worker: int | None = None, secret: str | None = None
    ) -> httpx.Response:
        """POST one update as Telegram does: to ``worker`` (round robin when None)."""
        index = next(self._round_robin) % len(self.workers) if worker is None else worker
        target = self.workers[index]
        return httpx.post(
            f"{target.url}/{self.url_path}",
            json=update,
            headers={SECRET_HEADER: self.secret if secret is None else secret},
            timeout=10,
        )

    def post_all(
        self, posts: Sequence[tuple[dict[str, Any], int]], in_flight: int = TELEGRAM_CONNECTIONS
    ) -> list[int]:
        """POST each ``(update, worker)``, up to ``in_flight`` requests at once, as Telegram
        does over its connections; the response statuses, in order."""

        async def post_them() -> list[int]:
            slots = asyncio.Semaphore(in_flight)
            limits = httpx.Limits(max_connections=in_flight)
            async with httpx.AsyncClient(limits=limits, timeout=30) as client:

                async def post(update: dict[str, Any], worker: int) -> int:
                    async with slots:
                        try:
                            response = await client.post(
                                f"{self.workers[worker].url}/{self.url_path}",
                                json=update,
                                headers={SECRET_HEADER: self.secret},
                            )
                        except httpx.TransportError as exc:
                            # Say which worker and what it logged (a run in CI once lost a
                            # worker here with nothing else to go on).
                            target = self.workers[worker]
                            state = "running" if target.alive() else "exited"
                            raise AssertionError(
                                f"worker {worker} ({state}) dropped a request: {exc!r}\n"
                                + target.log()[-4000:]
                            ) from exc
                        return response.status_code

                return list(await asyncio.gather(*(post(u, w) for u, w in posts)))

        return asyncio.run(post_them())

    def metrics(self, index: int) -> str:
        """One worker's /metrics page."""
        port = self.workers[index].metrics_port
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text

    def stop(self, worker: Worker, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then SIGKILL when it is still running after ``timeout`` seconds; returns
        the exit status."""
        if worker.alive():
            worker.process.send_signal(signal.SIGTERM)
        return self._reap(worker, time.monotonic() + timeout)

    def stop_all(self, timeout: float = STOP_TIMEOUT) -> list[int]:
        """Stop every worker at once (one SIGTERM each); their exit statuses."""
        for worker in self.workers:
            if worker.alive():
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        return [self._reap(worker, deadline) for worker in self.workers]

    @staticmethod
    def _reap(worker: Worker, deadline: float) -> int:
        try:
            return worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.process.kill()
            return worker.process.wait(timeout=STOP_TIMEOUT)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()


def metric(text: str, name: str, default: float | None = None, **labels: str) -> float:
    """The value of one sample of a Prometheus text page (``default`` when it is absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.compile(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", re.M)
    for found in pattern.finditer(text):
        got = ",".join(sorted((found.group(1) or "").split(","))) if found.group(1) else ""
        if got == wanted:
            return float(found.group(2))
    if default is not None:
        return default
    raise AssertionError(f"no {name}{{{wanted}}} in the metrics")


def minimal_content(folder: Path) -> Path:
    """A content folder with the four-item minimal pack (its article path made absolute)."""
    root = Path(__file__).resolve().parent.parent
    text = (root / "tests/packs/minimal.yaml").read_text(encoding="utf-8")
    text = text.replace("../../seeds/", f"{root / 'seeds'}/")
    (folder / "minimal.yaml").write_text(text, encoding="utf-8")
    return folder
