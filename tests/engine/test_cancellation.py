"""Cancellation: callers that leave at any point, alone and in seeded storms.

A caller may leave while its request is queued, while its batch waits for a handler slot, while the handler
runs its batch, or while it shares a coalesced call with other callers (an exact duplicate queued, or one
that joined the running call). Whatever the point: nothing hangs (every test is bounded by
``asyncio.timeout``), no other caller loses its answer, every caller that stayed gets its own correct
answer, no task is left behind after ``close()``, the stats balance exactly
(``total == completed + failed + cancelled``), and a request whose every caller left before its handler
call does not reach the handler (``dropped_before_call`` counts it when its batch was already dispatched).

Async handlers run on looptime's virtual clock; a blocking dedup strategy (which makes one more batch
dispatch, and wait for a slot, while a call runs) and sync handlers use real worker threads.
"""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from batchsieve import BatchProcessor, ProcessingTimeoutError, RequestTimeoutError, normalize_text

from .test_faults import (  # noqa: F401 -- no_asyncio_warning is an autouse fixture
    assert_no_task_left,
    conservation,
    no_asyncio_warning,
    wait_until,
)


def text_of(request: Any) -> str:
    return request if isinstance(request, str) else request["query"]


def key_of(request: Any, scope: Any = None) -> tuple:
    fields = () if isinstance(request, str) else tuple(sorted((k, v) for k, v in request.items() if k != "query"))
    return (type(scope).__name__, scope, normalize_text(text_of(request)), fields)


def answer_of(request: Any) -> tuple:
    model = request.get("model") if isinstance(request, dict) else None
    return ("ans", normalize_text(text_of(request)), model)


def _slots_waiting(batch: BatchProcessor) -> int:
    """How many dispatched batches wait for a handler slot (the engine's semaphore)."""
    return len(batch._runner._slots._waiters or ())


class Gated:
    """An async handler that records its calls and holds each call whose first request is listed in
    ``hold`` until ``release`` is set."""

    def __init__(self, hold: tuple[str, ...] = ()) -> None:
        self.calls: list[list[str]] = []
        self.hold = hold
        self.release = asyncio.Event()

    async def __call__(self, requests: list) -> list:
        self.calls.append([text_of(r) for r in requests])
        if text_of(requests[0]) in self.hold:
            await self.release.wait()
        return [answer_of(r) for r in requests]


def never_similar(a, b) -> float:
    return 0.0


# ------------------------------------------------------------------ one point at a time


@pytest.mark.looptime
async def test_callers_leaving_a_queued_request_drop_it_and_its_sharers_keep_theirs():
    handler = Gated()
    batch = BatchProcessor(handler, dedup_strategy="exact", window_ms=50)
    async with asyncio.timeout(10):
        gone = [asyncio.ensure_future(batch.process("nobody wants this")) for _ in range(3)]
        shared = [asyncio.ensure_future(batch.process("shared")) for _ in range(3)]
        await asyncio.sleep(0.01)  # all queued, the window still open
        for task in (*gone, shared[0], shared[2]):
            task.cancel()
        assert await shared[1] == answer_of("shared")
        await batch.close()
    assert handler.calls == [["shared"]]  # dropped from the queue: never dispatched at all
    assert all(t.cancelled() for t in (*gone, shared[0], shared[2]))
    stats = batch.get_stats()
    assert (stats.total_requests, stats.completed_requests, stats.cancelled_requests) == (6, 1, 5)
    assert stats.dropped_before_call == 0 and stats.queue_depth == 0
    assert conservation(batch) == (6, 6)
    assert_no_task_left()


