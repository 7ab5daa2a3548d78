"""Every figure of BatchStats with exact values: before any work, and over two bursts on the fake clock."""

from __future__ import annotations

import asyncio
import types

import pytest
from batchsieve import BatchProcessor


def _loop_clock(monkeypatch) -> asyncio.AbstractEventLoop:
    """Read the engine's throughput clock (``time.perf_counter``) from the event loop's fake clock."""
    import batchsieve._batch
    import batchsieve._dispatcher
    import batchsieve.stats

    loop = asyncio.get_running_loop()
    fake = types.SimpleNamespace(perf_counter=loop.time)
    for module in (batchsieve.stats, batchsieve._batch, batchsieve._dispatcher):
        if hasattr(module, "time"):
            monkeypatch.setattr(module, "time", fake)
    return loop


def test_a_new_processor_reports_zeros():
    stats = BatchProcessor(lambda rs: rs, dedup_strategy="exact").get_stats()
    assert (stats.total_requests, stats.completed_requests, stats.failed_requests, stats.cancelled_requests,
            stats.total_batches, stats.handler_requests, stats.requests_saved, stats.handler_calls_saved,
            stats.queue_depth, stats.in_flight_batches, stats.errors, stats.timeouts, stats.dedup_failures,
            stats.dropped_before_call, stats.stuck_handler_calls, stats.policy_errors) == (0,) * 16
    assert (stats.avg_batch_size, stats.avg_requests_per_batch, stats.dedup_rate, stats.cost_saved_usd,
            stats.requests_per_second, stats.latency_p50_ms, stats.latency_p95_ms, stats.latency_p99_ms) == (0.0,) * 8
    assert (stats.merges, stats.dispatch_reasons, stats.dedup) == ({}, {}, {"strategy": "exact"})
    assert stats.current_window_ms == 50.0


@pytest.mark.looptime
async def test_two_bursts_on_the_fake_clock(monkeypatch):
    """Burst 1 at t = 1 s: a, b, a (one window, 20 ms, handler 10 ms). Idle 5 s. Burst 2: c, d, c, c."""
    loop = _loop_clock(monkeypatch)

    async def handler(requests):
        await asyncio.sleep(0.010)
        return [r.upper() for r in requests]

    batch = BatchProcessor(handler, window_ms=20, dedup_strategy="exact", cost_per_request=0.0012345678912)
    await asyncio.sleep(1.0)
    t0 = loop.time()
    assert await asyncio.gather(*[batch.process(x) for x in "aba"]) == ["A", "B", "A"]
    await asyncio.sleep(5.0)  # the dispatcher ends while idle; the throughput clock keeps its first arrival
    assert await asyncio.gather(*[batch.process(x) for x in "cdcc"]) == ["C", "D", "C", "C"]
    end = loop.time()
    stats = batch.get_stats()
    assert (stats.total_requests, stats.completed_requests, stats.total_batches, stats.handler_requests) == (7, 7, 2, 4)
    assert (stats.avg_batch_size, stats.avg_requests_per_batch) == (2.0, 3.5)
    assert (stats.requests_saved, stats.handler_calls_saved) == (3, 5)
    assert stats.dedup_rate == pytest.approx(3 / 7)
    assert stats.cost_saved_usd == 0.0037037037  # 3 x 0.0012345678912, rounded to 10 decimals
    assert stats.requests_per_second == pytest.approx(7 / (end - t0), rel=1e-9)  # first arrival to last answer
    assert end - t0 == pytest.approx(5.060, abs=1e-6)
    assert (stats.latency_p50_ms, stats.latency_p99_ms) == (pytest.approx(30.0, abs=1e-6),) * 2
    assert stats.merges == {"exact_queued": 3} and stats.dispatch_reasons == {"window": 2}
    await batch.close()


def test_a_new_processor_reports_no_streams_and_no_audit_yet():
    stats = BatchProcessor(lambda rs: rs, dedup_strategy="exact").get_stats()
    assert (stats.subscribers_per_stream, stats.on_merge_errors, stats.recent_merges) == (0.0, 0, ())


def test_a_snapshot_without_a_merge_log_reports_an_empty_audit():
    from batchsieve.stats import StatsCollector

    snap = StatsCollector().snapshot(total_requests=0, cost_per_request=0.0, queue_depth=0, in_flight=0,
                                     window_ms=5.0, policy={}, dedup={})
    assert (snap.audit, snap.recent_merges, snap.on_merge_errors, snap.subscribers_per_stream) == ({}, (), 0, 0.0)
