"""What the intake and the assign stage hand on: the text a ``text_fn`` reads from a dict, the items and the
threshold a strategy is called with, the requests it is never called for, the arrival times a policy is
told, a window that opens while a batch runs, and the one-loop-at-a-time rule with its exact message."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest
from batchsieve import (
    Assignment,
    BatchProcessor,
    DedupItem,
    DedupStrategy,
    FixedWindowPolicy,
    WrongEventLoopError,
)


async def echo(requests):
    return [f"answer to {r['body'] if isinstance(r, dict) else r}" for r in requests]


class RecordingStrategy(DedupStrategy):
    """Merges nothing; keeps what each call was handed."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: list[tuple[list[DedupItem], float]] = []

    def assign(self, items: Sequence[DedupItem], threshold: float) -> Assignment:
        self.calls.append((list(items), threshold))
        return Assignment(list(range(len(items))))


# ------------------------------------------------------------------ text_fn on dict requests


class BodyHandler:
    """Answers ``{"body": ...}`` requests and keeps each call's requests."""

    def __init__(self) -> None:
        self.calls: list[list] = []

    async def __call__(self, requests):
        self.calls.append(requests)
        return [f"answer to {r['body']}" for r in requests]


@pytest.mark.looptime
async def test_a_text_fn_reads_dicts_and_text_key_names_the_key_left_out_of_the_fields():
    handler = BodyHandler()
    calls = handler.calls
    batch = BatchProcessor(handler, dedup_strategy="exact", text_fn=lambda r: r["body"].strip(), text_key="body")
    results = await asyncio.gather(batch.process({"body": " Hello  World"}), batch.process({"body": "hello world"}))
    assert results == ["answer to  Hello  World", "answer to  Hello  World"]
    assert calls == [[{"body": " Hello  World"}]]  # one key: the read text, normalised; "body" is not a field


@pytest.mark.looptime
async def test_without_text_key_a_text_fn_dict_keeps_every_key_as_a_field_so_only_identical_dicts_merge():
    handler = BodyHandler()
    calls = handler.calls
    batch = BatchProcessor(handler, dedup_strategy="exact", text_fn=lambda r: r["body"])
    await asyncio.gather(batch.process({"body": "Hello"}), batch.process({"body": "hello"}),
                         batch.process({"body": "Hello"}))
    assert calls == [[{"body": "Hello"}, {"body": "hello"}]]


@pytest.mark.looptime
async def test_a_text_fn_keeps_the_other_fields_of_a_dict_in_its_key():
    handler = BodyHandler()
    calls = handler.calls
    batch = BatchProcessor(handler, dedup_strategy="exact", text_fn=lambda r: r["body"], text_key="body")
    await asyncio.gather(batch.process({"body": "q", "user": 1}), batch.process({"body": "Q", "user": 2}),
                         batch.process({"body": "q ", "user": 1}))
    assert calls == [[{"body": "q", "user": 1}, {"body": "Q", "user": 2}]]


# ------------------------------------------------------------------ what the strategy is called with


@pytest.mark.looptime
async def test_the_strategy_gets_every_item_and_the_configured_threshold():
    strategy = RecordingStrategy()
    batch = BatchProcessor(echo, strategy=strategy, dedup_threshold=0.87, dedup_max_chars=5)
    await asyncio.gather(batch.process("abcde"), batch.process("abcdef"), batch.process("xyz", dedup=False))
    [(items, threshold)] = strategy.calls
    assert threshold == 0.87
    # at the limit a text is compared; one character over it takes part in exact matching only
    assert [(i.text, i.norm, i.mergeable) for i in items] == [
        ("abcde", "abcde", True), ("", "abcdef", False), ("xyz", "xyz", False)]


@pytest.mark.looptime
async def test_the_strategy_is_not_called_when_fewer_than_two_requests_could_merge():
    strategy = RecordingStrategy()
    batch = BatchProcessor(echo, strategy=strategy)
    assert await asyncio.gather(batch.process("a"), batch.process("b", dedup=False)) == ["answer to a",
                                                                                         "answer to b"]
    assert strategy.calls == []


@pytest.mark.looptime
async def test_the_strategy_is_not_called_with_dedup_disabled():
    strategy = RecordingStrategy()
    batch = BatchProcessor(echo, strategy=strategy, enable_dedup=False)
    await asyncio.gather(batch.process("a"), batch.process("b"), batch.process("c"))
    assert strategy.calls == [] and batch.get_stats().total_batches == 1


# ------------------------------------------------------------------ what the policy is told


class ArrivalPolicy(FixedWindowPolicy):
    def __init__(self) -> None:
        super().__init__(0.010)
        self.arrivals: list[float] = []

    def on_arrival(self, now: float) -> None:
        self.arrivals.append(now)