@pytest.mark.looptime
async def test_callers_leaving_a_running_call_leave_its_sharers_and_siblings_answered():
    handler = Gated(hold=("x",))
    batch = BatchProcessor(handler, dedup_strategy="exact", window_ms=5, max_size=8)
    async with asyncio.timeout(10):
        first = [asyncio.ensure_future(batch.process(t)) for t in ("x", "y", "X ", "z")]
        await asyncio.sleep(0.01)
        assert handler.calls == [["x", "y", "z"]]  # running, held at the gate
        joined = [asyncio.ensure_future(batch.process(" x")) for _ in range(2)]  # join the running call
        await asyncio.sleep(0)
        for task in (first[0], first[3], joined[0]):  # two sharers of x, and z's only caller
            task.cancel()
        await asyncio.sleep(0)
        handler.release.set()
        assert await first[1] == answer_of("y")
        assert await first[2] == await joined[1] == answer_of("x")
        # the engine goes on
        assert await batch.process("after") == answer_of("after")
        await batch.close()
    stats = batch.get_stats()
    assert stats.merges == {"exact_queued": 1, "exact_inflight": 2}
    assert (stats.total_requests, stats.completed_requests, stats.cancelled_requests) == (7, 4, 3)
    assert conservation(batch) == (7, 7)
    assert_no_task_left()


@pytest.mark.parametrize("priorities", [False, True])
@pytest.mark.parametrize("max_concurrent", [1, 4])
async def test_a_request_whose_callers_all_left_while_its_batch_waited_for_a_slot_is_not_sent(max_concurrent,
                                                                                               priorities):
    hold = tuple(f"hold {i}" for i in range(max_concurrent))
    handler = Gated(hold=hold)
    # a blocking strategy: one more batch is dispatched (its dedup overlaps the running calls); it then
    # waits for a handler slot
    batch = BatchProcessor(handler, dedup_function=never_similar, window_ms=0, max_size=4,
                           max_concurrent_batches=max_concurrent, enable_priorities=priorities,
                           dedup_timeout_ms=30_000)
    async with asyncio.timeout(30):
        holding = []
        for text in hold:  # every slot taken by a call held at the gate
            holding.append(asyncio.ensure_future(batch.process(text)))
            await wait_until(lambda: handler.calls and handler.calls[-1] == [text])  # noqa: B023
        doomed = [asyncio.ensure_future(batch.process("doomed", priority=p)) for p in (0, 2, 1)]
        kept = asyncio.ensure_future(batch.process("kept"))
        also = asyncio.ensure_future(batch.process(["doomed too", "kept too"]))
        await wait_until(lambda: _slots_waiting(batch) == 1)  # dispatched, deduplicated, waiting for a slot
        assert batch.get_stats().queue_depth == 0
        for task in doomed:
            task.cancel()
        also.cancel()  # a list call leaves: both its requests are released
        joined = asyncio.ensure_future(batch.process("kept too"))  # a new caller joins a released request
        await asyncio.sleep(0)
        handler.release.set()
        assert await kept == answer_of("kept")
        assert await joined == answer_of("kept too")
        assert await asyncio.gather(*holding) == [answer_of(t) for t in hold]
        await batch.close()
    assert sorted(handler.calls[max_concurrent:]) == [["kept", "kept too"]]
    stats = batch.get_stats()
    assert stats.dropped_before_call == 2  # "doomed" and "doomed too"
    assert stats.cancelled_requests == 5 and stats.errors == 0
    assert conservation(batch) == (max_concurrent + 7, max_concurrent + 7)
    assert_no_task_left()


async def _abandoned_after(turns: int, strategy: str) -> list[str]:
    """A caller asks for two requests and leaves ``turns`` loop turns later: what the handler got although
    every caller had already left."""
    abandoned: list[str] = []
    holder: list[BatchProcessor] = []

    async def handler(requests):
        stats = holder[0].get_stats()
        if stats.cancelled_requests == stats.total_requests:  # every caller had left before the call
            abandoned.extend(requests)
        return [answer_of(r) for r in requests]

    kwargs = {"dedup_strategy": "exact"} if strategy == "exact" else {"dedup_function": never_similar,
                                                                      "dedup_timeout_ms": 30_000}
    batch = BatchProcessor(handler, window_ms=0, **kwargs)
    holder.append(batch)
    async with asyncio.timeout(30):
        task = asyncio.ensure_future(batch.process(["x", "y"]))  # two: the blocking strategy runs too
        for _ in range(turns):
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await batch.close()
    total, settled = conservation(batch)
    assert total == settled and total in (0, 2)  # 0: it left before it even asked
    return abandoned


