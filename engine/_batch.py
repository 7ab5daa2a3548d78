"""One batch, in named stages: assign -> call the handler -> scatter (or fail) -> record.

* **assign**: the dedup strategy picks a representative per entry (off the event loop and bounded by
  ``dedup_timeout_ms`` for a blocking strategy; any failure falls back to exact matching, so dedup can
  cost a merge, never a request);
* **call**: the representatives go to the handler, holding one of ``max_concurrent_batches`` slots.
  Right before the call, a representative whose every caller has gone is dropped (nobody would read its
  answer). A sync handler runs on the processor's own worker threads; one that outlives
  ``processing_timeout`` keeps its slot until it really returns (Python cannot stop a thread), so the
  limit on concurrent handler calls always holds, and ``stats.stuck_handler_calls`` says how many;
* **scatter**: each result reaches every caller of every entry it answers; when the batch failed as a
  whole, the same loop delivers the failure to every caller instead;
* **record**: stats, and the batch's cost reported to the dispatch policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

# (moved to _failures.py, shared with the streaming call; imported under the names this module always used)
from ._failures import caller_error as _caller_error
from ._failures import fresh_copy as _fresh
from ._failures import raisable as _raisable
from ._failures import raised_by_handler as _raised_by_handler
from ._failures import slot_error as _slot_error
from ._handler import Handler, check_results
from ._merges import MergeLog
from ._warmup import EncoderLoad
from ._workers import ThreadAbort, WorkerPool
from .config import BatchConfig
from .dedup import Assignment, DedupItem, DedupStrategy, ExactStrategy, exact_assignment
from .errors import BatchProcessingError, BatchTimeoutError, ProcessingTimeoutError
from .policies import BatchRecord, DispatchPolicy
from .queue import RequestQueue
from .request import DONE, Entry
from .stats import StatsCollector

__all__: list[str] = []  # internal module

logger = logging.getLogger("batchsieve")

_DEDUP_BACKOFF_S = 30.0  # after a semantic strategy raises, batches use exact matching this long
_IDENTITY = Assignment([], identity=True)

#: The runner whose handler call is running in this context (tasks and threads the handler starts inherit
#: it): a handler that calls ``process``/``close`` on its own processor would wait on itself.
IN_HANDLER_OF: contextvars.ContextVar[BatchRunner | None] = contextvars.ContextVar("batchsieve_in_handler",
                                                                                  default=None)


class BatchRunner:
    """Runs dispatched batches; owns the handler, the handler slots, the worker threads and the dedup
    fallback state."""

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
        self.handler_threads = WorkerPool(config.max_concurrent_batches, "batchsieve-handler")
        self.dedup_threads = WorkerPool(1, "batchsieve-dedup")  # the encoder serialises its batches anyway
        self.merges = MergeLog(config, strategy)  # on_merge, the ring of recent merges, the audit
        self.load = EncoderLoad(strategy)  # the encoder's background load (never inside dedup_timeout_ms)
        self._dedup_backoff_until = -math.inf
        self.on_finished: Callable[[], None] = lambda: None  # the dispatcher's hook, called after every batch
        # set for an async generator handler (the processor's handler setter): runs a batch as shared streams
        self.stream_batch: Callable[..., Awaitable[list[Any]]] | None = None

    def bind_loop(self) -> None:
        """A new event loop took over: the handler slots belong to it."""
        self._slots = asyncio.Semaphore(self.config.max_concurrent_batches)

    async def run(self, entries: list[Entry], reason: str, dispatched_at: float, left_before: int) -> None:
        """Run one batch through its stages; every caller of ``entries`` is answered, whatever happens.

        ``left_before`` is the count of callers who had left (``stats.cancelled``: callers leave only through
        ``Intake.release``, which counts them) when the batch was taken from the queue."""
        loop = asyncio.get_running_loop()
        unique = entries
        handler_s = dedup_s = 0.0
        failed = False
        answered = 0
        try:
            assignment = await self._assign(entries)
            unique, slot_of = self._representatives(entries, assignment)
            audits = None if slot_of is None else self.merges.observe(entries, assignment, unique, slot_of)
            dedup_s = assignment.seconds
            await self._slots.acquire()  # dedup above ran without a slot: it overlaps the running call
            running: list[Any] = []  # the worker-thread call of a sync handler, once submitted
            try:
                if self._stats.cancelled != left_before:  # someone left since dispatch: is anyone's slot empty?
                    unique, slot_of = self._drop_abandoned(entries, unique, slot_of)
                t0 = loop.time()  # the loop's clock, as every time the dispatch policy sees
                try:
                    if not unique:  # an empty call: every caller left while the batch waited for its slot
                        results = []
                    elif self.stream_batch is None:
                        results = await self._call(unique, running)
                    else:  # a generator handler: its callers get their streams at once; the slot is held to the end
                        results = await self.stream_batch(self, entries, unique, slot_of, lambda ups: self._scatter(
                            entries, ups, slot_of, loop.time()))
                finally:
                    handler_s = loop.time() - t0
            finally:
                if running and not running[0].done():
                    self._keep_slot_until_return(running[0], loop)  # timed out or cancelled mid-call
                else:
                    self._slots.release()
            if audits:
                self.merges.compare(entries, results, slot_of, audits)
            answered = self._scatter(entries, results, slot_of, loop.time())
        except BaseException as exc:  # the handler failed (or the loop is shutting down): nobody may hang
            failed = True
            handler_failure = isinstance(exc, Exception) or _raised_by_handler(exc)  # else: a shutdown
            if handler_failure:
                self._stats.errors += 1
                if isinstance(exc, BatchTimeoutError):
                    self._stats.timeouts += 1
            error = _caller_error(exc, len(unique), handler_failure)
            answered = self._scatter(entries, None, None, 0.0, failure=error)
            if not handler_failure:
                raise
        finally:
            self._record(entries, unique, answered, reason, dispatched_at, handler_s, dedup_s, failed)

    # ------------------------------------------------------------------ stage 1: assign

    async def _assign(self, entries: list[Entry]) -> Assignment:
        """A representative per entry (identity when there is nothing a strategy could merge)."""
        strategy = self.strategy
        load = self.load
        if not load.ready:  # the processor sees work: the encoder loads in the background from now on
            load.start()
        if (isinstance(strategy, ExactStrategy) or len(entries) == 1 or not self.config.enable_dedup
                or sum(1 for e in entries if e.key is not None) < 2):
            # Exact duplicates were coalesced in the queue: every entry is its own representative.
            return _IDENTITY
        loop = asyncio.get_running_loop()
        if loop.time() < self._dedup_backoff_until:  # the strategy failed recently: exact only for now
            self._stats.merges["fallback"] += 1
            return _IDENTITY
        if not load.ready:  # still loading: exact matching, counted as such (a load is not a dedup failure)
            self._stats.cold_start_batches += 1
            return _IDENTITY
        limit = self.config.dedup_max_chars
        # a text longer than dedup_max_chars takes part in exact matching only: one huge request must not
        # stall the encoder and the verifier for the rest of its batch (and the next ones)
        items = [DedupItem(e.text if len(e.text) <= limit else "", e.norm, e.scope, e.fields,
                           e.key is not None and len(e.text) <= limit, e.request) for e in entries]
        config = self.config
        t0 = time.perf_counter()
        try:
            if not strategy.blocking:
                return strategy.assign(items, config.dedup_threshold)
            threads = self.dedup_threads
            if not threads.free:
                raise TimeoutError("the dedup worker is still busy with a call that timed out")
            # off the event loop, and bounded: a slow or hung encoder costs dedup, never latency
            awaitable, future = threads.run(loop, strategy.assign, items, config.dedup_threshold)
            try:
                async with asyncio.timeout(config.dedup_timeout_ms / 1e3):
                    return await awaitable
            except BaseException:
                if not future.done():
                    threads.abandon(future)
                raise
        except Exception as exc:  # a broken strategy must not lose requests: fall back to exact matching
            return self._fallback(items, exc, loop.time(), time.perf_counter() - t0)

    def _fallback(self, items: list[DedupItem], exc: Exception, now: float, seconds: float) -> Assignment:
        timed_out = isinstance(exc, TimeoutError)
        if isinstance(exc, ThreadAbort):
            exc = exc.original  # type: ignore[assignment]
        why = (f"took longer than dedup_timeout_ms={self.config.dedup_timeout_ms:g}" if timed_out and not exc.args
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

    # ------------------------------------------------------------------ stage 2: call

    def _drop_abandoned(self, entries: list[Entry], unique: list[Entry], slot_of: list[int] | None
                        ) -> tuple[list[Entry], list[int] | None]:
        """Drop the handler slots nobody waits for any more (every caller of every entry they answer left).

        A dropped entry is settled at once and gives up its exact key, so a later identical request starts
        a new entry instead of joining a call that will not answer it; its slot becomes -1."""
        if slot_of is None:
            if all(e.count for e in entries):
                return unique, None
            slot_of = list(range(len(entries)))
        wanted = [False] * len(unique)
        for i, entry in enumerate(entries):
            if entry.count:
                wanted[slot_of[i]] = True
        if all(wanted):
            return unique, slot_of
        new_slot = [-1] * len(unique)
        kept: list[Entry] = []
        for s, keep in enumerate(wanted):
            if keep:
                new_slot[s] = len(kept)
                kept.append(unique[s])
        slot_of = [new_slot[s] for s in slot_of]
        for i, entry in enumerate(entries):
            if slot_of[i] < 0:
                entry.state = DONE
                self._queue.finish(entry)
        self._stats.dropped_before_call += len(unique) - len(kept)
        return kept, slot_of

    async def _call(self, unique: list[Entry], running: list[Any]) -> list[Any]:
        """The handler on the representatives' requests, within ``processing_timeout``; its results checked.

        A sync handler's worker-thread future is appended to ``running`` as soon as it is submitted."""
        handler = self.handler
        if handler is None:
            raise BatchProcessingError("the handler was removed")
        requests = [e.request for e in unique]
        n = len(requests)
        timeout = self.config.processing_timeout
        token = IN_HANDLER_OF.set(self)
        try:
            async with asyncio.timeout(timeout) as cm:
                if self.handler_is_async:
                    results = await handler(requests)
                else:
                    awaitable, future = self.handler_threads.run(asyncio.get_running_loop(),
                                                                 contextvars.copy_context().run, handler, requests)
                    running.append(future)
                    results = await awaitable
                    if inspect.isawaitable(results):
                        results = await results
        except TimeoutError:
            if not cm.expired():
                raise  # the handler's own time limit (a backend call): a handler failure
            raise ProcessingTimeoutError(
                f"handler did not finish a batch of {n} within processing_timeout={timeout}s") from None
        finally:
            IN_HANDLER_OF.reset(token)
        return check_results(results, n)

    def _keep_slot_until_return(self, future: Any, loop: asyncio.AbstractEventLoop) -> None:
        """A sync call still runs after its caller stopped waiting (time limit, cancellation): its slot goes
        back only when the thread returns, so ``max_concurrent_batches`` holds; counted meanwhile."""
        slots = self._slots
        stats = self._stats
        stats.stuck_handler_calls += 1

        def give_back() -> None:
            stats.stuck_handler_calls -= 1
            slots.release()

        def returned() -> None:  # on the worker thread
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody needs the slot
                loop.call_soon_threadsafe(give_back)

        self.handler_threads.abandon(future, returned)

    # ------------------------------------------------------------------ stage 3: scatter

    def _scatter(self, entries: list[Entry], results: list[Any] | None, slot_of: list[int] | None, now: float,
                 *, failure: BaseException | None = None) -> int:
        """Deliver each entry's result to all its callers (``results=None``: the batch failed with
        ``failure``, delivered to everyone); return how many callers the batch answered. Idempotent:
        callers already answered are skipped."""
        by_key = self._queue.by_key
        latencies = self._stats.latencies
        record = results is not None  # latencies of answers only
        answered = completed = failed = 0
        result: Any = failure
        is_error = True
        for i, entry in enumerate(entries):
            if record:
                if slot_of is None:
                    result = results[i]  # type: ignore[index]
                else:
                    slot = slot_of[i]
                    if slot < 0:
                        continue  # dropped before the call: settled then, and nobody waits for it
                    result = results[slot]  # type: ignore[index]
                is_error = isinstance(result, BaseException)
                if is_error and not _raisable(result):
                    result = _slot_error(result, i)
            if entry.state != DONE:  # (a second pass, after a failure, skips what the first settled)
                entry.state = DONE
                key = entry.key
                if key is not None:  # the queue's finish(), inlined (hot path): a running entry owns its key
                    try:  # noqa: SIM105 (contextlib.suppress costs a context manager per request)
                        del by_key[key]
                    except KeyError:
                        pass
            answered += entry.count
            # the first caller inline, then the others (no tuple per request: this runs for every request)
            fut, arrived, more, k = entry.fut, entry.arrival, entry.more, 0
            while True:
                if fut is not None and not fut.done():
                    if is_error:
                        fut.set_exception(result if record else _fresh(result))
                        failed += 1
                    else:
                        fut.set_result(result)
                        completed += 1
                    if record:
                        latencies.append(now - arrived)
                if more is None or k == len(more):
                    break
                fut, arrived = more[k]
                k += 1
        self._stats.completed += completed
        self._stats.failed += failed
        return answered

    def fail(self, entries: list[Entry], error: BaseException) -> None:
        """Fail entries that never reached a batch (the processor closed under them) with ``error``."""
        self._scatter(entries, None, None, 0.0, failure=error)

    # ------------------------------------------------------------------ stage 4: record

    def _record(self, entries: list[Entry], unique: list[Entry], answered: int, reason: str,
                dispatched_at: float, handler_s: float, dedup_s: float, failed: bool) -> None:
        """Count the batch, tell the policy what it cost, and let the dispatcher go on."""
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
                    failed=failed, cost=sum(e.cost for e in unique)))
            except Exception:  # a policy bug must not take requests down
                stats.policy_errors += 1
                logger.exception("dispatch policy failed in on_batch_done")
        self.on_finished()