@pytest.mark.looptime
async def test_the_policy_is_told_each_new_request_s_arrival_time_and_not_an_exact_duplicate_s():
    policy = ArrivalPolicy()
    batch = BatchProcessor(echo, dedup_strategy="exact", policy=policy)
    await asyncio.sleep(2.0)
    first = asyncio.ensure_future(batch.process("a"))
    await asyncio.sleep(0.003)
    others = [asyncio.ensure_future(batch.process(t)) for t in ("b", "a")]
    await asyncio.gather(first, *others)
    assert policy.arrivals == pytest.approx([2.0, 2.003], abs=1e-9)


@pytest.mark.looptime
async def test_a_failing_on_arrival_is_counted_logged_and_loses_nothing(caplog):
    class Failing(ArrivalPolicy):
        def on_arrival(self, now: float) -> None:
            raise RuntimeError("arrival bug")

    batch = BatchProcessor(echo, dedup_strategy="exact", policy=Failing())
    with caplog.at_level(logging.ERROR, logger="batchsieve"):
        assert await batch.process("q") == "answer to q"
    assert batch.get_stats().policy_errors == 1
    assert [r.getMessage() for r in caplog.records] == ["dispatch policy failed in on_arrival"]


# ------------------------------------------------------------------ a window opening while a batch runs


@pytest.mark.looptime
async def test_a_lone_request_arriving_while_a_batch_runs_is_dispatched_at_its_own_max_wait():
    gate = asyncio.Event()

    async def handler(requests):
        if requests == ["slow"]:
            await gate.wait()
        return [f"answer to {r}" for r in requests]

    # min_size=2 keeps the window open for a lone request: only its max_wait bound dispatches it
    batch = BatchProcessor(handler, dedup_strategy="exact", window_ms=10, min_size=2, max_wait_ms=30,
                           max_concurrent_batches=2)
    slow = asyncio.ensure_future(batch.process("slow"))
    await asyncio.sleep(0.050)  # "slow" is in its handler call, the dispatcher waits for work
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await asyncio.wait_for(batch.process("quick"), 1.0) == "answer to quick"
    assert loop.time() - start == pytest.approx(0.030, abs=1e-9)  # its own bound, not the slow call's end
    gate.set()
    assert await slow == "answer to slow"


# ------------------------------------------------------------------ one event loop at a time


def test_a_processor_moves_to_a_new_loop_when_the_old_one_is_open_but_idle():
    batch = BatchProcessor(echo, dedup_strategy="exact", window_ms=1)
    old = asyncio.new_event_loop()
    try:
        assert old.run_until_complete(batch.process("on the old loop")) == "answer to on the old loop"
        assert asyncio.run(batch.process("on the new loop")) == "answer to on the new loop"
    finally:
        old.close()


def test_a_processor_busy_on_an_open_loop_refuses_another_with_the_exact_message():
    gate_open = False

    async def handler(requests):
        while not gate_open:
            await asyncio.sleep(0.001)
        return [f"answer to {r}" for r in requests]

    batch = BatchProcessor(handler, dedup_strategy="exact", window_ms=1)
    old = asyncio.new_event_loop()
    try:
        pending = old.create_task(batch.process("busy"))
        old.run_until_complete(asyncio.sleep(0.01))  # the batch is in its handler call on the old loop

        async def elsewhere():
            with pytest.raises(WrongEventLoopError) as info:
                await batch.process("elsewhere")
            return str(info.value)

        message = asyncio.run(elsewhere())
        gate_open = True
        assert old.run_until_complete(pending) == "answer to busy"
        assert message == "this BatchProcessor is busy on another event loop; use one processor per loop"
    finally:
        old.close()


@pytest.mark.looptime
async def test_a_caller_leaving_while_a_merged_batch_waits_for_its_slot_keeps_each_answer_with_its_caller():
    from .test_cancellation import Gated, _slots_waiting, answer_of
    from .test_faults import wait_until

    def same_first_letter(a, b) -> float:
        return 1.0 if a[0] == b[0] else 0.0

    handler = Gated(hold=("hold",))
    batch = BatchProcessor(handler, dedup_function=same_first_letter, dedup_threshold=0.5, window_ms=0,
                           max_size=8, max_concurrent_batches=1, audit_rate=0, dedup_timeout_ms=30_000)
    holding = asyncio.ensure_future(batch.process("hold"))
    await wait_until(lambda: handler.calls == [["hold"]])
    merged = asyncio.ensure_future(batch.process(["apple", "avocado", "banana"]))  # apple and avocado merge
    await wait_until(lambda: _slots_waiting(batch) == 1)
    leaving = asyncio.ensure_future(batch.process("cherry"))  # queued behind: it leaves, the merged batch stays
    await asyncio.sleep(0)
    leaving.cancel()
    await asyncio.sleep(0)
    handler.release.set()
    assert await merged == [answer_of("apple"), answer_of("apple"), answer_of("banana")]
    assert await holding == answer_of("hold")
    await batch.close()
    assert handler.calls[:2] == [["hold"], ["apple", "banana"]]
    assert batch.get_stats().cancelled_requests == 1