@pytest.mark.parametrize("strategy", ["exact", "custom"])
async def test_a_request_whose_only_caller_left_at_any_loop_turn_never_reaches_the_handler(strategy):
    """Found by the slot storm: the caller leaves k loop turns after it asked, for every k, so that some k
    falls between the dispatcher taking the batch and the batch task's first step. Whenever the handler is
    called, somebody must still be waiting for each request it gets."""
    for turns in range(12):
        assert await _abandoned_after(turns, strategy) == [], turns
    assert_no_task_left()


async def test_a_caller_asking_again_for_a_request_dropped_before_the_call_gets_its_own_answer():
    """Found by the slot storm: a request dropped right before the call (every caller had left) must not
    take a new identical caller into a slot it no longer has."""
    handler = Gated(hold=("hold", "kept"))
    batch = BatchProcessor(handler, dedup_function=never_similar, window_ms=0, max_size=4,
                           dedup_timeout_ms=30_000)
    async with asyncio.timeout(30):
        holding = asyncio.ensure_future(batch.process("hold"))
        await wait_until(lambda: handler.calls == [["hold"]])
        doomed = asyncio.ensure_future(batch.process("doomed"))
        kept = asyncio.ensure_future(batch.process("kept"))
        await wait_until(lambda: _slots_waiting(batch) == 1)  # dispatched with both, waiting for the slot
        doomed.cancel()
        await asyncio.sleep(0)
        handler.release.clear()
        gate_one = handler.release
        handler.release = asyncio.Event()  # "kept" will wait at a gate of its own
        gate_one.set()
        await wait_until(lambda: len(handler.calls) == 2)
        assert handler.calls[1] == ["kept"]  # "doomed" was dropped before the call
        again = asyncio.ensure_future(batch.process("doomed"))  # someone asks for it again meanwhile
        await asyncio.sleep(0)
        handler.release.set()
        assert await kept == answer_of("kept")
        assert await again == answer_of("doomed")  # its own answer, not the last slot's
        assert await holding == answer_of("hold")
        await batch.close()
    stats = batch.get_stats()
    assert stats.dropped_before_call == 1
    assert conservation(batch) == (4, 4)
    assert_no_task_left()


async def test_a_batch_whose_every_request_was_dropped_before_the_call_is_no_handler_error():
    handler = Gated(hold=("hold",))
    batch = BatchProcessor(handler, dedup_function=never_similar, window_ms=0, max_size=4,
                           dedup_timeout_ms=30_000)
    async with asyncio.timeout(30):
        holding = asyncio.ensure_future(batch.process("hold"))
        await wait_until(lambda: handler.calls == [["hold"]])
        doomed = [asyncio.ensure_future(batch.process(t)) for t in ("one", "two", "ONE")]
        await wait_until(lambda: _slots_waiting(batch) == 1)
        for task in doomed:
            task.cancel()
        await asyncio.sleep(0)
        handler.release.set()
        assert await holding == answer_of("hold")
        assert await batch.process("one") == answer_of("one")  # asked again later: a call of its own
        await batch.close()
    assert handler.calls == [["hold"], ["one"]]
    stats = batch.get_stats()
    assert (stats.dropped_before_call, stats.cancelled_requests, stats.errors) == (2, 3, 0)
    assert conservation(batch) == (5, 5)
    assert_no_task_left()


