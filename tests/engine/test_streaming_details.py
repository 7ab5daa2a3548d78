"""Streaming details pinned one by one: what each caller's deadline tells the dispatch policy, scopes and dedup
carried by every way in (``stream``, ``process``, ``process_streaming``), who still counts as interested in a
stream (handed callers not reading yet, late joiners, declines), the error objects each reader raises, the
exact counters, messages and task names, and the lag bound of a reader (killing the streaming group's mutation
survivors, issue 16).

As in ``test_streaming.py``, the handler is driven step by step on looptime's fake clock; no test sleeps and
hopes.
"""

from __future__ import annotations

import asyncio
import gc
import math
import threading

import pytest
from batchsieve import (
    BatchProcessingError,
    BatchProcessor,
    ProcessingTimeoutError,
    ProcessorClosedError,
    RequestTimeoutError,
    StreamOverflowError,
)
from batchsieve._streams import ENDED, FAILED, RUNNING, LiveStreams, Upstream
from batchsieve.stats import StatsCollector

from .test_engine_details import DeadlinePolicy, StatePolicy
from .test_faults import (  # noqa: F401 -- no_asyncio_warning is an autouse fixture
    assert_no_task_left,
    no_asyncio_warning,
)
from .test_streaming import END, Driven, chunk, end_all, finish, gated, make, settle, start

pytestmark = pytest.mark.looptime


def same(a, b):
    return 1.0  # a custom dedup function that calls every pair the same question


# ---------------------------------------------------------------- what the dispatch policy is told


async def _deadline_seen(call) -> float:
    """The earliest caller deadline the policy saw for one call (relative to when it was made)."""
    loop = asyncio.get_running_loop()
    policy = DeadlinePolicy()
    handler = Driven()
    batch = BatchProcessor(handler, policy=policy, dedup_strategy="exact")
    t0 = loop.time()
    task = asyncio.ensure_future(call(batch))
    await settle()
    handler.put(chunk(0))
    handler.put(end_all)
    await task
    await finish(batch)
    return policy.deadlines[0] - t0


async def _read(stream):
    return [c async for c in stream]


@pytest.mark.parametrize(("call", "deadline"), [
    (lambda b: _read(b.stream("q", timeout=5, stream_timeout=8)), 5.0),  # the first chunk's bound first
    (lambda b: _read(b.stream("q", timeout=5)), 5.0),
    (lambda b: _read(b.stream("q", stream_timeout=8)), 8.0),  # else the stream's
    (lambda b: _read(b.stream("q")), math.inf),
    (lambda b: b.process("q", timeout=3), 3.0),  # process() on a generator handler: its own call timeout
    (lambda b: b.process(["q", "r"], timeout=3), 3.0),
    (lambda b: _read_each(b.process_streaming(["q"], timeout=4)), 4.0),
])
async def test_each_callers_wait_bound_is_the_deadline_the_policy_sees(call, deadline):
    seen = await _deadline_seen(call)
    assert seen == pytest.approx(deadline) if deadline != math.inf else seen == math.inf


async def _read_each(results):
    return [r async for r in results]


# ---------------------------------------------------------------- scopes and dedup, by every way in


async def _calls_for(calls, **kwargs) -> list:
    handler = Driven()
    batch = make(handler, window_ms=10, **kwargs)
    tasks = [asyncio.ensure_future(c(batch)) for c in calls]
    await settle()
    handler.put(chunk(0))
    handler.put(end_all)
    await asyncio.gather(*tasks)
    await finish(batch)
    return handler.calls


@pytest.mark.parametrize("first", [
    lambda b: _read(b.stream("a", scope="x")),
    lambda b: b.process("a", scope="x"),
    lambda b: _read_each(b.process_streaming(["a"], scope="x")),
])
async def test_a_scope_keeps_semantic_merges_apart_by_every_way_in(first):
    calls = await _calls_for([first, lambda b: _read(b.stream("b"))], dedup_function=same, dedup_strategy=None)
    assert calls == [["a", "b"]]  # without the scope they would merge (the function calls every pair the same)


