"""One batch, in named stages: assign -> call the handler -> scatter (or fail) -> record.

* **assign**: the dedup strategy picks a representative per entry (off the event loop and bounded by
  ``dedup_timeout_ms`` for a blocking strategy; any failure falls back to exact matching, so dedup can
  cost a merge, never a request);
* **call**: the representatives go to the handler, holding one of ``max_concurrent_batches`` slots;
* **scatter**: each result reaches every caller of every entry it answers; when the batch failed as a
  whole, the same loop delivers the failure to every caller instead;
* **record**: stats, and the batch's cost reported to the dispatch policy.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from ._handler import Handler, call_handler
from .config import BatchConfig
from .dedup import Assignment, DedupItem, DedupStrategy, ExactStrategy, exact_assignment
from .errors import BatchProcessingError, BatchTimeoutError, ProcessorClosedError
from .policies import BatchRecord, DispatchPolicy
from .queue import RequestQueue
from .request import DONE, Entry
from .stats import StatsCollector

__all__: list[str] = []  # internal module

logger = logging.getLogger("batchsieve")

_DEDUP_BACKOFF_S = 30.0  # after a semantic strategy raises, batches use exact matching this long
_IDENTITY = Assignment([], identity=True)


class BatchRunner:
    """Runs dispatched batches; owns the handler, the handler slots and the dedup fallback state."""

    def __init__(self, config: BatchConfig, strategy: DedupStrategy, queue: RequestQueue, stats: StatsCollector,
                 policy: DispatchPolicy, *, notify_policy: bool) -> None:
        self.config = config
        self.strategy = strategy
        self.handler: Handler | None = None
        self.handler_is_async = False
        self._queue = queue
        self._stats = stats
        self._policy = policy
        self._notify_policy = notify_policy
        self._slots = asyncio.Semaphore(config.max_concurrent_batches)
        self._dedup_backoff_until = -math.inf
        self.on_finished: Callable[[], None] = lambda: None  # the dispatcher's hook, called after every batch

    def bind_loop(self) -> None:
        """A new event loop took over: the handler slots belong to it."""
        self._slots = asyncio.Semaphore(self.config.max_concurrent_batches)

    async def run(self, entries: list[Entry], reason: str, dispatched_at: float) -> None:
        """Run one batch through its stages; every caller of ``entries`` is answered, whatever happens."""
        loop = asyncio.get_running_loop()
        unique = entries
        handler_s = dedup_s = 0.0
        failed = False
        answered = 0
        try:
            assignment = await self._assign(entries)
            unique, slot_of = self._representatives(entries, assignment)
            dedup_s = assignment.seconds
            async with self._slots:  # dedup above ran without a slot: it overlaps the running call
                t0 = loop.time()  # the loop's clock, as every time the dispatch policy sees
                try:
                    results = await call_handler(self.handler, self.handler_is_async,  # type: ignore[arg-type]
                                                 [e.request for e in unique], self.config.processing_timeout)
                finally:
                    handler_s = loop.time() - t0
            answered = self._scatter(entries, results, slot_of, loop.time())
        except BaseException as exc:  # the handler failed (or the loop is shutting down): nobody may hang
            failed = True
            if isinstance(exc, Exception):
                self._stats.errors += 1
                if isinstance(exc, BatchTimeoutError):
                    self._stats.timeouts += 1
            answered = self._scatter(entries, None, None, 0.0, failure=exc, n_unique=len(unique))
            if not isinstance(exc, Exception):
                raise
        finally:
            self._record(entries, unique, answered, reason, dispatched_at, handler_s, dedup_s, failed)

    # ------------------------------------------------------------------ stages

    async def _assign(self, entries: list[Entry]) -> Assignment:
        """Stage 1: a representative per entry (identity when there is nothing a strategy could merge)."""
        strategy = self.strategy
        if (isinstance(strategy, ExactStrategy) or len(entries) == 1 or not self.config.enable_dedup
                or sum(1 for e in entries if e.key is not None) < 2):
            # Exact duplicates were coalesced in the queue: every entry is its own representative.
            return _IDENTITY
        loop = asyncio.get_running_loop()
        if loop.time() < self._dedup_backoff_until:  # the strategy failed recently: exact only for now
            self._stats.merges["fallback"] += 1
            return _IDENTITY
        items = [DedupItem(e.text, e.norm, e.scope, e.fields, e.key is not None, e.request) for e in entries]
        config = self.config
        t0 = time.perf_counter()
        try:
            if strategy.blocking:
                # off the event loop, and bounded: a slow or hung encoder costs dedup, never latency
                async with asyncio.timeout(config.dedup_timeout_ms / 1e3):
                    return await asyncio.to_thread(strategy.assign, items, config.dedup_threshold)
            return strategy.assign(items, config.dedup_threshold)
        except Exception as exc:  # a broken strategy must not lose requests: fall back to exact matching
            return self._fallback(items, exc, loop.time(), time.perf_counter() - t0)

    def _fallback(self, items: list[DedupItem], exc: Exception, now: float, seconds: float) -> Assignment:
        timed_out = isinstance(exc, TimeoutError)
        why = (f"took longer than dedup_timeout_ms={self.config.dedup_timeout_ms:g}" if timed_out
               else f"{type(exc).__name__}: {exc}")
        stats = self._stats
        stats.merges["fallback"] += 1
        stats.dedup_failures += 1
        stats.last_dedup_failure = why
        if not timed_out:  # broken (not merely slow, e.g. still loading): stop trying for a while
            self._dedup_backoff_until = now + _DEDUP_BACKOFF_S
        if stats.dedup_failures == 1 or not timed_out:
            logger.warning("dedup strategy %r failed on a batch of %d (%s); exact matching for %s",
                           self.strategy.name, len(items), why,
                           "this batch" if timed_out else f"the next {_DEDUP_BACKOFF_S:g} s")
        return Assignment(exact_assignment(items), seconds=seconds, fallback=why)

    def _representatives(self, entries: list[Entry], assignment: Assignment
                         ) -> tuple[list[Entry], list[int] | None]:
        """The entries the handler sees, and each entry's result slot (``None``: one slot per entry)."""
        if assignment.identity:
            return entries, None
        self._stats.merges.update(assignment.merges)
        slot = [0] * len(entries)
        unique: list[Entry] = []
        for i, r in enumerate(assignment.rep):
            if r == i:
                slot[i] = len(unique)
                unique.append(entries[i])
        return unique, [slot[r] for r in assignment.rep]

    def _scatter(self, entries: list[Entry], results: list[Any] | None, slot_of: list[int] | None, now: float,
                 *, failure: BaseException | None = None, n_unique: int = 0) -> int:
        """Stage 3: deliver each entry's result to all its callers (``results=None``: the batch failed with
        ``failure``, delivered to everyone); return how many callers the batch answered. Idempotent:
        callers already answered are skipped."""
        queue = self._queue
        latencies = self._stats.latencies
        answered = completed = failed = 0
        result: Any = None
        for i, entry in enumerate(entries):
            if results is not None:
                result = results[i] if slot_of is None else results[slot_of[i]]
            entry.state = DONE
            queue.finish(entry)
            answered += entry.count
            is_error = results is None or isinstance(result, BaseException)
            first = entry.fut
            waiters = entry.more if first is None else ((first, entry.arrival),) if entry.more is None \
                else entry.waiters()
            for fut, arrived in waiters or ():
                if fut.done():
                    continue
                if is_error:
                    fut.set_exception(result if results is not None else _caller_error(failure, n_unique))
                    failed += 1
                else:
                    fut.set_result(result)
                    completed += 1
                if results is not None:
                    latencies.append(now - arrived)
        self._stats.completed += completed
        self._stats.failed += failed
        return answered

    def _record(self, entries: list[Entry], unique: list[Entry], answered: int, reason: str,
                dispatched_at: float, handler_s: float, dedup_s: float, failed: bool) -> None:
        """Stage 4: count the batch, tell the policy what it cost, and let the dispatcher go on."""
        stats = self._stats
        stats.batches += 1
        stats.handler_requests += len(unique)
        stats.answered_by_batches += answered
        stats.last_answer = time.perf_counter()
        if self._notify_policy:
            try:
                self._policy.on_batch_done(BatchRecord(
                    dispatched_at=dispatched_at, size=len(unique), n_requests=answered,
                    chars=sum(len(e.text) for e in unique), oldest_wait_s=dispatched_at - entries[0].arrival,
                    handler_s=handler_s, dedup_s=dedup_s, reason=reason,  # type: ignore[arg-type]
                    failed=failed))
            except Exception:  # a policy bug must not take requests down
                logger.exception("dispatch policy failed in on_batch_done")
        self.on_finished()


def _caller_error(exc: BaseException | None, n_unique: int) -> BaseException:
    """What one caller of a failed batch raises (a fresh exception per caller, the original chained)."""
    if isinstance(exc, (BatchTimeoutError, BatchProcessingError)):
        return exc
    if isinstance(exc, Exception):
        err = BatchProcessingError(f"handler raised {type(exc).__name__}: {exc} (batch of {n_unique} requests)",
                                   original=exc, batch_size=n_unique)
        err.__cause__ = exc
        return err
    return ProcessorClosedError(f"batch aborted: {type(exc).__name__}")
