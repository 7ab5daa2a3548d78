"""Worker threads of one processor, for the blocking calls: a sync handler and a semantic dedup strategy.

Why not asyncio's default executor: a call that outlives its time limit (a hung backend, a hung encoder)
cannot be killed in Python; in the default executor it would hold a shared thread for good, so a few of
them starve every later call and ``asyncio.run()`` waits for them at exit. Here each processor has its own
small pool of **daemon** threads (never waited for at interpreter exit), and the caller learns whether a
call it stopped waiting for is still running (:attr:`WorkerPool.stuck`), so the engine can keep the
call's handler slot until it really returns and report it in stats.

What asyncio cannot carry from a thread into the loop comes back as :class:`ThreadAbort`, an ``Exception``
that holds it: a ``BaseException`` that is not an ``Exception`` (``KeyboardInterrupt``, ``SystemExit``
raised by user code in the thread), which would stop the loop, and ``StopIteration``, which asyncio refuses
to set on a future (the waiter would never be woken). Either fails the call instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import queue
import threading
from collections.abc import Callable
from typing import Any

__all__: list[str] = []  # internal module


class ThreadAbort(Exception):
    """A worker-thread call raised something asyncio cannot carry into the loop (kept as ``original``)."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(f"{type(original).__name__} raised in a worker thread")
        self.original = original


class WorkerPool(concurrent.futures.Executor):
    """At most ``max_workers`` daemon threads running submitted calls in order; threads start on demand.

    An ``Executor``, so the engine calls it through ``loop.run_in_executor`` (fake-clock test loops such as
    looptime know to wait for those); :meth:`run` returns the asyncio future and the thread's future.
    """

    def __init__(self, max_workers: int, name: str) -> None:
        self._max_workers = max_workers
        self._name = name
        self._jobs: queue.SimpleQueue[tuple[concurrent.futures.Future[Any], Callable[..., Any], tuple[Any, ...]]] = \
            queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self.stuck = 0  # calls whose caller stopped waiting (time limit) that are still running
        self._last: concurrent.futures.Future[Any] | None = None

    @property
    def free(self) -> bool:
        """Whether a thread could take a call now without waiting behind a stuck one."""
        return self.stuck < self._max_workers

    def run(self, loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any
            ) -> tuple[asyncio.Future[Any], concurrent.futures.Future[Any]]:
        """Run ``fn(*args)`` on a worker thread: the future to await, and the thread's own (running until
        ``fn`` returns, whatever happens to the first)."""
        awaitable = loop.run_in_executor(self, fn, *args)
        return awaitable, self._last

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        """Run ``fn(*args, **kwargs)`` on a worker thread; the future holds its result or exception."""
        if kwargs:
            fn = functools.partial(fn, **kwargs)
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._last = fut
        self._jobs.put((fut, fn, args))
        with self._lock:
            if self._idle:
                self._idle -= 1
            elif self._threads < self._max_workers:
                self._threads += 1
                threading.Thread(target=self._work, name=f"{self._name}-{self._threads}", daemon=True).start()
        return fut

    def abandon(self, fut: concurrent.futures.Future[Any], on_return: Callable[[], None] | None = None) -> None:
        """The caller stopped waiting for ``fut`` while it runs: count it stuck until it returns, then call
        ``on_return`` (from the worker thread)."""
        with self._lock:
            self.stuck += 1

        def returned(_: concurrent.futures.Future[Any]) -> None:
            with self._lock:
                self.stuck -= 1
            if on_return is not None:
                on_return()

        fut.add_done_callback(returned)

    def _work(self) -> None:
        while True:
            fut, fn, args = self._jobs.get()
            if fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(fn(*args))
                except StopIteration as exc:  # asyncio refuses it on a future: the waiter would hang
                    fut.set_exception(ThreadAbort(exc))
                except Exception as exc:
                    fut.set_exception(exc)
                except BaseException as exc:  # KeyboardInterrupt/SystemExit from user code: fail the call only
                    fut.set_exception(ThreadAbort(exc))
            del fut, fn, args  # nothing of the call is kept alive while idle
            with self._lock:
                self._idle += 1