@pytest.mark.parametrize("first", [
    lambda b: b.process("a", scope="x"),
    lambda b: _read_each(b.process_streaming(["a"], scope="x")),
])
async def test_a_scope_keeps_exact_duplicates_apart_for_process_and_process_streaming(first):
    assert await _calls_for([first, lambda b: _read(b.stream("a"))]) == [["a", "a"]]


async def test_process_streaming_dedups_exact_duplicates_by_default():
    handler = Driven()
    batch = make(handler)
    handler.put(chunk(0))
    handler.put(end_all)
    results = [r async for r in batch.process_streaming(["a", "a"])]
    assert sorted((r.index, r.value, r.error) for r in results) == [(0, ["a.0"], None), (1, ["a.0"], None)]
    assert handler.calls == [["a"]]
    await finish(batch)


async def test_process_on_one_request_of_several_characters_is_one_request():
    handler = Driven()
    batch = make(handler)
    handler.put(chunk(0))
    handler.put(end_all)
    assert await batch.process("ab") == ["ab.0"]
    assert handler.calls == [["ab"]]
    await finish(batch)


async def test_process_streaming_carries_its_priority():
    handler = Driven()
    batch = make(handler, enable_priorities=True, max_size=1, max_concurrent_batches=1)
    first = start(batch, "first")  # holds the only handler slot
    await settle()
    low = start(batch, "low")
    await settle()
    high = asyncio.ensure_future(_read_each(batch.process_streaming(["high"], priority=5)))
    await settle()
    handler.put(end_all)
    await first
    await settle()
    assert handler.calls == [["first"], ["high"]]
    handler.put(end_all, call=1)
    await high
    await settle()
    handler.put(end_all, call=2)
    assert await low == ([], None)
    assert handler.calls == [["first"], ["high"], ["low"]]
    await finish(batch)


# ---------------------------------------------------------------- who is still interested


async def test_a_late_joiner_leaving_does_not_abandon_a_stream_a_handed_caller_has_not_read_yet():
    handler = Driven()
    batch = make(handler)
    reader = start(batch, "q", stop_after=1)
    handed = batch.stream("q")
    handed.open()  # handed its stream with the batch, reads it later
    await settle()
    handler.put(chunk(0))
    await settle()
    assert reader.result() == (["q.0"], None)
    joiner = start(batch, "q", stop_after=1)  # mid-stream: not one of the handed callers
    await settle()
    assert joiner.result() == (["q.0"], None)
    assert handler.closed == 0
    handler.put(chunk(1))
    handler.put(end_all)
    assert await _read(handed) == ["q.0", "q.1"]
    stats = batch.get_stats()
    assert stats.streams_closed_early == 0 and stats.stream_subscribers == 3
    await finish(batch)


async def test_a_handed_caller_declining_counts_once():
    handler = Driven()
    batch = make(handler)
    reader = start(batch, "q", stop_after=1)
    handed = batch.stream("q")
    handed.open()
    decliner = batch.stream("q")
    decliner.open()
    await settle()
    await decliner.aclose()  # handed its stream, never read it
    handler.put(chunk(0))
    await settle()
    assert reader.result() == (["q.0"], None)
    assert handler.closed == 0  # `handed` still counts
    handler.put(end_all)
    assert await _read(handed) == ["q.0"]
    await finish(batch)


async def test_semantic_merges_add_up_the_callers_expected_on_one_stream():
    handler = Driven()
    batch = BatchProcessor(handler, dedup_function=same, window_ms=10)
    merged = batch.stream("password reset, how?")
    merged.open()  # handed its stream with the batch, reads it later
    reader = start(batch, "how do I reset my password", stop_after=1)
    while not handler.calls:  # the dedup step runs on the processor's thread
        await asyncio.sleep(0.001)
    await settle()
    assert handler.calls == [["password reset, how?"]]  # one stream for the two entries
    handler.put(["c0"])
    await settle()
    assert reader.result() == (["c0"], None)
    assert handler.closed == 0  # the merged caller still counts
    handler.put(end_all)
    assert await _read(merged) == ["c0"]
    await finish(batch)


