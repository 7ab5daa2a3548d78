"""The engine's internal record of a request: how its text and identity are read, and its queue slot."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Hashable
from typing import Any

__all__: list[str] = []  # internal module

QUEUED, IN_FLIGHT, DONE, DROPPED = 0, 1, 2, 3
_SCALARS = (str, int, float, bool, bytes, type(None))


class _Unhashable(Exception):
    """A request field has no stable identity; the request is then never merged."""


def _freeze(value: Any) -> Hashable:
    """A hashable value that is equal for two requests exactly when their fields are equal.

    Types are part of the identity (``1``, ``1.0`` and ``True`` differ), dict key order is not.
    """
    cls = value.__class__
    if cls in _SCALARS:
        return (cls, value)
    if isinstance(value, dict):
        return (dict, frozenset((_freeze(k), _freeze(v)) for k, v in value.items()))  # typed keys too
    if isinstance(value, (list, tuple)):
        return (cls, tuple(_freeze(v) for v in value))
    if isinstance(value, (set, frozenset)):
        return (frozenset, frozenset(_freeze(v) for v in value))
    try:
        hash(value)
    except TypeError as exc:
        raise _Unhashable from exc
    return (cls, value)


def freeze_scope(scope: Hashable) -> Hashable:
    """The typed identity of a ``scope``: equal only for equal values of the same type (``1``, ``1.0`` and
    ``True`` are three scopes, and so are ``0`` and ``-0.0``), nested containers included."""
    try:
        return _freeze(scope)
    except _Unhashable:  # hashable, but holds something that is not: its own identity then
        return (scope.__class__, scope)


def _text_of(request: Any, text_fn: Callable[[Any], str]) -> str:
    text = text_fn(request)
    if not isinstance(text, str):
        raise TypeError(f"text_fn must return a str, returned {type(text).__name__}")
    return text


def read_request(request: Any, text_key: str, text_fn: Callable[[Any], str] | None) -> tuple[str, Hashable]:
    """Return ``(text, fields)`` of one request, or raise ``TypeError`` for a request of the wrong shape.

    ``fields`` is the frozen identity of everything but the text (``None`` when some field is unhashable,
    which makes the request unmergeable).
    """
    if request.__class__ is str:
        return (request if text_fn is None else _text_of(request, text_fn)), ()
    if isinstance(request, str) and text_fn is None:  # a str subclass: its text, as a plain str
        return str.__str__(request), ()
    if isinstance(request, dict):
        if text_fn is None:
            try:
                text = request[text_key]
            except KeyError:
                raise TypeError(
                    f"request dict has no {text_key!r} key (keys: {sorted(map(str, request))}); "
                    "pass text_key= or text_fn= to BatchProcessor") from None
        else:
            text = text_fn(request)
        if not isinstance(text, str):
            raise TypeError(f"request text must be a str, got {type(text).__name__} {text!r}")
        if len(request) == 1 and text_key in request:
            return text, ()
        try:
            fields = frozenset((_freeze(k), _freeze(v)) for k, v in request.items() if k != text_key)
        except _Unhashable:
            fields = None
        return text, fields
    if text_fn is not None:
        text = _text_of(request, text_fn)
        try:
            return text, _freeze(request)
        except _Unhashable:
            return text, None
    raise TypeError(
        f"a request must be a str or a dict with its text under {text_key!r}, got {type(request).__name__}; "
        "pass text_fn= to BatchProcessor for other request types")


class Entry:
    """One handler slot: a unique request and every caller waiting for its answer.

    The first caller's future and arrival time are kept inline (most entries have one caller); later
    callers of the same request go to ``more`` as ``(future, arrival)`` pairs. A caller that gives up is
    removed; an entry still queued with no caller left is dropped before dispatch.
    """

    __slots__ = ("arrival", "cost", "count", "deadline", "fields", "fut", "key", "more", "norm", "priority",
                 "request", "scope", "seq", "state", "text")

    def __init__(self, request: Any, text: str, norm: str, fields: Hashable, scope: Hashable,
                 key: Hashable | None, priority: int, seq: int, arrival: float,
                 fut: asyncio.Future[Any], cost: float = 0.0) -> None:
        self.request = request
        self.text = text
        self.norm = norm
        self.fields = fields
        self.scope = scope
        self.key = key
        self.priority = priority
        self.seq = seq
        self.arrival = arrival
        self.fut: asyncio.Future[Any] | None = fut
        self.more: list[tuple[asyncio.Future[Any], float]] | None = None
        self.count = 1  # callers attached
        self.deadline = math.inf
        self.state = QUEUED
        self.cost = cost  # the request's cost_fn value (0 when no cost budget nor bucketing is on)

    def add_waiter(self, fut: asyncio.Future[Any], arrival: float) -> None:
        """Another caller asks the same thing."""
        self.count += 1
        if self.more is None:
            self.more = [(fut, arrival)]
        else:
            self.more.append((fut, arrival))

    def waiters(self) -> list[tuple[asyncio.Future[Any], float]]:
        """Every ``(future, arrival)`` still attached."""
        out = [] if self.fut is None else [(self.fut, self.arrival)]
        if self.more:
            out.extend(self.more)
        return out

    def remove_waiter(self, fut: asyncio.Future[Any]) -> bool:
        """Forget ``fut``; return whether it was attached here."""
        if self.fut is fut:
            self.fut = None
            self.count -= 1
            return True
        if self.more:
            for i, (f, _) in enumerate(self.more):
                if f is fut:
                    del self.more[i]
                    self.count -= 1
                    return True
        return False
