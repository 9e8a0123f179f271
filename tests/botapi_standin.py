"""A local HTTP stand-in for the Telegram Bot API, for tests that run real worker processes.

It listens on 127.0.0.1 (a free port) in a thread of the test process, answers every method
with the same plausible results as the offline Bot API of the in-process tests
(``bot/testing/offline.py``), records every call, and can fail chosen methods: a status code,
a 429 with ``retry_after``, or a delay before the answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from bot.testing.offline import ApiCall, OfflineRequest

TEXT_PARAMS = frozenset({"text", "caption", "question", "explanation", "url", "secret_token"})
"""Parameters that are text even when they look like JSON (an answer typed as ``42``)."""


@dataclass
class Failure:
    """How the next calls of one method fail (``times`` calls, then they succeed again)."""

    status: int = 500
    description: str = "Internal Server Error"
    retry_after: int | None = None
    delay: float = 0.0
    times: int = 1


class _Results(OfflineRequest):
    """The offline Bot API's result building, reused for the HTTP stand-in."""

    def result(self, method: str, params: dict[str, Any]) -> Any:
        return self._result(method, params)


def _decode(name: str, value: str) -> Any:
    """PTB sends every parameter as a form field, non-strings JSON-encoded."""
    if name in TEXT_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


class BotApiStandin:
    """The stand-in server. Use as a context manager, or ``start()`` and ``stop()``."""

    TOKEN_PATH = "/bot"

    def __init__(self) -> None:
        self.calls: list[ApiCall] = []
        self.failures: dict[str, deque[Failure]] = {}
        self._results = _Results()
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The ``TELEGRAM_API_BASE_URL`` that points a worker here."""
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> BotApiStandin:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> BotApiStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- failures

    def fail(self, method: str, failure: Failure) -> None:
        """Make the next ``failure.times`` calls of ``method`` fail (queued after any others)."""
        with self._changed:
            self.failures.setdefault(method, deque()).append(failure)

    def _next_failure(self, method: str) -> Failure | None:
        with self._changed:
            queue = self.failures.get(method)
            if not queue:
                return None
            failure = queue[0]
            failure.times -= 1
            if failure.times <= 0:
                queue.popleft()
            return failure

    # ----------------------------------------------------------------- calls

    def sent(self, method: str | None = None) -> list[ApiCall]:
        with self._changed:
            return [c for c in self.calls if method is None or c.method == method]

    def count(self) -> int:
        with self._changed:
            return len(self.calls)

    def wait_for(
        self,
        match: Callable[[list[ApiCall]], bool],
        timeout: float = 10.0,
        since: int = 0,
        what: str = "a Bot API call",
    ) -> list[ApiCall]:
        """Wait (at most ``timeout`` seconds) until ``match`` holds for the calls recorded
        after index ``since``; returns those calls."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                calls = self.calls[since:]
                if match(calls):
                    return list(calls)
                left = deadline - time.monotonic()
                if left <= 0:
                    methods = [c.method for c in calls]
                    raise AssertionError(
                        f"timed out after {timeout} s waiting for {what}: {methods}"
                    )
                self._changed.wait(left)

    def _record(self, call: ApiCall) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        failure = self._next_failure(method)
        if failure is not None:
            if failure.delay:
                time.sleep(failure.delay)
            if failure.status == HTTPStatus.OK:  # only a delay
                failure = None
        if failure is not None:
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.status,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            self._record(ApiCall(method, params, result=body))
            return failure.status, body
        result = self._results.result(method, params)
        self._record(ApiCall(method, params, result=result))
        return HTTPStatus.OK, {"ok": True, "result": result}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None  # keep the test output quiet

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                method = self.path.rstrip("/").rsplit("/", 1)[-1]
                if not self.path.startswith(standin.TOKEN_PATH):
                    self._send(HTTPStatus.NOT_FOUND, {"ok": False, "error_code": 404})
                    return
                params = self._params(body)
                status, answer = standin._answer(method, params)
                self._send(status, answer)

            def do_GET(self) -> None:
                self._send(HTTPStatus.NOT_FOUND, {"ok": False, "error_code": 404})

            def _params(self, body: bytes) -> dict[str, Any]:
                kind = self.headers.get("Content-Type", "")
                if kind.startswith("application/json"):
                    loaded: dict[str, Any] = json.loads(body or b"{}")
                    return loaded
                if kind.startswith("multipart/form-data"):
                    head = f"Content-Type: {kind}\r\n\r\n".encode()
                    message = BytesParser(policy=HTTP).parsebytes(head + body)
                    params: dict[str, Any] = {}
                    for part in message.iter_parts():
                        name = part.get_param("name", header="content-disposition")
                        if part.get_filename() is None and isinstance(name, str):
                            params[name] = _decode(name, part.get_content())
                    return params
                pairs = parse_qsl(body.decode(), keep_blank_values=True)
                return {name: _decode(name, value) for name, value in pairs}

            def _send(self, status: int, answer: dict[str, Any]) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