async def test_a_dropped_joiner_leaves_on_collection_and_the_stream_is_abandoned():
    handler = Driven()
    batch = make(handler)
    reader = start(batch, "q", stop_after=1)
    await settle()
    joiner = batch.stream("q")
    joiner.open()  # joins the running stream
    handler.put(chunk(0))
    assert await joiner.__anext__() == "q.0"
    assert await reader == (["q.0"], None)  # the joiner is the last reader now
    assert handler.closed == 0
    del joiner
    gc.collect()
    await settle()
    assert handler.closed == 1
    assert batch.get_stats().streams_closed_early == 1
    await finish(batch)


async def test_a_dropped_queued_stream_gives_up_its_place():
    gate = asyncio.Event()
    handler = Driven()
    batch = make(gated(gate, handler), window_ms=10)
    waiting = batch.stream("q")
    waiting.open()
    del waiting
    gc.collect()
    await settle()
    stats = batch.get_stats()
    assert stats.cancelled_requests == 1 and stats.total_batches == 0
    gate.set()
    await finish(batch)
    assert handler.calls == []


async def test_aclose_while_another_task_waits_for_the_first_chunk_wakes_it():
    handler = Driven()
    batch = make(handler, window_ms=10)
    stream = batch.stream("q")
    waiter = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0.001)  # queued, window still open
    await stream.aclose()
    await asyncio.sleep(0.001)
    assert waiter.done() and waiter.cancelled()
    await settle()
    assert batch.get_stats().cancelled_requests == 1
    await finish(batch)


async def test_a_caller_dropped_before_the_call_leaves_the_other_entries_of_its_batch_their_streams():
    handler = Driven()
    batch = make(handler, max_concurrent_batches=1, window_ms=10)
    first = start(batch, "first")  # holds the only slot
    await settle()
    gone = start(batch, "gone")
    kept = start(batch, "kept")
    await settle()  # dispatched together, waiting for the slot
    gone.cancel()
    await settle()
    handler.put(end_all)
    await first
    await settle()
    assert handler.calls == [["first"], ["kept"]]
    handler.put(chunk(0), call=1)
    handler.put(end_all, call=1)
    assert await kept == (["kept.0"], None)
    assert batch.get_stats().streams_closed_early == 0
    await finish(batch)


# ---------------------------------------------------------------- errors: objects, fields, counters, messages


async def test_every_reader_of_a_failed_batch_raises_its_own_copy():
    async def handler(requests):
        yield [f"{r}.0" for r in requests]
        raise KeyError("gpu fell over")

    batch = make(handler)
    one, two = start(batch, "q"), start(batch, "q")
    (c1, e1), (c2, e2) = await one, await two
    assert c1 == c2 == ["q.0"]
    assert type(e1) is type(e2) is BatchProcessingError and e1 is not e2
    assert str(e1) == str(e2) == "the streaming handler raised KeyError: 'gpu fell over' (after 1 steps, batch of 1 " \
                                 "requests)"
    assert e1.batch_size == e2.batch_size == 1
    assert type(e1.original) is KeyError and e1.original is e2.original
    await finish(batch)


async def test_a_special_slot_value_is_copied_per_reader():
    handler = Driven()
    batch = make(handler)
    one, two = start(batch, "q"), start(batch, "q")
    await settle()
    cancelled = asyncio.CancelledError()
    handler.put([cancelled])
    (c1, e1), (c2, e2) = await one, await two
    assert (c1, c2) == ([], [])
    assert type(e1) is type(e2) is BatchProcessingError and e1 is not e2
    assert str(e1) == str(e2) == "handler returned CancelledError in result slot 0"
    assert e1.original is cancelled
    await finish(batch)


async def test_a_generator_raising_cancelled_error_carries_it_and_the_errors_add_up():
    async def handler(requests):
        yield [f"{r}.0" for r in requests]
        if requests == ["boom"]:
            raise KeyError("k")
        raise asyncio.CancelledError

    batch = make(handler)
    assert (await start(batch, "boom"))[1].__class__ is BatchProcessingError
    chunks, error = await start(batch, "q")
    assert chunks == ["q.0"] and type(error) is BatchProcessingError
    assert type(error.original) is asyncio.CancelledError and error.__cause__ is error.original
    assert error.batch_size == 1
    assert batch.get_stats().errors == 2
    assert (await start(batch, "boom"))[1].__class__ is BatchProcessingError
    assert batch.get_stats().errors == 3
    await finish(batch)


