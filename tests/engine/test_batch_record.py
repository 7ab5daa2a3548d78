"""What each finished batch tells its dispatch policy (``BatchRecord``), field by field.

A custom policy sees these records and an adaptive one learns from them, so every field is pinned to its
exact value on looptime's fake clock: when the batch was dispatched, how many unique requests it handed the
handler and how many callers it answered, their characters, how long the oldest had waited, how long the
handler took, why it was dispatched and whether it failed.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from batchsieve import BatchProcessingError, BatchProcessor, BatchRecord, FixedWindowPolicy


class RecordingPolicy(FixedWindowPolicy):
    """A fixed 10 ms window that keeps every record it is handed."""

    def __init__(self) -> None:
        super().__init__(0.010)
        self.records: list[BatchRecord] = []

    def on_batch_done(self, record: BatchRecord) -> None:
        self.records.append(record)


def slow_handler(seconds: float, *, fail: bool = False):
    async def handler(requests: list[str]) -> list[str]:
        await asyncio.sleep(seconds)
        if fail:
            raise RuntimeError("backend down")
        return [f"answer to {r}" for r in requests]
    return handler


@pytest.mark.looptime
async def test_a_successful_batch_reports_its_exact_figures():
    policy = RecordingPolicy()
    batch = BatchProcessor(slow_handler(0.005), dedup_strategy="exact", policy=policy, max_wait_ms=1000)
    await asyncio.sleep(1.0)  # a clock away from 0, so a sum and a difference of times differ
    start = asyncio.get_running_loop().time()
    results = await asyncio.gather(batch.process("alpha"), batch.process("beta!"), batch.process("alpha"))
    assert results == ["answer to alpha", "answer to beta!", "answer to alpha"]
    [record] = policy.records
    assert record.dispatched_at == pytest.approx(start + 0.010, abs=1e-9)
    assert (record.size, record.n_requests, record.chars) == (2, 3, len("alpha") + len("beta!"))
    assert record.oldest_wait_s == pytest.approx(0.010, abs=1e-9)
    assert record.handler_s == pytest.approx(0.005, abs=1e-9)
    assert (record.dedup_s, record.reason, record.failed) == (0.0, "window", False)


@pytest.mark.looptime
async def test_a_failed_batch_reports_failed_with_its_handler_time_and_callers():
    policy = RecordingPolicy()
    batch = BatchProcessor(slow_handler(0.003, fail=True), dedup_strategy="exact", policy=policy)
    await asyncio.sleep(1.0)
    outcomes = await asyncio.gather(batch.process("x"), batch.process("yy"), batch.process("x"),
                                    return_exceptions=True)
    assert all(isinstance(o, BatchProcessingError) and str(o.original) == "backend down" for o in outcomes)
    [record] = policy.records
    assert record.failed is True
    assert (record.size, record.n_requests, record.chars) == (2, 3, 3)
    assert record.handler_s == pytest.approx(0.003, abs=1e-9)
    assert record.oldest_wait_s == pytest.approx(0.010, abs=1e-9)


@pytest.mark.looptime
async def test_the_oldest_wait_is_the_first_entry_s_wait_not_the_latest():
    policy = RecordingPolicy()
    batch = BatchProcessor(slow_handler(0.0), dedup_strategy="exact", policy=policy)
    await asyncio.sleep(1.0)
    first = asyncio.ensure_future(batch.process("early"))
    await asyncio.sleep(0.004)
    second = asyncio.ensure_future(batch.process("late"))
    assert await asyncio.gather(first, second) == ["answer to early", "answer to late"]
    [record] = policy.records
    assert record.oldest_wait_s == pytest.approx(0.010, abs=1e-9)  # the window opened with "early"
    assert record.n_requests == 2 and record.handler_s == 0.0


@pytest.mark.looptime
async def test_a_record_the_policy_refuses_is_counted_and_logged_and_the_callers_keep_their_answers(caplog):
    class Refusing(RecordingPolicy):
        def on_batch_done(self, record: BatchRecord) -> None:
            raise RuntimeError("policy bug")

    batch = BatchProcessor(slow_handler(0.0), dedup_strategy="exact", policy=Refusing())
    with caplog.at_level(logging.ERROR, logger="batchsieve"):
        assert await batch.process("q") == "answer to q"
    assert batch.get_stats().policy_errors == 1
    [message] = [r.getMessage() for r in caplog.records if r.name == "batchsieve"]
    assert message == "dispatch policy failed in on_batch_done"


@pytest.mark.looptime
async def test_a_batch_cancelled_by_close_before_its_handler_call_reports_no_handler_time():
    from batchsieve import ProcessorClosedError

    gate = asyncio.Event()

    async def handler(requests):
        await gate.wait()  # the first batch holds the only handler slot until close() gives up
        return requests

    policy = RecordingPolicy()
    # a blocking strategy lets one more batch run its dedup step while the only slot is taken
    batch = BatchProcessor(handler, dedup_function=lambda a, b: 0.0, policy=policy, max_concurrent_batches=1)
    await asyncio.sleep(1.0)
    first = asyncio.ensure_future(batch.process("first"))
    await asyncio.sleep(0.020)  # "first" is in its handler call
    second = [asyncio.ensure_future(batch.process(t)) for t in ("second", "third", "second")]
    await asyncio.sleep(0.020)  # their batch waits for the slot
    await batch.close(timeout=0.5)
    outcomes = await asyncio.gather(first, *second, return_exceptions=True)
    assert all(isinstance(o, ProcessorClosedError) for o in outcomes)
    waiting = next(r for r in policy.records if r.n_requests == 3)
    assert (waiting.size, waiting.failed, waiting.handler_s) == (2, True, 0.0)
    assert waiting.dispatched_at == pytest.approx(1.030, abs=1e-9)


# ------------------------------------------------------------------ a policy that cannot decide


class NeverDecides(RecordingPolicy):
    def decide(self, state):
        raise RuntimeError("policy bug")


@pytest.mark.looptime
async def test_a_policy_that_cannot_decide_leaves_the_processor_s_own_fixed_window_in_charge():
    batch = BatchProcessor(slow_handler(0.0), dedup_strategy="exact", policy=NeverDecides(), window_ms=30,
                           min_size=2, max_wait_ms=80)
    loop = asyncio.get_running_loop()
    await asyncio.sleep(1.0)
    start = loop.time()
    assert await batch.process("alone") == "answer to alone"  # below min_size: only max_wait dispatches it
    assert loop.time() - start == pytest.approx(0.080, abs=1e-9)
    start = loop.time()
    assert await asyncio.gather(batch.process("a"), batch.process("b")) == ["answer to a", "answer to b"]
    assert loop.time() - start == pytest.approx(0.030, abs=1e-9)  # min_size reached: the 30 ms window
    assert batch.get_stats().policy_errors >= 2


@pytest.mark.looptime
async def test_with_a_policy_that_cannot_decide_close_still_dispatches_at_once():
    batch = BatchProcessor(slow_handler(0.0), dedup_strategy="exact", policy=NeverDecides(), window_ms=30,
                           min_size=5, max_wait_ms=10_000)
    loop = asyncio.get_running_loop()
    await asyncio.sleep(1.0)
    start = loop.time()
    pending = asyncio.ensure_future(batch.process("waiting"))
    await asyncio.sleep(0.005)
    await batch.close()
    assert await pending == "answer to waiting"
    assert loop.time() - start == pytest.approx(0.005, abs=1e-9)


@pytest.mark.looptime
async def test_a_batch_whose_dedup_step_is_cut_short_by_close_fails_every_caller_with_the_close_error():
    import threading

    from batchsieve import ProcessorClosedError

    release = threading.Event()

    def gated(a: str, b: str) -> float:
        release.wait(10)  # the dedup step is still running when close() gives up
        return 0.0

    batch = BatchProcessor(slow_handler(0.0), dedup_function=gated, window_ms=10)
    callers = [asyncio.ensure_future(batch.process(t)) for t in ("x", "y", "x")]
    await asyncio.sleep(0.050)
    try:
        await batch.close(timeout=0.1)
        outcomes = await asyncio.gather(*callers, return_exceptions=True)
    finally:
        release.set()
    assert [type(o) for o in outcomes] == [ProcessorClosedError] * 3
    assert [str(o) for o in outcomes] == ["batch aborted: CancelledError"] * 3


@pytest.mark.looptime
async def test_handler_and_dedup_work_run_on_the_processor_s_named_threads():
    import threading

    seen: dict[str, str] = {}

    def handler(requests):
        seen["handler"] = threading.current_thread().name
        return list(requests)

    def score(a: str, b: str) -> float:
        seen["dedup"] = threading.current_thread().name
        return 0.0

    batch = BatchProcessor(handler, dedup_function=score)
    assert await asyncio.gather(batch.process("p"), batch.process("q")) == ["p", "q"]
    assert seen["handler"].startswith("batchsieve-handler") and seen["dedup"].startswith("batchsieve-dedup")


@pytest.mark.looptime
async def test_under_a_cost_budget_the_record_carries_the_handler_requests_cost():
    policy = RecordingPolicy()
    batch = BatchProcessor(slow_handler(0.001), dedup_strategy="exact", policy=policy, max_batch_cost=100,
                           cost_fn=lambda r: len(r.split()))
    await asyncio.gather(batch.process("one two"), batch.process("three four five"), batch.process("one two"))
    [record] = policy.records
    assert (record.size, record.n_requests, record.cost) == (2, 3, 5.0)  # the duplicate costs nothing more
