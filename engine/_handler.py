"""The user's batch handler: how it is held (``batch.handler``), called, and its result checked."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from .errors import BatchProcessingError, BatchTimeoutError

if TYPE_CHECKING:
    from .processor import BatchProcessor

__all__: list[str] = []  # internal module

Handler = Callable[[list[Any]], "Sequence[Any] | Awaitable[Sequence[Any]]"]


class HandlerSlot:
    """What ``batch.handler`` returns: the current handler, usable as a decorator to set it.

    ``@batch.handler`` over a function makes it the handler; ``batch.handler.func`` is the current one.
    """

    __slots__ = ("_owner",)

    def __init__(self, owner: BatchProcessor) -> None:
        self._owner = owner

    @property
    def func(self) -> Handler | None:
        return self._owner._runner.handler

    def __call__(self, func: Handler) -> Handler:
        self._owner.handler = func
        return func

    def __bool__(self) -> bool:
        return self._owner._runner.handler is not None

    def __repr__(self) -> str:
        return f"<handler {self._owner._runner.handler!r}>"


def is_async_callable(func: Any) -> bool:
    """Whether calling ``func`` gives a coroutine (an ``async def``, or an instance with an async ``__call__``)."""
    call = type(func).__call__ if callable(func) else None
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(call)


async def call_handler(handler: Handler, is_async: bool, requests: list[Any], timeout: float | None) -> list[Any]:
    """Run ``handler`` on ``requests`` (a sync one in a worker thread) within ``timeout`` seconds, and check
    that it returned one result per request."""
    n = len(requests)
    try:
        async with asyncio.timeout(timeout):
            if is_async:
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
                f"handler must return a list of {n} results, returned {type(results).__name__}", batch_size=n)
        results = list(results)
    if len(results) != n:
        raise BatchProcessingError(f"handler returned {len(results)} results for {n} requests", batch_size=n)
    return results
