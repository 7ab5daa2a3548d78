"""Cost budgets through the engine, on looptime's fake loop clock: every batch within ``max_batch_cost``, the
dispatch when the pending cost reaches it, oversize requests alone and never starved, costs computed once
at intake (a bad ``cost_fn`` fails its caller only, before anything is enqueued), exact duplicates costing
nothing, the budget on the taken entries whatever semantic dedup merges, and bucketing that never lets a
request wait past ``max_wait_ms`` while a batch slot is free."""

from __future__ import annotations

import asyncio
import random

import pytest
from batchsieve import Assignment, BatchProcessor, DedupStrategy

from .test_processor import Recorder


def _processor(handler, **options) -> BatchProcessor:
    options.setdefault("dedup_strategy", "exact")
    return BatchProcessor(handler, **options)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.mark.looptime
async def test_a_batch_goes_at_once_when_the_pending_cost_reaches_the_budget():
    loop = asyncio.get_running_loop()
    handler = Recorder()
    batch = _processor(handler, window_ms=50, max_batch_cost=10)
    t0 = loop.time()
    first = asyncio.ensure_future(batch.process("aaaa"))
    await asyncio.sleep(0.005)
    second = asyncio.ensure_future(batch.process("bbbbbb"))  # 4 + 6 = 10: nothing more could fit
    await asyncio.sleep(0.005)
    third = asyncio.ensure_future(batch.process("cc"))
    assert await asyncio.gather(first, second, third) == ["AAAA", "BBBBBB", "CC"]
    assert handler.batches == [["aaaa", "bbbbbb"], ["cc"]]
    assert handler.times[0] - t0 == pytest.approx(0.005, abs=1e-6)
    assert handler.times[1] - t0 == pytest.approx(0.060, abs=1e-6)  # its own window, from its arrival
    assert batch.get_stats().dispatch_reasons == {"budget": 1, "window": 1}
    await batch.close()


@pytest.mark.looptime
async def test_under_the_budget_the_window_and_max_size_still_decide():
    loop = asyncio.get_running_loop()
    handler = Recorder()
    batch = _processor(handler, window_ms=50, max_size=3, max_batch_cost=100)
    t0 = loop.time()
    assert await asyncio.gather(*[batch.process(x) for x in ["a", "b", "c", "d"]]) == ["A", "B", "C", "D"]
    assert handler.batches == [["a", "b", "c"], ["d"]]
    assert [t - t0 for t in handler.times] == [pytest.approx(0.0, abs=1e-6), pytest.approx(0.050, abs=1e-6)]
    assert batch.get_stats().dispatch_reasons == {"full": 1, "window": 1}
    await batch.close()


@pytest.mark.looptime
async def test_every_batch_respects_the_budget_and_oversize_requests_go_alone():
    rng = random.Random(13)
    handler = Recorder(delay=0.004)
    batch = _processor(handler, window_ms=20, max_size=8, max_batch_cost=100)
    texts = []
    for i in range(400):
        length = 150 if i % 37 == 5 else rng.randint(4, 60)  # one in 37 costs more than the budget
        texts.append(f"{i:03d}" + "x" * (length - 3))  # unique texts: no duplicate hides a cost
    tasks = []
    for text in texts:
        await asyncio.sleep(rng.expovariate(400.0))
        tasks.append(asyncio.ensure_future(batch.process(text)))
    assert await asyncio.gather(*tasks) == [t.upper() for t in texts]
    assert sorted(r for b in handler.batches for r in b) == sorted(set(texts))
    for b in handler.batches:
        assert sum(len(r) for r in b) <= 100 or len(b) == 1
        assert len(b) <= 8
    oversize = [t for t in set(texts) if len(t) > 100]
    assert len(oversize) == 11
    assert sorted(b[0] for b in handler.batches if sum(len(r) for r in b) > 100) == sorted(oversize)
    reasons = batch.get_stats().dispatch_reasons
    assert reasons["budget"] > 0
    assert sum(reasons.values()) == len(handler.batches)
    await batch.close()
    assert [t for t in asyncio.all_tasks() if t.get_name().startswith("batchsieve")] == []  # nothing left behind


@pytest.mark.looptime
async def test_an_oversize_request_among_a_steady_stream_is_served_alone_within_max_wait():
    loop = asyncio.get_running_loop()
    handler = Recorder()
    batch = _processor(handler, window_ms=10, max_wait_ms=40, max_batch_cost=20)
    t0 = loop.time()
    tasks = []
    for i in range(30):
        if i == 3:
            tasks.append(asyncio.ensure_future(batch.process("L" * 500)))
        tasks.append(asyncio.ensure_future(batch.process(f"s{i:02d}")))  # 3 characters each
        await asyncio.sleep(0.002)
    results = await asyncio.gather(*tasks)
    assert results[3] == "L" * 500
    (k,) = [i for i, b in enumerate(handler.batches) if "L" * 500 in b]
    assert handler.batches[k] == ["L" * 500]
    assert handler.times[k] - t0 - 0.006 <= 0.040 + 1e-6  # it arrived at 6 ms
    assert all(sum(len(r) for r in b) <= 20 for i, b in enumerate(handler.batches) if i != k)
    await batch.close()


