"""Pytest configuration: shared fixtures live in botkit.py.

The suite runs in two processes (pytest-xdist, ``-n 2 --dist loadgroup`` in pyproject.toml's
``addopts``): about 40% less wall time on two cores, which keeps CI well under its ten
minutes. The tests that start processes, inject faults or load the machine on purpose (fault
suites, webhook workers, the benchmark's smoke test, the memory test) share one group, so they
run one after the other in the same process and never overlap each other: each of them opens
up to 40 PostgreSQL connections (the pool of a worker), and two at once could meet the
server's default limit of 100.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["botkit"]

HEAVY_MODULES = frozenset(
    {
        "test_bench",
        "test_fault_botapi",
        "test_fault_database",
        "test_fault_load",
        "test_faults",
        "test_memory",
        "test_workers",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__ if isinstance(item, pytest.Function) else ""
        heavy = module.rsplit(".", 1)[-1] in HEAVY_MODULES
        if heavy or item.get_closest_marker("faults") or item.get_closest_marker("workers"):
            item.add_marker(pytest.mark.xdist_group("heavy"))
