"""BatchProcessor: batching, exact dedup, coalescing, errors, lifecycle.

Timing tests run on looptime's fake loop clock (``@pytest.mark.looptime``): sleeps and timers fast-forward,
so the assertions on dispatch times are exact and the tests take no real time. Tests that need a worker
thread (sync handlers) run on the real loop and synchronise with events.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from batchsieve import (
    BatchProcessingError,
    BatchsieveError,
    BatchTimeoutError,
    HandlerNotSetError,
    ProcessingTimeoutError,
    ProcessorClosedError,
    QueueFullError,
    RequestTimeoutError,
    StreamResult,
)
from batchsieve import BatchProcessor as _BatchProcessor


def BatchProcessor(*args, **kwargs):  # these tests pin the exact strategy
    """The engine tests exercise exact dedup; semantic strategies have their own tests."""
    kwargs.setdefault("dedup_strategy", "exact")
    return _BatchProcessor(*args, **kwargs)


class Recorder:
    """An async handler that records each batch (and the loop time it started) and echoes upper-cased text."""

    def __init__(self, gate: asyncio.Event | None = None, delay: float = 0.0) -> None:
        self.batches: list[list] = []
        self.times: list[float] = []
        self.gate = gate
        self.delay = delay

    async def __call__(self, requests: list) -> list:
        self.batches.append(list(requests))
        self.times.append(asyncio.get_running_loop().time())
        if self.gate is not None:
            await self.gate.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        return [_text(r).upper() for r in requests]

    @property
    def items(self) -> list:
        return [r for b in self.batches for r in b]


def _text(request) -> str:
    return request if isinstance(request, str) else request["query"]


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


# ---------------------------------------------------------------- construction and validation


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"window_ms": "5"}, "window_ms must be a number, got str '5'"),
    ({"max_size": 1.5}, "max_size must be an int, got float 1.5"),
    ({"max_size": True}, "max_size must be an int, got bool True"),
    ({"enable_dedup": 1}, "enable_dedup must be a bool, got int 1"),
    ({"text_key": 3}, "text_key must be a str"),
    ({"text_fn": "query"}, "text_fn must be callable"),
    ({"processing_timeout": "30"}, "processing_timeout must be a number"),
    ({"windowms": 5}, "unexpected keyword(s): windowms"),
])
def test_wrong_types_raise_type_error(kwargs, message):
    with pytest.raises(TypeError) as info:
        BatchProcessor(Recorder(), **kwargs)
    assert message in str(info.value)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"min_size": 5, "max_size": 2}, "min_size (5) must not exceed max_size (2)"),
    ({"window_ms": 50, "max_wait_ms": 10}, "max_wait_ms (10) must be >= window_ms (50)"),
    ({"dedup_threshold": 1.5}, "dedup_threshold must be in (0, 1], got 1.5"),
    ({"dedup_threshold": 0}, "dedup_threshold must be in (0, 1], got 0"),
    ({"dedup_strategy": "fuzzy"}, "unknown dedup_strategy 'fuzzy'"),
    ({"max_size": 0}, "max_size must be >= 1, got 0"),
    ({"window_ms": -1}, "window_ms must be >= 0, got -1"),
    ({"max_queue_size": 4, "max_size": 8}, "max_queue_size (4) must be >= max_size (8)"),
    ({"processing_timeout": 0}, "processing_timeout must be > 0 seconds or None, got 0"),
    ({"cost_per_request": -0.1}, "cost_per_request must be >= 0, got -0.1"),
    ({"min_window_ms": 300, "max_window_ms": 200}, "min_window_ms (300) must not exceed max_window_ms (200)"),
    ({"target_latency_ms": 0}, "target_latency_ms must be > 0, got 0"),
    ({"window_ms": float("nan")}, "window_ms must be finite, got nan"),
    ({"dedup_strategy": "custom"}, "dedup_strategy='custom' needs dedup_function"),
])
def test_impossible_values_raise_value_error(kwargs, message):
    with pytest.raises(ValueError) as info:
        BatchProcessor(Recorder(), **kwargs)
    assert message in str(info.value)


def test_handler_must_be_callable():
    with pytest.raises(TypeError, match="handler must be a callable"):
        BatchProcessor(handler=42)


def test_threshold_setter_validates_and_applies():
    batch = BatchProcessor(Recorder())
    batch.dedup_threshold = 0.95
    assert batch.dedup_threshold == 0.95
    assert batch.config.dedup_threshold == 0.95
    with pytest.raises(ValueError, match=r"got 1\.2"):
        batch.dedup_threshold = 1.2
    with pytest.raises(TypeError):
        batch.dedup_threshold = "high"
    assert batch.dedup_threshold == 0.95


def test_errors_form_one_hierarchy():
    assert issubclass(BatchTimeoutError, TimeoutError)
    for err in (BatchTimeoutError, BatchProcessingError, QueueFullError, ProcessorClosedError, HandlerNotSetError):
        assert issubclass(err, BatchsieveError)


# ---------------------------------------------------------------- basic results and exact dedup


async def test_single_and_list_results_in_order():
    handler = Recorder()
    async with BatchProcessor(handler, window_ms=1) as batch:
        assert await batch.process({"query": "hello"}) == "HELLO"
        assert await batch.process([{"query": "a"}, {"query": "b"}, "c"]) == ["A", "B", "C"]


async def test_exact_duplicates_share_one_slot_after_normalisation():
    handler = Recorder()
    async with BatchProcessor(handler, window_ms=1) as batch:
        results = await batch.process([
            {"query": "What's the weather?"},
            {"query": "  what's   THE weather?"},
            {"query": "What\u2019s the weather?"},  # a different apostrophe is a different text
            {"query": "Ｗhat's the weather?"},  # full-width W: NFKC makes it equal
        ])
    assert handler.batches == [[{"query": "What's the weather?"}, {"query": "What\u2019s the weather?"}]]
    assert results == ["WHAT'S THE WEATHER?"] * 2 + ["WHAT\u2019S THE WEATHER?", "WHAT'S THE WEATHER?"]
    stats = batch.get_stats()
    assert stats.total_requests == 4
    assert stats.handler_requests == 2
    assert stats.dedup_rate == pytest.approx(0.5)
    assert stats.merges == {"exact_queued": 2}


async def test_custom_normalisation_and_text_fn():
    handler = Recorder()
    batch = BatchProcessor(handler, window_ms=1, normalize=str, text_fn=lambda r: r["q"])
    results = await batch.process([{"q": "Hi", "query": "x"}, {"q": "hi", "query": "x"}, {"q": "Hi", "query": "x"}])
    # case now matters; the third is an exact duplicate of the first
    assert handler.batches == [[{"q": "Hi", "query": "x"}, {"q": "hi", "query": "x"}]]
    assert results == ["X", "X", "X"]
    assert batch.get_stats().merges == {"exact_queued": 1}
    await batch.close()


class SlotTokens:
    """A handler answering each request it receives with a token of its own (``slot0``, ``slot1``, ...): callers
    that get the same token shared one handler slot."""

    def __init__(self) -> None:
        self.items: list = []

    async def __call__(self, requests: list) -> list:
        start = len(self.items)
        self.items.extend(requests)
        return [f"slot{start + k}" for k in range(len(requests))]


def _sharing(results: list) -> list[list[int]]:
    """Which callers (by position) got the same answer, as groups of two or more."""
    groups: dict = {}
    for i, r in enumerate(results):
        groups.setdefault(r, []).append(i)
    return sorted(g for g in groups.values() if len(g) > 1)


async def test_differing_fields_scopes_and_dedup_false_never_merge():
    handler = SlotTokens()
    async with BatchProcessor(handler, window_ms=1) as batch:
        results = await asyncio.gather(
            batch.process({"query": "hi", "model": "a"}),  # 0
            batch.process({"query": "hi", "model": "b"}),  # 1
            batch.process({"query": "hi", "n": 1}),  # 2
            batch.process({"query": "hi", "n": 1.0}),  # 3: 1 and 1.0 are different field values here
            batch.process({"query": "hi", "n": True}),  # 4
            batch.process("hi", scope="alice"),  # 5
            batch.process("hi", scope="bob"),  # 6
            batch.process("hi", scope="alice"),  # 7: merges with 5
            batch.process("hi", dedup=False),  # 8
            batch.process("hi", dedup=False),  # 9
            batch.process({"query": "hi", "tags": ["x"]}),  # 10
            batch.process({"query": "hi", "tags": ["x"]}),  # 11: equal list fields merge with 10
        )
    assert _sharing(results) == [[5, 7], [10, 11]]
    assert len(set(results)) == 10 and len(handler.items) == 10
    assert handler.items[:5] == [{"query": "hi", "model": "a"}, {"query": "hi", "model": "b"}, {"query": "hi", "n": 1},
                                 {"query": "hi", "n": 1.0}, {"query": "hi", "n": True}]
    assert [type(r["n"]) for r in handler.items[2:5]] == [int, float, bool]


async def test_unhashable_field_makes_request_unmergeable():
    handler = SlotTokens()

    class Opaque:
        __hash__ = None

    async with BatchProcessor(handler, window_ms=1) as batch:
        obj = Opaque()
        results = await asyncio.gather(batch.process({"query": "hi", "o": obj}),
                                       batch.process({"query": "hi", "o": obj}))
    assert results == ["slot0", "slot1"]
    assert handler.items == [{"query": "hi", "o": obj}, {"query": "hi", "o": obj}]


@pytest.mark.parametrize(("request_", "message"), [
    (42, "a request must be a str or a dict"),
    ({"text": "hi"}, "request dict has no 'query' key"),
    ({"query": 5}, "request text must be a str, got int"),
    ([{"query": "ok"}, 3.5], "a request must be a str or a dict"),
])
async def test_bad_requests_raise_type_error_and_enqueue_nothing(request_, message):
    handler = Recorder()
    batch = BatchProcessor(handler, window_ms=1)
    with pytest.raises(TypeError, match=message):
        await batch.process(request_)
    assert batch.get_stats().queue_depth == 0
    assert batch.get_stats().total_requests == 0
    await batch.close()
    assert handler.batches == []


async def test_bad_call_arguments():
    batch = BatchProcessor(Recorder())
    with pytest.raises(TypeError, match="priority must be an int"):
        await batch.process("x", priority=1.5)
    with pytest.raises(ValueError, match="timeout must be > 0"):
        await batch.process("x", timeout=0)
    with pytest.raises(TypeError, match="scope must be hashable"):
        await batch.process("x", scope=["tenant"])
    with pytest.raises(TypeError, match="dedup must be a bool"):
        await batch.process("x", dedup="no")


async def test_handler_given_later_by_setter_or_decorator():
    batch = BatchProcessor(window_ms=1)
    with pytest.raises(HandlerNotSetError, match="no handler"):
        await batch.process("x")

    @batch.handler
    async def shout(requests):
        return [r.upper() + "!" for r in requests]

    assert batch.handler.func is shout
    assert await batch.process("x") == "X!"
    batch.handler = lambda requests: [r * 2 for r in requests]
    assert await batch.process("y") == "yy"
    await batch.close()


async def test_sync_handler_runs_in_a_worker_thread_without_blocking_the_loop():
    started = threading.Event()
    release = threading.Event()
    seen_threads: list[int] = []

    def handler(requests):
        seen_threads.append(threading.get_ident())
        started.set()
        release.wait(5)
        return [r.upper() for r in requests]

    batch = BatchProcessor(handler, window_ms=0)
    task = asyncio.ensure_future(batch.process("x"))
    assert await asyncio.to_thread(started.wait, 5)  # the handler now blocks its worker thread
    # ...and the loop keeps serving meanwhile: a new request is accepted and queued behind the running call
    second = asyncio.ensure_future(batch.process("y"))
    await _settle()
    assert batch.get_stats().queue_depth == 1 and not release.is_set()
    release.set()
    assert await task == "X"
    assert await second == "Y"
    assert len(seen_threads) == 2 and threading.get_ident() not in seen_threads
    await batch.close()


# ---------------------------------------------------------------- windows, sizes, priorities (fake clock)


@pytest.mark.looptime
async def test_window_opens_at_first_request_and_closes_after_window_ms():
    loop = asyncio.get_running_loop()
    handler = Recorder()
    batch = BatchProcessor(handler, window_ms=50, max_wait_ms=100)
    t0 = loop.time()
    first = asyncio.ensure_future(batch.process("a"))
    await asyncio.sleep(0.010)
    second = asyncio.ensure_future(batch.process("b"))
    assert await asyncio.gather(first, second) == ["A", "B"]
    assert handler.batches == [["a", "b"]]
    assert handler.times[0] - t0 == pytest.approx(0.050, abs=1e-3)
    assert batch.get_stats().dispatch_reasons == {"window": 1}
    await batch.close()


@pytest.mark.looptime
async def test_full_batch_dispatches_at_once():
    loop = asyncio.get_running_loop()
    handler = Recorder()
    batch = BatchProcessor(handler, window_ms=50, max_size=4)
    t0 = loop.time()
    results = await asyncio.gather(*[batch.process(f"q{i}") for i in range(10)])
    assert results == [f"Q{i}" for i in range(10)]
    assert [len(b) for b in handler.batches] == [4, 4, 2]
    assert handler.times[0] - t0 == pytest.approx(0.0, abs=1e-3)
    assert handler.times[1] - t0 == pytest.approx(0.0, abs=1e-3)
    assert handler.times[2] - t0 == pytest.approx(0.050, abs=1e-3)  # leftovers open a new window
    assert batch.get_stats().dispatch_reasons == {"full": 2, "window": 1}
    await batch.close()


@pytest.mark.looptime
async def test_min_size_waits_past_the_window_but_not_past_max_wait():
    loop = asyncio.get_running_loop()
    handler = Recorder()
    batch = BatchProcessor(handler, window_ms=20, min_size=3, max_wait_ms=100)
    t0 = loop.time()
    await asyncio.gather(batch.process("a"), batch.process("b"))
    assert handler.times[0] - t0 == pytest.approx(0.100, abs=1e-6)
    assert batch.get_stats().dispatch_reasons == {"max_wait": 1}

    t1 = loop.time()
    tasks = [asyncio.ensure_future(batch.process(x)) for x in "cd"]
    await asyncio.sleep(0.030)  # window closed, still 2 < min_size
    assert len(handler.batches) == 1
    tasks.append(asyncio.ensure_future(batch.process("e")))
    await asyncio.gather(*tasks)
    assert handler.batches[1] == ["c", "d", "e"]
    assert handler.times[1] - t1 == pytest.approx(0.030, abs=1e-3)
    await batch.close()


@pytest.mark.looptime
async def test_priorities_dispatch_higher_first_and_fifo_within_a_priority():
    gate = asyncio.Event()
    handler = Recorder(gate=gate)
    batch = BatchProcessor(handler, window_ms=10, max_size=2, max_wait_ms=1000, enable_priorities=True)
    blocker = asyncio.ensure_future(batch.process("blocker"))
    await asyncio.sleep(0.020)  # the blocker's batch is running; the next ones queue behind it
    order = [("low1", 0), ("high1", 9), ("mid", 5), ("high2", 9), ("low2", 0)]
    tasks = [asyncio.ensure_future(batch.process(text, priority=p)) for text, p in order]
    await _settle()
    gate.set()
    await asyncio.gather(blocker, *tasks)
    assert handler.batches[1:] == [["high1", "high2"], ["mid", "low1"], ["low2"]]
    await batch.close()


@pytest.mark.looptime
async def test_low_priority_is_not_starved_past_max_wait():
    """A low-priority request queued behind a steady stream of high-priority ones still goes once it has
    waited max_wait (100 ms here), at the first free slot: without the overdue rule it would go last."""
    loop = asyncio.get_running_loop()
    handler = Recorder(delay=0.030)  # one batch of one at a time, 30 ms each: batches start at 0, 30, 60, ...
    batch = BatchProcessor(handler, window_ms=0, max_size=1, max_wait_ms=100, enable_priorities=True)
    t0 = loop.time()
    blocker = asyncio.ensure_future(batch.process("blocker", priority=10))
    await _settle()  # the blocker's batch is running: everything below queues behind it
    low = asyncio.ensure_future(batch.process("low", priority=0))
    highs = []

    async def flood():  # a high-priority request at 5, 15, 25, ... ms: always one waiting, more than are served
        await asyncio.sleep(0.005)
        for i in range(40):
            highs.append(asyncio.ensure_future(batch.process(f"high{i}", priority=10)))
            await asyncio.sleep(0.010)

    await asyncio.gather(flood(), low, blocker)
    await asyncio.gather(*highs)
    # at 30, 60 and 90 ms the waiting high-priority requests win; at 120 ms "low" has waited more than max_wait
    # (100 ms) and goes first, although high-priority ones are waiting (high3 to high11 had arrived)
    assert handler.items[:6] == ["blocker", "high0", "high1", "high2", "low", "high3"]
    assert handler.times[4] - t0 == pytest.approx(0.120, abs=1e-6)
    assert len(handler.items) == 42
    await batch.close()


# ---------------------------------------------------------------- coalescing, cancellation, timeouts


@pytest.mark.looptime
async def test_identical_request_joins_the_running_call():
    gate = asyncio.Event()
    handler = Recorder(gate=gate)
    batch = BatchProcessor(handler, window_ms=5)
    first = asyncio.ensure_future(batch.process("same"))
    await asyncio.sleep(0.010)  # dispatched and running
    assert handler.batches == [["same"]]
    second = asyncio.ensure_future(batch.process("  SAME "))
    await _settle()
    gate.set()
    assert await asyncio.gather(first, second) == ["SAME", "SAME"]
    assert handler.batches == [["same"]]
    assert batch.get_stats().merges == {"exact_inflight": 1}
    await batch.close()


@pytest.mark.looptime
async def test_caller_timeout_does_not_cancel_shared_work():
    gate = asyncio.Event()
    handler = Recorder(gate=gate)
    batch = BatchProcessor(handler, window_ms=5)
    patient = asyncio.ensure_future(batch.process("q"))
    with pytest.raises(RequestTimeoutError, match=r"timeout=0\.05"):
        await batch.process("q", timeout=0.05)
    gate.set()
    assert await patient == "Q"
    assert handler.batches == [["q"]]
    stats = batch.get_stats()
    assert stats.timeouts == 1
    assert stats.cancelled_requests == 1
    await batch.close()


@pytest.mark.looptime
async def test_cancelled_caller_leaves_others_and_a_request_nobody_wants_is_dropped():
    handler = Recorder()
    batch = BatchProcessor(handler, window_ms=50)
    keep = asyncio.ensure_future(batch.process("shared"))
    leave = asyncio.ensure_future(batch.process("shared"))
    gone = asyncio.ensure_future(batch.process("unwanted"))
    await _settle()
    leave.cancel()
    gone.cancel()
    assert await keep == "SHARED"
    assert handler.batches == [["shared"]]  # "unwanted" was dropped before dispatch
    assert leave.cancelled() and gone.cancelled()
    await batch.close()


@pytest.mark.looptime
async def test_processing_timeout_fails_that_batch_and_the_engine_goes_on():
    calls = 0

    async def handler(requests):
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(10)
        return [r.upper() for r in requests]

    batch = BatchProcessor(handler, window_ms=1, processing_timeout=0.5)
    with pytest.raises(ProcessingTimeoutError, match=r"processing_timeout=0\.5"):
        await batch.process("slow")
    assert await batch.process("fast") == "FAST"
    stats = batch.get_stats()
    assert stats.timeouts == 1 and stats.errors == 1
    await batch.close()


# ---------------------------------------------------------------- errors, isolated


async def test_handler_exception_reaches_every_caller_of_the_batch_as_cause():
    async def handler(requests):
        raise ValueError("model exploded")

    async with BatchProcessor(handler, window_ms=1) as batch:
        results = await asyncio.gather(batch.process("a"), batch.process("b"), batch.process("a"),
                                       return_exceptions=True)
    assert all(isinstance(r, BatchProcessingError) for r in results)
    assert all(isinstance(r.__cause__, ValueError) for r in results)
    assert "handler raised ValueError: model exploded" in str(results[0])
    assert batch.get_stats().errors == 1
    assert batch.get_stats().failed_requests == 3


async def test_exception_in_a_result_slot_fails_only_that_request_and_its_duplicates():
    async def handler(requests):
        return [KeyError(r) if r == "bad" else r.upper() for r in requests]

    async with BatchProcessor(handler, window_ms=1) as batch:
        results = await asyncio.gather(batch.process("ok"), batch.process("bad"), batch.process(" BAD"),
                                       return_exceptions=True)
        listed = await batch.process(["fine", "bad"], return_exceptions=True)
        with pytest.raises(KeyError):
            await batch.process(["fine", "bad"])
    assert results[0] == "OK"
    assert isinstance(results[1], KeyError) and isinstance(results[2], KeyError)
    assert listed[0] == "FINE" and isinstance(listed[1], KeyError)


@pytest.mark.parametrize(("returned", "message"), [
    (["only one"], "handler returned 1 results for 2 requests"),
    ("AB", "handler must return a list of 2 results, returned str"),
    (None, "handler must return a list of 2 results, returned NoneType"),
])
async def test_malformed_results_are_a_clear_error_for_the_batch(returned, message):
    async def handler(requests):
        return returned

    async with BatchProcessor(handler, window_ms=1) as batch:
        results = await asyncio.gather(batch.process("a"), batch.process("b"), return_exceptions=True)
    for r in results:
        assert isinstance(r, BatchProcessingError)
        assert message in str(r)


async def test_tuple_results_are_accepted():
    async def handler(requests):
        return tuple(r.upper() for r in requests)

    async with BatchProcessor(handler, window_ms=1) as batch:
        assert await batch.process(["a", "b"]) == ["A", "B"]


async def test_errors_are_never_cached():
    calls = 0

    async def handler(requests):
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("transient")
        return [r.upper() for r in requests]

    async with BatchProcessor(handler, window_ms=1) as batch:
        with pytest.raises(BatchProcessingError):
            await batch.process("q")
        assert await batch.process("q") == "Q"
    assert calls == 2


# ---------------------------------------------------------------- backpressure and lifecycle


@pytest.mark.looptime
async def test_queue_full_raises_at_once_and_a_list_is_all_or_nothing():
    gate = asyncio.Event()
    handler = Recorder(gate=gate)
    batch = BatchProcessor(handler, window_ms=1000, max_wait_ms=1000, max_size=4, max_queue_size=4)
    waiting = [asyncio.ensure_future(batch.process(f"q{i}")) for i in range(3)]
    await _settle()
    with pytest.raises(QueueFullError, match="max_queue_size=4"):
        await batch.process(["x", "y"])
    assert batch.get_stats().queue_depth == 3
    waiting.append(asyncio.ensure_future(batch.process("q3")))  # exactly fills the queue: dispatched (full)
    await _settle()
    assert batch.get_stats().queue_depth == 0
    gate.set()
    assert await asyncio.gather(*waiting) == ["Q0", "Q1", "Q2", "Q3"]
    await batch.close()


@pytest.mark.looptime
async def test_close_drains_every_accepted_request_and_refuses_new_ones():
    handler = Recorder()
    batch = BatchProcessor(handler, window_ms=1000, max_wait_ms=5000)
    tasks = [asyncio.ensure_future(batch.process(f"q{i}")) for i in range(5)]
    await _settle()
    await batch.close()
    assert [t.result() for t in tasks] == [f"Q{i}" for i in range(5)]
    assert batch.get_stats().dispatch_reasons == {"close": 1}
    with pytest.raises(ProcessorClosedError, match="closed"):
        await batch.process("late")
    assert batch.closed


async def test_no_background_task_is_left_behind():
    handler = Recorder()
    batch = BatchProcessor(handler, window_ms=1)
    assert await batch.process("a") == "A"
    await _settle()
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == []  # the dispatcher ends when the queue is empty, even without close()
    assert await batch.process("b") == "B"  # and restarts on the next request
    async with batch:
        pass
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


# ---------------------------------------------------------------- streaming


@pytest.mark.looptime
async def test_streaming_yields_each_result_with_its_index_as_it_completes():
    async def handler(requests):
        await asyncio.sleep(0.01 * len(requests))
        return [KeyError(r) if r == "bad" else r.upper() for r in requests]

    batch = BatchProcessor(handler, window_ms=1, max_size=2)
    seen = [item async for item in batch.process_streaming(["a", "b", "bad", "a"])]
    assert sorted(item.index for item in seen) == [0, 1, 2, 3]
    by_index = {item.index: item for item in seen}
    assert by_index[0].value == "A" and by_index[3].value == "A" and by_index[1].unwrap() == "B"
    assert not by_index[2].ok and isinstance(by_index[2].error, KeyError)
    with pytest.raises(KeyError):
        by_index[2].unwrap()
    assert isinstance(seen[0], StreamResult)
    await batch.close()


@pytest.mark.looptime
async def test_streaming_timeout_yields_a_timeout_for_each_open_request():
    gate = asyncio.Event()
    handler = Recorder(gate=gate)
    batch = BatchProcessor(handler, window_ms=1, max_size=1, max_wait_ms=10)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    items = [item async for item in batch.process_streaming(["a", "b"], timeout=0.5)]
    assert loop.time() - t0 == pytest.approx(0.5, abs=1e-6)
    assert [i.index for i in items] == [0, 1]
    assert [type(i.error) for i in items] == [RequestTimeoutError, RequestTimeoutError]
    assert str(items[1].error) == "request 1 not answered within timeout=0.5s"
    gate.set()
    await batch.close()
    assert handler.batches == [["a"]]  # "b" was still queued: released, never handed to the handler
    stats = batch.get_stats()
    assert (stats.timeouts, stats.cancelled_requests, stats.completed_requests) == (2, 2, 0)


class _GatedAfterFirst:
    """Answers its first call at once; every later call waits for ``gate``."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.batches: list[list] = []

    async def __call__(self, requests: list) -> list:
        self.batches.append(list(requests))
        if len(self.batches) > 1:
            await self.gate.wait()
        return [r.upper() for r in requests]


