"""Handlers the command-line tests name with ``--handler tests.server.handlers:NAME`` (module level, importable
from the repository root)."""

from __future__ import annotations

import time


def slow_echo(requests: list) -> list:
    """50 ms per batch, whatever its size: a server under load always has requests in flight."""
    time.sleep(0.05)
    return [f"echo:{r}" for r in requests]


not_a_handler = 42
