"""Streaming handlers: one generation shared by every duplicate, each reader on its own.

The handler under test is driven step by step: the test puts each step on a queue and the generator yields
it, so every interleaving is chosen by the test. Everything runs on looptime's fake clock (``settle`` lets
every ready task run, then the clock jumps); no test sleeps and hopes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from batchsieve import (
    BatchProcessingError,
    BatchProcessor,
    ProcessingTimeoutError,
    ProcessorClosedError,
    QueueFullError,
    ReentrantCallError,
    RequestTimeoutError,
    StreamOverflowError,
    StreamResult,
)

from .test_faults import (  # noqa: F401 -- no_asyncio_warning is an autouse fixture
    assert_no_task_left,
    conservation,
    no_asyncio_warning,
)

pytestmark = pytest.mark.looptime

END = StopIteration()


class Driven:
    """A streaming handler (an instance whose ``__call__`` is an async generator) whose ``i``-th generator
    yields what the test puts on its queue (``put(step, call=i)``): a list, or a function of the batch's
    requests; ``None`` makes that generator return."""

    def __init__(self) -> None:
        self.calls: list[list[Any]] = []
        self.queues: dict[int, asyncio.Queue[Any]] = {}
        self.pulled = 0  # steps yielded
        self.closed = 0  # generators finished or closed (their finally ran)

    def _queue(self, call: int) -> asyncio.Queue[Any]:
        return self.queues.setdefault(call, asyncio.Queue())

    async def __call__(self, requests):
        steps = self._queue(len(self.calls))
        self.calls.append(list(requests))
        try:
            while True:
                step = await steps.get()
                if step is None:
                    return
                self.pulled += 1
                yield step(requests) if callable(step) else step
        finally:
            self.closed += 1

    def put(self, step: Any, call: int = 0) -> None:
        self._queue(call).put_nowait(step)


def chunk(k: int):
    """A step giving every request its ``k``-th chunk."""
    return lambda requests: [f"{r}.{k}" for r in requests]


def end_all(requests):
    return [END] * len(requests)


async def settle() -> None:
    """Let every ready task run (the fake clock jumps once nothing is left to do)."""
    await asyncio.sleep(0.01)


def start(batch: BatchProcessor, request: Any, *, stop_after: int | None = None, **kwargs: Any) -> asyncio.Task:
    """A reader task: the chunks it read and the exception its stream ended with (``None``: a clean end)."""

    async def read():
        chunks: list[Any] = []
        try:
            async for c in batch.stream(request, **kwargs):
                chunks.append(c)
                if stop_after is not None and len(chunks) >= stop_after:
                    break
        except Exception as exc:
            return chunks, exc
        return chunks, None

    return asyncio.ensure_future(read())


def gated(gate: asyncio.Event, handler: Any) -> Any:
    """A generator handler that starts ``handler``'s generation only once ``gate`` is set."""
    async def blocker(requests):
        await gate.wait()
        async for step in handler(requests):
            yield step
    return blocker


def make(handler: Any, **kwargs: Any) -> BatchProcessor:
    kwargs.setdefault("dedup_strategy", "exact")
    kwargs.setdefault("window_ms", 0)
    return BatchProcessor(handler, **kwargs)


async def finish(batch: BatchProcessor) -> None:
    await batch.close()
    total, settled = conservation(batch)
    assert total == settled
    assert_no_task_left()


# ---------------------------------------------------------------- sharing


