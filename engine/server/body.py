"""Reading a JSON request body within bounds: size first, then UTF-8, then JSON, then the model's types.

Each failure has its own status and message: a body over ``max_body_bytes`` -> 413 (declared or streamed:
it is never held in memory past the limit), bytes that are not UTF-8 -> 400, malformed JSON -> 400, JSON of
the wrong shape or types -> 422. A body over the limit is still read to its end (up to
:data:`DRAIN_LIMIT`) and thrown away, so the client, still sending, reads the 413 instead of a reset
connection, and the connection stays usable.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request

from .errors import ApiError, describe_validation

__all__ = ["DRAIN_LIMIT", "parse_model", "read_body", "read_model"]

M = TypeVar("M", bound=BaseModel)

#: Past this many bytes an oversized body is no longer drained: the connection is simply closed.
DRAIN_LIMIT = 64 << 20


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"request body exceeds the server's limit of {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, or 413 when it is (or is declared) longer than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ApiError(400, "invalid Content-Length header") from None
        if size > DRAIN_LIMIT:
            raise _too_large(limit)  # not worth reading: the connection closes after the answer
    chunks: list[bytes] = []
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                chunks.clear()  # keep reading (to answer a client that is still sending), keep nothing
                if total > DRAIN_LIMIT:
                    break
            else:
                chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "the client disconnected before sending the whole body") from None
    if total > limit:
        raise _too_large(limit)
    return b"".join(chunks)


def parse_model(raw: bytes, model: type[M]) -> M:
    """``raw`` as UTF-8 JSON validated by ``model`` (400 for bytes or JSON that do not parse, 422 for types)."""
    if not raw.strip():
        raise ApiError(400, "the request body is empty; send a JSON object")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"the request body is not valid UTF-8 (byte {exc.start})") from None
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        if any(e.get("type") == "json_invalid" for e in errors):
            raise ApiError(400, f"the request body is not valid JSON: {errors[0].get('msg', '')}") from None
        if any(e.get("type") == "model_type" and not e.get("loc") for e in errors):
            raise ApiError(422, "the request body must be a JSON object") from None
        raise ApiError(422, describe_validation(errors)) from None


async def read_model(request: Request, model: type[M], limit: int) -> M:
    """Read, bound, decode, parse and validate a request body as ``model``."""
    return parse_model(await read_body(request, limit), model)