async def test_a_stuck_sync_call_holds_the_slot_and_a_batch_abandoned_behind_it_is_not_sent():
    release = threading.Event()
    seen: list[list[str]] = []

    def handler(requests):
        seen.append(list(requests))
        if requests[0] == "hang":
            release.wait(60)  # an upper bound only: released below
        return [answer_of(r) for r in requests]

    batch = BatchProcessor(handler, dedup_strategy="exact", window_ms=0, processing_timeout=0.05)
    try:
        async with asyncio.timeout(30):
            with pytest.raises(ProcessingTimeoutError):
                await batch.process("hang")
            assert batch.get_stats().stuck_handler_calls == 1
            behind = [asyncio.ensure_future(batch.process("behind")) for _ in range(2)]
            await wait_until(lambda: _slots_waiting(batch) == 1)  # dispatched; the stuck call holds the slot
            for task in behind:
                task.cancel()
            release.set()
            await wait_until(lambda: batch.get_stats().stuck_handler_calls == 0)
            assert await batch.process("next") == answer_of("next")
            await batch.close()
    finally:
        release.set()
    assert seen == [["hang"], ["next"]]
    stats = batch.get_stats()
    assert stats.dropped_before_call == 1 and stats.cancelled_requests == 2
    assert stats.errors == 1 and stats.timeouts == 1  # the hang; an abandoned batch is no handler error
    assert conservation(batch) == (4, 4)
    assert_no_task_left()


@pytest.mark.looptime
async def test_callers_leaving_while_close_drains_do_not_hang_it():
    handler = Gated(hold=("slow",))
    batch = BatchProcessor(handler, dedup_strategy="exact", window_ms=5, max_size=2)
    async with asyncio.timeout(10):
        tasks = [asyncio.ensure_future(batch.process(t)) for t in ("slow", "a", "b", "c", "d")]
        await asyncio.sleep(0.01)
        closing = asyncio.ensure_future(batch.close())
        await asyncio.sleep(0)
        for task in tasks[::2]:
            task.cancel()
        await asyncio.sleep(0.01)
        handler.release.set()
        await closing
        assert await tasks[1] == answer_of("a") and await tasks[3] == answer_of("c")
    assert conservation(batch) == (5, 5)
    assert batch.get_stats().cancelled_requests == 3
    assert_no_task_left()


@pytest.mark.looptime
async def test_a_stream_consumer_cancelled_midway_releases_what_it_had_not_read():
    handler = Gated(hold=("held",))
    batch = BatchProcessor(handler, dedup_strategy="exact", window_ms=5, max_size=2)
    read: list[int] = []

    async def consume() -> None:
        async for item in batch.process_streaming(["a", "b", "held", "c", "d"]):
            read.append(item.index)

    async with asyncio.timeout(10):
        consumer = asyncio.ensure_future(consume())
        await asyncio.sleep(0)  # the stream submitted its five requests
        other = asyncio.ensure_future(batch.process(" D"))  # shares a request with the stream
        await wait_until(lambda: read == [0, 1])  # the first batch answered; "held" runs at the gate
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        handler.release.set()
        assert await other == answer_of("d")
        await batch.close()
    assert handler.calls == [["a", "b"], ["held", "c"], ["d"]]
    assert consumer.cancelled()
    stats = batch.get_stats()
    assert (stats.completed_requests, stats.failed_requests, stats.cancelled_requests) == (3, 0, 3)
    assert conservation(batch) == (6, 6)
    assert_no_task_left()


@pytest.mark.looptime
async def test_close_with_a_timeout_while_callers_leave_answers_or_fails_everyone_once():
    handler = Gated(hold=("stuck",))
    batch = BatchProcessor(handler, dedup_strategy="exact", window_ms=5, max_size=2)
    async with asyncio.timeout(10):
        tasks = [asyncio.ensure_future(batch.process(t)) for t in ("stuck", "a", "b", "c", "d", "e")]
        await asyncio.sleep(0.01)  # the first batch runs and never finishes
        tasks[2].cancel()
        closing = asyncio.ensure_future(batch.close(timeout=1.0))
        await asyncio.sleep(0)
        tasks[4].cancel()
        await closing  # gives up after a second: what is left fails with ProcessorClosedError
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert [type(o).__name__ for o in outcomes] == ["ProcessorClosedError", "ProcessorClosedError",
                                                    "CancelledError", "ProcessorClosedError", "CancelledError",
                                                    "ProcessorClosedError"]
    stats = batch.get_stats()
    assert (stats.failed_requests, stats.cancelled_requests) == (4, 2)
    assert conservation(batch) == (6, 6)
    assert_no_task_left()