async def test_duplicates_share_one_generation_and_each_gets_every_chunk():
    handler = Driven()
    batch = make(handler, window_ms=10)
    readers = [start(batch, "q") for _ in range(5)] + [start(batch, "Q ")]  # the last: equal after normalising
    other = start(batch, "other")
    await settle()
    for k in range(3):
        handler.put(chunk(k))
    handler.put(end_all)
    results = await asyncio.gather(*readers, other)
    assert handler.calls == [["q", "other"]]  # one generation for the six callers of "q"
    assert results[:6] == [(["q.0", "q.1", "q.2"], None)] * 6
    assert results[6] == (["other.0", "other.1", "other.2"], None)
    stats = batch.get_stats()
    assert (stats.streams_started, stats.stream_subscribers, stats.subscribers_per_stream) == (2, 7, 3.5)
    assert (stats.stream_chunks_generated, stats.stream_chunks_fanned_out) == (6, 21)
    assert stats.merges["exact_queued"] == 5
    assert stats.completed_requests == 7 and stats.handler_requests == 2
    assert handler.closed == 1
    await finish(batch)


async def test_semantic_merges_subscribe_to_the_representatives_stream():
    handler = Driven()
    # a custom strategy that calls every pair the same question
    batch = BatchProcessor(handler, dedup_function=lambda a, b: 1.0, window_ms=10)
    readers = [start(batch, "how do I reset my password"), start(batch, "password reset, how?")]
    await settle()
    handler.put(chunk(0))
    handler.put(end_all)
    results = await asyncio.gather(*readers)
    assert handler.calls == [["how do I reset my password"]]
    assert results == [(["how do I reset my password.0"], None)] * 2
    stats = batch.get_stats()
    assert stats.merges["custom"] == 1 and (stats.streams_started, stats.stream_subscribers) == (1, 2)
    await finish(batch)


async def test_a_duplicate_arriving_mid_stream_is_replayed_from_the_first_chunk_then_reads_live():
    handler = Driven()
    batch = make(handler)
    first = start(batch, "q")
    await settle()
    handler.put(chunk(0))
    handler.put(chunk(1))
    await settle()
    late = start(batch, "q")
    late_stream = start(batch, "q", stop_after=2)  # reads the replay only, then stops
    await settle()
    assert late_stream.done() and late_stream.result() == (["q.0", "q.1"], None)
    handler.put(chunk(2))
    handler.put(end_all)
    assert await first == (["q.0", "q.1", "q.2"], None)
    assert await late == (["q.0", "q.1", "q.2"], None)
    assert handler.calls == [["q"]]
    stats = batch.get_stats()
    assert stats.merges["exact_inflight"] == 2 and stats.stream_subscribers == 3
    await finish(batch)


async def test_a_duplicate_of_a_finished_stream_starts_a_new_generation():
    handler = Driven()
    batch = make(handler)
    first = start(batch, "q")
    await settle()
    handler.put(chunk(0))
    handler.put(end_all)
    assert await first == (["q.0"], None)
    second = start(batch, "q")
    await settle()
    handler.put(chunk(1), call=1)
    handler.put(end_all, call=1)
    assert await second == (["q.1"], None)
    assert handler.calls == [["q"], ["q"]]
    await finish(batch)


async def test_scope_and_dedup_false_get_generations_of_their_own():
    handler = Driven()
    batch = make(handler, window_ms=10)
    readers = [start(batch, "q"), start(batch, "q", scope="tenant-b"), start(batch, "q", dedup=False)]
    await settle()
    handler.put(chunk(0))
    handler.put(end_all)
    assert await asyncio.gather(*readers) == [(["q.0"], None)] * 3
    assert handler.calls == [["q", "q", "q"]]
    assert batch.get_stats().streams_started == 3
    await finish(batch)


async def test_a_mid_stream_joiner_of_another_scope_or_without_dedup_gets_a_generation_of_its_own():
    handler = Driven()
    batch = make(handler, max_concurrent_batches=3)
    first = start(batch, "q", scope="a")
    await settle()
    handler.put(chunk(0))
    await settle()
    others = [start(batch, "q", scope="b"), start(batch, "q", scope="a", dedup=False)]
    joiner = start(batch, "q", scope="a")
    await settle()
    assert handler.calls == [["q"], ["q", "q"]]  # the two others, batched together; the joiner shares the first
    handler.put(end_all)
    handler.put(chunk(1), call=1)
    handler.put(end_all, call=1)
    assert await first == (["q.0"], None) and await joiner == (["q.0"], None)
    assert await asyncio.gather(*others) == [(["q.1"], None)] * 2
    await finish(batch)


