"""The user's batch handler: how it is held (``batch.handler``) and checked, and its results checked."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from .errors import BatchProcessingError

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
        return self._owner._handler

    def __call__(self, func: Handler) -> Handler:
        self._owner.handler = func
        return func

    def __bool__(self) -> bool:
        return self._owner._handler is not None

    def __repr__(self) -> str:
        return f"<handler {self._owner._handler!r}>"


def is_async_callable(func: Any) -> bool:
    """Whether calling ``func`` gives a coroutine (an ``async def``, or an instance with an async ``__call__``)."""
    call = type(func).__call__ if callable(func) else None
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(call)


def check_results(results: Any, n: int) -> list[Any]:
    """The handler's return value as a list of ``n`` results, or ``BatchProcessingError`` saying what is wrong."""
    if not isinstance(results, list):
        if isinstance(results, (str, bytes, dict)) or not isinstance(results, Sequence):
            raise BatchProcessingError(
                f"handler must return a list of {n} results, returned {type(results).__name__}", batch_size=n)
        results = list(results)
    if len(results) != n:
        raise BatchProcessingError(f"handler returned {len(results)} results for {n} requests", batch_size=n)
    return results


def is_stream_handler(func: Any) -> bool:
    """Whether ``func`` is an async generator function (or an instance whose ``__call__`` is one): a streaming
    handler, which yields steps of one chunk per request instead of returning a list."""
    call = func if inspect.isfunction(func) or inspect.ismethod(func) else type(func).__call__
    return inspect.isasyncgenfunction(call)


def check_handler(func: Any) -> Handler:
    """``func`` as a handler, or ``TypeError``: a callable taking a list (a function returning the list of
    results, or an async generator function yielding steps); a sync generator function is refused."""
    if isinstance(func, HandlerSlot):
        func = func.func  # batch.handler = other.handler
    if func is None or not callable(func):
        raise TypeError(f"handler must be a callable taking a list of requests, got {func!r}")
    call = func if inspect.isfunction(func) or inspect.ismethod(func) else type(func).__call__
    if inspect.isgeneratorfunction(call):
        raise TypeError(f"handler must return a list of results or be an async generator function, not a sync "
                        f"generator function: {func!r}")
    return func
