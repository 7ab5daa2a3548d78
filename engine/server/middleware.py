"""HTTP accounting, as a plain ASGI middleware: every request read and every response finished is counted.

The counts prove the shutdown promise (every request the server accepted was answered: ``http_accepted ==
http_answered`` once drained) and feed ``batchsieve_http_responses`` and ``batchsieve_http_request_seconds``.
Routes are labelled by their path when it is one of the app's, ``other`` otherwise (no label per URL).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["HttpAccounting"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


class HttpAccounting:
    """Counts requests and responses on ``state`` (a :class:`~batchsieve.server.state.ServerState`)."""

    def __init__(self, app: ASGIApp, state: Any, routes: frozenset[str]) -> None:
        self.app = app
        self.state = state
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.state
        path = scope.get("path", "")
        route = path if path in self.routes else "other"
        status = 500
        finished = False

        async def counted_send(message: Message) -> None:
            nonlocal status, finished
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                finished = True

        state.http_accepted += 1
        state.http_in_flight += 1
        t0 = time.perf_counter()
        try:
            await self.app(scope, receive, counted_send)
        finally:
            state.http_in_flight -= 1
            if finished:
                state.http_answered += 1
            metrics = state.metrics
            metrics.http.labels(route, str(status)).inc()
            metrics.http_seconds.labels(route).observe(time.perf_counter() - t0)