async def test_a_full_queue_refuses_a_stream_on_its_first_read_and_takes_nothing():
    handler = Driven()
    batch = make(handler, max_queue_size=1, max_size=1)
    running = start(batch, "a")  # its batch holds the only handler slot
    await settle()
    waiting = start(batch, "b")  # queued: the queue is full now
    await settle()
    refused = batch.stream("c")
    with pytest.raises(QueueFullError):
        await refused.__anext__()
    joined = start(batch, "a")  # a mid-stream joiner takes no queue place
    await settle()
    handler.put(chunk(0))
    handler.put(end_all)
    handler.put(end_all, call=1)
    assert await running == (["a.0"], None) and await joined == (["a.0"], None)
    assert await waiting == ([], None)
    assert batch.get_stats().total_requests == 3
    await finish(batch)


# ---------------------------------------------------------------- leaving


async def test_a_reader_that_stops_early_only_removes_itself():
    handler = Driven()
    batch = make(handler)
    quitter = start(batch, "q", stop_after=1)
    stayer = start(batch, "q")
    await settle()
    handler.put(chunk(0))
    await settle()
    assert quitter.done() and quitter.result() == (["q.0"], None)
    assert handler.closed == 0  # the generation goes on for the other reader
    handler.put(chunk(1))
    handler.put(end_all)
    assert await stayer == (["q.0", "q.1"], None)
    assert batch.get_stats().streams_closed_early == 0
    await finish(batch)


async def test_a_cancelled_reader_only_removes_itself():
    handler = Driven()
    batch = make(handler)
    victim = start(batch, "q")
    stayer = start(batch, "q")
    await settle()
    handler.put(chunk(0))
    await settle()
    victim.cancel()
    await settle()
    assert victim.cancelled()
    handler.put(chunk(1))
    handler.put(end_all)
    assert await stayer == (["q.0", "q.1"], None)
    await finish(batch)


async def test_when_every_caller_of_every_request_left_the_generator_is_closed():
    handler = Driven()
    batch = make(handler, window_ms=10)
    readers = [start(batch, "a", stop_after=1), start(batch, "a", stop_after=2), start(batch, "b", stop_after=1)]
    await settle()
    handler.put(chunk(0))
    await settle()
    assert handler.closed == 0  # one caller of "a" still reads
    handler.put(chunk(1))
    await settle()
    assert [r.result() for r in readers] == [(["a.0"], None), (["a.0", "a.1"], None), (["b.0"], None)]
    assert handler.closed == 1  # aclose(): the backend stops generating
    pulled = handler.pulled
    handler.put(chunk(2))
    await settle()
    assert handler.pulled == pulled  # nothing more was pulled from the closed generator
    stats = batch.get_stats()
    assert stats.streams_closed_early == 2
    assert stats.in_flight_batches == 0  # the handler slot is free again
    # the next request is served by a new generation
    again = start(batch, "a")
    await settle()
    handler.put(chunk(9), call=1)
    handler.put(end_all, call=1)
    assert await again == (["a.9"], None)
    await finish(batch)


async def test_a_reader_left_on_the_queue_gives_up_its_place_and_nothing_reaches_the_handler():
    gate = asyncio.Event()
    handler = Driven()
    batch = make(gated(gate, handler), window_ms=10)
    waiting = batch.stream("q")
    task = asyncio.ensure_future(waiting.__anext__())
    await asyncio.sleep(0.001)  # queued, window still open
    task.cancel()
    await settle()
    assert task.cancelled()
    stats = batch.get_stats()
    assert stats.cancelled_requests == 1 and stats.total_batches == 0
    gate.set()
    await finish(batch)
    assert handler.calls == []