@pytest.mark.looptime
@pytest.mark.parametrize("how", ["aclose", "break"])
async def test_leaving_a_stream_early_releases_the_requests_not_yet_answered(how):
    """After the first result the loop is left: "d" is in its handler call and "e" still queued. Both are
    released: "e" never reaches the handler, and nobody receives "d"'s answer."""
    import contextlib

    handler = _GatedAfterFirst()
    batch = BatchProcessor(handler, window_ms=1, max_size=1)
    stream = batch.process_streaming(["c", "d", "e"])
    if how == "aclose":
        first = await stream.__anext__()
        await _settle()  # "d" is dispatched and waits in the handler
        await stream.aclose()
    else:
        async with contextlib.aclosing(stream):
            async for item in stream:
                first = item
                await _settle()
                break
    assert (first.index, first.value) == (0, "C")
    assert handler.batches == [["c"], ["d"]]
    stats = batch.get_stats()
    assert stats.cancelled_requests == 2
    assert stats.queue_depth == 0
    handler.gate.set()
    await batch.close()
    assert handler.batches == [["c"], ["d"]]  # "e" was dropped, not dispatched later
    stats = batch.get_stats()
    assert (stats.completed_requests, stats.cancelled_requests, stats.total_batches) == (1, 2, 2)


@pytest.mark.looptime
async def test_a_failed_list_item_releases_the_rest():
    """``process(list)`` raises the first failure; the other items are released at once: the one in a handler
    call is abandoned, the queued one is dropped and never reaches the handler."""
    gate = asyncio.Event()
    batches: list[list] = []

    async def handler(requests):
        batches.append(list(requests))
        if requests != ["bad"]:
            await gate.wait()
        return [KeyError(r) if r == "bad" else r.upper() for r in requests]

    batch = BatchProcessor(handler, window_ms=1, max_size=1, max_concurrent_batches=2)
    with pytest.raises(KeyError, match="bad"):
        await batch.process(["bad", "slow", "queued"])
    assert batches == [["bad"], ["slow"]]
    stats = batch.get_stats()
    assert (stats.cancelled_requests, stats.failed_requests, stats.queue_depth) == (2, 1, 0)
    gate.set()
    await batch.close()
    assert batches == [["bad"], ["slow"]]
    stats = batch.get_stats()
    assert (stats.completed_requests, stats.failed_requests, stats.cancelled_requests) == (0, 1, 2)


