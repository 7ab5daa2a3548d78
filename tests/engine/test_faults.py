"""Fault injection: every kind of handler and encoder fault, alone and in seeded storms.

The promises checked for each fault: every accepted request gets exactly one outcome (a result or an
exception), a failing request never takes a sibling down (each caller's outcome is attributed to the exact
handler call that answered it, down to the exception object), the processor keeps serving afterwards, the
stats count each fault and balance exactly (``total == completed + failed + cancelled``), no task is left
behind, and asyncio logs nothing ("Future exception was never retrieved", "Task was destroyed but it is
pending", "Exception in callback", "coroutine ... was never awaited").

Async handlers run on looptime's virtual clock (sleeps, windows and ``processing_timeout`` cost no real
time). Sync handlers need real worker threads, so those tests run on the real loop: a hang is a thread
blocked on a ``threading.Event`` released at the end, and real time is only an upper bound.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch
from batchsieve import (
    BatchProcessingError,
    BatchProcessor,
    ProcessingTimeoutError,
    RequestTimeoutError,
    normalize_text,
)
from batchsieve.kernels import assign_representatives

from ..dedup.test_strategies import FakeResult, encoder_with

assign_representatives(torch.eye(2), 0.98)  # the kernels' first call (imports) is paid here, not by a test


# ------------------------------------------------------------------ shared checks

#: what asyncio logs when a promise breaks: an exception nobody retrieved, a task destroyed while pending,
#: an exception inside a loop callback (a future that could not be resolved)
_ASYNCIO_NOISE = ("never retrieved", "destroyed but it is pending", "Exception in callback", "never awaited")


@pytest.fixture(autouse=True)
def no_asyncio_warning(caplog, recwarn):
    """Fail the test if asyncio logged a warning or error, or a coroutine was never awaited (after a GC).

    The heap that existed before the test is frozen meanwhile, so the closing collection only walks what the
    test made (a full collection of the test process's heap would cost ~0.1 s per test)."""
    caplog.set_level(logging.WARNING, logger="asyncio")
    gc.freeze()
    try:
        yield
        gc.collect()
    finally:
        gc.unfreeze()
    logged = [r.getMessage() for when in ("setup", "call", "teardown") for r in caplog.get_records(when)
              if r.name == "asyncio" and r.levelno >= logging.WARNING]
    warned = [str(w.message) for w in recwarn
              if any(noise in str(w.message) for noise in _ASYNCIO_NOISE)
              or issubclass(w.category, pytest.PytestUnraisableExceptionWarning)]
    assert logged == [], logged
    assert warned == [], warned


def conservation(batch: BatchProcessor) -> tuple[int, int]:
    s = batch.get_stats()
    return s.total_requests, s.completed_requests + s.failed_requests + s.cancelled_requests


def assert_no_task_left() -> None:
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == [], others


async def wait_until(predicate, limit: float = 10.0) -> None:
    """Poll ``predicate`` on the loop (a worker thread's completion lands through the loop), bounded."""
    async with asyncio.timeout(limit):
        while not predicate():
            await asyncio.sleep(0.001)


def exact(handler, **kwargs) -> BatchProcessor:
    kwargs.setdefault("dedup_strategy", "exact")
    return BatchProcessor(handler, **kwargs)


# ------------------------------------------------------------------ the fault-injecting handler

#: per-slot faults: the value the handler puts in the request's own result slot
SLOT_FAULTS: dict[str, Any] = {
    "ok": None,  # the request's answer
    "exc": ValueError,
    "keyerror": KeyError,
    "timeouterror": TimeoutError,  # an Exception instance in a slot is raised as is, TimeoutError included
    "stop": StopIteration,
    "cancelled": asyncio.CancelledError,
    "kbi": KeyboardInterrupt,
    "sysexit": SystemExit,
    "genexit": GeneratorExit,
}
RAISED_AS_IS = {"exc", "keyerror", "timeouterror"}  # the caller raises the slot's own object
WRAPPED = {"stop", "cancelled", "kbi", "sysexit", "genexit"}  # BatchProcessingError with .original
#: whole-call faults: the handler raises
RAISES = {"raise": RuntimeError, "raise_cancelled": asyncio.CancelledError, "raise_timeout": TimeoutError,
          "raise_stop": StopIteration, "raise_kbi": KeyboardInterrupt, "raise_sysexit": SystemExit}
SYNC_ONLY = {"raise_kbi", "raise_sysexit"}  # an async handler raising these stops the loop, as asyncio does
#: whole-call faults: the handler returns something that is not one result per request
MALFORMED = {"short", "long", "dict", "str", "none", "generator", "int"}
BATCH_FAULTS = set(RAISES) | MALFORMED | {"hang", "slow"}
FAILING_BATCH = set(RAISES) | MALFORMED | {"hang"}


def kind_of(text: str) -> str:
    return normalize_text(text).split("#")[0]


def text_of(request: Any) -> str:
    return request if isinstance(request, str) else request["query"]


def key_of(request: Any) -> tuple[str, Any]:
    """What makes two requests the same question here: normalised text and the ``model`` field."""
    return normalize_text(text_of(request)), (request.get("model") if isinstance(request, dict) else None)


def answer_of(request: Any) -> tuple:
    return ("ans", *key_of(request))


@dataclass
class Call:
    """One handler call as the injector saw it."""

    keys: list[tuple[str, Any]]
    fault: str  # the whole-call fault applied, or "-"
    values: list[Any]  # each slot's value (before a whole-call fault replaced the return value)
    raised: BaseException | None = None


@dataclass
class FaultInjector:
    """A handler whose behaviour each request's text names (``"<kind>#<n>"``): see the tables above.

    The first request of a call whose kind is a whole-call fault decides the call's fate. A sync hang
    blocks its worker thread on ``release`` (at most ``hang_budget`` of them; later hangs are slow calls).
    """

    sync: bool
    hang_budget: int = 1_000_000
    calls: list[Call] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    never: asyncio.Event | None = None  # what an async hang awaits (never set while it matters)
    running: int = 0
    peak: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def handler(self):
        return self._sync if self.sync else self._async

    def _plan(self, requests: list) -> tuple[Call, str]:
        values = []
        for r in requests:
            kind = kind_of(text_of(r))
            exc = SLOT_FAULTS.get(kind)
            values.append(exc(normalize_text(text_of(r))) if exc is not None else answer_of(r))
        fault = next((kind_of(text_of(r)) for r in requests if kind_of(text_of(r)) in BATCH_FAULTS), "-")
        if fault == "hang":
            with self._lock:
                if self.hang_budget <= 0:
                    fault = "slow"
                self.hang_budget -= 1
        call = Call([key_of(r) for r in requests], fault, values)
        self.calls.append(call)
        return call, fault

    def _finish(self, call: Call, fault: str) -> Any:
        values = call.values
        if fault in RAISES:
            call.raised = RAISES[fault](f"{fault} in a call of {len(values)}")
            raise call.raised
        return {
            "short": lambda: values[:-1],
            "long": lambda: [*values, ("extra",)],
            "dict": lambda: dict(enumerate(values)),
            "str": lambda: "x" * len(values),
            "none": lambda: None,
            "generator": lambda: (v for v in values),
            "int": lambda: len(values),
        }.get(fault, lambda: list(values))()

    async def _async(self, requests: list) -> Any:
        call, fault = self._plan(requests)
        if fault == "hang":
            if self.never is None:
                self.never = asyncio.Event()
            await self.never.wait()
        elif fault == "slow":
            await asyncio.sleep(0.02)
        return self._finish(call, fault)

    def _sync(self, requests: list) -> Any:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            call, fault = self._plan(requests)
            if fault == "hang":
                self.release.wait(60)  # an upper bound only: the test releases it
            elif fault == "slow":
                time.sleep(0.002)
            return self._finish(call, fault)
        finally:
            with self._lock:
                self.running -= 1


def expected_error(call: Call, index: int) -> BaseException | str | None:
    """What the caller answered by slot ``index`` of ``call`` must get: an exception object (raised as is),
    a description of the error, or ``None`` for the slot's value."""
    if call.fault in RAISES or call.fault in MALFORMED or call.fault == "hang":
        return call.fault
    value = call.values[index]
    if isinstance(value, BaseException):
        return value
    return None


def matches(outcome: tuple, call: Call, index: int) -> bool:
    """Whether ``outcome`` (``("result", v)`` or ``("error", exc)``) is what slot ``index`` of ``call`` gives."""
    kind, got = outcome
    want = expected_error(call, index)
    if want is None:
        return kind == "result" and got is call.values[index]
    if kind != "error":
        return False
    if isinstance(want, BaseException):
        if isinstance(want, Exception) and not isinstance(want, StopIteration):
            return got is want
        return isinstance(got, BatchProcessingError) and got.original is want and got.__cause__ is want
    if want == "hang":
        return isinstance(got, ProcessingTimeoutError)
    if want in MALFORMED:
        return isinstance(got, BatchProcessingError) and got.original is None
    raised = call.raised
    if want == "raise_stop" and isinstance(got, BatchProcessingError) and isinstance(got.original, RuntimeError):
        return got.original.__cause__ is raised  # inside a coroutine, Python turns StopIteration into this
    if (type(raised) is TimeoutError and isinstance(got, BatchProcessingError)
            and type(got.original) is TimeoutError and got.original.args == raised.args):
        return got.__cause__ is got.original  # from a worker thread, asyncio re-creates a TimeoutError
    return isinstance(got, BatchProcessingError) and got.original is raised and got.__cause__ is raised


async def outcome_of(awaitable) -> tuple:
    try:
        return ("result", await awaitable)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return ("error", exc)


# ------------------------------------------------------------------ one fault at a time

def _fault_params():
    params = []
    for sync in (False, True):
        kinds = [k for k in (*SLOT_FAULTS, *sorted(BATCH_FAULTS)) if k != "ok" and (sync or k not in SYNC_ONLY)]
        for kind in kinds:
            marks = [] if sync else [pytest.mark.looptime]
            params.append(pytest.param(sync, kind, marks=marks, id=f"{'sync' if sync else 'async'}-{kind}"))
    return params


@pytest.mark.parametrize(("sync", "kind"), _fault_params())
async def test_one_fault_hits_exactly_whom_it_should_and_the_engine_goes_on(sync, kind):
    injector = FaultInjector(sync=sync)
    # sync: real seconds, generous so that only the hang passes it; async: virtual seconds
    batch = exact(injector.handler, window_ms=5, max_size=16, max_concurrent_batches=2,
                  processing_timeout=1.0 if sync else 0.5)
    requests = ["ok#1", f"{kind}#1", {"query": "ok#2", "model": "m"}, f"  {kind.upper()}#1 ", "OK#1"]
    try:
        async with asyncio.timeout(30):
            outcomes = await asyncio.gather(*[outcome_of(batch.process(r)) for r in requests])
            assert len(injector.calls) == 1
            call = injector.calls[0]
            # exact duplicates share one slot: the handler saw three requests
            assert call.keys == [("ok#1", None), (f"{kind}#1", None), ("ok#2", "m")]
            slot_of = [0, 1, 2, 1, 0]
            for request, outcome, slot in zip(requests, outcomes, slot_of, strict=True):
                assert matches(outcome, call, slot), (request, outcome, call)
            whole = kind in FAILING_BATCH
            if not whole:  # siblings unharmed: they got their own answers
                assert outcomes[0] == outcomes[4] == ("result", ("ans", "ok#1", None))
                assert outcomes[2] == ("result", ("ans", "ok#2", "m"))
            if kind in RAISED_AS_IS:  # the same exception object for the request and its duplicate
                assert outcomes[1][1] is outcomes[3][1] is call.values[1]
            stats = batch.get_stats()
            n_failed = 5 if whole else (2 if kind in SLOT_FAULTS else 0)
            assert (stats.total_requests, stats.completed_requests, stats.failed_requests,
                    stats.cancelled_requests) == (5, 5 - n_failed, n_failed, 0)
            assert stats.errors == (1 if whole else 0)
            assert stats.timeouts == (1 if kind == "hang" else 0)
            assert (stats.total_batches, stats.handler_requests) == (1, 3)
            if sync and kind == "hang":  # the hung thread keeps its slot; the other slot still serves
                assert stats.stuck_handler_calls == 1
            # the processor keeps serving; the faulty request, asked again, is run again (never cached)
            assert await batch.process(["ok#after", {"query": "ok#3", "model": "n"}]) == [
                ("ans", "ok#after", None), ("ans", "ok#3", "n")]
            again = await outcome_of(batch.process(f"{kind}#1"))
            assert len(injector.calls) == 3 and matches(again, injector.calls[-1], 0), again
            injector.release.set()
            if sync:
                await wait_until(lambda: batch.get_stats().stuck_handler_calls == 0)
            await batch.close()
    finally:
        injector.release.set()
    stats = batch.get_stats()
    assert conservation(batch) == (8, 8)
    assert stats.stuck_handler_calls == 0 and stats.queue_depth == 0 and stats.in_flight_batches == 0
    assert injector.peak <= 2
    assert_no_task_left()


# ------------------------------------------------------------------ seeded storms of mixed faults

_STORM_KINDS = (["ok"] * 30 + ["slow"] * 4 + [k for k in SLOT_FAULTS if k != "ok"] * 2
                + sorted(k for k in FAILING_BATCH if k not in SYNC_ONLY))


def _storm_calls(rng: random.Random, sync: bool, n: int) -> list[tuple[Any, Any, float, float | None, float | None]]:
    """(request, scope, arrival delay, caller timeout, cancel delay) for ``n`` callers."""
    kinds = _STORM_KINDS + (sorted(SYNC_ONLY) if sync else [])
    every = sorted(set(kinds))
    pool = [f"{kind}#{i}" for i, kind in enumerate(every)]  # every kind at least once
    pool += [f"{rng.choice(kinds)}#{i}" for i in range(len(pool), 64)]
    calls = []
    for k in range(n):
        text = pool[k] if k < len(pool) else rng.choice(pool)
        if rng.random() < 0.2:
            text = f" {text.upper()}  "  # the same question after normalisation
        request: Any = text
        if rng.random() < 0.25:
            request = {"query": text, "model": rng.choice(("a", "b"))}
        elif rng.random() < 0.1:
            request = {"query": text}  # no other field: the same question as the plain string
        scope = rng.choice((None, None, "tenant-1", "tenant-2"))
        arrival = rng.uniform(0, 0.2 if not sync else 0.05)
        timeout = rng.choice((0.001, 0.03, 0.3)) if rng.random() < 0.05 else None
        cancel = rng.uniform(0, 0.05) if rng.random() < 0.06 else None
        calls.append((request, scope, arrival, timeout, cancel))
    return calls


async def _run_storm(batch: BatchProcessor, calls: list) -> tuple[list, list[bool], list[bool]]:
    """Run the callers; return each one's outcome, whether it was accepted, and whether it was cancelled."""
    accepted = [False] * len(calls)

    async def caller(i: int) -> tuple:
        request, scope, arrival, timeout, _ = calls[i]
        await asyncio.sleep(arrival)
        accepted[i] = True  # process() enqueues before its first await: accepted from here on
        try:
            return ("result", await batch.process(request, scope=scope, timeout=timeout))
        except RequestTimeoutError as exc:
            return ("timeout", exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return ("error", exc)

    tasks = [asyncio.ensure_future(caller(i)) for i in range(len(calls))]
    cancelled = [False] * len(calls)

    async def canceller(i: int) -> None:
        await asyncio.sleep(calls[i][2] + calls[i][4])
        cancelled[i] = tasks[i].cancel()

    cancellers = [asyncio.ensure_future(canceller(i)) for i in range(len(calls)) if calls[i][4] is not None]
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*cancellers)
    return outcomes, accepted, cancelled


def _check_storm(batch: BatchProcessor, injector: FaultInjector, calls: list, outcomes: list,
                 accepted: list[bool], cancelled: list[bool], *, fresh: int) -> None:
    """Attribute every storm caller's outcome to the call that answered it, and check the stats; ``fresh``
    requests answered after the storm (checked by the test) are in the stats too."""
    slots: dict[tuple, list[tuple[Call, int]]] = {}
    for call in injector.calls:
        for index, key in enumerate(call.keys):
            slots.setdefault(key, []).append((call, index))
    n_results = n_errors = n_timeouts = n_cancelled = 0
    wrong = []
    for (request, _scope, _arrival, timeout, _cancel), outcome, was_accepted, was_cancelled in zip(
            calls, outcomes, accepted, cancelled, strict=True):
        if isinstance(outcome, asyncio.CancelledError):
            assert was_cancelled, f"{request!r} was cancelled by nobody"
            n_cancelled += was_accepted  # a caller cancelled before it called process() was never accepted
            continue
        assert isinstance(outcome, tuple), (request, outcome)
        if outcome[0] == "timeout":
            assert timeout is not None, f"{request!r} timed out without a timeout"
            n_timeouts += 1
            continue
        if outcome[0] == "result":
            n_results += 1
        else:
            n_errors += 1
        # attributed to the very call that answered it: the slot of an equal request, never a sibling's
        if not any(matches(outcome, call, index) for call, index in slots.get(key_of(request), [])):
            wrong.append((request, outcome))
    assert wrong == []
    stats = batch.get_stats()
    n_accepted = sum(accepted)
    assert n_accepted == n_results + n_errors + n_timeouts + n_cancelled
    assert conservation(batch) == (n_accepted + fresh,) * 2  # exactly one outcome each
    # a caller cancelled in the very iteration its answer landed counts as answered, not cancelled
    assert n_results + fresh <= stats.completed_requests and n_errors <= stats.failed_requests
    assert n_timeouts <= stats.cancelled_requests <= n_timeouts + n_cancelled
    failing = [c for c in injector.calls if c.fault in FAILING_BATCH]
    assert stats.errors == len(failing)
    assert stats.timeouts == sum(1 for c in failing if c.fault == "hang") + n_timeouts
    assert stats.handler_requests == sum(len(c.keys) for c in injector.calls)
    assert stats.total_batches >= len(injector.calls)
    assert stats.queue_depth == 0 and stats.in_flight_batches == 0 and stats.stuck_handler_calls == 0
    assert {c.fault for c in injector.calls} & FAILING_BATCH, "the storm injected no whole-call fault"


@pytest.mark.looptime
@pytest.mark.parametrize("max_concurrent", [1, 4])
@pytest.mark.parametrize("seed", [0, 1, 2])
async def test_async_fault_storm(seed, max_concurrent):
    rng = random.Random(seed)
    injector = FaultInjector(sync=False)
    batch = exact(injector.handler, window_ms=3, max_size=6, max_concurrent_batches=max_concurrent,
                  processing_timeout=0.1, enable_priorities=bool(seed % 2))
    calls = _storm_calls(rng, sync=False, n=240)
    async with asyncio.timeout(120):
        outcomes, accepted, cancelled = await _run_storm(batch, calls)
        # still serving after the storm
        assert await batch.process(["ok#fresh", "OK#FRESH", {"query": "ok#x", "model": "z"}]) == [
            ("ans", "ok#fresh", None), ("ans", "ok#fresh", None), ("ans", "ok#x", "z")]
        await batch.close()
    _check_storm(batch, injector, calls, outcomes, accepted, cancelled, fresh=3)
    assert_no_task_left()


@pytest.mark.parametrize("max_concurrent", [2, 4])
@pytest.mark.parametrize("seed", [3, 4])
async def test_sync_fault_storm(seed, max_concurrent):
    rng = random.Random(seed)
    # at most max_concurrent - 1 threads hang for good (released at the end): one slot always serves
    injector = FaultInjector(sync=True, hang_budget=max_concurrent - 1)
    batch = exact(injector.handler, window_ms=2, max_size=6, max_concurrent_batches=max_concurrent,
                  processing_timeout=0.5, enable_priorities=bool(seed % 2))
    calls = _storm_calls(rng, sync=True, n=160)
    try:
        async with asyncio.timeout(60):
            outcomes, accepted, cancelled = await _run_storm(batch, calls)
            hung = sum(1 for c in injector.calls if c.fault == "hang")
            assert batch.get_stats().stuck_handler_calls == hung
            assert await batch.process(["ok#fresh", {"query": "ok#x", "model": "z"}]) == [
                ("ans", "ok#fresh", None), ("ans", "ok#x", "z")]
            injector.release.set()
            await wait_until(lambda: batch.get_stats().stuck_handler_calls == 0)
            await batch.close()
    finally:
        injector.release.set()
    assert injector.peak <= max_concurrent  # never more handler calls at once, hung ones included
    _check_storm(batch, injector, calls, outcomes, accepted, cancelled, fresh=2)
    assert_no_task_left()


# ------------------------------------------------------------------ faulty encoders and similarity functions

A, A2 = "how do i reset my password", "how do i reset my password please"
B, B2 = "what is the capital of france", "tell me the capital of france"


@dataclass
class FaultyEncoder:
    """The table-driven fake encoder, with one fault applied to what it returns (or to how it returns)."""

    mode: str
    base: Any = field(default_factory=lambda: encoder_with({(A, A2): 0.995, (B, B2): 0.995}))
    gate: threading.Event = field(default_factory=threading.Event)
    calls: int = 0

    def encode(self, texts):
        self.calls += 1
        result = self.base.encode(texts)
        e = result.embeddings
        mode = self.mode
        if mode == "raise":
            raise RuntimeError("encoder crashed")
        if mode == "oom":
            raise MemoryError("CUDA out of memory")
        if mode == "stop":
            raise StopIteration("encoder")  # from a worker thread: asyncio cannot set it on a future as is
        if mode == "hang":
            self.gate.wait(60)  # an upper bound only: the test releases it
        elif mode == "nan_all":
            e = torch.full_like(e, math.nan)
        elif mode == "nan_row":
            e = e.clone()
            e[1] = math.nan
        elif mode == "inf":
            e = torch.full_like(e, math.inf)
        elif mode == "rows_plus_one":
            e = torch.cat([e, e[:1]])
        elif mode == "rows_minus_one":
            e = e[:-1]
        elif mode == "three_d":
            e = e[:, :, None]
        elif mode == "flat":
            e = e.reshape(-1)
        elif mode == "not_a_tensor":
            e = e.tolist()
        elif mode == "float64":
            e = e.double()
        return FakeResult(e, result.truncated, result.has_unknown)


ENCODER_FAULTS = ["raise", "oom", "stop", "hang", "nan_all", "nan_row", "inf", "rows_plus_one", "rows_minus_one",
                  "three_d", "flat", "not_a_tensor", "float64"]


async def _echo(requests):
    await asyncio.sleep(0)
    return [answer_of(r) for r in requests]


class Seen:
    def __init__(self) -> None:
        self.calls: list[list] = []

    async def __call__(self, requests):
        self.calls.append([text_of(r) for r in requests])
        return await _echo(requests)


@pytest.mark.parametrize("strategy", ["embedding", "hybrid"])
async def test_a_healthy_fake_encoder_merges_the_pairs_the_fault_tests_use(strategy):
    """The control for the encoder faults below: with the encoder intact, A2 joins A and B2 joins B."""
    seen = Seen()
    batch = BatchProcessor(seen, dedup_strategy=strategy, encoder=FaultyEncoder("none"), window_ms=5,
                           dedup_timeout_ms=30_000)
    results = await batch.process([A, A2, B, B2])
    assert results == [answer_of(A), answer_of(A), answer_of(B), answer_of(B)]
    assert seen.calls == [[A, B]]
    assert batch.get_stats().dedup_failures == 0
    await batch.close()


@pytest.mark.parametrize("mode", ENCODER_FAULTS)
@pytest.mark.parametrize("strategy", ["embedding", "hybrid"])
async def test_a_faulty_encoder_falls_back_to_exact_matching_and_loses_nothing(strategy, mode):
    encoder = FaultyEncoder(mode)
    seen = Seen()
    # a hang runs into the dedup time limit on purpose; "stop" would too if it were not delivered (bounded)
    batch = BatchProcessor(seen, dedup_strategy=strategy, encoder=encoder, window_ms=5,
                           dedup_timeout_ms={"hang": 150, "stop": 1000}.get(mode, 30_000))
    try:
        async with asyncio.timeout(30):
            texts = [A, A2, B, B2, "  HOW DO I RESET MY PASSWORD "]
            results = await batch.process(texts, return_exceptions=True)
            # exact matching only: every caller gets its own question's answer; the exact duplicate still
            # shares A's slot (coalesced in the queue), the near-duplicates do not merge on a broken encoder
            assert results == [answer_of(t) for t in texts]
            assert seen.calls == [[A, A2, B, B2]]
            stats = batch.get_stats()
            assert stats.dedup_failures == 1, stats.dedup
            assert stats.merges.get("fallback", 0) >= 1
            encoder.gate.set()
            # the processor keeps serving; later batches are exact or semantic, never lost
            more = ["reset the router", "book a table for two", "RESET THE ROUTER"]
            assert await batch.process(more) == [answer_of(t) for t in more]
            assert 1 <= batch.get_stats().dedup_failures <= 2
            await batch.close()
    finally:
        encoder.gate.set()
    stats = batch.get_stats()
    assert conservation(batch) == (8, 8) and stats.failed_requests == 0
    assert_no_task_left()


def _score_fault(mode: str):
    gate = threading.Event()

    def pairwise(a, b):
        if mode == "raise":
            raise ZeroDivisionError("similarity crashed")
        if mode == "hang":
            gate.wait(60)
            return 0.0
        if mode == "none":
            return None
        if mode == "complex":
            return 1j
        if mode == "kbi":
            raise KeyboardInterrupt
        if mode == "stop":
            raise StopIteration
        return 0.0

    def vectorised(requests):
        n = len(requests)
        if mode == "vector_shape":
            return torch.ones((n, n + 1))
        if mode == "vector_list":
            return [[1.0] * (n - 1)] * n
        return torch.ones((n, n))

    return (vectorised if mode.startswith("vector") else pairwise), gate


@pytest.mark.parametrize("mode", ["raise", "hang", "none", "complex", "kbi", "stop", "vector_shape", "vector_list"])
async def test_a_faulty_similarity_function_falls_back_to_exact_matching(mode):
    function, gate = _score_fault(mode)
    seen = Seen()
    batch = BatchProcessor(seen, dedup_function=function, window_ms=5,
                           dedup_timeout_ms={"hang": 150, "stop": 1000}.get(mode, 30_000))
    try:
        async with asyncio.timeout(30):
            texts = ["alpha", "beta", "ALPHA", "gamma"]
            assert await batch.process(texts) == [answer_of(t) for t in texts]
            assert seen.calls == [["alpha", "beta", "gamma"]]
            assert batch.get_stats().dedup_failures == 1
            gate.set()
            assert await batch.process(["delta", "epsilon"]) == [answer_of("delta"), answer_of("epsilon")]
            await batch.close()
    finally:
        gate.set()
    assert conservation(batch) == (6, 6)
    assert_no_task_left()
