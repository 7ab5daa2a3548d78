"""For users with a FastAPI app of their own: a lifespan that owns a processor, a dependency that hands it to
routes, and error handlers that answer the engine's errors with the right status.

::

    from fastapi import Depends, FastAPI
    from batchsieve import BatchProcessor
    from batchsieve.server import add_error_handlers, get_processor, processor_lifespan

    app = FastAPI(lifespan=processor_lifespan(run_llm, window_ms=20, max_size=32))
    add_error_handlers(app)   # QueueFullError -> 429, timeouts -> 504, closing -> 503, handler failed -> 500

    @app.post("/ask")
    async def ask(question: Question, batch: BatchProcessor = Depends(get_processor)):
        return {"answer": await batch.process(question.text, scope=question.user_id)}

The processor is created when the app starts (on its event loop, where it must run) and closed when it stops:
``close`` answers everything accepted first (within ``drain_timeout`` seconds, if given).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from ..errors import BatchsieveError
from ..processor import BatchProcessor
from .errors import engine_error, error_response

__all__ = ["add_error_handlers", "get_processor", "processor_lifespan"]

_STATE_KEY = "batch"


def processor_lifespan(handler: Callable[[list], Any], *, drain_timeout: float | None = None,
                       lifespan: Callable[[FastAPI], Any] | None = None, state_key: str = _STATE_KEY,
                       **options: Any) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[Any]]:
    """A lifespan for ``FastAPI(lifespan=...)`` that keeps ``BatchProcessor(handler, **options)`` on
    ``app.state.<state_key>`` while the app runs, and drains it at shutdown.

    ``lifespan``: the app's own lifespan, run inside (the processor is up before it starts and drained after
    it ends). Options are checked at once: a bad one raises here, not at start-up.
    """
    BatchProcessor(handler, **options)  # checks handler and options now; the real one is made at start-up

    @contextlib.asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[Any]:
        batch = BatchProcessor(handler, **options)
        setattr(app.state, state_key, batch)
        try:
            await batch.warmup()  # the semantic strategies' encoder, before the first request (else a no-op)
            if lifespan is None:
                yield None
            else:
                async with lifespan(app) as inner:
                    yield inner
        finally:
            await batch.close(timeout=drain_timeout)

    return run


def get_processor(request: Request) -> BatchProcessor:
    """FastAPI dependency: the processor :func:`processor_lifespan` keeps on ``app.state.batch``."""
    batch = getattr(request.app.state, _STATE_KEY, None)
    if not isinstance(batch, BatchProcessor):
        raise RuntimeError("no processor on app.state.batch: create the app with "
                           "FastAPI(lifespan=processor_lifespan(handler, ...))")
    return batch


def add_error_handlers(app: FastAPI, *, retry_after: int = 1) -> None:
    """Answer the engine's errors raised in ``app``'s routes as JSON: queue full -> 429 (``Retry-After``),
    timeouts -> 504, the processor closing -> 503, the handler failing -> 500 (details logged, not sent)."""

    async def answer(_: Request, exc: Exception) -> Response:
        err = engine_error(exc, retry_after)
        return error_response(err.status, err.message, type=err.type, headers=err.headers)

    app.add_exception_handler(BatchsieveError, answer)