async def test_aclose_and_async_with_leave_at_once():
    handler = Driven()
    batch = make(handler)
    stream = batch.stream("q")
    other = start(batch, "q")
    handler.put(chunk(0))
    assert await stream.__anext__() == "q.0"
    await stream.aclose()
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()
    async with batch.stream("q") as joined:  # a mid-stream joiner
        assert await joined.__anext__() == "q.0"
    handler.put(chunk(1))
    handler.put(end_all)
    assert await other == (["q.0", "q.1"], None)
    assert batch.get_stats().stream_subscribers == 3
    await finish(batch)


# ---------------------------------------------------------------- errors


async def test_an_exception_in_a_slot_fails_that_stream_only_after_its_chunks():
    handler = Driven()
    batch = make(handler, window_ms=10)
    bad, good, bad_dup = start(batch, "bad"), start(batch, "good"), start(batch, "bad")
    await settle()
    handler.put(chunk(0))
    boom = ValueError("backend refused")
    handler.put(lambda rs: [boom if r == "bad" else f"{r}.1" for r in rs])
    handler.put(lambda rs: ["ignored" if r == "bad" else END for r in rs])  # an ended slot ignores later values
    for task in (bad, bad_dup):
        chunks, error = await task
        assert chunks == ["bad.0"] and error is boom
    assert await good == (["good.0", "good.1"], None)
    await finish(batch)


async def test_a_failed_stream_is_never_replayed_to_a_later_caller():
    handler = Driven()
    batch = make(handler, window_ms=10, max_concurrent_batches=2)
    bad, good = start(batch, "bad"), start(batch, "good")
    await settle()
    handler.put(lambda rs: [ValueError("no") if r == "bad" else f"{r}.0" for r in rs])
    await settle()
    assert isinstance((await bad)[1], ValueError)
    later = start(batch, "bad")  # "bad"'s stream failed while its batch still runs for "good"
    await asyncio.sleep(0.05)  # past its window
    assert handler.calls == [["bad", "good"], ["bad"]]  # a new generation, not the failed one
    handler.put(lambda rs: [f"{r}.again" for r in rs], call=1)
    handler.put(end_all, call=1)
    assert await later == (["bad.again"], None)
    handler.put(end_all)
    assert await good == (["good.0"], None)
    await finish(batch)


@pytest.mark.parametrize(("step", "message"), [
    (lambda rs: ["x"] * (len(rs) + 1), "the streaming handler's step 2 has 3 items for 2 requests"),
    (lambda rs: "xy", "the streaming handler's step 2 is a str, not a list of 2 items"),
    (lambda rs: {"a": 1}, "the streaming handler's step 2 is a dict, not a list of 2 items"),
])
async def test_a_malformed_step_fails_the_open_streams_after_their_chunks_and_the_processor_goes_on(step, message):
    handler = Driven()
    batch = make(handler, window_ms=10)
    readers = [start(batch, "a"), start(batch, "b")]
    await settle()
    handler.put(chunk(0))
    handler.put(step)
    for task, name in zip(readers, "ab", strict=True):
        chunks, error = await task
        assert chunks == [f"{name}.0"]
        assert type(error) is BatchProcessingError and str(error) == message
    assert handler.closed == 1
    assert batch.get_stats().errors == 1
    after = start(batch, "c")  # the processor keeps serving
    await settle()
    handler.put(chunk(0), call=1)
    handler.put(end_all, call=1)
    assert await after == (["c.0"], None)
    await finish(batch)


async def test_a_generator_raising_mid_stream_fails_every_open_stream_with_its_cause():
    async def handler(requests):
        yield [f"{r}.0" for r in requests]
        yield [END, f"{requests[1]}.1"]
        raise KeyError("gpu fell over")

    batch = make(handler, window_ms=10)
    first, second = start(batch, "a"), start(batch, "b")
    assert await first == (["a.0"], None)  # ended before the failure: a clean end
    chunks, error = await second
    assert chunks == ["b.0", "b.1"]
    assert type(error) is BatchProcessingError
    assert str(error) == "the streaming handler raised KeyError: 'gpu fell over' (after 2 steps, batch of 2 requests)"
    assert isinstance(error.__cause__, KeyError)
    await finish(batch)