async def test_malformed_steps_carry_the_batch_size():
    handler = Driven()
    batch = make(handler, window_ms=10)
    readers = [start(batch, "a"), start(batch, "b")]
    await settle()
    handler.put(["x"])  # one item for two requests
    errors = [e for _, e in await asyncio.gather(*readers)]
    assert [(type(e), e.batch_size) for e in errors] == [(BatchProcessingError, 2)] * 2
    readers = [start(batch, "a"), start(batch, "b")]
    await settle()
    handler.put("xy", call=1)
    errors = [e for _, e in await asyncio.gather(*readers)]
    assert [(type(e), e.batch_size, str(e)) for e in errors] == [
        (BatchProcessingError, 2, "the streaming handler's step 1 is a str, not a list of 2 items")] * 2
    assert batch.get_stats().errors == 2
    await finish(batch)


async def test_the_processing_timeout_adds_to_the_timeouts_counted_before():
    handler = Driven()
    batch = make(handler, processing_timeout=5)
    impatient = start(batch, "q", timeout=1)
    _, error = await impatient
    assert type(error) is RequestTimeoutError
    assert batch.get_stats().timeouts == 1
    _, error = await start(batch, "q")
    assert type(error) is ProcessingTimeoutError
    assert batch.get_stats().timeouts == 2
    await finish(batch)


async def test_request_and_stream_timeouts_add_up():
    handler = Driven()
    batch = make(handler, processing_timeout=None)
    readers = [start(batch, "q", timeout=1), start(batch, "q", stream_timeout=2), start(batch, "q")]
    await asyncio.sleep(3)
    assert [type(r.result()[1]) for r in readers[:2]] == [RequestTimeoutError] * 2
    assert batch.get_stats().timeouts == 2
    handler.put(end_all)
    assert await readers[2] == ([], None)
    await finish(batch)


async def test_a_stream_opened_after_close_is_refused_with_the_message():
    handler = Driven()
    batch = make(handler)
    stream = batch.stream("q")
    await batch.close()
    with pytest.raises(ProcessorClosedError) as info:
        await stream.__anext__()
    assert str(info.value) == "BatchProcessor is closed; it accepts no new requests"


async def test_a_streaming_handler_that_returns_no_generator_fails_its_batch():
    class Handler:
        async def __call__(self, requests):
            yield [END for _ in requests]

    batch = make(Handler())
    Handler.__call__ = lambda self, requests: list(requests)  # swapped after the processor took it
    chunks, error = await start(batch, "q")
    assert chunks == [] and type(error) is BatchProcessingError
    assert str(error) == "a streaming handler must return an async generator, returned list"
    assert error.batch_size == 1
    await finish(batch)


async def test_streams_started_and_answers_add_up_over_batches():
    handler = Driven()
    batch = make(handler)
    for call in range(2):
        reader = start(batch, "q")
        await settle()
        handler.put(chunk(0), call=call)
        await settle()
        joiner = start(batch, "q")  # mid-stream: answered at once, by the running batch
        await settle()
        handler.put(end_all, call=call)
        assert await reader == (["q.0"], None) and await joiner == (["q.0"], None)
    stats = batch.get_stats()
    assert stats.streams_started == 2
    assert stats.completed_requests == 4 and stats.total_batches == 2
    assert stats.avg_requests_per_batch == 2.0  # each batch answered its caller and its joiner
    assert stats.merges["exact_inflight"] == 2
    await finish(batch)


# ---------------------------------------------------------------- process() and process_streaming() time limits


async def test_process_timeouts_count_once_each_and_say_how_many_were_left():
    handler = Driven()
    batch = make(handler, processing_timeout=None, window_ms=10)
    with pytest.raises(RequestTimeoutError, match=r"^request not answered within timeout=2.0s$"):
        await batch.process("a", timeout=2)
    assert batch.get_stats().timeouts == 1
    handler.put(None)
    task = asyncio.ensure_future(batch.process(["c", "d"], timeout=2))
    await settle()
    handler.put(lambda rs: [END if r == "c" else f"{r}.0" for r in rs], call=1)
    with pytest.raises(RequestTimeoutError) as info:
        await task
    assert str(info.value) == "1 of 2 requests not answered within timeout=2.0s"
    assert batch.get_stats().timeouts == 2
    handler.put(None, call=1)
    await finish(batch)


