"""``POST /v1/process``: any handler behind the processor, one JSON request or a list of them per call.

Body: ``{"request": R}`` or ``{"requests": [R, ...]}``, plus optional ``priority`` (int), ``timeout_ms``
(> 0; never longer than the server's ``request_timeout``) and ``dedup`` (bool). Each ``R`` is what the
handler takes: a string, or an object with its text under the processor's ``text_key`` (default
``"query"``) and any other JSON fields. The answer is ``{"result": ...}`` or ``{"results": [...]}``, in
order. A list is accepted or refused as a whole, and fails as a whole (the first failure's status).
With ``"stream": true`` (one ``request``) the answer is the request's chunks as server-sent events
(:mod:`batchsieve.server.sse`); ``timeout_ms`` then bounds the wait for the first chunk.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, JsonValue
from starlette.responses import Response

from ..request import read_request
from .auth import RequestScope
from .body import read_model
from .errors import ApiError
from .sse import stream_response

__all__ = ["ProcessRequest", "router"]

router = APIRouter()


class ProcessRequest(BaseModel):
    """The body of ``POST /v1/process`` (unknown fields are refused: a typo must not pass silently)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    request: JsonValue = None
    requests: list[JsonValue] | None = None
    priority: int = 0
    timeout_ms: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    dedup: bool = True
    stream: bool = False  # one "request" only: its chunks as server-sent events (sse.py)


def _items(body: ProcessRequest) -> tuple[list[Any], bool]:
    """The requests of a call, and whether it was a list."""
    given = body.model_fields_set & {"request", "requests"}
    if len(given) != 1:
        raise ApiError(422, "send exactly one of 'request' (one request) or 'requests' (a list)")
    if "requests" in given:
        if body.requests is None:
            raise ApiError(422, "'requests' must be a list", param="requests")
        return list(body.requests), True
    return [body.request], False


def _check_items(items: list[Any], batch: Any, max_inputs: int, max_chars: int) -> None:
    if not items:
        raise ApiError(400, "'requests' must not be empty", param="requests")
    if len(items) > max_inputs:
        raise ApiError(413, f"{len(items)} requests in one call; the server's limit is {max_inputs}",
                       param="requests")
    config = batch.config
    for i, item in enumerate(items):
        try:
            text, _ = read_request(item, config.text_key, config.text_fn)  # the engine's own reading rule
        except TypeError as exc:
            raise ApiError(422, f"request {i}: {exc}") from None
        if len(text) > max_chars:
            raise ApiError(413, f"request {i} has {len(text)} characters of text; the server's limit is "
                                f"{max_chars}")


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars, torch tensors
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


@router.post("/v1/process")
async def process(request: Request, scope: RequestScope) -> Response:
    """Run the call's requests through the processor and answer their results in order."""
    state = request.app.state.batchsieve
    config = state.config
    body = await read_model(request, ProcessRequest, config.max_body_bytes)
    items, many = _items(body)
    refused = state.unavailable()
    if refused is not None:
        state.metrics.outcomes.labels("unavailable").inc(len(items))
        raise refused
    _check_items(items, state.batch, config.max_inputs, config.max_input_chars)
    if body.stream:
        if many:
            raise ApiError(422, "'stream': true takes one 'request', not a list", param="stream")
        return await stream_response(state, items[0], scope=scope, priority=body.priority,
                                     timeout=state.timeout_for(body.timeout_ms), dedup=body.dedup)
    # always a list call (one item for "request"): a request that is itself a JSON array stays one request
    results = await state.submit(items, len(items), scope=scope, priority=body.priority,
                                 timeout=state.timeout_for(body.timeout_ms), dedup=body.dedup)
    try:
        content = json.dumps({"results": results} if many else {"result": results[0]}, default=_plain)
    except (TypeError, ValueError):
        raise ApiError(500, "the handler returned a result that is not JSON-serializable") from None
    return Response(content.encode(), media_type="application/json")