async def test_a_generator_raising_cancelled_error_itself_is_a_handler_failure_not_a_shutdown():
    async def handler(requests):
        yield [f"{r}.0" for r in requests]
        raise asyncio.CancelledError

    batch = make(handler)
    chunks, error = await start(batch, "q")
    assert chunks == ["q.0"] and type(error) is BatchProcessingError
    assert str(error) == "the streaming handler raised CancelledError (after 1 steps, batch of 1 requests)"
    assert batch.get_stats().errors == 1
    await finish(batch)


async def test_leaving_process_streaming_early_leaves_every_stream_and_no_task():
    handler = Driven()
    batch = make(handler, window_ms=10)
    handler.put(lambda rs: [END if r == "a" else f"{r}.0" for r in rs])
    async for result in batch.process_streaming(["a", "b", "c"]):
        assert result.index == 0 and result.value == []
        break
    else:
        raise AssertionError("nothing yielded")
    await settle()
    assert handler.closed == 1  # "b" and "c" lost their only readers: the generation was closed
    await finish(batch)


async def test_no_step_within_processing_timeout_fails_the_open_streams_with_a_timeout():
    handler = Driven()
    batch = make(handler, processing_timeout=5)
    reader = start(batch, "q")
    await settle()
    handler.put(chunk(0))
    await asyncio.sleep(3)
    handler.put(chunk(1))  # each step has its own processing_timeout: 3 + 3 s is fine
    await asyncio.sleep(3)
    assert not reader.done()
    chunks, error = await reader  # then nothing for 5 s
    assert chunks == ["q.0", "q.1"]
    assert type(error) is ProcessingTimeoutError
    assert str(error) == ("the streaming handler yielded no step within processing_timeout=5s (after 2 steps, "
                          "batch of 1 requests)")
    assert handler.closed == 1
    stats = batch.get_stats()
    assert stats.timeouts == 1 and stats.errors == 1
    await finish(batch)


async def test_special_slot_values_fail_their_stream_with_a_processing_error():
    handler = Driven()
    batch = make(handler, window_ms=10)
    readers = [start(batch, "a"), start(batch, "b")]
    await settle()
    handler.put([KeyboardInterrupt(), StopAsyncIteration()])
    results = await asyncio.gather(*readers)
    assert [type(e) for _, e in results] == [BatchProcessingError, BatchProcessingError]
    assert [str(e) for _, e in results] == ["handler returned KeyboardInterrupt in result slot 0",
                                            "handler returned StopAsyncIteration in result slot 1"]
    await finish(batch)


async def test_a_generator_that_returns_ends_the_open_streams_normally():
    handler = Driven()
    batch = make(handler)
    reader = start(batch, "q")
    handler.put(chunk(0))
    handler.put(None)
    assert await reader == (["q.0"], None)
    await finish(batch)


async def test_a_streaming_handler_that_calls_its_own_processor_is_refused():
    batch: BatchProcessor

    async def handler(requests):
        try:
            batch.stream("inner")
        except ReentrantCallError as exc:
            yield [str(exc)]
        yield [END]

    batch = make(handler)
    assert await start(batch, "q") == (["the handler called stream() on its own processor: it would wait for the "
                                        "batch that is making it; use another processor"], None)
    await finish(batch)


# ---------------------------------------------------------------- time limits and slow readers


async def test_timeout_bounds_the_first_chunk_for_that_caller_only():
    handler = Driven()
    batch = make(handler)
    impatient = start(batch, "q", timeout=1)
    patient = start(batch, "q")
    await asyncio.sleep(2)
    assert impatient.done()
    chunks, error = impatient.result()
    assert chunks == [] and type(error) is RequestTimeoutError and str(error) == "no chunk within timeout=1.0s"
    handler.put(chunk(0))
    handler.put(end_all)
    assert await patient == (["q.0"], None)
    assert batch.get_stats().timeouts == 1
    await finish(batch)


