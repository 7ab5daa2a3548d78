"""Regression tests for the reliability defects: one test (or a few) per defect, each failing on the bug it
names. Timing runs on looptime's fake clock, except where a real worker thread must be blocked on purpose
(hung sync handlers): those gate on ``threading.Event`` and use real time only as an upper bound.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import threading
import unicodedata
from fractions import Fraction

import numpy as np
import pytest
from batchsieve import (
    BatchProcessingError,
    BatchProcessor,
    BatchTimeoutError,
    ProcessingTimeoutError,
    ProcessorClosedError,
    QueueFullError,
    ReentrantCallError,
    RequestTimeoutError,
    WrongEventLoopError,
    normalize_text,
)
from batchsieve.normalize import KEPT_RANGES
from batchsieve.queue import RequestQueue
from batchsieve.request import Entry
from hypothesis import given, settings
from hypothesis import strategies as st

from ..dedup.test_strategies import FakeEncoder, encoder_with


def exact(handler, **kwargs) -> BatchProcessor:
    kwargs.setdefault("dedup_strategy", "exact")
    return BatchProcessor(handler, **kwargs)


async def echo(requests):
    return [f"answer to {r}" for r in requests]


def conserved(batch: BatchProcessor) -> bool:
    s = batch.get_stats()
    return s.total_requests == s.completed_requests + s.failed_requests + s.cancelled_requests


# ------------------------------------------------------------------ 1. memory under saturation


def test_lazy_deletion_records_stay_bounded_while_the_queue_never_drains():
    q = RequestQueue(priorities=True)
    seq = 0
    peak = 0
    for round_ in range(2_000):
        for _ in range(8):  # 8 arrivals, each with a deadline and a later priority bump
            seq += 1
            e = Entry(f"q{seq}", f"q{seq}", f"q{seq}", (), None, f"q{seq}", seq % 3, seq, float(round_), object())
            q.push(e)
            q.add_deadline(e, round_ + 100.0 + seq % 7)
            q.raise_priority(e, 5)
        q.take(8, now=float(round_), max_wait=1e9)  # 8 leave: the queue stays at the same depth, never empty
        peak = max(peak, len(q._heap), len(q._deadlines), len(q._arrivals))
    assert len(q) == 0 or len(q) <= 16
    assert peak <= 2 * 16 + 64 + 8  # without compaction: ~16,000 deadline and ~32,000 heap records


@pytest.mark.looptime
async def test_saturated_engine_keeps_its_queue_records_bounded():
    batch = exact(echo, window_ms=1, max_size=4, max_queue_size=64, enable_priorities=True)
    queue = batch._queue
    peak = 0

    async def client(i: int) -> None:
        nonlocal peak
        for k in range(60):
            await batch.process(f"c{i}-{k}", priority=k % 3, timeout=30.0)
            peak = max(peak, len(queue._heap), len(queue._deadlines), len(queue._arrivals))

    async with batch:
        await asyncio.gather(*[client(i) for i in range(60)])  # 60 callers for 4 slots: always saturated
    assert batch.get_stats().completed_requests == 3_600
    assert peak <= 2 * 60 + 64 + 1


# ------------------------------------------------------------------ 2 and 3. hung sync handlers


def test_a_hung_sync_handler_keeps_its_slot_reports_it_and_never_exceeds_the_limit():
    release = threading.Event()
    running = 0
    peak = 0
    lock = threading.Lock()

    def handler(requests):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            if requests[0] == "hang":
                release.wait(30)
            return [f"answer to {r}" for r in requests]
        finally:
            with lock:
                running -= 1

    async def scenario() -> tuple:
        batch = exact(handler, window_ms=0, max_concurrent_batches=1, processing_timeout=0.05)
        with pytest.raises(ProcessingTimeoutError, match=r"processing_timeout=0\.05"):
            await batch.process("hang")
        stuck = batch.get_stats().stuck_handler_calls
        waiting = asyncio.ensure_future(batch.process("next"))
        await asyncio.sleep(0.1)  # real time: longer than processing_timeout, the slot is still held
        held_while_stuck = not waiting.done()
        release.set()  # the hung thread returns, its slot goes back, the next batch runs
        answer = await asyncio.wait_for(waiting, 10)
        await batch.close()
        return stuck, held_while_stuck, answer, batch.get_stats().stuck_handler_calls

    assert asyncio.run(scenario()) == (1, True, "answer to next", 0)
    assert peak == 1  # max_concurrent_batches=1 held, even past the timeout


def test_asyncio_run_returns_although_a_sync_handler_thread_still_hangs():
    release = threading.Event()

    def handler(requests):
        release.wait(60)
        return requests

    outcome: list[type] = []

    async def scenario() -> None:
        batch = exact(handler, window_ms=0, processing_timeout=0.05)
        try:
            await batch.process("x")
        except BaseException as exc:
            outcome.append(type(exc))

    runner = threading.Thread(target=asyncio.run, args=(scenario(),))
    runner.start()
    runner.join(10)  # an upper bound, not a sleep: asyncio.run must not wait for the hung worker thread
    try:
        assert not runner.is_alive()
        assert outcome == [ProcessingTimeoutError]
    finally:
        release.set()


# ------------------------------------------------------------------ 4. the handler's own TimeoutError


async def test_the_handlers_own_timeout_is_a_handler_failure():
    async def handler(requests):
        raise TimeoutError("backend read timed out")

    batch = exact(handler, window_ms=0, processing_timeout=None)
    with pytest.raises(BatchProcessingError, match="handler raised TimeoutError: backend read timed out") as info:
        await batch.process("x")
    assert not isinstance(info.value, BatchTimeoutError)
    assert isinstance(info.value.__cause__, TimeoutError) and info.value.original is info.value.__cause__
    assert "None" not in str(info.value)


@pytest.mark.looptime
async def test_caller_and_processing_timeouts_are_two_leaves():
    async def slow(requests):
        await asyncio.sleep(10)
        return requests

    batch = exact(slow, window_ms=0, processing_timeout=1.0)
    with pytest.raises(RequestTimeoutError):
        await batch.process("a", timeout=0.5)
    with pytest.raises(ProcessingTimeoutError):
        await batch.process("b")
    assert issubclass(RequestTimeoutError, BatchTimeoutError) and issubclass(ProcessingTimeoutError, TimeoutError)


# ------------------------------------------------------------------ 5. special values in result slots


@pytest.mark.parametrize("special", [StopIteration(), asyncio.CancelledError(), KeyboardInterrupt(), SystemExit(3),
                                     GeneratorExit()])
async def test_a_special_value_in_one_slot_fails_that_request_only(special):
    async def handler(requests):
        return [special if r == "bad" else f"answer to {r}" for r in requests]

    batch = exact(handler, window_ms=5, max_size=3)
    results = await batch.process(["a", "bad", "c"], return_exceptions=True)
    assert results[0] == "answer to a" and results[2] == "answer to c"
    assert isinstance(results[1], BatchProcessingError) and results[1].original is special
    assert f"returned {type(special).__name__} in result slot" in str(results[1])
    stats = batch.get_stats()
    assert (stats.completed_requests, stats.failed_requests, stats.cancelled_requests) == (2, 1, 0)
    assert await batch.process("after") == "answer to after"  # still serving


async def test_a_handler_raising_cancelled_error_is_a_handler_failure_on_an_open_processor():
    async def handler(requests):
        raise asyncio.CancelledError("sub-call cancelled")

    batch = exact(handler, window_ms=0)
    with pytest.raises(BatchProcessingError) as info:
        await batch.process("x")
    assert isinstance(info.value.original, asyncio.CancelledError)
    assert not batch.closed


def test_keyboard_interrupt_or_system_exit_in_a_sync_handler_thread_does_not_stop_the_loop():
    def handler(requests):
        if requests[0] == "exit":
            raise SystemExit(1)
        raise KeyboardInterrupt

    async def scenario() -> list:
        batch = exact(handler, window_ms=0)
        out = []
        for text in ("exit", "interrupt"):
            try:
                await batch.process(text)
            except BatchProcessingError as exc:
                out.append(type(exc.original))
        return out

    assert asyncio.run(scenario()) == [SystemExit, KeyboardInterrupt]


async def test_keyboard_interrupt_from_the_encoder_falls_back_to_exact():
    batch = BatchProcessor(echo, window_ms=5, encoder=FakeEncoder(fail=KeyboardInterrupt()))
    assert await batch.process(["one", "two"]) == ["answer to one", "answer to two"]
    stats = batch.get_stats()
    assert stats.dedup_failures == 1 and "KeyboardInterrupt" in stats.dedup["last_failure"]


# ------------------------------------------------------------------ 6. normalisation never merges different questions


@pytest.mark.parametrize(("a", "b"), [("What is 2³?", "What is 23?"), ("x² + 1", "x2 + 1"), ("10⁵ users", "105 users"),
                                      ("H₂O", "H2O"), ("Maße", "Masse"), ("1½ cups", "11⁄2 cups")])
def test_normalisation_keeps_what_changes_the_question(a, b):
    assert normalize_text(a) != normalize_text(b)


@pytest.mark.parametrize(("a", "b"), [("Ｈｅｌｌｏ", "hello"), ("ﬁle", "file"), ("MASSE", "masse"),
                                      ("STRAẞE", "straße"), ("a\u00a0b", "a b"), ("Step ①", "step 1")])
def test_normalisation_still_folds_width_ligatures_case_and_spaces(a, b):
    assert normalize_text(a) == normalize_text(b)


def test_kept_ranges_are_exactly_the_superscripts_subscripts_and_fractions_of_this_unicode():
    import sys

    kept = [c for c in range(sys.maxunicode + 1)
            if unicodedata.decomposition(chr(c)).startswith(("<super>", "<sub>", "<fraction>"))]
    assert kept == [c for a, b in KEPT_RANGES for c in range(a, b + 1)]


_KEPT_CHARS = [chr(c) for a, b in KEPT_RANGES for c in range(a, b + 1)]


@settings(max_examples=200, deadline=None)
@given(prefix=st.text(max_size=12), kept=st.sampled_from(_KEPT_CHARS), suffix=st.text(max_size=12))
def test_a_superscript_subscript_or_fraction_never_equals_its_folded_form(prefix, kept, suffix):
    folded = unicodedata.normalize("NFKC", kept)
    assert normalize_text(prefix + kept + suffix) != normalize_text(prefix + folded + suffix)


# ------------------------------------------------------------------ 7. scopes and field keys are typed


async def test_scopes_of_different_types_never_merge():
    seen: list[list] = []

    async def handler(requests):
        seen.append(list(requests))
        return list(requests)

    batch = exact(handler, window_ms=5, max_size=16)
    scopes = [1, True, 1.0, 0, -0.0, False, Fraction(1, 2), 0.5, (1, 2), (True, 2), None]
    results = await asyncio.gather(*[batch.process("same question", scope=s) for s in scopes])
    assert results == ["same question"] * len(scopes)
    assert len(seen[0]) == len(scopes)  # one handler slot per scope: none shared
    assert batch.get_stats().merges.get("exact_queued", 0) == 0


async def test_dict_keys_of_different_types_never_merge():
    batch = exact(lambda rs: [dict(r) for r in rs], window_ms=5, max_size=8)
    a, b = {"query": "q", 1: "x"}, {"query": "q", True: "x"}
    ra, rb = await asyncio.gather(batch.process(a), batch.process(b))
    assert ra == a and rb == b and 1 in ra and True in rb
    assert batch.get_stats().handler_requests == 2


# ------------------------------------------------------------------ 8. every check before anything is enqueued


@pytest.mark.parametrize("timeout", [10**400, math.inf, math.nan, -1, 0])
async def test_a_bad_timeout_is_refused_before_anything_is_queued(timeout):
    batch = exact(echo, window_ms=0)
    with pytest.raises(ValueError, match="timeout must be > 0 seconds and finite"):
        await batch.process("q", timeout=timeout)
    assert batch.get_stats().queue_depth == 0 and batch.get_stats().total_requests == 0
    assert await asyncio.wait_for(batch.process("q"), 5) == "answer to q"  # no orphan to join


# ------------------------------------------------------------------ 9. a second event loop


def test_a_second_event_loop_is_refused_before_it_touches_the_queue():
    gate = threading.Event()

    async def handler(requests):
        while not gate.is_set():
            await asyncio.sleep(0.001)
        return list(requests)

    batch = exact(handler, window_ms=0)
    started = threading.Event()
    first: list = []

    def loop_a() -> None:
        async def run() -> None:
            task = asyncio.ensure_future(batch.process("on loop A"))
            while not batch.get_stats().in_flight_batches:
                await asyncio.sleep(0.001)
            started.set()
            first.append(await task)

        asyncio.run(run())

    thread = threading.Thread(target=loop_a)
    thread.start()
    assert started.wait(10)
    depth = batch.get_stats().queue_depth

    async def on_loop_b() -> None:
        with pytest.raises(WrongEventLoopError, match="busy on another event loop"):
            await batch.process("on loop B")

    asyncio.run(on_loop_b())
    assert batch.get_stats().queue_depth == depth and batch.get_stats().total_requests == 1
    gate.set()
    thread.join(10)
    assert first == ["on loop A"]


# ------------------------------------------------------------------ 10. a policy that raises


class FlakyPolicy:
    """A fixed 1 ms window whose decide() raises on chosen calls."""

    def __init__(self, fail_on: set[int], fail_arrival: bool = False) -> None:
        self.calls = 0
        self.failed = 0
        self.fail_on = fail_on
        self.fail_arrival = fail_arrival

    window_s = 0.001

    def decide(self, state):
        from batchsieve import Decision

        self.calls += 1
        if self.calls in self.fail_on:
            self.failed += 1
            raise RuntimeError("policy bug")
        return Decision(state.window_start + self.window_s, "window")

    def on_arrival(self, now):
        if self.fail_arrival:
            raise RuntimeError("arrival bug")

    def on_batch_done(self, record):
        raise RuntimeError("feedback bug")

    def snapshot(self):
        return {"policy": "flaky"}


@pytest.mark.looptime
async def test_the_dispatcher_survives_a_policy_that_raises(caplog):
    policy = FlakyPolicy(fail_on={1, 2, 3}, fail_arrival=True)
    batch = exact(echo, policy=policy)
    with caplog.at_level(logging.ERROR, logger="batchsieve"):
        results = await asyncio.wait_for(asyncio.gather(*[batch.process(f"q{i}") for i in range(5)]), 10)
    assert results == [f"answer to q{i}" for i in range(5)]
    stats = batch.get_stats()
    assert policy.failed >= 1
    # every failure counted: decide, on_arrival for each request, on_batch_done for each batch
    assert stats.policy_errors == policy.failed + 5 + stats.total_batches
    assert "dispatch policy failed" in caplog.text
    assert await asyncio.wait_for(batch.process("later"), 10) == "answer to later"


# ------------------------------------------------------------------ 11. stats conservation


async def test_a_caller_cancelled_as_its_answer_lands_is_counted_once():
    callers: list[asyncio.Task] = []

    async def handler(requests):
        # runs in the next loop iteration: after the result is set, before the caller resumes
        asyncio.get_running_loop().call_soon(callers[0].cancel)
        return list(requests)

    batch = exact(handler, window_ms=0)
    callers.append(asyncio.ensure_future(batch.process("x")))
    with pytest.raises(asyncio.CancelledError):
        await callers[0]
    stats = batch.get_stats()
    assert (stats.total_requests, stats.completed_requests, stats.cancelled_requests) == (1, 1, 0)
    assert conserved(batch)


async def test_a_caller_cancelled_before_its_answer_lands_is_counted_cancelled_only():
    callers: list[asyncio.Task] = []

    async def handler(requests):
        callers[0].cancel()  # cancels the caller's future: the result finds nobody
        return list(requests)

    batch = exact(handler, window_ms=0)
    callers.append(asyncio.ensure_future(batch.process("x")))
    with pytest.raises(asyncio.CancelledError):
        await callers[0]
    stats = batch.get_stats()
    assert (stats.total_requests, stats.completed_requests, stats.cancelled_requests) == (1, 0, 1)


# ------------------------------------------------------------------ 12. no "exception was never retrieved"


def _never_retrieved(caplog) -> list[str]:
    gc.collect()
    return [r.getMessage() for r in caplog.records if "never retrieved" in r.getMessage()]


async def test_a_failed_list_call_leaves_no_unretrieved_exception(caplog):
    async def handler(requests):
        return [ValueError(f"bad {r}") for r in requests]

    batch = exact(handler, window_ms=5, max_size=8)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        with pytest.raises(ValueError, match="bad a"):
            await batch.process(["a", "b", "c"])
        await batch.close()
        assert _never_retrieved(caplog) == []


async def test_leaving_a_stream_early_leaves_no_unretrieved_exception(caplog):
    async def handler(requests):
        return [ValueError(f"bad {r}") if r != "a" else "ok" for r in requests]

    batch = exact(handler, window_ms=5, max_size=8)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        stream = batch.process_streaming(["a", "b", "c"])
        async for _ in stream:
            break
        await stream.aclose()
        await batch.close()
        assert _never_retrieved(caplog) == []


# ------------------------------------------------------------------ 13. huge texts


async def test_huge_texts_never_reach_the_encoder_and_do_not_stall_the_batch():
    enc = encoder_with({("how do i reset my password", "how can i reset my password"): 0.995})
    batch = BatchProcessor(echo, window_ms=5, max_size=8, encoder=enc)
    huge_a, huge_b = "a" * 1_000_000, "b" * 1_000_000
    texts = ["how do i reset my password", huge_a, "how can i reset my password", huge_b]
    results = await batch.process(texts)
    assert results[0] == results[2] == "answer to how do i reset my password"  # short ones still merge
    assert results[1] == f"answer to {huge_a}" and results[3] == f"answer to {huge_b}"
    assert max(len(t) for call in enc.calls for t in call) <= batch.config.dedup_max_chars
    assert batch.get_stats().dedup_failures == 0


# ------------------------------------------------------------------ 14. cancelled work never reaches the handler


async def test_a_request_whose_callers_all_left_while_waiting_for_a_slot_is_not_sent():
    gate = asyncio.Event()
    seen: list[list] = []

    async def handler(requests):
        seen.append(list(requests))
        if requests == ["first"]:
            await gate.wait()
        return [f"answer to {r}" for r in requests]

    # hybrid is a blocking strategy: one more batch is dispatched (and deduplicated) while a call runs
    enc = encoder_with({})
    batch = BatchProcessor(handler, window_ms=0, max_size=2, encoder=enc)
    async with asyncio.timeout(10):
        first = asyncio.ensure_future(batch.process("first"))
        while not seen:
            await asyncio.sleep(0)
        doomed = asyncio.ensure_future(batch.process(["left alone", "also left"]))
        while not batch._runner._slots._waiters:  # its dedup ran (worker thread); it waits for the slot
            await asyncio.sleep(0.001)
        assert enc.calls == [["left alone", "also left"]]
        doomed.cancel()
        gate.set()
        assert await first == "answer to first"
        await batch.close()
    assert seen == [["first"]]  # the abandoned batch never reached the handler
    stats = batch.get_stats()
    assert stats.dropped_before_call == 2 and stats.cancelled_requests == 2
    assert conserved(batch)


# ------------------------------------------------------------------ 15. re-entrancy


async def test_a_handler_calling_its_own_processor_gets_a_clear_error():
    holder: list[BatchProcessor] = []

    async def handler(requests):
        return [await holder[0].process("inner") for _ in requests]

    batch = exact(handler, window_ms=0, processing_timeout=None)
    holder.append(batch)
    with pytest.raises(BatchProcessingError) as info:
        await asyncio.wait_for(batch.process("outer"), 5)
    assert isinstance(info.value.original, ReentrantCallError)


async def test_a_handler_closing_its_own_processor_gets_a_clear_error():
    holder: list[BatchProcessor] = []

    async def handler(requests):
        await holder[0].close()
        return requests

    batch = exact(handler, window_ms=0, processing_timeout=None)
    holder.append(batch)
    with pytest.raises(BatchProcessingError) as info:
        await asyncio.wait_for(batch.process("x"), 5)
    assert isinstance(info.value.original, ReentrantCallError)


async def test_a_sync_handler_calling_its_own_processor_through_the_loop_gets_a_clear_error():
    holder: list = []

    def handler(requests):
        batch, loop = holder
        return [asyncio.run_coroutine_threadsafe(batch.process("inner"), loop).result(5) for _ in requests]

    batch = exact(handler, window_ms=0, processing_timeout=None)
    holder.extend([batch, asyncio.get_running_loop()])
    with pytest.raises(BatchProcessingError) as info:
        await asyncio.wait_for(batch.process("outer"), 10)
    assert isinstance(info.value.original, ReentrantCallError)


# ------------------------------------------------------------------ 16. explain agrees with the engine


async def test_explain_refuses_what_the_engine_refuses_for_unknown_tokens():
    enc = encoder_with({("what is 🦜", "what is 🦒"): 1.0})
    enc.unknown = {"what is 🦜", "what is 🦒"}
    batch = BatchProcessor(echo, window_ms=5, encoder=enc, dedup_threshold=0.9)
    results = await batch.process(["what is 🦜", "what is 🦒"])
    assert results == ["answer to what is 🦜", "answer to what is 🦒"]  # the engine refuses the merge
    text = await asyncio.to_thread(batch.explain, "what is 🦜", "what is 🦒")
    assert "NO MERGE" in text and "[flag]" in text


async def test_explain_names_scope_field_and_length_refusals():
    batch = BatchProcessor(echo, encoder=encoder_with({}))
    assert batch.explain("q", "q", scope_a="t1", scope_b="t2") == "no merge: different scopes"
    differ = batch.explain({"query": "q", "n": 1}, {"query": "q", "n": 2})
    assert differ == "no merge: the requests' other fields differ"
    long = "x" * (batch.config.dedup_max_chars + 1)
    assert batch.explain(long, long + "y").startswith("no merge: longer than dedup_max_chars")
    assert batch.explain("Q ", "q") == "merge: identical after normalisation (exact match)"


# ------------------------------------------------------------------ 17. the smaller ones


@pytest.mark.looptime
async def test_run_time_setters_are_validated_and_take_effect():
    seen: list[int] = []

    async def handler(requests):
        seen.append(len(requests))
        return list(requests)

    batch = exact(handler, window_ms=10, max_size=8)
    batch.max_size = 3
    batch.window_ms = 20
    batch.max_wait_ms = 40
    assert (batch.max_size, batch.window_ms, batch.max_wait_ms) == (3, 20, 40)
    await asyncio.gather(*[batch.process(f"q{i}") for i in range(7)])
    assert seen == [3, 3, 1]
    with pytest.raises(ValueError, match="max_size must be >= 1"):
        batch.max_size = 0
    with pytest.raises(TypeError, match="max_size must be an int"):
        batch.max_size = "4"
    with pytest.raises(ValueError, match=r"max_wait_ms \(10\) must be >= window_ms \(20\)"):
        batch.max_wait_ms = 10
    with pytest.raises(AttributeError):
        batch.max_batch = 3  # an unknown attribute is refused, not silently kept
    with pytest.raises(ValueError, match="only change at run time with the fixed window"):
        BatchProcessor(handler, adaptive=True, dedup_strategy="exact").window_ms = 30


def test_sync_generator_handlers_are_refused_at_construction_and_async_ones_stream():
    async def agen(requests):
        yield requests

    def gen(requests):
        yield requests

    with pytest.raises(TypeError, match="not a sync generator function"):
        BatchProcessor(gen)
    assert BatchProcessor(agen).handler.func is agen  # a streaming handler (tests/engine/test_streaming.py)


@pytest.mark.looptime
async def test_close_with_a_timeout_fails_what_is_left():
    async def handler(requests):
        await asyncio.sleep(3600)
        return requests

    batch = exact(handler, window_ms=0, max_size=1, processing_timeout=None)
    calls = [asyncio.ensure_future(batch.process(f"q{i}")) for i in range(3)]
    await asyncio.sleep(0.01)
    await batch.close(timeout=1.0)
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(o, ProcessorClosedError) for o in outcomes)
    assert batch.get_stats().in_flight_batches == 0 and conserved(batch)
    with pytest.raises(ValueError, match="timeout must be > 0"):
        await exact(echo).close(timeout=0)


async def test_a_duplicate_of_a_running_call_is_accepted_when_the_queue_is_full():
    gate = asyncio.Event()

    async def handler(requests):
        await gate.wait()
        return [f"answer to {r}" for r in requests]

    batch = exact(handler, window_ms=0, max_size=1, max_queue_size=1)
    running = asyncio.ensure_future(batch.process("running"))
    while not batch.get_stats().in_flight_batches:
        await asyncio.sleep(0)
    queued = asyncio.ensure_future(batch.process("queued"))
    await asyncio.sleep(0)
    with pytest.raises(QueueFullError):
        await batch.process("another")
    joined = asyncio.ensure_future(batch.process("running"))  # joins the running call: no queue place
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(running, joined, queued) == ["answer to running"] * 2 + ["answer to queued"]


async def test_numpy_priorities_and_str_subclasses_are_accepted():
    class Query(str):
        pass

    seen: list[list] = []

    async def handler(requests):
        seen.append(list(requests))
        return [str(r).upper() for r in requests]

    batch = exact(handler, window_ms=5, enable_priorities=True)
    results = await asyncio.gather(batch.process(Query("hello"), priority=np.int64(3)), batch.process("hello"))
    assert results == ["HELLO", "HELLO"]
    assert len(seen) == 1 and len(seen[0]) == 1  # the subclass and the plain str are one question
    with pytest.raises(TypeError, match="priority must be an int"):
        await batch.process("x", priority=np.float64(1.0))


async def test_a_list_larger_than_the_whole_queue_is_a_value_error_not_a_retry():
    batch = exact(echo, window_ms=0, max_size=2, max_queue_size=3)
    with pytest.raises(ValueError, match="a call of 4 requests can never fit max_queue_size=3"):
        await batch.process(["a", "b", "c", "d"])
    assert batch.get_stats().total_requests == 0
    assert await batch.process(["a", "b", "c"]) == ["answer to a", "answer to b", "answer to c"]
