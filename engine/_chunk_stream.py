"""The callers' side of streaming: what ``batch.stream()`` returns, and ``process()`` on a generator handler.

A call first looks for a running stream of the same exact key (a duplicate arriving mid-stream joins it
and reads every chunk from the start); otherwise its request goes through the intake as any other (exact
coalescing in the queue and onto a dispatched batch, semantic merges in the batch) and the batch hands it
the stream of the request that answers it. A plain handler's result arrives the same way and is yielded
once.

``timeout`` bounds the wait for the first chunk (queue, dedup and the handler's first step included) and
``stream_timeout`` the whole stream, both from the first ``__anext__``; either gives
:class:`RequestTimeoutError` for this caller only, who leaves the stream (the others read on).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections.abc import AsyncIterator, Hashable, Sequence
from typing import TYPE_CHECKING, Any

from ._batch import IN_HANDLER_OF
from ._checks import check_int, check_number
from ._intake import Prepared, check_call
from ._streams import Subscription, Upstream
from .errors import ProcessorClosedError, ReentrantCallError, RequestTimeoutError
from .request import Entry

if TYPE_CHECKING:
    from .processor import BatchProcessor

__all__: list[str] = []  # internal module

_NEW, _WAITING, _READING, _DONE = range(4)


class ChunkStream:
    """One request's chunks as an async iterator (what :meth:`BatchProcessor.stream` returns).

    Stop early with ``break`` (the caller leaves when the iterator is dropped), ``await stream.aclose()``,
    or ``async with batch.stream(request) as stream:``; only this caller leaves, and the shared
    generation stops when every caller of every request of its batch has left.
    """

    __slots__ = ("_buffer", "_deadline", "_entry", "_first_at", "_fut", "_hint", "_owner", "_prepared", "_priority",
                 "_request", "_scope", "_state", "_stream_timeout", "_sub", "_thread", "_timeout")

    def __init__(self, owner: BatchProcessor, request: Any, prepared: Prepared, scope: Hashable, priority: int,
                 timeout: float | None, stream_timeout: float | None, buffer: float, *,
                 hint: float | None = None) -> None:
        self._owner = owner
        self._request = request
        self._prepared = prepared
        self._scope = scope
        self._priority = priority
        self._timeout = timeout
        self._stream_timeout = stream_timeout
        self._buffer = buffer
        # how long the caller waits at most, for the queue's deadline dispatch (the first chunk's bound, else the
        # stream's; process() passes its own call timeout, which it enforces itself)
        self._hint = hint if hint is not None else timeout if timeout is not None else stream_timeout
        self._state = _NEW
        self._entry: Entry | None = None
        self._fut: asyncio.Future[Any] | None = None
        self._sub: Subscription | None = None
        self._first_at = self._deadline = math.inf
        self._thread = 0

    def __aiter__(self) -> ChunkStream:
        return self

    async def __aenter__(self) -> ChunkStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.leave()

    async def aclose(self) -> None:
        """Leave the stream now (idempotent)."""
        self.leave()

    def open(self) -> None:
        """Join a running identical stream, or submit the request (capacity checked); no waiting."""
        owner = self._owner
        if owner._closing:
            raise ProcessorClosedError("BatchProcessor is closed; it accepts no new requests")
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._thread = threading.get_ident()
        if self._timeout is not None:
            self._first_at = now + self._timeout
        if self._stream_timeout is not None:
            self._deadline = now + self._stream_timeout
        stats = owner._stats
        up = owner._live.get(self._prepared[3])
        if up is not None:  # a duplicate mid-stream: it reads the stream from its first chunk
            self._sub = up.subscribe(self._buffer, handed=False)
            stats.merges["exact_inflight"] += 1
            stats.completed += 1
            stats.answered_by_batches += 1
            self._state = _READING
            return
        intake = owner._intake
        if owner._queue.waiting >= owner._config.max_queue_size and not intake.joins_running(self._prepared):
            intake.check_capacity(1)
        self._entry, self._fut = intake.submit(self._request, self._prepared, self._scope, self._priority,
                                               self._hint)
        self._state = _WAITING

    async def __anext__(self) -> Any:
        state = self._state
        if state == _NEW:
            self.open()
        elif state == _DONE:
            raise StopAsyncIteration
        first = self._first_at
        at = min(first, self._deadline)
        try:
            async with asyncio.timeout_at(None if at == math.inf else at) as cm:
                if self._sub is None:
                    value = await self._fut  # type: ignore[misc]
                    if value.__class__ is not Upstream:  # a plain handler's result: the stream's only chunk
                        self._state = _DONE
                        self._fut = self._entry = None
                        return value
                    self._sub = value.subscribe(self._buffer, handed=True)
                    self._fut = self._entry = None
                    self._state = _READING
                chunk = await self._sub.next()
        except TimeoutError:
            if not cm.expired():
                raise
            self.leave()
            self._owner._stats.timeouts += 1
            if at == first:
                raise RequestTimeoutError(f"no chunk within timeout={self._timeout}s") from None
            raise RequestTimeoutError(f"stream not finished within stream_timeout={self._stream_timeout}s") from None
        except BaseException:  # the end, the stream's error, a cancellation: this caller is done
            self.leave()
            raise
        self._first_at = math.inf
        return chunk

    async def read_all(self) -> list[Any]:
        """Every chunk, in order (the stream's error is raised instead)."""
        return [chunk async for chunk in self]

    def leave(self) -> None:
        """This caller is done with the stream: it stops reading, or gives up its place (idempotent)."""
        if self._state == _DONE:
            return
        self._state = _DONE
        sub, fut, entry = self._sub, self._fut, self._entry
        self._sub = self._fut = self._entry = None
        if sub is not None:
            sub.close()
        elif fut is not None and entry is not None:
            if fut.done() and not fut.cancelled() and fut.exception() is None and fut.result().__class__ is Upstream:
                fut.result().decline()  # handed its stream, never read it
            else:
                self._owner._intake.release(entry, fut)
                if not fut.done():
                    fut.cancel()

    def __del__(self) -> None:
        # a caller that broke out of its loop drops the iterator: it leaves then (on the loop's thread)
        if self._state in (_WAITING, _READING) and self._thread == threading.get_ident():
            with contextlib.suppress(Exception):  # nothing may raise out of a finaliser
                self.leave()


def make_stream(owner: BatchProcessor, request: Any, priority: Any, timeout: Any, scope: Any, dedup: Any,
                stream_timeout: Any, buffer: Any) -> ChunkStream:
    """``batch.stream(...)``: every argument checked now (nothing is submitted before the first ``__anext__``)."""
    priority, timeout = check_call(owner._closing, owner._handler is not None, priority, timeout, scope, dedup)
    if stream_timeout is not None:
        stream_timeout = check_number("stream_timeout", stream_timeout, lo=0, lo_open=True)
    if IN_HANDLER_OF.get() is owner._runner:
        raise ReentrantCallError("the handler called stream() on its own processor: it would wait for the batch "
                                 "that is making it; use another processor")
    buffer = check_int("buffer", buffer, lo=1)
    prepared = owner._intake.prepare(request, scope, dedup)
    return ChunkStream(owner, request, prepared, scope, priority, timeout, stream_timeout, buffer)


def open_all(owner: BatchProcessor, requests: Sequence[Any], scope: Hashable, dedup: bool, priority: int,
             hint: float | None) -> list[ChunkStream]:
    """Checked as a whole (each request, then the capacity), then opened: all or nothing."""
    intake = owner._intake
    prepared = [intake.prepare(r, scope, dedup) for r in requests]
    intake.check_capacity(len(prepared))
    streams = [ChunkStream(owner, r, p, scope, priority, None, None, math.inf, hint=hint)
               for r, p in zip(requests, prepared, strict=True)]
    try:
        for s in streams:
            s.open()
    except BaseException:
        for s in streams:
            s.leave()
        raise
    return streams


async def collect(owner: BatchProcessor, request: Any, priority: int, timeout: float | None, scope: Hashable,
                  dedup: bool, return_exceptions: bool) -> Any:
    """``process()`` on a generator handler: each request's list of chunks (a list for a list)."""
    many = request.__class__ is list
    streams = open_all(owner, request if many else [request], scope, dedup, priority, timeout)
    results: list[Any] = []
    try:
        async with asyncio.timeout(timeout) as cm:
            for s in streams:
                try:
                    results.append(await s.read_all())
                except Exception as exc:
                    if not (many and return_exceptions):
                        raise
                    results.append(exc)
    except TimeoutError:
        if not cm.expired():
            raise
        owner._stats.timeouts += 1
        if not many:
            raise RequestTimeoutError(f"request not answered within timeout={timeout}s") from None
        raise RequestTimeoutError(f"{len(streams) - len(results)} of {len(streams)} requests not answered within "
                                  f"timeout={timeout}s") from None
    finally:
        for s in streams:
            s.leave()
    return results if many else results[0]


async def collect_each(owner: BatchProcessor, requests: Sequence[Any], priority: int, timeout: float | None,
                       scope: Hashable, dedup: bool) -> AsyncIterator[tuple[int, Any, BaseException | None]]:
    """``process_streaming()`` on a generator handler: ``(index, chunks, error)`` as each stream finishes."""
    streams = open_all(owner, requests, scope, dedup, priority, timeout)
    loop = asyncio.get_running_loop()
    tasks = {loop.create_task(s.read_all(), name="batchsieve-collect"): i for i, s in enumerate(streams)}
    deadline = math.inf if timeout is None else loop.time() + timeout
    pending = set(tasks)
    try:
        while pending:
            left = None if deadline == math.inf else max(deadline - loop.time(), 0.0)
            done, pending = await asyncio.wait(pending, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                break
            for task in sorted(done, key=tasks.__getitem__):
                exc = task.exception()
                yield (tasks[task], None, exc) if exc is not None else (tasks[task], task.result(), None)
        for task in sorted(pending, key=tasks.__getitem__):  # the call's timeout ran out: the rest time out
            i = tasks[task]
            task.cancel()
            streams[i].leave()
            owner._stats.timeouts += 1
            yield i, None, RequestTimeoutError(f"request {i} not answered within timeout={timeout}s")
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
            elif not task.cancelled():
                task.exception()  # retrieved: a result nobody read logs nothing
        for s in streams:
            s.leave()

