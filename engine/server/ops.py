"""The operational endpoints: ``/healthz``, ``/readyz``, ``/metrics``, ``/v1/stats`` and ``/v1/models``.

``/healthz`` says the process is alive (503 only when the model failed to load: restarting may help);
``/readyz`` says it can serve now (the model loaded, not draining). Both, and ``/metrics``, are open to
probes and scrapers; the ``/v1`` routes need a key when the server has keys.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from .auth import RequestScope
from .metrics import CONTENT_TYPE

__all__ = ["router"]

router = APIRouter()


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (JSON has no NaN or infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


@router.get("/healthz")
async def healthz(request: Request) -> Response:
    """Alive (200), or the model failed to load (503)."""
    state = request.app.state.batchsieve
    if state.load_error is not None:
        return JSONResponse({"status": "failed", "error": "the model failed to load"}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    """Ready to serve (200), or loading, draining or failed (503)."""
    state = request.app.state.batchsieve
    if state.ready and not state.draining:
        return JSONResponse({"status": "ready", "model": state.model_name})
    why = ("failed" if state.load_error is not None else "draining" if state.draining or state.batch is not None
           else "loading")
    return JSONResponse({"status": why}, status_code=503, headers={"Retry-After": str(state.config.retry_after)})


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus text format (async on purpose: the processor's counters are read on the event loop)."""
    return Response(request.app.state.batchsieve.metrics.render(), media_type=CONTENT_TYPE)


@router.get("/v1/stats")
async def stats(request: Request, _: RequestScope) -> Response:
    """The processor's ``get_stats()`` as JSON, with the server's own figures under ``"server"``."""
    state = request.app.state.batchsieve
    body: dict[str, Any] = {"server": state.summary()}
    if state.batch is not None:
        body["processor"] = dataclasses.asdict(state.batch.get_stats())
    encoder_stats = getattr(state.encoder, "stats", None)
    figures = encoder_stats() if callable(encoder_stats) else None
    if dataclasses.is_dataclass(figures) and not isinstance(figures, type):
        body["encoder"] = dataclasses.asdict(figures)
    return JSONResponse(_finite(body))


@router.get("/v1/models")
async def list_models(request: Request, _: RequestScope) -> dict[str, Any]:
    """The one model (or handler) this server serves, in OpenAI's list shape."""
    state = request.app.state.batchsieve
    return {"object": "list", "data": [{"id": state.model_name, "object": "model",
                                        "created": int(state.started_at), "owned_by": "batchsieve"}]}