async def test_timeout_does_not_bound_the_chunks_after_the_first_but_stream_timeout_bounds_the_whole():
    handler = Driven()
    batch = make(handler, processing_timeout=None)
    first_only = start(batch, "q", timeout=1)
    whole = start(batch, "q", stream_timeout=5)
    await settle()
    handler.put(chunk(0))
    await asyncio.sleep(4)
    handler.put(chunk(1))  # 4 s after the first chunk: fine for `timeout`
    await asyncio.sleep(2)  # 6 s in: past stream_timeout
    chunks, error = whole.result()
    assert chunks == ["q.0", "q.1"] and type(error) is RequestTimeoutError
    assert str(error) == "stream not finished within stream_timeout=5.0s"
    handler.put(end_all)
    assert await first_only == (["q.0", "q.1"], None)
    await finish(batch)


async def test_a_slow_reader_never_blocks_the_others_and_is_cut_off_past_its_buffer():
    handler = Driven()
    batch = make(handler)
    fast = start(batch, "q")
    slow = batch.stream("q", buffer=2)
    assert await_first(slow) is not None
    await settle()
    handler.put(chunk(0))
    await settle()
    assert await slow.__anext__() == "q.0"
    for k in range(1, 4):
        handler.put(chunk(k))
    await settle()  # the fast reader has read all four; the slow one is three behind
    with pytest.raises(StreamOverflowError, match=r"fell more than buffer=2 chunks behind its stream and was cut "
                                                  r"off after 1 chunks"):
        await slow.__anext__()
    with pytest.raises(StopAsyncIteration):
        await slow.__anext__()  # cut off: it has left
    handler.put(chunk(4))
    handler.put(end_all)
    assert await fast == ([f"q.{k}" for k in range(5)], None)  # never waited for the slow reader
    stats = batch.get_stats()
    assert stats.stream_overflows == 1 and stats.stream_subscribers == 2
    await finish(batch)


def await_first(stream):
    """Start ``stream`` (it opens on its first ``__anext__``) without reading a chunk."""
    return asyncio.ensure_future(_open(stream))


async def _open(stream):
    stream.open()
    return stream


async def test_a_slow_reader_of_a_finished_stream_reads_the_rest_at_its_own_pace():
    handler = Driven()
    batch = make(handler)
    slow = batch.stream("q", buffer=1)
    slow.open()
    await settle()
    for k in range(3):
        handler.put(chunk(k))
    handler.put(end_all)
    await settle()
    assert [c async for c in slow] == ["q.0", "q.1", "q.2"]  # over: nothing more is produced, no overflow
    await finish(batch)


# ---------------------------------------------------------------- other ways in


async def test_a_plain_handler_used_with_stream_yields_its_result_once():
    async def handler(requests):
        return [r.upper() for r in requests]

    batch = make(handler)
    assert await start(batch, "q") == (["Q"], None)
    await finish(batch)


async def test_a_plain_handler_failure_is_raised_by_stream():
    async def handler(requests):
        raise RuntimeError("down")

    batch = make(handler)
    chunks, error = await start(batch, "q")
    assert chunks == [] and type(error) is BatchProcessingError
    await finish(batch)


async def test_process_on_a_generator_handler_returns_the_list_of_chunks():
    handler = Driven()
    batch = make(handler, window_ms=10)
    one = asyncio.ensure_future(batch.process("a"))
    many = asyncio.ensure_future(batch.process(["a", "b", "c"], return_exceptions=True))
    await settle()
    handler.put(chunk(0))
    handler.put(lambda rs: [ValueError("c failed") if r == "c" else f"{r}.1" for r in rs])
    handler.put(end_all)
    assert await one == ["a.0", "a.1"]
    a, b, c = await many
    assert (a, b, type(c), str(c)) == (["a.0", "a.1"], ["b.0", "b.1"], ValueError, "c failed")
    assert handler.calls == [["a", "b", "c"]]
    await finish(batch)


