"""``quizbot bench --quick``: the CI smoke test. It checks that every figure is produced and
written, never how fast anything is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.bench import BenchOptions, Results, StallWatch
from bot.cli import main
from botkit import pg_base_url


def positive(figures: dict[str, Any], *keys: str) -> None:
    for key in keys:
        assert figures[key] > 0, key


def test_quick_bench_produces_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench-results.json"
    server = pg_base_url()
    argv = ["bench", "--quick", "--json", str(out)]
    if server is not None:
        argv += ["--database-url", server]

    assert main(argv) == 0

    results = json.loads(out.read_text(encoding="utf-8"))
    backends = ["sqlite"] + (["postgresql"] if server is not None else [])
    assert results["options"]["quick"] is True
    assert results["targets"] == []  # a quick run judges no speed
    assert results["machine"]["cores"] >= 1
    for backend in backends:
        throughput = results["throughput"][backend]
        for mode in ("sequential", "concurrent"):
            figures = throughput[mode]
            # Whole runs: every item of the article pack, so every run's last answer is timed.
            assert results["options"]["answers_per_user"] == 34
            assert figures["answers"] == figures["users"] * 34
            # Each answer, then Next (none after the last).
            assert figures["updates"] >= 2 * figures["answers"] - figures["users"]
            positive(figures, "answers_per_s", "ceiling_answers_per_s", "ratio")
            # A callback is answered, and the verdict and the next question are shown.
            assert 3 <= figures["api_calls_per_answer"] <= 6
            positive(figures, "longest_loop_stall_ms", "longest_loop_stall_cpu_ms")
            positive(figures, "loop_stall_cpu_p9999_ms")
            assert figures["loop_stall_cpu_p9999_ms"] <= figures["longest_loop_stall_cpu_ms"]
            kernel = figures["longest_loop_stall_kernel_ms"]
            assert 0 <= kernel <= figures["longest_loop_stall_cpu_ms"]
            # Counted with SQLAlchemy's events: every answer claims, records and moves on.
            sql = figures["sql_per_answer"]
            assert sql["statements"] >= 4 and sql["commits"] >= 1, sql
            assert sql["round_trips"] >= sql["statements"]
            assert sql["checkouts"] >= 2, sql  # the answer's unit of work, then Next's
        assert throughput["sequential"]["concurrent_updates"] == 1
        assert throughput["concurrent"]["concurrent_updates"] > 1
        positive(throughput, "peak_rss_mb")

        # The store's path, priced on the bot's own functions, and per answer.
        store = results["store"][backend]
        positive(store, "calls", "unit_ms", "statement_ms")
        assert store["transaction_ms"] >= 0
        positive(store["per_answer"], "store_path_ms", "room_at_half_ceiling_ms")

        board = results["leaderboard"][backend]
        assert board["seed"]["attempts"] == results["options"]["seed_attempts"]
        assert board["requests"] == results["options"]["board_requests"]
        positive(board["full"], "p50_ms", "p95_ms")
        positive(board["raw"], "p50_ms", "p95_ms")
        positive(board["board"], "p50_ms", "p95_ms")
        positive(board["raw_board"], "p50_ms", "p95_ms")
        positive(board["ceiling"], "p50_ms", "p95_ms")
        positive(board, "ratio_to_ceiling_p95", "ceiling_to_raw_p95")
        assert set(board["by_kind"]) == {"chat/all", "chat/week", "global/all", "global/week"}

        if backend == "postgresql":  # two bot processes on one store
            workers = results["workers"][backend]
            assert workers["workers"] == 2
            assert workers["answers"] == workers["users"] * 34
            positive(workers, "answers_per_s", "ratio_to_ceiling")
            assert len(workers["per_worker_answers_per_s"]) == 2

        # The students part: one process per backend, and two workers on PostgreSQL.
        found = results["students"][backend]
        assert (found["students"], found["processes"]) == (results["options"]["students"], 1)
        if backend == "postgresql":
            assert results["students"]["postgresql, 2 workers"]["processes"] == 2

        imported = results["import"][backend]
        assert imported["items"] == results["options"]["import_items"]
        positive(imported, "validate_seconds", "import_seconds", "reimport_seconds")

    labels = backends + (["postgresql, 2 workers"] if server is not None else [])
    assert list(results["students"]) == labels
    for label in labels:
        found = results["students"][label]
        assert found["concurrent_updates"] > 1  # the bot's default, as `quizbot run` runs it
        assert found["spread"]["window_s"] == results["options"]["window"] > 0
        assert found["instant"]["window_s"] == 0
        for reading in ("spread", "instant"):
            figures = found[reading]
            # Every answer recorded once and every student's verdict timed (else an error).
            assert figures["answers"] == found["students"]
            assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"]
            assert figures["p99_ms"] <= figures["max_ms"]
            positive(figures, "answers_per_s", "seconds")

    table = capsys.readouterr().out
    assert "answers/s ÷ ceiling, sequential" in table
    assert "Bot API calls per answer, sequential" in table
    assert "longest event-loop stall, sequential, CPU (ms)" in table
    assert "event-loop stall, sequential, CPU, 99.99th percentile (ms)" in table
    assert "/leaderboard p95 (ms)" in table
    assert "ceiling: /leaderboard, no database p95 (ms)" in table
    assert "unchanged re-import (s)" in table
    assert "SQL statements per answer, concurrent" in table
    assert "store's path per answer, concurrent, CPU (ms)" in table
    assert "room per answer at 50% of the ceiling, concurrent (ms)" in table
    assert "sqlite: all in one instant (worst case)" in table
    if server is not None:
        assert "answers/s, 2 worker processes" in table
        assert "postgresql, 2 workers: spread over 2 s" in table


def test_bench_refuses_a_database_url_that_is_not_postgresql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    status = main(["bench", "--quick", "--json", str(tmp_path / "b.json"), "--database-url", url])
    assert status == 1
    assert "must name a PostgreSQL server" in capsys.readouterr().err


def test_stall_percentile_leaves_out_rare_intervals_not_common_ones() -> None:
    """The slowest-update figure: a slow step once a run (1 in 70 intervals) shows in the
    99.99th percentile; a few interrupts in 300,000 intervals do not."""
    watch = StallWatch()
    watch.histogram[5] = 300_000  # 0.5-0.6 ms
    watch.histogram[190] = 20  # 19 ms, a few times in the pass
    watch.longest_cpu = 0.0192
    assert watch.cpu_percentile(99.99) == pytest.approx(0.0006)
    watch.histogram[120] = 4_300  # 12 ms, once in 70 intervals
    assert watch.cpu_percentile(99.99) == pytest.approx(0.0121)
    figures = watch.figures()
    assert figures["loop_stall_cpu_p9999_ms"] == 12.1
    assert figures["longest_loop_stall_cpu_ms"] == 19.2
    assert StallWatch().cpu_percentile(99.99) == 0.0


def test_store_path_per_answer_prices_the_counts_of_the_concurrent_pass() -> None:
    results = Results(BenchOptions())
    counts = {"checkouts": 4.0, "statements": 7.0, "transactions": 1.0}
    results.throughput["postgresql"] = {
        "concurrent": {"sql_per_answer": counts, "ceiling_answers_per_s": 1250.0}
    }
    assert results.store_per_answer("postgresql") is None  # the store part did not run

    results.store["postgresql"] = {"unit_ms": 0.2, "statement_ms": 0.25, "transaction_ms": 0.1}

    # 4 units at 0.2, 7 statements at 0.25, 1 transaction at 0.1; one ceiling answer: 0.8 ms.
    assert results.store_per_answer("postgresql") == {
        "store_path_ms": 2.65,
        "room_at_half_ceiling_ms": 0.8,
    }
    assert results.store_per_answer("sqlite") is None
