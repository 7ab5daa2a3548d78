"""A short run of ``benchmarks/soak.py``: 20,000 requests with faults and 20,000 without, through a saturated
processor (more clients than ``max_queue_size``; duplicates, scopes, priorities, caller timeouts,
cancellations, 1% faults). Every answer must be the caller's own and the counters must balance exactly;
RSS growth is bounded loosely (the full run's target, 50 MB over a million requests, is the benchmark's)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path

from .test_faults import no_asyncio_warning  # noqa: F401 -- an autouse fixture

_SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"


def _load_soak():
    spec = importlib.util.spec_from_file_location("batchsieve_soak_benchmark", _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_short_soak_conserves_every_request_and_keeps_memory_bounded():
    soak = _load_soak()
    report = asyncio.run(soak.soak(20_000, rounds=2, seed=3, verbose=False))
    text = "\n".join(report.lines)
    assert report.conserved, text  # total == completed + failed + cancelled == accepted, in both runs
    assert report.ok, text  # every answer the caller's own, every fault where it was injected, no task left
    assert "EXACT" in text and "MISMATCH" not in text
    assert report.rss_growth_mb < 100, text
