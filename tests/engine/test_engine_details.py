"""Details of the intake, the dispatcher and the batch runner that the broader tests left unchecked (found by
mutation testing: each test here fails on a mutant that survived the rest of the suite).

Where a worker thread is involved (the semantic dedup step) the tests run on the real loop and wait on
events; everything else runs on looptime's fake clock.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
import torch
from batchsieve import BatchProcessor, HandlerNotSetError, ProcessorClosedError, QueueFullError
from batchsieve.policies import FixedWindowPolicy


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def _upper(requests):
    return [r.upper() for r in requests]


class _Result:
    def __init__(self, n: int) -> None:
        self.embeddings = torch.eye(max(n, 2))[:n]
        self.truncated = [False] * n
        self.has_unknown = [False] * n


class SlowEncoder:
    """Each call waits on its own gate (set by the test) and reports when it has returned."""

    def __init__(self, slow_calls: int = 10**6, error: BaseException | None = None) -> None:
        self.slow_calls = slow_calls
        self.error = error
        self.calls = 0
        self.gates: list[threading.Event] = []
        self.returned = threading.Semaphore(0)

    def encode(self, texts):
        self.calls += 1
        try:
            if self.calls <= self.slow_calls:
                gate = threading.Event()
                self.gates.append(gate)
                gate.wait(10)
            if self.error is not None:
                raise self.error
            return _Result(len(texts))
        finally:
            self.returned.release()


class RecordingPolicy(FixedWindowPolicy):
    """The fixed window, keeping every BatchRecord the engine reports."""

    def __init__(self, window_s: float) -> None:
        super().__init__(window_s)
        self.records = []

    def on_batch_done(self, record) -> None:
        self.records.append(record)


# ---------------------------------------------------------------- the dedup fallback


async def test_a_slow_dedup_step_falls_back_for_that_batch_only_logged_once_and_timed(caplog):
    """The first batch's dedup outlives dedup_timeout_ms: exact matching for it, one warning. The next batch
    finds the worker still busy with that call: exact matching at once, not logged again."""
    encoder = SlowEncoder(slow_calls=1)
    policy = RecordingPolicy(0.001)
    batch = BatchProcessor(_upper, policy=policy, encoder=encoder, dedup_timeout_ms=50)
    try:
        with caplog.at_level(logging.WARNING, logger="batchsieve"):
            assert await batch.process(["one two", "three four"]) == ["ONE TWO", "THREE FOUR"]
            texts = ["five six", "seven eight", "nine ten"]
            assert await batch.process(texts) == [t.upper() for t in texts]
    finally:
        encoder.gates[0].set()
    stats = batch.get_stats()
    assert (stats.dedup_failures, stats.merges["fallback"], encoder.calls) == (2, 2, 1)
    assert stats.dedup["last_failure"] == "TimeoutError: the dedup worker is still busy with a call that timed out"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["dedup strategy 'hybrid' failed on a batch of 2 (took longer than dedup_timeout_ms=50); "
                        "exact matching for this batch"]  # a slow step is logged the first time only
    # the time spent before falling back is the batch's dedup time (what the adaptive window learns from)
    assert [r.dedup_s >= 0.05 for r in policy.records] == [True, False]
    await batch.close()


async def test_an_encoders_own_timeout_error_is_named_and_not_backed_off(caplog):
    encoder = SlowEncoder(slow_calls=0, error=TimeoutError("backend slow"))
    batch = BatchProcessor(_upper, window_ms=1, encoder=encoder)
    with caplog.at_level(logging.WARNING, logger="batchsieve"):
        for _ in range(2):
            assert await batch.process(["one two", "three four"]) == ["ONE TWO", "THREE FOUR"]
    stats = batch.get_stats()
    assert (stats.dedup_failures, encoder.calls) == (2, 2)  # a timeout is not a broken strategy: tried again
    assert stats.dedup["last_failure"] == "TimeoutError: backend slow"
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "dedup strategy 'hybrid' failed on a batch of 2 (TimeoutError: backend slow); exact matching for this batch"]
    await batch.close()


@pytest.mark.looptime
async def test_a_broken_strategy_is_logged_each_time_it_fails_and_backed_off_30_s(caplog):
    encoder = SlowEncoder(slow_calls=0, error=OSError("model folder missing"))
    batch = BatchProcessor(_upper, window_ms=1, encoder=encoder)
    with caplog.at_level(logging.WARNING, logger="batchsieve"):
        await batch.process(["one two", "three four"])
        await asyncio.sleep(29.9)
        await batch.process(["one two", "three four"])  # still backed off: no encoder call
        await asyncio.sleep(0.2)
        await batch.process(["one two", "three four"])  # 30 s later: tried (and failed) again
    assert encoder.calls == 2
    stats = batch.get_stats()
    assert (stats.dedup_failures, stats.merges["fallback"]) == (2, 3)
    message = ("dedup strategy 'hybrid' failed on a batch of 2 (OSError: model folder missing); exact matching for "
               "the next 30 s")
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [message, message]
    await batch.close()


# ---------------------------------------------------------------- abandoned slots


@pytest.mark.looptime
async def test_dropped_slots_are_counted_and_a_kept_slot_still_takes_joiners():
    """Two batches each lose one caller between the dispatch and the call: two slots dropped. The slot kept
    beside a dropped one still owns its key, so an identical request joins its running call."""
    gate = asyncio.Event()
    calls: list[list] = []

    async def handler(requests):
        calls.append(list(requests))
        await gate.wait()
        return [r.upper() for r in requests]

    batch = BatchProcessor(handler, window_ms=50, max_size=2, max_concurrent_batches=2, dedup_strategy="exact")
    first = [asyncio.ensure_future(batch.process(x)) for x in ("gone", "kept")]
    await asyncio.sleep(0)
    first[0].cancel()  # processed after the full batch [gone, kept] is taken
    await _settle()
    joiner = asyncio.ensure_future(batch.process("kept"))
    second = [asyncio.ensure_future(batch.process(x)) for x in ("gone2", "kept2")]
    await asyncio.sleep(0)
    second[0].cancel()
    await _settle()
    gate.set()
    assert await asyncio.gather(first[1], joiner, second[1]) == ["KEPT", "KEPT", "KEPT2"]
    assert calls == [["kept"], ["kept2"]]
    stats = batch.get_stats()
    assert (stats.dropped_before_call, stats.merges, stats.cancelled_requests) == (2, {"exact_inflight": 1}, 2)
    await batch.close()


# ---------------------------------------------------------------- close(timeout=)


@pytest.mark.looptime
@pytest.mark.parametrize("priorities", [False, True])
async def test_close_with_a_timeout_settles_every_caller_before_it_returns(priorities):
    never = asyncio.Event()

    async def handler(requests):
        await never.wait()
        return requests

    batch = BatchProcessor(handler, window_ms=0, max_size=1, enable_priorities=priorities, dedup_strategy="exact")
    tasks = [asyncio.ensure_future(batch.process(f"q{i}", priority=i)) for i in range(3)]
    await _settle()
    assert (batch.get_stats().in_flight_batches, batch.get_stats().queue_depth) == (1, 2)
    await batch.close(timeout=0.1)
    stats = batch.get_stats()  # read at once: close() returned only after every caller was settled
    assert (stats.failed_requests, stats.queue_depth, stats.in_flight_batches) == (3, 0, 0)
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(type(o) is ProcessorClosedError for o in outcomes)
    running = 2 if priorities else 0  # the highest priority went first, or the first to arrive
    closed = "the processor closed (close(timeout=0.1)) before this request was answered"
    assert [str(o) for o in outcomes] == [("batch aborted: CancelledError" if i == running else closed)
                                          for i in range(3)]


# ---------------------------------------------------------------- run-time max_size, capacity


@pytest.mark.looptime
async def test_a_new_max_size_dispatches_a_batch_as_soon_as_it_is_full():
    loop = asyncio.get_running_loop()
    calls: list[tuple[float, list]] = []

    async def handler(requests):
        calls.append((loop.time(), list(requests)))
        return [r.upper() for r in requests]

    batch = BatchProcessor(handler, window_ms=1000, max_wait_ms=1000, max_size=8, dedup_strategy="exact")
    batch.max_size = 2
    t0 = loop.time()
    first = asyncio.ensure_future(batch.process("a"))
    await _settle()  # the dispatcher now waits for the 1 s window
    assert await asyncio.gather(first, batch.process("b")) == ["A", "B"]  # the second one fills the batch
    assert calls == [(pytest.approx(t0), ["a", "b"])]
    assert batch.get_stats().dispatch_reasons == {"full": 1}
    await batch.close()


@pytest.mark.looptime
async def test_a_full_queue_refuses_a_request_with_dedup_off_but_admits_a_join_of_a_running_call():
    gate = asyncio.Event()

    async def handler(requests):
        await gate.wait()
        return [r.upper() for r in requests]

    batch = BatchProcessor(handler, window_ms=0, max_size=1, max_queue_size=2, dedup_strategy="exact")
    running = asyncio.ensure_future(batch.process("running"))
    await _settle()
    queued = [asyncio.ensure_future(batch.process(f"q{i}")) for i in range(2)]
    await _settle()
    assert batch.get_stats().queue_depth == 2
    with pytest.raises(QueueFullError, match="max_queue_size=2"):
        await batch.process("running", dedup=False)  # no key: it could join nothing, so it needs a place
    joined = asyncio.ensure_future(batch.process("running"))  # joins the running call: no queue place needed
    await _settle()
    gate.set()
    assert await asyncio.gather(running, joined, *queued) == ["RUNNING", "RUNNING", "Q0", "Q1"]
    await batch.close()


# ---------------------------------------------------------------- call checks and lists


async def test_what_a_wrong_call_is_told():
    batch = BatchProcessor(dedup_strategy="exact")
    with pytest.raises(HandlerNotSetError) as info:
        await batch.process("x")
    assert str(info.value) == ("no handler: pass handler= to BatchProcessor, assign batch.handler = fn, or use "
                               "@batch.handler")
    batch.handler = _upper
    for kwargs, message in [
        ({"priority": 1.5}, "priority must be an int, got float 1.5"),
        ({"priority": True}, "priority must be an int, got bool True"),
        ({"timeout": "5"}, "timeout must be a number of seconds or None, got '5'"),
        ({"timeout": True}, "timeout must be a number of seconds or None, got True"),
        ({"dedup": 1}, "dedup must be a bool, got int 1"),
        ({"scope": ["tenant"]}, "scope must be hashable (a tenant or user id), got list"),
    ]:
        with pytest.raises(TypeError) as info:
            await batch.process("x", **kwargs)
        assert str(info.value) == message
    await batch.close()
    with pytest.raises(ProcessorClosedError) as info:
        await batch.process("x")
    assert str(info.value) == "BatchProcessor is closed; it accepts no new requests"


class DeadlinePolicy(FixedWindowPolicy):
    def __init__(self) -> None:
        super().__init__(0.0)
        self.deadlines: list[float] = []

    def decide(self, state):
        self.deadlines.append(state.earliest_deadline)
        return super().decide(state)


@pytest.mark.looptime
async def test_a_list_carries_its_scope_and_its_timeout_to_every_item():
    loop = asyncio.get_running_loop()
    seen: list = []

    async def handler(requests):
        seen.extend(requests)
        return [r.upper() for r in requests]

    policy = DeadlinePolicy()
    batch = BatchProcessor(handler, policy=policy, dedup_strategy="exact")
    t0 = loop.time()
    alice, bob = await asyncio.gather(batch.process(["q", "r"], scope="alice", timeout=5.0),
                                      batch.process(["q"], scope="bob"))
    assert (alice, bob) == (["Q", "R"], ["Q"])
    assert seen == ["q", "r", "q"]  # the two tenants' "q" never merged
    assert policy.deadlines[0] == pytest.approx(t0 + 5.0)  # the list's timeout is each item's deadline
    await batch.close()


async def test_each_caller_of_a_failed_batch_gets_its_own_exception_with_the_cause():
    from batchsieve import RequestTimeoutError

    async def handler(requests):
        raise RequestTimeoutError("upstream gave up") from KeyError("k")

    async with BatchProcessor(handler, window_ms=1, dedup_strategy="exact") as batch:
        errors = await asyncio.gather(batch.process("a"), batch.process("b"), batch.process("a"),
                                      return_exceptions=True)
    assert [type(e) for e in errors] == [RequestTimeoutError] * 3
    assert [str(e) for e in errors] == ["upstream gave up"] * 3
    assert all(type(e.__cause__) is KeyError for e in errors)
    assert len({id(e) for e in errors}) == 3


# ---------------------------------------------------------------- what the policy and the tasks see


class StatePolicy(FixedWindowPolicy):
    """The fixed window, keeping the QueueStates it is shown and the BatchRecords it is told."""

    def __init__(self, window_s: float) -> None:
        super().__init__(window_s)
        self.states = []
        self.records = []

    def decide(self, state):
        self.states.append(state)
        return super().decide(state)

    def on_batch_done(self, record) -> None:
        self.records.append(record)


@pytest.mark.looptime
async def test_the_policy_is_shown_the_batches_in_flight_and_told_each_batchs_reason():
    gate = asyncio.Event()

    async def handler(requests):
        await gate.wait()
        return [r.upper() for r in requests]

    policy = StatePolicy(0.010)
    batch = BatchProcessor(handler, policy=policy, max_size=2, max_concurrent_batches=2, dedup_strategy="exact")
    tasks = [asyncio.ensure_future(batch.process(f"q{i}")) for i in range(3)]
    await _settle()  # q0 and q1 go at once (full); q2 waits for its window with one batch in flight
    assert {t.get_name() for t in asyncio.all_tasks()} >= {"batchsieve-dispatcher", "batchsieve-batch"}
    await asyncio.sleep(0.010)
    gate.set()
    await asyncio.gather(*tasks)
    assert [s.in_flight for s in policy.states] == [1, 1]  # q2 opens its window, then goes when it closes
    assert sorted((r.reason, r.size) for r in policy.records) == [("full", 2), ("window", 1)]
    await batch.close()


@pytest.mark.looptime
async def test_a_failing_policy_is_logged_at_its_first_and_every_thousandth_failure(caplog):
    class Broken(FixedWindowPolicy):
        def decide(self, state):
            raise ZeroDivisionError("bad policy")

    batch = BatchProcessor(_upper, policy=Broken(0.0), dedup_strategy="exact")
    with caplog.at_level(logging.ERROR, logger="batchsieve"):
        for i in range(500):  # two decisions per request: when it opens the window, when the window closes
            assert await batch.process(f"q{i}") == f"Q{i}"
    assert batch.get_stats().policy_errors == 1000
    assert [r.getMessage() for r in caplog.records] == [
        "dispatch policy failed in decide (1 so far); the fixed window decides",
        "dispatch policy failed in decide (1000 so far); the fixed window decides"]
    await batch.close()


async def test_a_sync_handler_may_return_an_awaitable():
    async def later(requests):
        return [r.upper() for r in requests]

    async with BatchProcessor(lambda requests: later(requests), window_ms=1, dedup_strategy="exact") as batch:
        assert await batch.process(["a", "b"]) == ["A", "B"]


async def test_lists_of_two_tenants_never_merge_semantically():
    """A semantic strategy sees each list item's scope (the custom function here says everything is alike)."""
    seen: list = []

    async def handler(requests):
        seen.extend(requests)
        return [r.upper() for r in requests]

    async with BatchProcessor(handler, window_ms=5, dedup_function=lambda a, b: 1.0) as batch:
        results = await asyncio.gather(batch.process(["alpha", "beta"], scope="alice"),
                                       batch.process(["gamma"], scope="bob"))
    assert results == [["ALPHA", "ALPHA"], ["GAMMA"]]  # alice's two merged; bob's is his own
    assert seen == ["alpha", "gamma"]


async def test_every_sync_call_past_its_time_limit_is_counted_until_its_thread_returns():
    from batchsieve import ProcessingTimeoutError

    release = threading.Event()
    entered = threading.Semaphore(0)

    def handler(requests):
        entered.release()
        release.wait(10)
        return [r.upper() for r in requests]

    batch = BatchProcessor(handler, window_ms=0, max_size=1, max_concurrent_batches=2, processing_timeout=0.05,
                           dedup_strategy="exact")
    try:
        outcomes = await asyncio.gather(batch.process("a"), batch.process("b"), return_exceptions=True)
        assert [type(o) for o in outcomes] == [ProcessingTimeoutError] * 2
        assert batch.get_stats().stuck_handler_calls == 2
    finally:
        release.set()
    for _ in range(2):
        assert await asyncio.to_thread(entered.acquire, True, 10)
    await batch.close()
