"""Shared streams: one upstream per distinct request of a streaming batch, read by every caller who asked it.

An :class:`Upstream` holds the chunks its slot of the handler's generator produced so far (the replay log:
a caller who joins while the stream runs reads every chunk from the start, then the live ones), and ends
once, with an end or with one error. Each caller reads through its own :class:`Subscription`, at its own
position in the log, so a slow reader never holds up the generation or the other readers; the log is held
once per stream, not copied per reader.

Bounded lag: a reader may fall at most ``buffer`` chunks behind a running stream (chunks produced since it
joined that it has not read); past that its next read raises :class:`StreamOverflowError` and it is cut off,
while the stream goes on for the others. Once the stream has ended nothing more is produced, so a reader
may finish reading at its own pace.

Who is still interested: ``expected`` counts callers that were handed the stream but have not started
reading yet, ``subscribers`` those reading. When both are zero while the stream runs, it is abandoned:
its log is dropped, nobody new may join it, and the streaming batch is told (its generator is closed when
every stream of the batch is over). A failed or abandoned stream is never joined again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Any

from ._failures import fresh_copy
from .errors import StreamOverflowError
from .stats import StatsCollector

__all__: list[str] = []  # internal module

RUNNING, ENDED, FAILED, ABANDONED = range(4)


class LiveStreams:
    """Exact key -> the running, joinable :class:`Upstream` that answers it (in-flight coalescing for streams:
    the queue's key map forgets an entry once its callers got their streams)."""

    __slots__ = ("by_key",)

    def __init__(self) -> None:
        self.by_key: dict[Hashable, Upstream] = {}

    def get(self, key: Hashable | None) -> Upstream | None:
        return None if key is None else self.by_key.get(key)


class Upstream:
    """One distinct request's stream of chunks: its log, its end (or error), and who is still reading it."""

    __slots__ = ("_keys", "_live", "_on_abandon", "_stats", "_waiters", "chunks", "error", "expected", "own_error",
                 "state", "subscribers")

    def __init__(self, stats: StatsCollector, live: LiveStreams, on_abandon: Callable[[], None]) -> None:
        self.chunks: list[Any] = []
        self.state = RUNNING
        self.error: BaseException | None = None
        self.own_error = False  # the error is the engine's (each reader raises its own copy), not a slot's value
        self.expected = 0  # callers handed this stream who have not subscribed (or declined) yet
        self.subscribers = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._keys: list[Hashable] = []
        self._live = live
        self._stats = stats
        self._on_abandon = on_abandon

    def register(self, key: Hashable) -> None:
        """Let later identical requests join this stream while it runs."""
        if self.state == RUNNING and key not in self._live.by_key:
            self._live.by_key[key] = self
            self._keys.append(key)

    # ------------------------------------------------------------------ the producer side (the streaming batch)

    def push(self, chunk: Any) -> None:
        if self.state == RUNNING:
            self.chunks.append(chunk)
            self._stats.stream_chunks_generated += 1
            self._wake()

    def end(self) -> None:
        if self.state == RUNNING:
            self._settle(ENDED)

    def fail(self, error: BaseException, *, own: bool) -> None:
        """End with ``error`` (raised by every reader after the chunks it has not read yet); ``own``: an
        engine error, copied per reader."""
        if self.state == RUNNING:
            self.error = error
            self.own_error = own
            self._settle(FAILED)

    def _settle(self, state: int) -> None:
        self.state = state
        by_key = self._live.by_key
        for key in self._keys:  # nobody joins a stream that is over (a failure is never replayed to newcomers)
            if by_key.get(key) is self:
                del by_key[key]
        self._keys = []
        self._wake()

    def _wake(self) -> None:
        waiters = self._waiters
        if waiters:
            self._waiters = []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    # ------------------------------------------------------------------ the readers' side

    def subscribe(self, buffer: float, *, handed: bool) -> Subscription:
        """A new reader from the first chunk; ``handed``: one of the ``expected`` callers (else a late joiner)."""
        if handed:
            self.expected -= 1
        self.subscribers += 1
        self._stats.stream_subscribers += 1
        return Subscription(self, buffer)

    def decline(self) -> None:
        """A caller handed this stream left before reading it."""
        self.expected -= 1
        self.check_interest()

    def leave(self) -> None:
        """A reader is done (at the end, on an error, or early)."""
        self.subscribers -= 1
        self.check_interest()

    def check_interest(self) -> None:
        """Abandon the stream if it runs and nobody reads it or is about to."""
        if self.subscribers > 0 or self.expected > 0:
            return
        if self.state == RUNNING:
            self._stats.streams_closed_early += 1
            self.chunks = []
            self._settle(ABANDONED)
            self._on_abandon()
        else:
            self.chunks = []  # over and read by everyone: the log is not needed any more


class Subscription:
    """One reader of an :class:`Upstream`: its own position, and its bound on lag."""

    __slots__ = ("_joined", "_pos", "buffer", "closed", "up")

    def __init__(self, up: Upstream, buffer: float) -> None:
        self.up = up
        self.buffer = buffer
        self._pos = 0
        self._joined = len(up.chunks)  # the replayed chunks do not count as lag
        self.closed = False

    def ready(self) -> bool:
        """Whether :meth:`next` would return or raise without waiting."""
        up = self.up
        return self.closed or self._pos < len(up.chunks) or up.state != RUNNING

    async def next(self) -> Any:
        """The next chunk; ``StopAsyncIteration`` at the end, the stream's error after its chunks."""
        while True:
            if self.closed:
                raise StopAsyncIteration
            up = self.up
            chunks = up.chunks
            pos = self._pos
            if pos < len(chunks):
                if up.state == RUNNING and len(chunks) - max(pos, self._joined) > self.buffer:
                    self.close()
                    up._stats.stream_overflows += 1
                    raise StreamOverflowError(
                        f"this reader fell more than buffer={self.buffer:g} chunks behind its stream and was cut "
                        f"off after {pos} chunks; read faster or pass a larger buffer= to stream()")
                self._pos = pos + 1
                up._stats.stream_chunks_fanned_out += 1
                return chunks[pos]
            if up.state != RUNNING:
                self.close()
                if up.state == FAILED:
                    error = up.error
                    assert error is not None
                    raise fresh_copy(error) if up.own_error else error
                raise StopAsyncIteration
            fut = asyncio.get_running_loop().create_future()
            up._waiters.append(fut)
            await fut  # woken by the next chunk, the end, or the error; a cancelled wait is skipped by _wake

    def close(self) -> None:
        """Stop reading (idempotent)."""
        if not self.closed:
            self.closed = True
            self.up.leave()

