"""The async front: :class:`BatchProcessor`.

Data flows one way: ``process`` -> queue (exact duplicates coalesce here, and onto batches already
running) -> dispatcher (window, ``max_size``, ``max_wait``) -> dedup strategy -> handler on the unique
requests -> results scattered back through the index map -> every caller.

Concurrency model: everything but the handler (and a blocking strategy) runs on the event loop thread.
A dispatcher task lives only while there is work; batches run as their own tasks. At most
``max_concurrent_batches`` handler calls run at once; with a semantic strategy one more batch may be
dispatched so that its dedup (encoder, kernel, in a worker thread) overlaps the running handler call.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .config import BatchConfig
from .errors import (
    BatchProcessingError,
    BatchTimeoutError,
    HandlerNotSetError,
    ProcessorClosedError,
    QueueFullError,
)
from .policies import BatchRecord, DispatchPolicy, QueueState, make_policy
from .queue import RequestQueue
from .request import DONE, QUEUED, Entry, read_request
from .stats import BatchStats, StatsCollector
from .strategies import Assignment, DedupItem, DedupStrategy, ExactStrategy, exact_assignment, make_strategy

__all__ = ["BatchProcessor", "StreamResult"]

logger = logging.getLogger("batchsieve")

Handler = Callable[[list[Any]], "Sequence[Any] | Awaitable[Sequence[Any]]"]
_EPS = 1e-6  # seconds: a timer that fired this close to its due time counts as due
_DEDUP_BACKOFF_S = 30.0  # after a semantic strategy raises, batches use exact matching this long


@dataclass(frozen=True, slots=True)
class StreamResult:
    """One result of :meth:`BatchProcessor.process_streaming`: the request's index and its outcome."""

    index: int
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """``True`` when the request succeeded."""
        return self.error is None

    def unwrap(self) -> Any:
        """The value, or raise the request's exception."""
        if self.error is not None:
            raise self.error
        return self.value


class _HandlerSlot:
    """What ``batch.handler`` returns: the current handler, usable as a decorator to set it.

    ``@batch.handler`` over a function makes it the handler; ``batch.handler.func`` is the current one.
    """

    __slots__ = ("_owner",)

    def __init__(self, owner: BatchProcessor) -> None:
        self._owner = owner

    @property
    def func(self) -> Handler | None:
        return self._owner._handler

    def __call__(self, func: Handler) -> Handler:
        self._owner.handler = func
        return func

    def __bool__(self) -> bool:
        return self._owner._handler is not None

    def __repr__(self) -> str:
        return f"<handler {self._owner._handler!r}>"


def _is_async_callable(func: Any) -> bool:
    call = type(func).__call__ if callable(func) else None  # an instance with an async __call__
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(call)