@pytest.mark.looptime
async def test_exact_duplicates_share_their_entrys_cost():
    handler = Recorder()
    batch = _processor(handler, window_ms=50, max_batch_cost=10)
    results = await asyncio.gather(*[batch.process(x) for x in ["aaaaa", "aaaaa", "AAAAA", "bbbbb", "aaaaa"]])
    assert results == ["AAAAA", "AAAAA", "AAAAA", "BBBBB", "AAAAA"]
    assert handler.batches == [["aaaaa", "bbbbb"]]  # 5 + 5: the three duplicates cost nothing more
    assert batch.get_stats().dispatch_reasons == {"budget": 1}
    await batch.close()


@pytest.mark.looptime
async def test_a_cost_fn_sizes_the_batches():
    handler = Recorder()
    words = BatchProcessor(handler, dedup_strategy="exact", window_ms=50, max_batch_cost=4,
                           cost_fn=lambda r: len(r["query"].split()))
    requests = [{"query": q} for q in ["one two", "three four", "a b c d e", "six", "seven"]]
    assert await asyncio.gather(*[words.process(r) for r in requests]) == [
        "ONE TWO", "THREE FOUR", "A B C D E", "SIX", "SEVEN"]
    assert [[r["query"] for r in b] for b in handler.batches] == [["one two", "three four"], ["a b c d e"],
                                                                 ["six", "seven"]]
    await words.close()


@pytest.mark.looptime
async def test_a_failing_cost_fn_fails_its_caller_only_and_enqueues_nothing():
    handler = Recorder()

    def cost(request):
        if request == "bad":
            raise KeyError("no tokens for this one")
        if request == "negative":
            return -1
        return 1

    batch = BatchProcessor(handler, dedup_strategy="exact", window_ms=10, max_batch_cost=10, cost_fn=cost)
    good = asyncio.ensure_future(batch.process("good"))
    await _settle()
    with pytest.raises(KeyError, match="no tokens for this one"):
        await batch.process("bad")
    with pytest.raises(ValueError, match=r"^cost_fn must return a finite number >= 0, returned -1$"):
        await batch.process("negative")
    with pytest.raises(ValueError, match="returned -1"):  # a list is all or nothing
        await batch.process(["fine", "negative"])
    assert batch.get_stats().queue_depth == 1  # only "good"
    assert await good == "GOOD"
    assert handler.batches == [["good"]]
    stats = batch.get_stats()
    assert (stats.total_requests, stats.completed_requests, stats.failed_requests) == (1, 1, 0)
    await batch.close()


@pytest.mark.looptime
async def test_costs_are_computed_once_per_request_at_intake():
    calls: list[str] = []

    def cost(request):
        calls.append(request)
        return 1

    handler = Recorder()
    batch = BatchProcessor(handler, dedup_strategy="exact", window_ms=10, max_batch_cost=10, cost_fn=cost)
    assert await asyncio.gather(batch.process("a"), batch.process("b"), batch.process("a")) == ["A", "B", "A"]
    assert calls == ["a", "b", "a"]  # each caller's request once (a duplicate is checked like any request)
    await batch.close()


class _FirstLetter(DedupStrategy):
    """Merges requests with the same first letter (non-blocking, so it runs on the fake clock)."""

    name = "first-letter"

    def assign(self, items, threshold):
        first: dict[str, int] = {}
        return Assignment([first.setdefault(item.text[0], i) for i, item in enumerate(items)])


@pytest.mark.looptime
async def test_the_budget_is_on_the_taken_requests_so_the_handler_never_sees_more():
    handler = Recorder()
    batch = BatchProcessor(handler, strategy=_FirstLetter(), window_ms=10, max_batch_cost=10)
    results = await asyncio.gather(*[batch.process(x) for x in ["ab1", "ab2", "ab3", "ab4", "cd5"]])
    # taken: ab1 ab2 ab3 (9; ab4 would make 12); the strategy merges them into ab1: the handler sees 3 chars
    assert results == ["AB1", "AB1", "AB1", "AB4", "CD5"]
    assert handler.batches == [["ab1"], ["ab4", "cd5"]]
    await batch.close()


