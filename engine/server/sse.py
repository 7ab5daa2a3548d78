"""``POST /v1/process`` with ``"stream": true``: one request's chunks as server-sent events.

The first chunk is awaited before the response starts, so whatever goes wrong before it is an ordinary
HTTP error (429 queue full, 503 closing, 504 no first chunk in time, 500 the handler failed). Then each
chunk is one event, ``data: {"chunk": <json>}``, and the stream ends with ``data: [DONE]`` (OpenAI's
framing); a failure after the first chunk is one ``event: error`` whose data is the JSON error body (the
same message and type as the status it would have had), then the stream ends. A client that disconnects
leaves the shared stream (the others read on; the generation stops when every reader has left).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Hashable
from typing import Any

from starlette.responses import StreamingResponse

from .errors import engine_error
from .state import ServerState, outcome_of

__all__ = ["stream_response"]

_NOTHING = object()


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars, torch tensors
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


def _event(payload: dict[str, Any], kind: str | None = None) -> bytes:
    head = f"event: {kind}\n" if kind else ""
    return f"{head}data: {json.dumps(payload, default=_plain)}\n\n".encode()


async def stream_response(state: ServerState, item: Any, *, scope: Hashable, priority: int, timeout: float | None,
                          dedup: bool) -> StreamingResponse:
    """Open ``item``'s stream, wait for its first chunk, and answer the rest as server-sent events."""
    batch = state.batch
    assert batch is not None
    metrics, retry_after = state.metrics, state.config.retry_after
    t0 = time.perf_counter()
    try:
        stream = batch.stream(item, priority=priority, timeout=timeout, scope=scope, dedup=dedup)
    except Exception as exc:
        metrics.outcomes.labels(outcome_of(exc)).inc()
        raise engine_error(exc, retry_after) from None
    try:
        first = await anext(stream)
    except StopAsyncIteration:
        first = _NOTHING  # an empty stream
    except asyncio.CancelledError:
        await stream.aclose()
        raise
    except Exception as exc:
        await stream.aclose()
        metrics.outcomes.labels(outcome_of(exc)).inc()
        metrics.latency.observe(time.perf_counter() - t0)
        raise engine_error(exc, retry_after) from None

    async def events() -> AsyncIterator[bytes]:
        outcome = "ok"
        try:
            if first is not _NOTHING:
                yield _event({"chunk": first})
                async for chunk in stream:
                    yield _event({"chunk": chunk})
            yield b"data: [DONE]\n\n"
        except (TypeError, ValueError) as exc:  # a chunk JSON cannot hold (or a handler's own error of that kind)
            outcome = "failed"
            error = engine_error(exc, retry_after)
            yield _event({"error": {"message": error.message, "type": error.type, "param": None,
                                    "code": error.status}}, "error")
        except Exception as exc:
            outcome = outcome_of(exc)
            error = engine_error(exc, retry_after)
            yield _event({"error": {"message": error.message, "type": error.type, "param": None,
                                    "code": error.status}}, "error")
        finally:
            await stream.aclose()
            metrics.outcomes.labels(outcome).inc()
            metrics.latency.observe(time.perf_counter() - t0)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