class BatchProcessor:
    """Collects concurrent requests into batches, deduplicates them, and runs the handler once per batch.

    ``handler(requests: list) -> list`` (sync or async) receives only unique requests and returns one
    result per request, in order. A sync handler runs in a worker thread. See :class:`BatchConfig` and
    the README for every keyword.

    >>> batch = BatchProcessor(handler=run_llm, window_ms=50, max_size=32)   # doctest: +SKIP
    >>> await batch.process({"query": "What's the weather?"})                 # doctest: +SKIP
    """

    def __init__(self, handler: Handler | None = None, *, strategy: DedupStrategy | None = None,
                 policy: DispatchPolicy | None = None, **options: Any) -> None:
        unknown = set(options) - BatchConfig.field_names()
        if unknown:
            raise TypeError(f"BatchProcessor got unexpected keyword(s): {', '.join(sorted(unknown))}")
        self._config = BatchConfig(**options)
        # hot-path copies of settings that never change after construction
        self._max_size = self._config.max_size
        self._min_size = self._config.min_size
        self._plain = self._config.text_fn is None
        self._text_key = self._config.text_key
        self._normalize = self._config.normalize
        self._enable_dedup = self._config.enable_dedup
        self._handler: Handler | None = None
        self._handler_is_async = False
        if handler is not None:
            self.handler = handler
        if strategy is not None and not isinstance(strategy, DedupStrategy):
            raise TypeError(f"strategy must be a DedupStrategy, got {type(strategy).__name__}")
        self._strategy = strategy if strategy is not None else make_strategy(self._config.dedup_strategy,
                                                                             self._config)
        if policy is not None and not isinstance(policy, DispatchPolicy):
            raise TypeError(f"policy must implement DispatchPolicy, got {type(policy).__name__}")
        self._policy = policy if policy is not None else make_policy(self._config)
        self._notify_arrivals = self._config.adaptive or policy is not None
        # exact key -> the live entry (queued or running) that answers it; shared with the queue
        self._live: dict[Hashable, Entry] = {}
        self._queue = RequestQueue(priorities=self._config.enable_priorities, by_key=self._live)
        self._stats = StatsCollector()
        self._seq = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None
        self._batches: set[asyncio.Task[None]] = set()
        # At most max_concurrent_batches handler calls run at once. With a blocking (semantic) strategy one
        # more batch may be dispatched, so that its dedup (encoder, kernel) overlaps the running handler call.
        self._handler_slots = asyncio.Semaphore(self._config.max_concurrent_batches)
        self._pipeline_depth = self._config.max_concurrent_batches + (1 if self._strategy.blocking else 0)
        self._closing = False
        self._dedup_backoff_until = -math.inf

    # ------------------------------------------------------------------ configuration

    @property
    def config(self) -> BatchConfig:
        """The validated configuration (read-only; see the setters below for run-time changes)."""
        return self._config

    @property
    def handler(self) -> _HandlerSlot:
        """The handler; assign a callable, or use ``@batch.handler`` as a decorator."""
        return _HandlerSlot(self)

    @handler.setter
    def handler(self, func: Handler) -> None:
        if isinstance(func, _HandlerSlot):
            func = func.func  # batch.handler = other.handler
        if func is None or not callable(func):
            raise TypeError(f"handler must be a callable taking a list of requests, got {func!r}")
        self._handler = func
        self._handler_is_async = _is_async_callable(func)

    @property
    def dedup_threshold(self) -> float:
        """Similarity threshold for semantic strategies; settable at run time (next batch on)."""
        return self._config.dedup_threshold

    @dedup_threshold.setter
    def dedup_threshold(self, value: float) -> None:
        self._config = replace(self._config, dedup_threshold=value)

    @property
    def strategy(self) -> DedupStrategy:
        """The deduplication strategy in use."""
        return self._strategy

    @property
    def policy(self) -> DispatchPolicy:
        """The dispatch policy in use (fixed window, or adaptive)."""
        return self._policy

    # ------------------------------------------------------------------ public API

    async def process(self, request: Any, *, priority: int = 0, timeout: float | None = None,
                      scope: Hashable = None, dedup: bool = True, return_exceptions: bool = False) -> Any:
        """Submit one request (or a list of requests) and wait for its result (or list of results).

        ``priority``: higher is dispatched first (with ``enable_priorities=True``). ``timeout``: seconds
        this caller waits before :class:`BatchTimeoutError`; the shared work goes on for other callers.
        ``scope``: requests never merge across scopes (pass a tenant or user id). ``dedup=False``: this
        request gets a handler slot of its own. For a list, ``return_exceptions=True`` puts each failed
        request's exception in its place instead of raising the first one.
        """
        if (self._closing or self._handler is None or priority.__class__ is not int
                or dedup.__class__ is not bool or timeout is not None or scope is not None):
            self._check_call(priority, timeout, scope, dedup)
        if request.__class__ is list:
            return await self._process_many(request, priority, timeout, scope, dedup, return_exceptions)
        prepared = self._prepare(request, scope, dedup)
        if self._queue.waiting >= self._config.max_queue_size:
            self._check_capacity(1)
        entry, fut = self._submit(request, prepared, scope, priority, timeout)
        del prepared  # not kept alive in this frame while waiting: one object fewer for the GC per request
        if timeout is None:
            try:
                return await fut
            except asyncio.CancelledError:
                self._release(entry, fut)
                raise
        try:
            async with asyncio.timeout(timeout) as cm:
                return await fut
        except TimeoutError:
            if not cm.expired():
                raise  # the handler's own timeout, delivered as BatchTimeoutError
            self._release(entry, fut)
            self._stats.timeouts += 1
            raise BatchTimeoutError(f"request not answered within timeout={timeout}s") from None
        except asyncio.CancelledError:
            self._release(entry, fut)
            raise

    async def process_streaming(self, requests: Sequence[Any], *, priority: int = 0,
                                timeout: float | None = None, scope: Hashable = None,
                                dedup: bool = True) -> AsyncIterator[StreamResult]:
        """Submit ``requests`` and yield a :class:`StreamResult` for each one as soon as it completes.

        Failures are yielded, not raised, so one bad request does not end the stream. ``timeout`` bounds
        the whole stream: requests still open then are yielded with a :class:`BatchTimeoutError`.
        Leaving the loop early releases the requests not yet answered.
        """
        self._check_call(priority, timeout, scope, dedup)
        if not isinstance(requests, Sequence) or isinstance(requests, (str, bytes, dict)):
            raise TypeError(f"process_streaming takes a sequence of requests, got {type(requests).__name__}")
        pairs = self._submit_all(requests, scope, dedup, priority, timeout)
        done: asyncio.Queue[int] = asyncio.Queue()
        for i, (_, fut) in enumerate(pairs):
            fut.add_done_callback(lambda _f, i=i: done.put_nowait(i))
        loop = asyncio.get_running_loop()
        deadline = math.inf if timeout is None else loop.time() + timeout
        try:
            for _ in range(len(pairs)):
                try:
                    async with asyncio.timeout_at(None if deadline == math.inf else deadline):
                        i = await done.get()
                except TimeoutError:
                    break
                fut = pairs[i][1]
                if fut.cancelled():
                    continue
                exc = fut.exception()
                yield StreamResult(i, None, exc) if exc is not None else StreamResult(i, fut.result())
            else:
                return
            # the stream's timeout ran out: the rest time out
            for i, (entry, fut) in enumerate(pairs):
                if not fut.done():
                    self._release(entry, fut)
                    fut.cancel()
                    self._stats.timeouts += 1
                    yield StreamResult(i, None, BatchTimeoutError(
                        f"request {i} not answered within timeout={timeout}s"))
        finally:
            for entry, fut in pairs:
                if not fut.done():
                    fut.cancel()
                    self._release(entry, fut)

    async def warmup(self) -> None:
        """Load the dedup strategy's encoder now (in a worker thread) instead of on the first batch."""
        warm = getattr(self._strategy, "warmup", None)
        if warm is not None:
            await asyncio.to_thread(warm)

    def explain(self, a: Any, b: Any) -> str:
        """Why two requests would or would not merge under this processor's strategy and threshold.

        Blocking (it may run the encoder); call it from a worker thread inside a server.
        """
        text_a, _ = read_request(a, self._config.text_key, self._config.text_fn)
        text_b, _ = read_request(b, self._config.text_key, self._config.text_fn)
        norm = self._config.normalize
        if norm(text_a) == norm(text_b):
            return "merge: identical after normalisation (exact match)"
        strategy = self._strategy
        if hasattr(strategy, "explain"):
            return strategy.explain(text_a, text_b, self._config.dedup_threshold)
        if isinstance(strategy, ExactStrategy):
            return "no merge: the normalised texts differ (exact strategy)"
        return f"decided by the {strategy.name!r} strategy"

    def get_stats(self) -> BatchStats:
        """A snapshot of the counters, latencies and the current window."""
        return self._stats.snapshot(
            total_requests=self._seq + self._stats.merges["exact_queued"] + self._stats.merges["exact_inflight"],
            cost_per_request=self._config.cost_per_request,
            queue_depth=self._queue.waiting,
            in_flight=len(self._batches),
            window_ms=self._policy.window_s * 1e3,
            policy=self._policy.snapshot(),
            dedup=self._strategy.stats(),
        )

    async def close(self) -> None:
        """Stop accepting requests, dispatch everything queued at once, and wait until all are answered."""
        self._closing = True
        self._poke()
        while self._dispatcher is not None or self._batches:
            if self._dispatcher is not None:
                await asyncio.shield(self._dispatcher)
            if self._batches:
                await asyncio.gather(*list(self._batches), return_exceptions=True)

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._closing

    async def __aenter__(self) -> BatchProcessor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ intake

    def _check_call(self, priority: Any, timeout: Any, scope: Any, dedup: Any) -> None:
        if self._closing:
            raise ProcessorClosedError("BatchProcessor is closed; it accepts no new requests")
        if self._handler is None:
            raise HandlerNotSetError(
                "no handler: pass handler= to BatchProcessor, assign batch.handler = fn, or use @batch.handler")
        if priority.__class__ is not int:
            raise TypeError(f"priority must be an int, got {type(priority).__name__} {priority!r}")
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
                raise TypeError(f"timeout must be a number of seconds or None, got {timeout!r}")
            if not timeout > 0:
                raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        if dedup.__class__ is not bool:
            raise TypeError(f"dedup must be a bool, got {type(dedup).__name__} {dedup!r}")
        if scope is not None:
            try:
                hash(scope)
            except TypeError:
                raise TypeError(f"scope must be hashable (a tenant or user id), got {type(scope).__name__}") \
                    from None

    def _prepare(self, request: Any, scope: Hashable, dedup: bool) -> tuple[str, str, Hashable, Hashable]:
        """Validate one request; return ``(text, normalised text, fields, exact key or None)``."""
        if self._plain:  # no text_fn: the fast paths for "..." and {"query": "..."}
            if request.__class__ is str:
                text, fields = request, ()
            elif request.__class__ is dict and len(request) == 1:
                text = request.get(self._text_key)
                if text.__class__ is not str:
                    read_request(request, self._text_key, None)  # raises the right TypeError
                fields = ()
            else:
                text, fields = read_request(request, self._text_key, None)
        else:
            text, fields = read_request(request, self._text_key, self._config.text_fn)
        norm = self._normalize(text)
        if dedup and fields is not None and self._enable_dedup:
            # The common case (no scope, no other fields) keys on the string alone: one object fewer
            # per request for the garbage collector. A str never equals a tuple, so keys cannot collide.
            return text, norm, fields, (norm if scope is None and fields == () else (scope, norm, fields))
        return text, norm, fields, None

    def _check_capacity(self, n: int) -> None:
        limit = self._config.max_queue_size
        if self._queue.waiting + n > limit:
            raise QueueFullError(
                f"queue full: {self._queue.waiting} requests pending, {n} more would exceed "
                f"max_queue_size={limit}")

    def _submit(self, request: Any, prepared: tuple[str, str, Hashable, Hashable], scope: Hashable,
                priority: int, timeout: float | None) -> tuple[Entry, asyncio.Future[Any]]:
        loop = self._loop
        if loop is None or self._dispatcher is None:
            loop = self._bind_loop()
        now = loop.time()
        fut = loop.create_future()
        stats = self._stats
        key = prepared[3]
        queue = self._queue
        if key is not None:
            entry = self._live.get(key)
            if entry is not None:
                entry.add_waiter(fut, now)
                if entry.state == QUEUED:  # an identical request is queued: share its slot
                    queue.waiting += 1
                    queue.raise_priority(entry, priority)
                    if timeout is not None:
                        queue.add_deadline(entry, now + timeout)
                    stats.merges["exact_queued"] += 1
                else:  # an identical request is running: join that call
                    stats.merges["exact_inflight"] += 1
                return entry, fut
        self._seq += 1
        text, norm, fields, _ = prepared
        entry = Entry(request, text, norm, fields, scope, key, priority, self._seq, now, fut)
        queue.push(entry)
        if timeout is not None:
            queue.add_deadline(entry, now + timeout)
        if self._notify_arrivals:
            self._policy.on_arrival(now)
            self._poke()
        elif queue.size == 1 or queue.size == self._min_size or queue.size == self._max_size:
            self._poke()  # a window opens, min_size is reached, or the batch just became full
        if self._dispatcher is None:
            stats.mark_first_arrival()
            self._dispatcher = loop.create_task(self._dispatch_loop(), name="batchsieve-dispatcher")
        return entry, fut

    def _submit_all(self, requests: Sequence[Any], scope: Hashable, dedup: bool, priority: int,
                    timeout: float | None) -> list[tuple[Entry, asyncio.Future[Any]]]:
        """Submit several requests, all or nothing: every one is validated and the queue checked first."""
        prepared = [self._prepare(r, scope, dedup) for r in requests]
        self._check_capacity(len(prepared))
        return [self._submit(r, p, scope, priority, timeout) for r, p in zip(requests, prepared, strict=True)]

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None and not self._loop.is_closed() and (self._batches or self._queue):
                raise RuntimeError("this BatchProcessor is busy on another event loop")
            self._loop = loop
            self._handler_slots = asyncio.Semaphore(self._config.max_concurrent_batches)
        return loop

    def _release(self, entry: Entry, fut: asyncio.Future[Any]) -> None:
        """A caller gave up on ``entry``: forget it; drop the entry if it was its last caller and queued."""
        if not entry.remove_waiter(fut):
            return
        self._stats.cancelled += 1
        if entry.state == QUEUED:
            self._queue.waiting -= 1
            if entry.fut is None and not entry.more:
                self._queue.discard(entry)

    async def _process_many(self, requests: list[Any], priority: int, timeout: float | None,
                            scope: Hashable, dedup: bool, return_exceptions: bool) -> list[Any]:
        pairs = self._submit_all(requests, scope, dedup, priority, timeout)
        results: list[Any] = []
        try:
            async with asyncio.timeout(timeout) as cm:
                for _, fut in pairs:
                    try:
                        results.append(await fut)
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:
                        if not return_exceptions:
                            raise
                        results.append(exc)
        except TimeoutError:
            if not cm.expired():
                raise
            self._stats.timeouts += 1
            raise BatchTimeoutError(
                f"{len(requests) - len(results)} of {len(requests)} requests not answered within "
                f"timeout={timeout}s") from None
        finally:
            for entry, fut in pairs:
                if not fut.done() or fut.cancelled():
                    fut.cancel()
                    self._release(entry, fut)
        return results

    # ------------------------------------------------------------------ dispatch

    def _poke(self) -> None:
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    async def _sleep_until(self, at: float) -> None:
        loop = self._loop
        assert loop is not None
        wake = loop.create_future()
        self._wake = wake
        timer = loop.call_at(at, _resolve, wake) if at != math.inf else None
        try:
            await wake
        finally:
            if timer is not None:
                timer.cancel()
            self._wake = None

    async def _dispatch_loop(self) -> None:
        loop = self._loop
        assert loop is not None
        config = self._config
        queue = self._queue
        policy = self._policy
        try:
            while True:
                if not queue:
                    if not self._batches:
                        return  # idle: no task is left behind; the next arrival starts a new one
                    await self._sleep_until(math.inf)
                    continue
                if len(self._batches) >= self._pipeline_depth:
                    await self._sleep_until(math.inf)  # a finishing batch wakes us
                    continue
                now = loop.time()
                max_size = self._max_size
                if self._closing:
                    at, reason = now, "close"
                elif len(queue) >= max_size:
                    at, reason = now, "full"
                else:
                    oldest = queue.oldest_arrival()
                    decision = policy.decide(QueueState(
                        now=now, pending=len(queue), window_start=queue.window_start, oldest_arrival=oldest,
                        earliest_deadline=queue.earliest_deadline(), in_flight=len(self._batches)))
                    at, reason = decision.at, decision.reason
                    bound = oldest + config.max_wait_ms / 1e3
                    if bound < at:
                        at, reason = bound, "max_wait"
                if at > now + _EPS:
                    await self._sleep_until(at)
                    continue
                entries = queue.take(max_size, now, config.max_wait_ms / 1e3)
                if not entries:
                    continue
                self._stats.reasons[reason] += 1
                task = loop.create_task(self._run_batch(entries, reason, now), name="batchsieve-batch")
                self._batches.add(task)
        finally:
            self._dispatcher = None

    # ------------------------------------------------------------------ one batch

    async def _run_batch(self, entries: list[Entry], reason: str, dispatched_at: float) -> None:
        loop = self._loop
        assert loop is not None
        stats = self._stats
        live = self._live  # entries stay there while running, so identical arrivals join them
        handler_s = dedup_s = 0.0
        failed = False
        unique: list[Entry] = entries
        answered = 0
        try:
            assignment = await self._assign(entries)
            rep = assignment.rep
            if assignment.identity:
                slot_of: list[int] | None = None
            else:
                dedup_s = assignment.seconds
                stats.merges.update(assignment.merges)
                slot = [0] * len(entries)
                unique = []
                for i, r in enumerate(rep):
                    if r == i:
                        slot[i] = len(unique)
                        unique.append(entries[i])
                slot_of = [slot[r] for r in rep]
            requests = [e.request for e in unique]
            async with self._handler_slots:  # dedup above ran without a slot: it overlaps the running call
                t0 = loop.time()  # the loop's clock, as every time the dispatch policy sees
                try:
                    results = await self._call_handler(requests)
                finally:
                    handler_s = loop.time() - t0
            now = loop.time()
            latencies = stats.latencies
            completed = failed_n = 0
            for i, entry in enumerate(entries):
                result = results[i] if slot_of is None else results[slot_of[i]]
                entry.state = DONE
                if entry.key is not None:
                    del live[entry.key]
                answered += entry.count
                is_error = isinstance(result, BaseException)
                fut = entry.fut
                if fut is not None and not fut.done():
                    if is_error:
                        fut.set_exception(result)
                        failed_n += 1
                    else:
                        fut.set_result(result)
                        completed += 1
                    latencies.append(now - entry.arrival)
                if entry.more:
                    for fut, arrived in entry.more:
                        if fut.done():
                            continue
                        if is_error:
                            fut.set_exception(result)
                            failed_n += 1
                        else:
                            fut.set_result(result)
                            completed += 1
                        latencies.append(now - arrived)
            stats.completed += completed
            stats.failed += failed_n
        except BaseException as exc:  # the handler failed (or the loop is shutting down): nobody may hang
            failed = True
            answered = 0
            for entry in entries:
                if entry.state != DONE:
                    entry.state = DONE
                    if entry.key is not None and live.get(entry.key) is entry:
                        del live[entry.key]
                answered += entry.count
            if isinstance(exc, Exception):
                stats.errors += 1
                if isinstance(exc, BatchTimeoutError):
                    stats.timeouts += 1
            self._fail(entries, exc, len(unique))
            if not isinstance(exc, Exception):
                raise
        finally:
            stats.batches += 1
            stats.handler_requests += len(unique)
            stats.answered_by_batches += answered
            stats.last_answer = time.perf_counter()
            self._batches.discard(asyncio.current_task())  # type: ignore[arg-type]
            if self._notify_arrivals:
                try:
                    self._policy.on_batch_done(BatchRecord(
                        dispatched_at=dispatched_at, size=len(unique), n_requests=answered,
                        chars=sum(len(e.text) for e in unique), oldest_wait_s=dispatched_at - entries[0].arrival,
                        handler_s=handler_s, dedup_s=dedup_s, reason=reason,  # type: ignore[arg-type]
                        failed=failed))
                except Exception:  # a policy bug must not take requests down
                    logger.exception("dispatch policy failed in on_batch_done")
            self._poke()

    def _fail(self, entries: list[Entry], exc: BaseException, n_unique: int) -> None:
        failed_n = 0
        for entry in entries:
            for fut, _ in entry.waiters():
                if fut.done():
                    continue
                if isinstance(exc, (BatchTimeoutError, BatchProcessingError)):
                    err: BaseException = exc
                elif isinstance(exc, Exception):
                    err = BatchProcessingError(
                        f"handler raised {type(exc).__name__}: {exc} (batch of {n_unique} requests)",
                        original=exc, batch_size=n_unique)
                    err.__cause__ = exc
                else:
                    err = ProcessorClosedError(f"batch aborted: {type(exc).__name__}")
                fut.set_exception(err)
                failed_n += 1
        self._stats.failed += failed_n

    async def _assign(self, entries: list[Entry]) -> Assignment:
        strategy = self._strategy
        if (isinstance(strategy, ExactStrategy) or len(entries) == 1 or not self._config.enable_dedup
                or sum(1 for e in entries if e.key is not None) < 2):
            # Exact duplicates were coalesced in the queue: every entry is its own representative.
            return _IDENTITY
        loop = self._loop
        assert loop is not None
        if loop.time() < self._dedup_backoff_until:  # the strategy failed recently: exact only for now
            self._stats.merges["fallback"] += 1
            return _IDENTITY
        items = [DedupItem(e.text, e.norm, e.scope, e.fields, e.key is not None, e.request) for e in entries]
        config = self._config
        threshold = config.dedup_threshold
        t0 = time.perf_counter()
        try:
            if strategy.blocking:
                # off the event loop, and bounded: a slow or hung encoder costs dedup, never latency
                async with asyncio.timeout(config.dedup_timeout_ms / 1e3):
                    return await asyncio.to_thread(strategy.assign, items, threshold)
            return strategy.assign(items, threshold)
        except Exception as exc:  # a broken strategy must not lose requests: fall back to exact matching
            timed_out = isinstance(exc, TimeoutError)
            why = (f"took longer than dedup_timeout_ms={config.dedup_timeout_ms:g}" if timed_out
                   else f"{type(exc).__name__}: {exc}")
            stats = self._stats
            stats.merges["fallback"] += 1
            stats.dedup_failures += 1
            stats.last_dedup_failure = why
            if not timed_out:  # broken (not merely slow, e.g. still loading): stop trying for a while
                self._dedup_backoff_until = loop.time() + _DEDUP_BACKOFF_S
            if stats.dedup_failures == 1 or not timed_out:
                logger.warning("dedup strategy %r failed on a batch of %d (%s); exact matching for %s",
                               strategy.name, len(items), why,
                               "this batch" if timed_out else f"the next {_DEDUP_BACKOFF_S:g} s")
            return Assignment(exact_assignment(items), seconds=time.perf_counter() - t0, fallback=why)

    async def _call_handler(self, requests: list[Any]) -> list[Any]:
        handler = self._handler
        assert handler is not None
        timeout = self._config.processing_timeout
        n = len(requests)
        try:
            async with asyncio.timeout(timeout):
                if self._handler_is_async:
                    results = await handler(requests)
                else:
                    results = await asyncio.to_thread(handler, requests)
                    if inspect.isawaitable(results):
                        results = await results
        except TimeoutError:
            raise BatchTimeoutError(
                f"handler did not finish a batch of {n} within processing_timeout={timeout}s") from None
        if not isinstance(results, list):
            if isinstance(results, (str, bytes, dict)) or not isinstance(results, Sequence):
                raise BatchProcessingError(
                    f"handler must return a list of {n} results, returned {type(results).__name__}",
                    batch_size=n)
            results = list(results)
        if len(results) != n:
            raise BatchProcessingError(
                f"handler returned {len(results)} results for {n} requests", batch_size=n)
        return results


_IDENTITY = Assignment([], identity=True)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
