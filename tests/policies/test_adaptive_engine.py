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
async def test_at_light_load_adaptive_dispatches_at_once_and_beats_a_short_fixed_window():
    """20 req/s: waiting cannot grow a batch, so the adaptive window goes at once ("idle")."""
    adaptive = await _run(20.0, 8.0, adaptive=True, target_latency_ms=50, min_window_ms=20, max_window_ms=200)
    fixed = await _run(20.0, 8.0, window_ms=20)
    a, f = adaptive.get_stats(), fixed.get_stats()
    assert a.latency_p95_ms <= 50 * 1.15
    assert a.latency_p50_ms < f.latency_p50_ms
    assert a.dispatch_reasons.get("idle", 0) > a.total_batches / 2
    assert a.policy["policy"] == "adaptive" and a.policy["feasible"] is True
    assert sum(a.dispatch_reasons.values()) == a.total_batches


@pytest.mark.looptime
async def test_at_heavier_load_adaptive_spends_the_budget_on_bigger_batches():
    adaptive = await _run(300.0, 8.0, adaptive=True, target_latency_ms=50, min_window_ms=20, max_window_ms=200)
    fixed = await _run(300.0, 8.0, window_ms=20)
    a, f = adaptive.get_stats(), fixed.get_stats()
    assert a.latency_p95_ms <= 50 * 1.15
    assert a.avg_batch_size > f.avg_batch_size
    assert a.policy["policy"] == "adaptive" and a.policy["feasible"] is True
    assert set(a.dispatch_reasons) <= {"idle", "window", "full", "deadline", "max_wait", "close"}
    assert sum(a.dispatch_reasons.values()) == a.total_batches


def _ideal_window_ms(rate: float, budget: float = 0.045) -> float:
    """The window the rule should settle on for this handler (8 ms + 0.8 ms per request) and rate, by
    bisection on its definition: the longest d with d + A + B * min(32, 1 + rate * d) <= budget (the 50 ms
    target less its 10 % headroom), clipped to [20, 200] ms."""
    def late(d: float) -> bool:
        return d + A + B * min(32, 1 + rate * d) > budget

    left, right = 0.0, 10.0
    for _ in range(200):
        mid = (left + right) / 2
        left, right = (left, mid) if late(mid) else (mid, right)
    return min(max(left, 0.020), 0.200) * 1e3


@pytest.mark.looptime
async def test_the_engine_moves_its_window_to_the_new_optimum_after_a_load_step():
    """The simulator's load-step scenario on the engine itself: 50 req/s, then 400 req/s."""
    async def handler(requests):
        await asyncio.sleep(A + B * len(requests))
        return [r["query"].upper() for r in requests]

    batch = BatchProcessor(handler=handler, max_size=32, dedup_strategy="exact", adaptive=True,
                           target_latency_ms=50, min_window_ms=20, max_window_ms=200)
    loop = asyncio.get_running_loop()
    start = loop.time()
    rng = random.Random(9)
    tasks: list[asyncio.Task] = []
    windows = {}
    t = 0.0
    for rate, until in ((50.0, 6.0), (400.0, 10.0)):
        while True:
            t += rng.expovariate(rate)
            if t >= until:
                break
            await asyncio.sleep(max(0.0, start + t - loop.time()))
            tasks.append(asyncio.create_task(batch.process({"query": f"q{len(tasks)}"})))
        windows[rate] = batch.get_stats().current_window_ms
        t = until
    results = await asyncio.gather(*tasks)
    await batch.close()
    assert results == [f"Q{i}" for i in range(len(tasks))]
    assert _ideal_window_ms(50.0) > 1.1 * _ideal_window_ms(400.0)  # the step really moves the optimum
    assert windows[50.0] == pytest.approx(_ideal_window_ms(50.0), rel=0.12)
    assert windows[400.0] == pytest.approx(_ideal_window_ms(400.0), rel=0.12)
    assert batch.get_stats().policy["arrival_rate_per_s"] == pytest.approx(400.0, rel=0.3)


@pytest.mark.looptime
async def test_fixed_window_behaviour_is_unchanged_without_adaptive():
    fixed = await _run(100.0, 2.0, window_ms=20)
    stats = fixed.get_stats()
    assert stats.policy == {"policy": "fixed", "window_ms": 20.0}
    assert set(stats.dispatch_reasons) <= {"window", "close"}