@pytest.mark.looptime
async def test_close_dispatches_what_is_queued_in_batches_within_the_budget():
    gate = asyncio.Event()
    handler = Recorder(gate)
    batch = _processor(handler, window_ms=10, max_batch_cost=6)
    first = asyncio.ensure_future(batch.process("x"))
    await asyncio.sleep(0.020)  # "x" is running (held by the gate): the next ones queue up
    tasks = [asyncio.ensure_future(batch.process(x)) for x in ["aa", "bb", "cc", "dd", "ee"]]
    await _settle()
    closing = asyncio.ensure_future(batch.close())
    await _settle()
    gate.set()
    await closing
    assert await first == "X"
    assert [await t for t in tasks] == ["AA", "BB", "CC", "DD", "EE"]
    assert handler.batches == [["x"], ["aa", "bb", "cc"], ["dd", "ee"]]
    assert batch.get_stats().dispatch_reasons == {"window": 1, "close": 2}


# ---------------------------------------------------------------- bucketing


@pytest.mark.looptime
async def test_bucketing_groups_similar_costs_once_the_queue_holds_more_than_a_batch():
    gate = asyncio.Event()
    handler = Recorder(gate)
    batch = _processor(handler, window_ms=10, max_size=3, bucket_by_cost=True)
    first = asyncio.ensure_future(batch.process("x"))
    await asyncio.sleep(0.020)  # "x" is running: the queue fills behind it
    texts = ["s1", "L" * 90, "s2", "M" * 80, "s3", "N" * 95, "s4"]
    tasks = [asyncio.ensure_future(batch.process(t)) for t in texts]
    await _settle()
    gate.set()
    assert [await t for t in tasks] == [t.upper() for t in texts]
    assert await first == "X"
    # the oldest (s1) anchors the first batch with the nearest costs; then the oldest left ("L" * 90)
    assert handler.batches == [["x"], ["s1", "s2", "s3"], ["L" * 90, "N" * 95, "M" * 80], ["s4"]]
    await batch.close()


@pytest.mark.looptime
async def test_bucketing_sends_an_overdue_request_first_whatever_its_cost_and_priority():
    loop = asyncio.get_running_loop()
    handler = Recorder(delay=0.030)  # each batch holds the only slot for 30 ms
    batch = _processor(handler, window_ms=5, max_wait_ms=50, max_size=2, bucket_by_cost=True,
                       enable_priorities=True)
    t0 = loop.time()
    tasks = [asyncio.ensure_future(batch.process("x"))]  # dispatched alone when its window closes at 5 ms
    await asyncio.sleep(0.006)
    odd = asyncio.ensure_future(batch.process("L" * 300))  # low priority, and unlike everything after it
    await asyncio.sleep(0.002)
    for i in range(20):  # high-priority short requests every 4 ms from 8 ms on: enough to starve it
        tasks.append(asyncio.ensure_future(batch.process(f"s{i:02d}", priority=5)))
        await asyncio.sleep(0.004)
    assert await odd == "L" * 300
    await asyncio.gather(*tasks)
    times = [round((t - t0) * 1e3, 6) for t in handler.times]
    assert handler.batches[:3] == [["x"], ["s00", "s01"], ["L" * 300, "s02"]]
    assert times[:3] == [5.0, 35.0, 65.0]  # overdue since 56 ms, it takes the first free slot (at 65 ms)
    await batch.close()


async def _mixed_stream(bucket: bool) -> tuple[float, int]:
    """600 requests at 200/s, short (4-6 chars) or long (43-53), priorities 0-2: the longest wait from
    arrival to the handler call, and how many batches mixed short and long requests."""
    loop = asyncio.get_running_loop()
    rng = random.Random(7)
    handler = Recorder(delay=0.003)
    batch = _processor(handler, window_ms=10, max_wait_ms=30, max_size=4, max_batch_cost=60,
                       bucket_by_cost=bucket, enable_priorities=True)
    arrived: dict[str, float] = {}
    tasks = []
    for i in range(600):
        await asyncio.sleep(rng.expovariate(200.0))
        text = f"{i:03d}" + "x" * rng.choice([1, 2, 3, 40, 45, 50])
        arrived[text] = loop.time()
        tasks.append(asyncio.ensure_future(batch.process(text, priority=rng.randint(0, 2))))
    assert await asyncio.gather(*tasks) == [t.upper() for t in arrived]
    await batch.close()
    waits = [t - arrived[r] for b, t in zip(handler.batches, handler.times, strict=True) for r in b]
    assert len(waits) == 600
    assert all(sum(len(r) for r in b) <= 60 for b in handler.batches)
    return max(waits), sum(1 for b in handler.batches if len({len(r) > 20 for r in b}) == 2)


@pytest.mark.looptime
async def test_bucketing_never_makes_a_request_wait_past_max_wait_plus_one_busy_slot():
    longest, mixed = await _mixed_stream(bucket=True)
    fifo_longest, fifo_mixed = await _mixed_stream(bucket=False)
    assert max(longest, fifo_longest) <= 0.030 + 0.003 + 1e-6  # max_wait, plus one batch holding the slot
    assert mixed < fifo_mixed  # and bucketing did group: fewer batches mix short and long requests
