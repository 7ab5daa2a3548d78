"""The OpenAI-compatible embeddings API: ``POST /v1/embeddings`` and ``GET /v1/models``.

Each input string is one request to the processor, so strings from different HTTP calls batch together
and identical strings (in one tenant's scope) are embedded once. Rows are answered as JSON floats, or, for
``encoding_format="base64"`` (the official SDK's default), as base64 of the row's little-endian float32
bytes, which the SDK decodes with ``numpy.frombuffer(..., dtype="float32")``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from .auth import RequestScope
from .body import read_model
from .errors import ApiError

__all__ = ["EmbeddingRequest", "make_embedding_handler", "router", "to_rows"]

router = APIRouter()

_OFF_LOOP_ROWS = 256  # answers with more rows than this are serialised on a worker thread


class EmbeddingRequest(BaseModel):
    """The body of ``POST /v1/embeddings`` (unknown fields are ignored, as OpenAI adds them over time)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    input: str | list[str] = Field(description="a text, or a list of texts (token arrays are not supported)")
    model: str | None = None
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None
    user: str | None = None


def to_rows(embeddings: Any) -> list[np.ndarray]:
    """An encoder's output (a torch tensor, an array, or a list of rows) as float32 rows, one per text."""
    if hasattr(embeddings, "embeddings"):  # an EncodeResult
        embeddings = embeddings.embeddings
    if hasattr(embeddings, "detach"):  # a torch tensor, on any device
        embeddings = embeddings.detach().float().cpu().numpy()
    array = np.asarray(embeddings, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"the encoder returned an array of shape {array.shape}, expected (texts, dim)")
    return list(array)


def _token_counts(encoder: Any, texts: list[str]) -> list[int]:
    tokenizer = getattr(encoder, "tokenizer", None)
    ids = getattr(tokenizer(texts), "ids", None) if callable(tokenizer) else None
    return [len(seq) for seq in ids] if ids is not None else [0] * len(texts)


def make_embedding_handler(get_encoder: Callable[[], Any]) -> Callable[[list[str]], list[tuple[np.ndarray, int]]]:
    """The processor's handler for the embeddings API: unique texts in, ``(row, tokens)`` per text out.

    Sync: the processor runs it on its own worker thread, so the model never blocks the event loop.
    ``tokens`` is what the model consumed (special tokens included, after truncation), for ``usage``.
    """

    def embed(texts: list[str]) -> list[tuple[np.ndarray, int]]:
        encoder = get_encoder()
        rows = to_rows(encoder.encode(texts))
        if len(rows) != len(texts):
            raise ValueError(f"the encoder returned {len(rows)} rows for {len(texts)} texts")
        return list(zip(rows, _token_counts(encoder, texts), strict=True))

    return embed


def _render(results: Sequence[tuple[np.ndarray, int]], model: str, fmt: str) -> bytes:
    data = []
    for i, (row, _) in enumerate(results):
        if fmt == "base64":
            embedding: Any = base64.b64encode(row.astype("<f4", copy=False).tobytes()).decode("ascii")
        else:
            embedding = row.tolist()
        data.append({"object": "embedding", "index": i, "embedding": embedding})
    tokens = sum(n for _, n in results)
    body = {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens,
                                                                      "total_tokens": tokens}}
    return json.dumps(body, separators=(",", ":")).encode()


def _check_inputs(texts: list[str], max_inputs: int, max_chars: int) -> None:
    if not texts:
        raise ApiError(400, "input must not be an empty list", param="input")
    if len(texts) > max_inputs:
        raise ApiError(413, f"input has {len(texts)} items; the server's limit is {max_inputs}", param="input")
    longest = max(map(len, texts))
    if longest > max_chars:
        raise ApiError(413, f"an input has {longest} characters; the server's limit is {max_chars}",
                       param="input")


def _check_model(requested: str | None, served: str) -> None:
    if requested is None or requested in (served, served.rpartition("/")[2]):
        return
    raise ApiError(404, f"the model {requested!r} is not served here (GET /v1/models lists what is)",
                   type="model_not_found", param="model")


@router.post("/v1/embeddings")
async def create_embeddings(request: Request, scope: RequestScope) -> Response:
    """Embed ``input`` (OpenAI's request and response shapes)."""
    state = request.app.state.batchsieve
    config = state.config
    body = await read_model(request, EmbeddingRequest, config.max_body_bytes)
    texts = [body.input] if isinstance(body.input, str) else body.input
    _check_inputs(texts, config.max_inputs, config.max_input_chars)
    _check_model(body.model, state.model_name)
    dim = getattr(state.encoder, "dim", None)
    if body.dimensions is not None and dim is not None and body.dimensions != dim:
        raise ApiError(400, f"dimensions={body.dimensions} is not supported: this model's embeddings have "
                            f"{dim} dimensions", param="dimensions")
    results = await state.submit(texts, len(texts), scope=scope, timeout=state.timeout_for(None))
    if len(results) > _OFF_LOOP_ROWS:
        content = await asyncio.to_thread(_render, results, state.model_name, body.encoding_format)
    else:
        content = _render(results, state.model_name, body.encoding_format)
    return Response(content, media_type="application/json")