async def test_process_streaming_times_out_the_rest_at_its_deadline_in_order():
    loop = asyncio.get_running_loop()
    await asyncio.sleep(10)  # the clock is not at zero
    handler = Driven()
    batch = make(handler, processing_timeout=None, window_ms=10)
    seen = []

    async def consume():
        async for result in batch.process_streaming(["a", "b", "c", "d"], timeout=2):
            seen.append((loop.time() - t0, result.index, result.value, type(result.error)))

    t0 = loop.time()
    task = asyncio.ensure_future(consume())
    await asyncio.sleep(1.6)
    names = {t.get_name() for t in asyncio.all_tasks()}
    assert "batchsieve-collect" in names and "batchsieve-stream" in names
    handler.put(lambda rs: [END if r in ("a", "b") else f"{r}.0" for r in rs])  # two end in one step
    await asyncio.sleep(1.0)  # past the deadline (t0 + 2)
    assert task.done()
    await task
    assert [(i, v, e) for _, i, v, e in seen] == [(0, [], type(None)), (1, [], type(None)),
                                                  (2, None, RequestTimeoutError), (3, None, RequestTimeoutError)]
    assert seen[0][0] == pytest.approx(1.6, abs=0.02)
    assert seen[2][0] == pytest.approx(2.0, abs=0.02) and seen[3][0] == pytest.approx(2.0, abs=0.02)
    assert batch.get_stats().timeouts == 2
    await settle()
    assert handler.closed == 1  # "c" and "d" lost their only readers
    await finish(batch)


async def test_process_streaming_timeout_messages_name_the_request():
    handler = Driven()
    batch = make(handler, processing_timeout=None)
    results = [r async for r in batch.process_streaming(["a"], timeout=2)]
    assert [(r.index, r.value, type(r.error), str(r.error)) for r in results] == [
        (0, None, RequestTimeoutError, "request 0 not answered within timeout=2.0s")]
    await settle()
    await finish(batch)


async def test_process_streaming_without_a_timeout_waits_for_the_end():
    handler = Driven()
    batch = make(handler, processing_timeout=None)
    task = asyncio.ensure_future(_read_each(batch.process_streaming(["a"])))
    await asyncio.sleep(1000)
    assert not task.done()
    handler.put(chunk(0))
    handler.put(end_all)
    results = await task
    assert [(r.index, r.value, r.error) for r in results] == [(0, ["a.0"], None)]
    await finish(batch)


async def test_leaving_process_streaming_early_retrieves_the_failures_nobody_read():
    handler = Driven()
    batch = make(handler, window_ms=10)
    handler.put(lambda rs: [END if r == "a" else ValueError(r) for r in rs])
    results = batch.process_streaming(["a", "b", "c"])
    async for result in results:
        assert result.index == 0
        break
    await results.aclose()
    await settle()
    await finish(batch)


# ---------------------------------------------------------------- the lag bound, and ready()


def _upstream() -> tuple[Upstream, StatsCollector]:
    stats = StatsCollector()
    return Upstream(stats, LiveStreams(), lambda: None), stats


async def test_a_reader_exactly_buffer_chunks_behind_is_not_cut_off():
    up, stats = _upstream()
    up.expected = 2
    keep = up.subscribe(100, handed=True)  # another reader, keeping the stream running
    sub = up.subscribe(2, handed=True)
    for k in range(2):
        up.push(k)
    assert await sub.next() == 0  # two behind: fine
    up.push(2)
    assert await sub.next() == 1  # two behind again (pos 1, three chunks)
    up.push(3)
    up.push(4)
    with pytest.raises(StreamOverflowError, match=r"buffer=2 chunks behind its stream and was cut off after 2 chunks"):
        await sub.next()  # three behind
    assert stats.stream_overflows == 1
    other = up.subscribe(1, handed=False)  # a late joiner: the replayed chunks are no lag
    assert [await other.next() for _ in range(5)] == [0, 1, 2, 3, 4]
    up.push(5)
    up.push(6)
    with pytest.raises(StreamOverflowError):
        await other.next()
    assert stats.stream_overflows == 2
    assert up.state == RUNNING and up.subscribers == 1
    keep.close()