async def test_process_on_a_generator_handler_raises_a_streams_error_and_times_out_as_a_whole():
    handler = Driven()
    batch = make(handler, processing_timeout=None)
    failing = asyncio.ensure_future(batch.process("a"))
    await settle()
    handler.put([ValueError("nope")])
    with pytest.raises(ValueError, match="nope"):
        await failing
    with pytest.raises(RequestTimeoutError, match=r"request not answered within timeout=2.0s"):
        await batch.process("b", timeout=2)
    with pytest.raises(RequestTimeoutError, match=r"2 of 2 requests not answered within timeout=2.0s"):
        await batch.process(["c", "d"], timeout=2)
    handler.put(None)
    handler.put(None)
    await finish(batch)


async def test_process_streaming_on_a_generator_handler_yields_each_requests_chunks_as_it_finishes():
    handler = Driven()
    batch = make(handler, window_ms=10)
    seen: list[StreamResult] = []

    async def consume():
        async for result in batch.process_streaming(["a", "b"]):
            seen.append(result)

    task = asyncio.ensure_future(consume())
    await settle()
    handler.put(lambda rs: [f"{r}.0" if r == "a" else END for r in rs])
    await settle()
    assert seen == [StreamResult(1, [], None)]  # "b" finished first
    handler.put(lambda rs: [ValueError("a broke"), "ignored"])
    await task
    assert seen[1].index == 0 and isinstance(seen[1].error, ValueError)
    await finish(batch)


async def test_stream_arguments_are_checked_before_anything_is_queued():
    handler = Driven()
    batch = make(handler)
    for kwargs, kind, message in [
        ({"buffer": 0}, ValueError, "buffer must be >= 1"),
        ({"buffer": 1.5}, TypeError, "buffer must be an int"),
        ({"stream_timeout": -1}, ValueError, "stream_timeout must be > 0"),
        ({"stream_timeout": "1"}, TypeError, "stream_timeout must be a number"),
        ({"timeout": 0}, ValueError, "timeout must be > 0"),
        ({"priority": "high"}, TypeError, "priority must be an int"),
        ({"scope": []}, TypeError, "scope must be hashable"),
    ]:
        with pytest.raises(kind, match=message):
            batch.stream("q", **kwargs)
    with pytest.raises(TypeError, match="a request must be a str"):
        batch.stream(42)
    assert batch.get_stats().total_requests == 0 and len(batch._queue) == 0
    await batch.close()
    with pytest.raises(ProcessorClosedError):
        batch.stream("q")


async def test_a_generator_and_a_plain_handler_cannot_replace_each_other_while_requests_are_pending():
    handler = Driven()
    batch = make(handler)
    reader = start(batch, "q")
    await settle()

    async def plain(requests):
        return requests

    with pytest.raises(ValueError, match="cannot replace each other while requests are pending"):
        batch.handler = plain
    handler.put(end_all)
    assert await reader == ([], None)
    batch.handler = plain  # idle: fine
    assert await batch.process("x") == "x"
    await finish(batch)


async def test_close_with_a_timeout_fails_a_running_stream_after_its_chunks():
    handler = Driven()
    batch = make(handler)
    reader = start(batch, "q")
    await settle()
    handler.put(chunk(0))
    await settle()
    await batch.close(timeout=1)
    chunks, error = await reader
    assert chunks == ["q.0"] and type(error) is ProcessorClosedError
    assert str(error) == "the stream was aborted: the processor closed"
    assert handler.closed == 1
    assert_no_task_left()


async def test_close_waits_for_running_streams_to_finish():
    handler = Driven()
    batch = make(handler)
    reader = start(batch, "q")
    await settle()
    closing = asyncio.ensure_future(batch.close())
    await settle()
    assert not closing.done()
    handler.put(chunk(0))
    handler.put(end_all)
    await closing
    assert await reader == (["q.0"], None)
    assert_no_task_left()