# ------------------------------------------------------------------ seeded storms


@dataclass
class Caller:
    requests: list[Any]  # one request, or the elements of a list call
    listed: bool
    scope: Any
    priority: int
    arrival: float
    timeout: float | None
    cancel: tuple[str, float] | None  # ("after", seconds) or ("turns", n) after its arrival
    start: float = -1.0
    end: float = -1.0
    cancelled: bool = False
    outcome: Any = None


@dataclass
class StormHandler:
    """Async; records (loop time, keys) per call and sleeps a seeded while; a ``bad`` text fails its slot."""

    rng: random.Random
    calls: list[tuple[float, list[str]]] = field(default_factory=list)

    async def __call__(self, requests: list) -> list:
        self.calls.append((asyncio.get_running_loop().time(), [normalize_text(text_of(r)) for r in requests]))
        await asyncio.sleep(self.rng.choice((0, 0.001, 0.004, 0.01, 0.03)))
        return [ValueError(normalize_text(text_of(r))) if _is_bad(r) else answer_of(r) for r in requests]


def _callers(rng: random.Random, n: int, priorities: bool) -> list[Caller]:
    pool = [f"q{i}" for i in range(24)] + ["bad 1", "bad 2"]
    out = []
    for _ in range(n):
        def one() -> Any:
            text = rng.choice(pool)
            if rng.random() < 0.2:
                text = f"  {text.upper()} "
            return text if rng.random() < 0.75 else {"query": text, "model": rng.choice(("a", "b"))}

        listed = rng.random() < 0.12
        requests = [one() for _ in range(rng.randint(2, 3))] if listed else [one()]
        cancel = None
        if rng.random() < 0.35:
            cancel = (("after", rng.choice((0.0, 0.0005, 0.002, 0.005, 0.01, 0.03, 0.06)))
                      if rng.random() < 0.7 else ("turns", rng.randint(0, 6)))
        out.append(Caller(requests, listed, rng.choice((None, None, "t1", "t2")),
                          rng.randint(0, 3) if priorities else 0, rng.uniform(0, 0.25),
                          rng.choice((0.002, 0.02, 0.2)) if rng.random() < 0.08 else None, cancel))
    return out


async def _storm(batch: BatchProcessor, callers: list[Caller]) -> None:
    loop = asyncio.get_running_loop()

    async def run(c: Caller) -> None:
        try:
            await asyncio.sleep(c.arrival)
            c.start = loop.time()  # process() enqueues before its first await: accepted from here on
            request = c.requests if c.listed else c.requests[0]
            c.outcome = ("result", await batch.process(request, scope=c.scope, priority=c.priority,
                                                       timeout=c.timeout, return_exceptions=True))
        except RequestTimeoutError as exc:
            c.outcome = ("timeout", exc)
        except asyncio.CancelledError:
            c.outcome = ("cancelled", None)
            raise
        except Exception as exc:
            c.outcome = ("error", exc)
        finally:
            c.end = loop.time()

    tasks = [asyncio.ensure_future(run(c)) for c in callers]

    async def cancel(c: Caller, task: asyncio.Task) -> None:
        how, amount = c.cancel  # type: ignore[misc]
        await asyncio.sleep(c.arrival)
        if how == "after":
            await asyncio.sleep(amount)
        else:
            for _ in range(int(amount)):
                await asyncio.sleep(0)
        c.cancelled = task.cancel()

    cancellers = [asyncio.ensure_future(cancel(c, t)) for c, t in zip(callers, tasks, strict=True) if c.cancel]
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*cancellers)


def _is_bad(request: Any) -> bool:
    return normalize_text(text_of(request)).startswith("bad")


