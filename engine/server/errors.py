"""Errors as JSON bodies: one shape for every status, a clear message, and no internals.

The body is OpenAI's error shape, so the official SDKs raise their usual exceptions::

    {"error": {"message": "...", "type": "queue_full", "param": null, "code": 429}}

:func:`engine_error` maps the engine's errors to statuses: the queue is full -> 429 with ``Retry-After``;
a caller's timeout or the handler's ``processing_timeout`` -> 504; the processor closing -> 503; the handler
failing -> 500 (its exception is logged, never sent).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..errors import (
    BatchProcessingError,
    BatchTimeoutError,
    HandlerNotSetError,
    ProcessorClosedError,
    QueueFullError,
)

__all__ = ["ApiError", "describe_validation", "engine_error", "error_response", "install_error_handlers"]

logger = logging.getLogger("batchsieve.server")

_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
          405: "invalid_request_error", 413: "request_too_large", 422: "invalid_request_error",
          429: "queue_full", 500: "server_error", 503: "unavailable", 504: "timeout"}


class ApiError(Exception):
    """An HTTP error with its JSON body: raise it from a route, the app's handler answers it."""

    def __init__(self, status: int, message: str, *, type: str | None = None, param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type or _TYPES.get(status, "error")
        self.param = param
        self.headers = headers or {}


def error_response(status: int, message: str, *, type: str | None = None, param: str | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    """The JSON error response."""
    body = {"error": {"message": message, "type": type or _TYPES.get(status, "error"), "param": param,
                      "code": status}}
    return Response(json.dumps(body).encode(), status_code=status, headers=headers,
                    media_type="application/json")


def engine_error(exc: BaseException, retry_after: int) -> ApiError:
    """The HTTP error for an exception ``process`` raised (anything unknown is a 500 without details)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, QueueFullError):
        return ApiError(429, "the server's queue is full; retry later", headers={"Retry-After": str(retry_after)})
    if isinstance(exc, BatchTimeoutError):
        return ApiError(504, "the request was not answered in time")
    if isinstance(exc, ProcessorClosedError):
        return ApiError(503, "the server is shutting down", headers={"Retry-After": str(retry_after)})
    if isinstance(exc, HandlerNotSetError):
        return ApiError(503, "the server has no handler yet", headers={"Retry-After": str(retry_after)})
    if isinstance(exc, BatchProcessingError):
        logger.error("the handler failed: %s", exc, exc_info=exc.__cause__)
        return ApiError(500, "the handler failed on this request's batch")
    logger.error("request failed", exc_info=exc)
    return ApiError(500, "internal error")


def install_error_handlers(app: Any) -> None:
    """Answer :class:`ApiError`, validation errors, unknown routes and anything unexpected as JSON."""
    from fastapi.exceptions import RequestValidationError

    async def api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.message, type=exc.type, param=exc.param, headers=exc.headers)

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))

    async def validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, describe_validation(exc.errors()))

    async def unexpected(_: Request, exc: Exception) -> Response:
        logger.error("unhandled error", exc_info=exc)
        return error_response(500, "internal error")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)


def describe_validation(errors: Any, limit: int = 5) -> str:
    """Pydantic's errors as one line: where and what, never the input value (it may be huge or private)."""
    parts = []
    for err in list(errors)[:limit]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    more = len(errors) - limit
    return "invalid request: " + "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