async def test_ready_says_whether_next_would_wait():
    up, _ = _upstream()
    up.expected = 2
    sub = up.subscribe(10, handed=True)
    keep = up.subscribe(10, handed=True)
    assert sub.ready() is False  # nothing to read, still running
    up.push("a")
    assert sub.ready() is True
    assert await sub.next() == "a"
    assert sub.ready() is False
    up.end()
    assert up.state == ENDED and sub.ready() is True
    with pytest.raises(StopAsyncIteration):
        await sub.next()
    assert sub.closed is True and sub.ready() is True
    up2, _ = _upstream()
    up2.expected = 1
    s2 = up2.subscribe(10, handed=True)
    up2.fail(ValueError("x"), own=False)
    assert up2.state == FAILED and s2.ready() is True
    keep.close()


async def test_an_engine_error_is_raised_as_a_copy_and_a_slot_error_as_is():
    up, _ = _upstream()
    up.expected = 1
    sub = up.subscribe(10, handed=True)
    err = ValueError("engine")
    up.fail(err, own=True)
    with pytest.raises(ValueError) as info:
        await sub.next()
    assert info.value is not err and str(info.value) == "engine"
    up2, _ = _upstream()
    up2.expected = 1
    sub2 = up2.subscribe(10, handed=True)
    up2.fail(err, own=False)
    with pytest.raises(ValueError) as info:
        await sub2.next()
    assert info.value is err


async def test_an_entry_dropped_during_its_dedup_step_leaves_the_later_entries_their_streams():
    gate = threading.Event()

    def held(a, b):
        gate.wait(10)  # the dedup step (on the processor's thread) waits for the test
        return 0.0

    handler = Driven()
    batch = BatchProcessor(handler, dedup_function=held, window_ms=10)
    gone = start(batch, "gone")
    kept = start(batch, "kept")
    await asyncio.sleep(0.05)  # dispatched together: the dedup step is running
    assert handler.calls == []
    gone.cancel()
    await settle()
    gate.set()
    while not handler.calls:
        await asyncio.sleep(0.001)
    assert handler.calls == [["kept"]]  # "gone" was dropped before the call
    handler.put(chunk(0))
    handler.put(end_all)
    assert await kept == (["kept.0"], None)
    stats = batch.get_stats()
    assert stats.streams_closed_early == 0 and stats.dropped_before_call == 1
    await finish(batch)


async def test_when_every_reader_left_the_batch_ends_normally_and_the_processor_serves_on():
    policy = StatePolicy(0.0)
    handler = Driven()
    batch = BatchProcessor(handler, policy=policy, dedup_strategy="exact")
    reader = start(batch, "q", stop_after=1)
    await settle()
    handler.put(chunk(0))
    assert await reader == (["q.0"], None)
    await settle()
    assert handler.closed == 1
    assert [r.failed for r in policy.records] == [False]  # abandoned, not failed nor cancelled
    stats = batch.get_stats()
    assert (stats.errors, stats.failed_requests, stats.streams_closed_early) == (0, 0, 1)
    again = start(batch, "q")
    await settle()
    handler.put(chunk(1), call=1)
    handler.put(end_all, call=1)
    assert await again == (["q.1"], None)
    await finish(batch)


@pytest.mark.looptime
async def test_a_generator_raising_while_being_closed_is_logged_and_its_readers_keep_their_chunks(caplog):
    import logging

    from batchsieve import BatchProcessor

    async def handler(requests):
        try:
            yield [f"{r}-1" for r in requests]
            yield [StopIteration() for _ in requests]
            await asyncio.sleep(3600)  # never reached by the readers: the pump closes the generator here
            yield [None for _ in requests]
        finally:
            raise RuntimeError("backend cleanup failed")

    batch = BatchProcessor(handler, dedup_strategy="exact", window_ms=1)
    with caplog.at_level(logging.ERROR, logger="batchsieve"):
        chunks = [c async for c in batch.stream("q")]
        await batch.close()
    assert chunks == ["q-1"]
    assert [r.getMessage() for r in caplog.records if r.name == "batchsieve"] == [
        "the streaming handler raised while being closed"]