def _check(batch: BatchProcessor, callers: list[Caller], handler: StormHandler) -> None:
    accepted = 0
    for c in callers:
        kind, value = c.outcome
        if c.start >= 0:
            accepted += len(c.requests)
        if kind == "cancelled":
            assert c.cancelled, f"{c.requests!r} was cancelled by nobody"
            continue
        if kind == "timeout":
            assert c.timeout is not None
            continue
        # no lost sibling: every one that stayed is answered (a single bad request raises its own error)
        assert kind == "result" or (kind == "error" and not c.listed), (c.requests, c.outcome)
        values = value if c.listed else [value]
        for request, got in zip(c.requests, values, strict=True):
            if _is_bad(request):
                assert isinstance(got, ValueError) and got.args == (normalize_text(text_of(request)),)
            else:
                assert got == answer_of(request), (request, got)  # its own answer, nobody else's
    assert conservation(batch) == (accepted, accepted)
    # the handler never got a request nobody was waiting for, nor the same question twice in one call
    live: dict[str, list[tuple[float, float]]] = {}
    for c in callers:
        for request in c.requests:
            live.setdefault(normalize_text(text_of(request)), []).append((c.start, c.end))
    for t, texts in handler.calls:
        for text in texts:
            assert any(0 <= start <= t <= end for start, end in live[text]), (t, text, [
                (c.requests, c.scope, c.start, c.end, c.outcome) for c in callers
                if any(normalize_text(text_of(r)) == text for r in c.requests)])
    stats = batch.get_stats()
    assert stats.queue_depth == 0 and stats.in_flight_batches == 0
    assert stats.handler_requests == sum(len(texts) for _, texts in handler.calls)
    assert stats.errors == 0  # no handler call failed (a bad request fails its own slot only)
    # the storm did reach the points it is about: callers left, and requests were shared queued and running
    assert stats.cancelled_requests > 0
    assert stats.merges.get("exact_queued", 0) > 0 and stats.merges.get("exact_inflight", 0) > 0


@pytest.mark.looptime
@pytest.mark.parametrize("priorities", [False, True])
@pytest.mark.parametrize("max_concurrent", [1, 4])
@pytest.mark.parametrize("seed", [0, 1, 2])
async def test_cancellation_storm(seed, max_concurrent, priorities):
    rng = random.Random(seed)
    handler = StormHandler(random.Random(seed + 100))
    batch = BatchProcessor(handler, dedup_strategy="exact", window_ms=2, max_size=5,
                           max_concurrent_batches=max_concurrent, enable_priorities=priorities)
    callers = _callers(rng, 300, priorities)
    async with asyncio.timeout(60):
        await _storm(batch, callers)
        assert await batch.process(["fresh", "FRESH "]) == [answer_of("fresh")] * 2  # still serving
        await batch.close()
    fresh = Caller(["fresh", "FRESH "], True, None, 0, 0, None, None, 0, 1e9, False,
                   ("result", [answer_of("fresh")] * 2))
    _check(batch, [*callers, fresh], handler)
    assert_no_task_left()


@pytest.mark.looptime
@pytest.mark.parametrize("priorities", [False, True])
@pytest.mark.parametrize("max_concurrent", [1, 4])
async def test_cancellation_storm_with_batches_waiting_for_a_slot(max_concurrent, priorities):
    """A blocking strategy dispatches one batch more than there are slots: some callers leave while their
    batch waits for a slot, and their requests must be dropped right before the call."""
    rng = random.Random(7 + max_concurrent)
    handler = StormHandler(random.Random(11))
    batch = BatchProcessor(handler, dedup_function=never_similar, window_ms=2, max_size=5,
                           max_concurrent_batches=max_concurrent, enable_priorities=priorities,
                           dedup_timeout_ms=30_000)
    callers = _callers(rng, 200, priorities)
    async with asyncio.timeout(120):
        await _storm(batch, callers)
        await batch.close()
    _check(batch, callers, handler)
    assert batch.get_stats().dropped_before_call > 0  # some left while their batch waited for its slot
    assert_no_task_left()
