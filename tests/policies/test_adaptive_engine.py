"""The adaptive window inside the real engine, on looptime's virtual clock (deterministic, no real time)."""

from __future__ import annotations

import asyncio
import random

import pytest
from batchsieve import BatchProcessor

A, B = 0.008, 0.0008  # simulated handler: 8 ms + 0.8 ms per request


async def _run(rate: float, seconds: float, **options) -> BatchProcessor:
    async def handler(requests):
        await asyncio.sleep(A + B * len(requests))
        return [r["query"].upper() for r in requests]

    batch = BatchProcessor(handler=handler, max_size=32, dedup_strategy="exact", **options)
    loop = asyncio.get_running_loop()
    start = loop.time()
    rng = random.Random(5)
    t = 0.0
    tasks = []
    for i in range(int(rate * seconds)):
        t += rng.expovariate(rate)
        await asyncio.sleep(max(0.0, start + t - loop.time()))
        tasks.append(asyncio.create_task(batch.process({"query": f"q{i}"})))
    results = await asyncio.gather(*tasks)
    assert results == [f"Q{i}" for i in range(len(tasks))]
    await batch.close()
    return batch


@pytest.mark.looptime
@pytest.mark.parametrize("rate", [20.0, 300.0])
async def test_adaptive_holds_the_target_and_beats_a_short_fixed_window(rate):
    adaptive = await _run(rate, 8.0, adaptive=True, target_latency_ms=50, min_window_ms=20, max_window_ms=200)
    fixed = await _run(rate, 8.0, window_ms=20)
    a, f = adaptive.get_stats(), fixed.get_stats()
    assert a.latency_p95_ms <= 50 * 1.15
    if rate < 50:  # light load: waiting cannot grow the batch, so it dispatches at once ("idle")
        assert a.latency_p50_ms < f.latency_p50_ms
        assert a.dispatch_reasons.get("idle", 0) > 0
    else:  # heavier load: it spends the latency budget on bigger batches
        assert a.avg_batch_size > f.avg_batch_size
    assert a.policy["policy"] == "adaptive" and a.policy["feasible"] is True
    assert set(a.dispatch_reasons) <= {"idle", "window", "full", "deadline", "max_wait", "close"}
    assert sum(a.dispatch_reasons.values()) == a.total_batches


@pytest.mark.looptime
async def test_fixed_window_behaviour_is_unchanged_without_adaptive():
    fixed = await _run(100.0, 2.0, window_ms=20)
    stats = fixed.get_stats()
    assert stats.policy == {"policy": "fixed", "window_ms": 20.0}
    assert set(stats.dispatch_reasons) <= {"window", "close"}
