"""README promises that had no test of their own, each checked through the public API.

Timing runs on looptime's fake loop clock (``@pytest.mark.looptime``), so every latency, rate and
dispatch time below is an exact value. Promises tested elsewhere: no starvation under priorities, leaving
a stream early and a failed list item releasing the rest (``test_processor.py``); hybrid refusing texts
the encoder flags as truncated or holding unknown tokens (``tests/dedup/test_strategies.py``); the
adaptive window through the engine (``tests/policies/test_adaptive_engine.py``); the README's code
(``tests/test_readme.py``).
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest
import torch
from batchsieve import (
    BatchProcessingError,
    BatchProcessor,
    ProcessingTimeoutError,
    RequestTimeoutError,
)

ROOT = Path(__file__).resolve().parents[2]


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


class GatedHandler:
    """Each call waits for its own release; records how many calls run at once."""

    def __init__(self) -> None:
        self.calls: list[list] = []
        self.running = 0
        self.most_running = 0
        self.releases: list[asyncio.Event] = []

    async def __call__(self, requests: list) -> list:
        release = asyncio.Event()
        self.calls.append(list(requests))
        self.releases.append(release)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await release.wait()
        finally:
            self.running -= 1
        return [r.upper() for r in requests]


# ---------------------------------------------------------------- max_concurrent_batches


@pytest.mark.looptime
@pytest.mark.parametrize("strategy", ["exact", "custom"])
async def test_several_handler_calls_run_at_once_and_never_more_than_the_limit(strategy):
    """``max_concurrent_batches=3``: three calls in flight at once, the fourth batch waits for a free slot.
    With a blocking (semantic) strategy one more batch may be dispatched to run its dedup, but it still
    waits for a handler slot."""
    options = {"dedup_function": lambda a, b: 0.0} if strategy == "custom" else {"dedup_strategy": "exact"}
    handler = GatedHandler()
    batch = BatchProcessor(handler, window_ms=0, max_size=1, max_concurrent_batches=3, **options)
    tasks = [asyncio.ensure_future(batch.process(f"q{i}")) for i in range(6)]
    await _settle()
    assert handler.calls == [["q0"], ["q1"], ["q2"]]
    stats = batch.get_stats()
    # exact: three batches in flight, three requests queued; custom: a fourth batch dispatched for its dedup
    assert (stats.in_flight_batches, stats.queue_depth) == ((3, 3) if strategy == "exact" else (4, 2))
    handler.releases[1].set()
    await _settle()
    assert handler.calls == [["q0"], ["q1"], ["q2"], ["q3"]]
    assert tasks[1].result() == "Q1"
    for _ in range(2, 6):
        await _settle()
        for release in handler.releases:
            release.set()
    assert await asyncio.gather(*tasks) == [f"Q{i}" for i in range(6)]
    assert handler.most_running == 3
    assert batch.get_stats().in_flight_batches == 0
    await batch.close()


@pytest.mark.looptime
async def test_one_handler_call_at_a_time_by_default():
    handler = GatedHandler()
    batch = BatchProcessor(handler, window_ms=0, max_size=1, dedup_strategy="exact")
    tasks = [asyncio.ensure_future(batch.process(f"q{i}")) for i in range(3)]
    await _settle()
    assert handler.calls == [["q0"]]
    assert (batch.get_stats().in_flight_batches, batch.get_stats().queue_depth) == (1, 2)
    for _ in range(3):
        for release in handler.releases:
            release.set()
        await _settle()
    assert await asyncio.gather(*tasks) == ["Q0", "Q1", "Q2"]
    assert handler.most_running == 1
    await batch.close()


# ---------------------------------------------------------------- abandoned work


@pytest.mark.looptime
async def test_a_request_abandoned_after_dispatch_never_reaches_the_handler():
    """A full batch is dispatched at once; one of its callers leaves before the handler call starts (its
    cancellation is processed right after the dispatch). Its slot is dropped right before the call."""
    calls: list[list] = []

    async def handler(requests):
        calls.append(list(requests))
        return [r.upper() for r in requests]

    batch = BatchProcessor(handler, window_ms=50, max_size=2, dedup_strategy="exact")
    tasks = [asyncio.ensure_future(batch.process(f"r{i}")) for i in range(3)]
    await asyncio.sleep(0)  # all three queued; the dispatcher has not run yet
    tasks[1].cancel()  # processed after the dispatcher takes the full batch [r0, r1]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[0] == "R0" and isinstance(results[1], asyncio.CancelledError) and results[2] == "R2"
    assert calls == [["r0"], ["r2"]]
    stats = batch.get_stats()
    assert (stats.dropped_before_call, stats.cancelled_requests, stats.handler_requests) == (1, 1, 2)
    await batch.close()


# ---------------------------------------------------------------- errors keep the original


async def test_batch_processing_error_keeps_the_handlers_exception_as_original_and_cause():
    boom = ValueError("model exploded")

    async def handler(requests):
        raise boom

    async with BatchProcessor(handler, window_ms=1, dedup_strategy="exact") as batch:
        errors = await asyncio.gather(batch.process("a"), batch.process("b"), batch.process("a"),
                                      return_exceptions=True)
    for err in errors:
        assert type(err) is BatchProcessingError
        assert err.original is boom and err.__cause__ is boom
        assert err.batch_size == 2
        assert str(err) == "handler raised ValueError: model exploded (batch of 2 requests)"
    assert len({id(e) for e in errors}) == 3  # each caller raises its own exception object


async def test_a_malformed_result_has_no_original():
    async def handler(requests):
        return ["only one"]

    async with BatchProcessor(handler, window_ms=1, dedup_strategy="exact") as batch:
        errors = await asyncio.gather(batch.process("a"), batch.process("b"), return_exceptions=True)
    for err in errors:
        assert type(err) is BatchProcessingError and err.original is None and err.batch_size == 2
        assert str(err) == "handler returned 1 results for 2 requests"


async def test_a_slot_value_that_cannot_be_raised_is_wrapped_with_its_original():
    stop = StopIteration("done")

    async def handler(requests):
        return [stop if r == "odd" else r.upper() for r in requests]

    async with BatchProcessor(handler, window_ms=1, dedup_strategy="exact") as batch:
        ok, odd = await asyncio.gather(batch.process("fine"), batch.process("odd"), return_exceptions=True)
    assert ok == "FINE"
    assert type(odd) is BatchProcessingError and odd.original is stop and odd.__cause__ is stop
    assert str(odd) == "handler returned StopIteration in result slot 1"


# ---------------------------------------------------------------- timeouts


@pytest.mark.looptime
async def test_a_list_timeout_bounds_the_whole_list_and_the_shared_work_goes_on():
    """A list whose items wait behind a slow call: at its timeout the list's caller gets one
    ``RequestTimeoutError``, its queued items are dropped, and the other caller of the slow request still
    gets its answer."""
    loop = asyncio.get_running_loop()
    slow = asyncio.Event()
    calls: list[list] = []

    async def handler(requests):
        calls.append(list(requests))
        if "slow" in requests:
            await slow.wait()
        return [r.upper() for r in requests]

    batch = BatchProcessor(handler, window_ms=1, max_size=1, dedup_strategy="exact")
    patient = asyncio.ensure_future(batch.process("slow"))  # another caller of the slow request
    await _settle()
    t0 = loop.time()
    with pytest.raises(RequestTimeoutError) as info:
        await batch.process(["fast", "slow", "later"], timeout=0.25)
    assert str(info.value) == "3 of 3 requests not answered within timeout=0.25s"
    assert loop.time() - t0 == pytest.approx(0.25, abs=1e-6)
    stats = batch.get_stats()
    assert (stats.timeouts, stats.cancelled_requests, stats.queue_depth) == (1, 3, 0)
    slow.set()
    assert await patient == "SLOW"
    await batch.close()
    assert calls == [["slow"]]  # the list's queued items were dropped, never handed to the handler


@pytest.mark.looptime
async def test_a_list_timeout_message_counts_the_items_not_answered():
    slow = asyncio.Event()

    async def handler(requests):
        if "slow" in requests:
            await slow.wait()
        return [r.upper() for r in requests]

    batch = BatchProcessor(handler, window_ms=1, max_size=1, max_concurrent_batches=2, dedup_strategy="exact")
    try:
        with pytest.raises(RequestTimeoutError) as info:
            await batch.process(["fast", "slow", "later"], timeout=0.25)
        stats = batch.get_stats()
        assert (stats.completed_requests, stats.cancelled_requests) == (2, 1)  # only "slow" was not answered
        assert str(info.value) == "1 of 3 requests not answered within timeout=0.25s"
    finally:
        slow.set()
        await batch.close()


@pytest.mark.looptime
async def test_a_list_answered_within_its_timeout_returns_every_result():
    async def handler(requests):
        await asyncio.sleep(0.1)
        return [r.upper() for r in requests]

    async with BatchProcessor(handler, window_ms=1, dedup_strategy="exact") as batch:
        assert await batch.process(["a", "b"], timeout=0.2) == ["A", "B"]
        assert batch.get_stats().timeouts == 0


@pytest.mark.looptime
async def test_processing_timeout_none_means_no_limit():
    loop = asyncio.get_running_loop()

    async def handler(requests):
        await asyncio.sleep(3600)  # an hour: well past the default processing_timeout of 30 s
        return [r.upper() for r in requests]

    batch = BatchProcessor(handler, window_ms=0, processing_timeout=None, dedup_strategy="exact")
    assert batch.config.processing_timeout is None
    t0 = loop.time()
    assert await batch.process("slow") == "SLOW"
    assert loop.time() - t0 == pytest.approx(3600.0, abs=1e-6)
    assert batch.get_stats().timeouts == 0
    await batch.close()

    default = BatchProcessor(handler, window_ms=0, dedup_strategy="exact")
    t0 = loop.time()
    with pytest.raises(ProcessingTimeoutError, match=r"within processing_timeout=30\.0s"):
        await default.process("slow")
    assert loop.time() - t0 == pytest.approx(30.0, abs=1e-6)
    await default.close()


# ---------------------------------------------------------------- text_key


async def test_a_custom_text_key_is_where_the_text_is_read():
    seen: list = []

    async def handler(requests):
        seen.extend(requests)
        return [f"{r['prompt']}|{r.get('model')}" for r in requests]

    async with BatchProcessor(handler, window_ms=1, text_key="prompt", dedup_strategy="exact") as batch:
        results = await batch.process([{"prompt": "Hello  World", "model": "m"},
                                       {"prompt": "hello world", "model": "m"},
                                       {"prompt": "hello world", "model": "n"}, {"prompt": "hi", "query": "x"}])
        with pytest.raises(TypeError, match=r"request dict has no 'prompt' key \(keys: \['query'\]\)"):
            await batch.process({"query": "where is my text?"})
    # normalised on "prompt", the other fields (including a "query" field) compared as fields
    assert seen == [{"prompt": "Hello  World", "model": "m"}, {"prompt": "hello world", "model": "n"},
                    {"prompt": "hi", "query": "x"}]
    assert results == ["Hello  World|m", "Hello  World|m", "hello world|n", "hi|None"]


# ---------------------------------------------------------------- stats on the fake clock


def _loop_clock(monkeypatch) -> asyncio.AbstractEventLoop:
    """Read the engine's throughput clock (``time.perf_counter``) from the event loop's fake clock."""
    import batchsieve._batch
    import batchsieve.stats

    loop = asyncio.get_running_loop()
    fake = types.SimpleNamespace(perf_counter=loop.time)
    monkeypatch.setattr(batchsieve.stats, "time", fake)
    monkeypatch.setattr(batchsieve._batch, "time", fake)
    return loop


@pytest.mark.looptime
async def test_latency_percentiles_and_requests_per_second_are_exact(monkeypatch):
    """100 requests at once, one per 1 ms handler call: latencies 1, 2, ..., 100 ms."""
    _loop_clock(monkeypatch)

    async def handler(requests):
        await asyncio.sleep(0.001)
        return [r.upper() for r in requests]

    batch = BatchProcessor(handler, window_ms=0, max_size=1, max_queue_size=100, dedup_strategy="exact")
    assert batch.get_stats().requests_per_second == 0.0  # nothing answered yet
    results = await asyncio.gather(*[batch.process(f"q{i}") for i in range(100)])
    assert results == [f"Q{i}" for i in range(100)]
    stats = batch.get_stats()
    # linear interpolation between order statistics (numpy's default): p = 1 + q * 99 ms
    assert stats.latency_p50_ms == pytest.approx(50.5, abs=1e-6)
    assert stats.latency_p95_ms == pytest.approx(95.05, abs=1e-6)
    assert stats.latency_p99_ms == pytest.approx(99.01, abs=1e-6)
    assert stats.requests_per_second == pytest.approx(1000.0, rel=1e-6)  # 100 answers in 0.1 s
    assert (stats.total_batches, stats.in_flight_batches, stats.queue_depth) == (100, 0, 0)
    await batch.close()


@pytest.mark.looptime
async def test_requests_per_second_counts_duplicates_and_spans_first_arrival_to_last_answer(monkeypatch):
    _loop_clock(monkeypatch)

    async def handler(requests):
        await asyncio.sleep(0.050)
        return [r.upper() for r in requests]

    batch = BatchProcessor(handler, window_ms=10, dedup_strategy="exact")
    first = asyncio.ensure_future(batch.process("a"))
    await asyncio.sleep(0.005)
    rest = [asyncio.ensure_future(batch.process(x)) for x in ["a", "b", "a"]]
    await asyncio.gather(first, *rest)
    await asyncio.sleep(1.0)  # idle time after the last answer does not count
    stats = batch.get_stats()
    assert stats.requests_per_second == pytest.approx(4 / 0.060, rel=1e-6)  # first arrival 0, last answer 60 ms
    assert stats.latency_p50_ms == pytest.approx(55.0, abs=1e-6)  # latencies 60, 55, 55, 55 ms
    assert stats.latency_p99_ms == pytest.approx(59.85, abs=1e-6)
    await batch.close()


@pytest.mark.looptime
async def test_latency_percentiles_cover_the_last_100000_requests():
    """100,000 callers answered in 10 ms, then 50,000 in 50 ms. Only the last 100,000 count: 50,000 of each,
    so the median is halfway, 30 ms (with 99,999 kept it would be 50, with 100,001 or all of them 10)."""
    delay = 0.010

    async def handler(requests):
        await asyncio.sleep(delay)
        return [r.upper() for r in requests]

    batch = BatchProcessor(handler, window_ms=0, max_queue_size=200_000, dedup_strategy="exact", audit_rate=0)
    assert await batch.process(["same"] * 100_000) == ["SAME"] * 100_000  # one handler slot, 100,000 callers
    stats = batch.get_stats()
    assert (stats.latency_p50_ms, stats.total_batches) == (pytest.approx(10.0, abs=1e-6), 1)
    delay = 0.050
    assert await batch.process(["same"] * 50_000) == ["SAME"] * 50_000
    stats = batch.get_stats()
    assert stats.latency_p50_ms == pytest.approx(30.0, abs=1e-6)
    assert stats.latency_p95_ms == pytest.approx(50.0, abs=1e-6)
    assert stats.completed_requests == 150_000
    await batch.close()


@pytest.mark.looptime
async def test_in_flight_batches_counts_running_handler_calls():
    handler = GatedHandler()
    batch = BatchProcessor(handler, window_ms=0, max_size=2, max_concurrent_batches=2, dedup_strategy="exact")
    tasks = [asyncio.ensure_future(batch.process(f"q{i}")) for i in range(5)]
    await _settle()
    stats = batch.get_stats()
    assert (stats.in_flight_batches, stats.queue_depth, handler.calls) == (2, 1, [["q0", "q1"], ["q2", "q3"]])
    handler.releases[0].set()
    await _settle()
    assert (batch.get_stats().in_flight_batches, batch.get_stats().queue_depth) == (2, 0)
    for release in handler.releases:
        release.set()
    await _settle()
    for release in handler.releases:
        release.set()
    await asyncio.gather(*tasks)
    assert batch.get_stats().in_flight_batches == 0
    await batch.close()


# ---------------------------------------------------------------- warmup


class _Result:
    def __init__(self, n: int) -> None:
        self.embeddings = torch.eye(max(n, 2))[:n]
        self.truncated = [False] * n
        self.has_unknown = [False] * n


class CountingEncoder:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.threads: list[int] = []

    def encode(self, texts):
        self.calls.append(list(texts))
        self.threads.append(threading.get_ident())
        return _Result(len(texts))


async def test_warmup_loads_the_default_encoder_ahead_of_the_first_batch(monkeypatch):
    import batchsieve.dedup._encoder as encoder_module

    loads: list[int] = []
    encoder = CountingEncoder()

    def fake_default_encoder():
        loads.append(threading.get_ident())
        return encoder

    monkeypatch.setattr(encoder_module, "default_encoder", fake_default_encoder)

    async def handler(requests):
        return [r.upper() for r in requests]

    # hybrid, default encoder: built inside a running loop, it starts loading on a thread of its own (that
    # thread may or may not have run yet: nothing is asserted about it before warmup)
    batch = BatchProcessor(handler, window_ms=1)
    await batch.warmup()
    assert len(loads) == 1 and threading.get_ident() not in loads  # loaded in a worker thread
    assert encoder.calls == [["warm up", "warm up the encoder"]]
    assert threading.get_ident() not in encoder.threads
    assert await batch.process(["alpha beta", "gamma delta"]) == ["ALPHA BETA", "GAMMA DELTA"]
    assert len(loads) == 1  # the first batch found it loaded
    assert encoder.calls[1:] == [["alpha beta", "gamma delta"]]
    await batch.close()


async def test_warmup_with_the_exact_strategy_does_nothing():
    async def handler(requests):
        return requests

    batch = BatchProcessor(handler, dedup_strategy="exact")
    assert await batch.warmup() is None


# ---------------------------------------------------------------- adaptive: infeasible target


@pytest.mark.looptime
async def test_an_infeasible_adaptive_target_is_reported_in_stats_and_logged_once(caplog):
    """A handler that alone takes 70 ms against a 50 ms target: the policy says so in ``get_stats()`` and in
    one warning, and dispatches at once (window 0)."""
    async def handler(requests):
        await asyncio.sleep(0.070)
        return [r.upper() for r in requests]

    batch = BatchProcessor(handler, adaptive=True, target_latency_ms=50, dedup_strategy="exact")
    assert batch.get_stats().policy["feasible"] is True
    with caplog.at_level(logging.WARNING, logger="batchsieve"):
        for i in range(6):
            assert await batch.process(f"q{i}") == f"Q{i}"
    stats = batch.get_stats()
    assert stats.policy["feasible"] is False
    assert stats.current_window_ms == 0.0 and stats.policy["window_ms"] == 0.0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("adaptive window: target_latency_ms=50.0 is infeasible: a single request alone "
                                  "takes about 70.0 ms")
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    assert await batch.process("late") == "LATE"
    assert loop.time() - t0 == pytest.approx(0.070, abs=1e-6)  # no window at all: only the handler's time
    await batch.close()


# ---------------------------------------------------------------- the demo command


@pytest.mark.timeout(240)
def test_the_demo_command_runs_and_answers_nobody_wrongly():
    """``python -m batchsieve demo`` as a user runs it (about 35 s): exit code 0, the results table, and no
    wrong answer in any mode but the embedding-only one (which exists to show wrong answers)."""
    proc = subprocess.run([sys.executable, "-m", "batchsieve", "demo", "--workload", "synthetic"], cwd=ROOT,
                          capture_output=True, text=True,
                          timeout=230, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert any(line.startswith("stream: 1500 requests, 68 distinct texts after normalisation, 40 distinct questions")
               for line in lines)
    rows = {line.split()[0]: line.split() for line in lines
            if line.split() and line.split()[0] in ("unbatched", "batched", "batched+exact", "batched+hybrid")}
    assert set(rows) == {"unbatched", "batched", "batched+exact", "batched+hybrid"}
    for mode, row in rows.items():
        assert row[-1] == "0", (mode, row)  # wrong answers
    assert rows["unbatched"][5:7] == ["1500", "1500"]  # handler calls, handler items: one call per request
    assert rows["batched"][6] == "1500" and int(rows["batched"][5]) < 1500  # batched: fewer calls, same items
    assert int(rows["batched+exact"][6]) < 1500  # exact dedup: fewer items
