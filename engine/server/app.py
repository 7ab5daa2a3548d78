"""The app factory: :func:`create_app` builds the FastAPI app, and its lifespan starts and drains the processor.

* ``create_app()``: the OpenAI-compatible embeddings API on the default model (all-MiniLM-L6-v2 from
  ``batchsieve.models``). The server accepts connections at once; the model loads on a worker thread, and
  until it has, ``/readyz`` and the API answer 503.
* ``create_app(handler)``: ``POST /v1/process`` in front of ``handler`` (anything
  :class:`~batchsieve.BatchProcessor` takes).

Either way: ``/healthz``, ``/readyz``, ``/metrics``, ``/v1/stats``, ``/v1/models``. On shutdown (the ASGI
server has stopped accepting and finished its open requests) the lifespan closes the processor, which
answers whatever is still queued, within ``drain_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI

from ..config import BatchConfig
from . import embeddings, ops, process
from .config import ServerConfig
from .errors import install_error_handlers
from .middleware import HttpAccounting
from .state import ServerState

__all__ = ["create_app", "handler_name"]

logger = logging.getLogger("batchsieve.server")

_SEMANTIC = ("embedding", "hybrid")


def handler_name(handler: Any) -> str:
    """``module:qualname`` of a handler, the id ``/v1/models`` lists for it."""
    module = getattr(handler, "__module__", None) or type(handler).__module__
    name = getattr(handler, "__qualname__", None) or type(handler).__qualname__
    return f"{module}:{name}"


def _default_loader() -> Any:
    from ..models import SentenceEncoder

    return SentenceEncoder()


def create_app(handler: Callable[[list], Any] | None = None, *, config: ServerConfig | None = None,
               encoder: Any = None, load_encoder: Callable[[], Any] | None = None) -> FastAPI:
    """The server app: the embeddings API (no ``handler``) or ``/v1/process`` in front of ``handler``.

    Embeddings API: ``encoder`` is a loaded encoder (anything with ``encode(texts)`` returning rows or an
    ``EncodeResult``), or ``load_encoder()`` makes one on a worker thread after start-up (default: the
    packaged all-MiniLM-L6-v2). Processor options come from ``config.processor`` over the server's
    defaults; they are checked here, so a bad option fails at once, not after the model has loaded.
    """
    config = config if config is not None else ServerConfig()
    is_embeddings = handler is None
    if not is_embeddings and (encoder is not None or load_encoder is not None):
        raise TypeError("encoder and load_encoder are for the embeddings API (no handler)")
    options = config.processor_options(embeddings=is_embeddings)
    strategy = BatchConfig(**options).dedup_strategy  # every option checked now (TypeError/ValueError naming it)
    if is_embeddings:
        from ..models import DEFAULT_MODEL_NAME

        name = config.model_name or getattr(encoder, "model_name", None) or DEFAULT_MODEL_NAME
    else:
        name = config.model_name or handler_name(handler)
    state = ServerState(config, embeddings=is_embeddings, model_name=str(name))

    def start_embeddings(loaded: Any) -> None:
        state.encoder = loaded
        if config.model_name is None and getattr(loaded, "model_name", None):
            state.model_name = str(loaded.model_name)
        opts = dict(options)
        if strategy in _SEMANTIC and opts.get("encoder") is None:
            opts["encoder"] = loaded  # semantic dedup (if asked for) shares the served model
        state.start_processor(embeddings.make_embedding_handler(lambda: state.encoder), opts)

    async def load() -> None:
        def build() -> Any:
            made = (load_encoder or _default_loader)()
            warm = getattr(made, "warmup", None)
            if callable(warm):
                warm()
            return made

        try:
            loaded = await asyncio.to_thread(build)
        except Exception as exc:
            state.load_error = f"{type(exc).__name__}: {exc}"
            logger.error("the model failed to load: %s", state.load_error, exc_info=exc)
            return
        start_embeddings(loaded)
        logger.info("model %s loaded; ready", state.model_name)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        loader: asyncio.Task[None] | None = None
        if not is_embeddings:
            state.start_processor(handler, options)  # type: ignore[arg-type]
            if strategy in _SEMANTIC and options.get("enable_dedup", True):
                await state.batch.warmup()  # type: ignore[union-attr]
        elif encoder is not None:
            start_embeddings(encoder)
        else:
            loader = asyncio.create_task(load())
        try:
            yield
        finally:
            if loader is not None and not loader.done():
                loader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loader
            await state.drain()
            logger.info("drained: %s", state.summary())

    app = FastAPI(title="batchsieve", version=_version(), lifespan=lifespan)
    app.state.batchsieve = state
    install_error_handlers(app)
    routers = (ops.router, embeddings.router if is_embeddings else process.router)
    for router in routers:
        app.include_router(router)
    paths = frozenset(route.path for router in routers for route in router.routes)  # type: ignore[attr-defined]
    app.add_middleware(HttpAccounting, state=state, routes=paths)
    return app


def _version() -> str:
    from .. import __version__

    return __version__
