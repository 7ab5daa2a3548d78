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
import math
from collections.abc import AsyncIterator, Hashable, Sequence
from dataclasses import replace
from typing import Any

from ._batch import IN_HANDLER_OF, BatchRunner
from ._checks import check_number
from ._chunk_stream import ChunkStream, collect, collect_each, make_stream
from ._dispatcher import Dispatcher
from ._explain import explain_merge
from ._handler import Handler, HandlerSlot, check_handler, is_async_callable, is_stream_handler
from ._intake import Intake, check_call
from ._stream_call import StreamBatches
from ._stream_result import StreamResult
from ._streams import LiveStreams
from ._warmup import in_running_loop
from .config import BatchConfig
from .dedup import DedupStrategy, make_strategy
from .errors import ProcessorClosedError, ReentrantCallError, RequestTimeoutError
from .policies import DispatchPolicy, FixedWindowPolicy, make_policy
from .queue import RequestQueue
from .stats import BatchStats, StatsCollector

__all__ = ["BatchProcessor", "StreamResult"]

_in_handler_of = IN_HANDLER_OF.get  # bound once: the re-entrancy check runs on every call


class BatchProcessor:
    """Collects concurrent requests into batches, deduplicates them, and runs the handler once per batch.

    ``handler(requests: list) -> list`` (sync or async) receives only unique requests and returns one
    result per request, in order. A sync handler runs in a worker thread. An async generator function
    streams instead: it yields steps of one chunk per request, read with :meth:`stream` (duplicates share
    one generation). See :class:`BatchConfig` and the README for every keyword.

    >>> batch = BatchProcessor(handler=run_llm, window_ms=50, max_size=32)   # doctest: +SKIP
    >>> await batch.process({"query": "What's the weather?"})                 # doctest: +SKIP
    """

    # an unknown attribute (batch.max_batch = 3) is refused, not silently kept
    __slots__ = ("_closing", "_config", "_dispatcher", "_handler", "_intake", "_live", "_policy", "_queue", "_runner",
                 "_stats", "_strategy", "_streams")

    def __init__(self, handler: Handler | None = None, *, strategy: DedupStrategy | None = None,
                 policy: DispatchPolicy | None = None, **options: Any) -> None:
        unknown = set(options) - BatchConfig.field_names()
        if unknown:
            raise TypeError(f"BatchProcessor got unexpected keyword(s): {', '.join(sorted(unknown))}")
        self._config = BatchConfig(**options)
        if handler is not None:
            handler = check_handler(handler)
        if strategy is not None and not isinstance(strategy, DedupStrategy):
            raise TypeError(f"strategy must be a DedupStrategy, got {type(strategy).__name__}")
        if strategy is None:
            strategy = make_strategy(self._config.dedup_strategy, self._config)
        if policy is not None and not isinstance(policy, DispatchPolicy):
            raise TypeError(f"policy must implement DispatchPolicy, got {type(policy).__name__}")
        notify_policy = self._config.adaptive or policy is not None  # the fixed window learns nothing
        if policy is None:
            policy = make_policy(self._config)
        self._strategy = strategy
        self._policy = policy
        # the parts, each with one job: the queue (and its exact-key map), the batch runner, the
        # dispatcher, the intake; this class keeps the public API and the lifecycle
        self._queue = RequestQueue(priorities=self._config.enable_priorities)
        self._stats = StatsCollector()
        self._runner = BatchRunner(self._config, strategy, self._queue, self._stats, policy,
                                   notify_policy=notify_policy)
        self._dispatcher = Dispatcher(self._config, self._queue, policy, self._runner, self._stats)
        self._intake = Intake(self._config, self._queue, self._stats, policy, self._dispatcher, self._runner,
                              notify_policy=notify_policy)
        self._live = LiveStreams()  # running shared streams by exact key (a generator handler's)
        self._streams = StreamBatches(self._stats, self._live)
        if self._config.enable_dedup and in_running_loop():  # inside a server: start the load now
            self._runner.load.start()
        self._closing = False
        self._handler: Handler | None = None  # the runner's, mirrored for the hot path's "no handler" check
        if handler is not None:
            self.handler = handler

    # ------------------------------------------------------------------ configuration

    @property
    def config(self) -> BatchConfig:
        """The validated configuration (read-only; see the setters below for run-time changes)."""
        return self._config

    @property
    def handler(self) -> HandlerSlot:
        """The handler; assign a callable, or use ``@batch.handler`` as a decorator."""
        return HandlerSlot(self)

    @handler.setter
    def handler(self, func: Handler) -> None:
        func = check_handler(func)
        runner = self._runner
        streaming = is_stream_handler(func)
        if streaming != (runner.stream_batch is not None) and self._handler is not None and (
                self._queue or self._dispatcher.batches):  # its callers expect the other kind of answer
            raise ValueError("a generator handler and a plain one cannot replace each other while requests are "
                             "pending")
        runner.handler = self._handler = func
        runner.handler_is_async = is_async_callable(func)
        runner.stream_batch = self._streams.run if streaming else None

    @property
    def dedup_threshold(self) -> float:
        """Similarity threshold for semantic strategies; settable at run time (next batch on)."""
        return self._config.dedup_threshold

    @dedup_threshold.setter
    def dedup_threshold(self, value: float) -> None:
        self._reconfigure(dedup_threshold=value)

    @property
    def max_size(self) -> int:
        """Most unique requests per handler call; settable at run time (next batch on; fixed window only)."""
        return self._config.max_size

    @max_size.setter
    def max_size(self, value: int) -> None:
        self._reconfigure(max_size=value)

    @property
    def window_ms(self) -> float:
        """The fixed collection window in ms; settable at run time (the next window on; fixed window only)."""
        return self._config.window_ms

    @window_ms.setter
    def window_ms(self, value: float) -> None:
        self._reconfigure(window_ms=value)

    @property
    def max_wait_ms(self) -> float:
        """The longest a request waits in the queue while a batch slot is free, in ms; settable at run time."""
        return self._config.max_wait_ms  # type: ignore[return-value]

    @max_wait_ms.setter
    def max_wait_ms(self, value: float) -> None:
        self._reconfigure(max_wait_ms=value)

    def _reconfigure(self, **changes: Any) -> None:
        """Validate ``changes`` as a whole new config (every bound and cross-field check), then hand it to
        the parts that read it."""
        if ("max_size" in changes or "window_ms" in changes) and not isinstance(self._policy, FixedWindowPolicy):
            raise ValueError(f"{', '.join(changes)} can only change at run time with the fixed window; "
                             f"this processor's policy is {type(self._policy).__name__}")
        config = replace(self._config, **changes)
        self._config = config
        self._runner.config = self._runner.merges.config = config
        self._dispatcher.config = config
        self._intake.reconfigure(config)
        if isinstance(self._policy, FixedWindowPolicy):
            self._policy.set_window(config.window_ms / 1e3, config.min_size)

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
            priority, timeout = check_call(self._closing, self._handler is not None, priority, timeout,
                                           scope, dedup)
        if _in_handler_of() is self._runner:
            raise ReentrantCallError("the handler called process() on its own processor: the call would wait "
                                     "for the batch that is making it; use another processor")
        if self._runner.stream_batch is not None:  # a generator handler: each request's list of chunks
            return await collect(self, request, priority, timeout, scope, dedup, return_exceptions)
        if request.__class__ is list:
            return await self._process_many(request, priority, timeout, scope, dedup, return_exceptions)
        intake = self._intake
        prepared = intake.prepare(request, scope, dedup)
        if self._queue.waiting >= self._config.max_queue_size and not intake.joins_running(prepared):
            intake.check_capacity(1)
        entry, fut = intake.submit(request, prepared, scope, priority, timeout)
        del prepared  # not kept alive in this frame while waiting: one object fewer for the GC per request
        if timeout is None:
            try:
                return await fut
            except asyncio.CancelledError:
                self._intake.release(entry, fut)
                raise
        try:
            async with asyncio.timeout(timeout) as cm:
                return await fut
        except TimeoutError:
            if not cm.expired():
                raise  # the handler's processing timeout, delivered as ProcessingTimeoutError
            if fut.done() and not fut.cancelled():
                return fut.result()  # the answer landed in the iteration the timeout fired: it counts
            self._intake.release(entry, fut)
            self._stats.timeouts += 1
            raise RequestTimeoutError(f"request not answered within timeout={timeout}s") from None
        except asyncio.CancelledError:
            self._intake.release(entry, fut)
            raise

    async def process_streaming(self, requests: Sequence[Any], *, priority: int = 0,
                                timeout: float | None = None, scope: Hashable = None,
                                dedup: bool = True) -> AsyncIterator[StreamResult]:
        """Submit ``requests`` and yield a :class:`StreamResult` for each one as soon as it completes.

        Failures are yielded, not raised, so one bad request does not end the stream. ``timeout`` bounds
        the whole stream: requests still open then are yielded with a :class:`BatchTimeoutError`.
        Leaving the loop early releases the requests not yet answered.
        """
        priority, timeout = check_call(self._closing, self._handler is not None, priority, timeout, scope,
                                       dedup)
        if IN_HANDLER_OF.get() is self._runner:
            raise ReentrantCallError("the handler called process_streaming() on its own processor")
        if not isinstance(requests, Sequence) or isinstance(requests, (str, bytes, dict)):
            raise TypeError(f"process_streaming takes a sequence of requests, got {type(requests).__name__}")
        if self._runner.stream_batch is not None:  # a generator handler: each request's chunks, once it is over
            async for index, chunks, error in collect_each(self, requests, priority, timeout, scope, dedup):
                yield StreamResult(index, chunks, error)
            return
        pairs = self._intake.submit_all(requests, scope, dedup, priority, timeout)
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
                    self._intake.release(entry, fut)
                    fut.cancel()
                    self._stats.timeouts += 1
                    yield StreamResult(i, None, RequestTimeoutError(
                        f"request {i} not answered within timeout={timeout}s"))
        finally:
            self._leave(pairs)

    def stream(self, request: Any, *, priority: int = 0, timeout: float | None = None, scope: Hashable = None,
               dedup: bool = True, stream_timeout: float | None = None, buffer: int = 1024) -> ChunkStream:
        """``async for chunk in batch.stream(request)``: the request's chunks as the handler generates them.

        Duplicates share one generation: a caller joining mid-stream reads every chunk from the start.
        ``timeout`` bounds the wait for the first chunk, ``stream_timeout`` the whole stream
        (:class:`RequestTimeoutError`). A reader more than ``buffer`` chunks behind a running stream is cut
        off (:class:`StreamOverflowError`). A plain handler's result is the only chunk. See the README.
        """
        return make_stream(self, request, priority, timeout, scope, dedup, stream_timeout, buffer)

    async def warmup(self) -> None:
        """Load the dedup strategy's encoder now and wait for it (on its own thread; batches meanwhile use exact
        matching, see ``stats.cold_start_batches``), and run it once. A failed load raises its error."""
        await self._runner.load.wait()

    def explain(self, a: Any, b: Any, *, scope_a: Hashable = None, scope_b: Hashable = None) -> str:
        """Why two requests would or would not merge under this processor's strategy and threshold; the
        same rules the engine applies (scopes, other fields, ``dedup_max_chars``, encoder flags).

        Blocking (it may run the encoder); call it from a worker thread inside a server.
        """
        return explain_merge(self._config, self._strategy, a, b, scope_a, scope_b)

    def get_stats(self) -> BatchStats:
        """A snapshot of the counters, latencies and the current window."""
        return self._stats.snapshot(
            total_requests=self._intake.seq + self._stats.merges["exact_queued"]
            + self._stats.merges["exact_inflight"],
            cost_per_request=self._config.cost_per_request,
            queue_depth=self._queue.waiting,
            in_flight=len(self._dispatcher.batches),
            window_ms=self._policy.window_s * 1e3,
            policy=self._policy.snapshot(),
            dedup=self._strategy.stats(),
            merge_log=self._runner.merges,
            gpu=(t() if callable(t := getattr(getattr(self._strategy, "_encoder", None), "telemetry", None)) else None),
        )

    async def close(self, timeout: float | None = None) -> None:
        """Stop accepting requests, dispatch everything queued at once, and wait until all are answered.

        With ``timeout`` (seconds), requests still unanswered when it runs out fail with
        :class:`ProcessorClosedError` (running batches are cancelled; a sync handler's thread cannot be
        stopped and finishes on its own), and ``close`` returns.
        """
        if IN_HANDLER_OF.get() is self._runner:
            raise ReentrantCallError("the handler called close() on its own processor: close() waits for the "
                                     "batch that is making the call")
        if timeout is not None:
            check_number("timeout", timeout, lo=0, lo_open=True)
        self._closing = True
        dispatcher = self._dispatcher
        dispatcher.closing = True
        dispatcher.poke()
        if timeout is None:
            await dispatcher.drain()
            return
        try:
            async with asyncio.timeout(timeout):
                await dispatcher.drain()
        except TimeoutError:
            await dispatcher.abort(ProcessorClosedError(
                f"the processor closed (close(timeout={timeout})) before this request was answered"))

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._closing

    async def __aenter__(self) -> BatchProcessor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ lists

    async def _process_many(self, requests: list[Any], priority: int, timeout: float | None,
                            scope: Hashable, dedup: bool, return_exceptions: bool) -> list[Any]:
        pairs = self._intake.submit_all(requests, scope, dedup, priority, timeout)
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
            unanswered = sum(1 for _, fut in pairs if not fut.done() or fut.cancelled())
            raise RequestTimeoutError(
                f"{unanswered} of {len(requests)} requests not answered within timeout={timeout}s") from None
        finally:
            self._leave(pairs)
        return results

    def _leave(self, pairs: list[tuple[Any, asyncio.Future[Any]]]) -> None:
        """A list or stream call is over: release what is not answered yet, and mark what is answered as
        read (so a failure nobody awaited logs no "exception was never retrieved")."""
        release = self._intake.release
        for entry, fut in pairs:
            if not fut.done():
                fut.cancel()
            release(entry, fut)