# ---------------------------------------------------------------- stats


@pytest.mark.looptime
async def test_stats_count_requests_batches_savings_and_latency():
    handler = Recorder(delay=0.010)
    batch = BatchProcessor(handler, window_ms=20, max_size=8, cost_per_request=0.002)
    await asyncio.gather(*[batch.process(f"q{i % 4}") for i in range(12)])
    stats = batch.get_stats()
    assert stats.total_requests == 12
    assert stats.completed_requests == 12
    assert stats.total_batches == 1
    assert stats.handler_requests == 4
    assert stats.avg_batch_size == 4
    assert stats.avg_requests_per_batch == 12
    assert stats.dedup_rate == pytest.approx(8 / 12)
    assert stats.requests_saved == 8
    assert stats.handler_calls_saved == 11
    assert stats.cost_saved_usd == pytest.approx(0.016)
    assert stats.latency_p50_ms == pytest.approx(30.0, abs=1.0)
    assert stats.latency_p99_ms == pytest.approx(30.0, abs=1.0)
    assert stats.current_window_ms == 20
    assert stats.queue_depth == 0 and stats.errors == 0 and stats.timeouts == 0
    assert stats.policy == {"policy": "fixed", "window_ms": 20.0}
    await batch.close()


def test_max_wait_defaults_to_cover_the_window():
    assert BatchProcessor(Recorder()).config.max_wait_ms == 100
    assert BatchProcessor(Recorder(), window_ms=150).config.max_wait_ms == 150
    assert BatchProcessor(Recorder(), adaptive=True).config.max_wait_ms == 200  # max_window_ms
    assert BatchProcessor(Recorder(), adaptive=True, max_wait_ms=80).config.max_wait_ms == 80  # explicit cap
    with pytest.raises(TypeError, match="max_wait_ms must be a number"):
        BatchProcessor(Recorder(), max_wait_ms="1")
