"""HTTP in front of a batchsieve deployment, through Ray Serve's own FastAPI integration (``serve.ingress``).

``batchsieve_http(backend)`` is an ingress deployment: Serve's HTTP proxy hands it each request, it reads
and checks the body (the ``/v1/process`` body and limits of ``batchsieve serve``), and calls the backend
deployment's handle. The call goes through the handle, so the backend's router sees the request and routes it
by its dedup key (Serve's proxy alone could not: it routes HTTP requests before their body is read).

* ``POST /v1/process``: ``{"request": R}`` or ``{"requests": [R, ...]}`` with optional ``priority``,
  ``timeout_ms``, ``dedup``, answered ``{"result": ...}`` / ``{"results": [...]}``;
* ``GET /v1/stats``: :func:`~batchsieve.ray_serve.gather_stats` as JSON (the aggregate and every replica).

Errors are the server's JSON bodies and statuses; a replica that died under the call is a 503 with
``Retry-After``. With ``api_keys`` (``{key: tenant}``, as ``batchsieve serve --api-keys`` reads them) every
``/v1`` request needs ``Authorization: Bearer KEY`` (401 otherwise) and its tenant is the request's scope,
so dedup never merges across tenants, whatever the body says; without keys every request shares one scope.
"""

# no `from __future__ import annotations` here: serve.ingress rebuilds the route methods, and FastAPI must see
# the real `Request` class in their signatures, not a string it would resolve in the wrong module

import dataclasses
import json
from typing import Any

from fastapi import FastAPI, Request
from ray import serve
from ray.exceptions import ActorUnavailableError, RayActorError, RayTaskError
from starlette.responses import Response

from ..server.auth import KeyRing
from ..server.body import read_model
from ..server.errors import ApiError, engine_error, install_error_handlers
from ..server.process import ProcessRequest
from .stats import gather_stats

__all__ = ["BatchsieveIngress", "batchsieve_http"]

_MAX_BODY_BYTES = 4 * 1024 * 1024  # the same bound as `batchsieve serve --max-body-bytes`
_MAX_INPUTS = 2048  # the same bound as `batchsieve serve --max-inputs`
_RETRY_AFTER = 1  # seconds: Serve replaces a dead replica, or another one takes the retry
# HTTP calls one ingress replica holds at once: it only awaits the backend, and Serve's default (5) would
# queue HTTP callers in front of the batcher (1,000: what the issue measured as not starving it)
_INGRESS_ONGOING = 1000

api = FastAPI(title="batchsieve on Ray Serve")
install_error_handlers(api)


def _http_error(exc: BaseException) -> ApiError:
    """The HTTP answer for what a backend call raised."""
    if isinstance(exc, RayTaskError) and isinstance(exc.cause, BaseException):
        exc = exc.cause  # the replica's own exception (the processor's error, or the handler's)
    if isinstance(exc, RayActorError | ActorUnavailableError):
        return ApiError(503, "the replica serving this request died; retry", headers={"Retry-After": str(_RETRY_AFTER)})
    if isinstance(exc, TypeError | ValueError):
        return ApiError(422, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return engine_error(exc, _RETRY_AFTER)


def _items(body: ProcessRequest) -> tuple[list[Any], bool]:
    given = body.model_fields_set & {"request", "requests"}
    if len(given) != 1:
        raise ApiError(422, "send exactly one of 'request' (one request) or 'requests' (a list)")
    if "requests" in given:
        if not body.requests:
            raise ApiError(400, "'requests' must be a non-empty list", param="requests")
        if len(body.requests) > _MAX_INPUTS:
            raise ApiError(413, f"{len(body.requests)} requests in one call; the limit is {_MAX_INPUTS}")
        return list(body.requests), True
    return [body.request], False


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars, torch tensors
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


@serve.ingress(api)
class BatchsieveIngress:
    """The FastAPI ingress: checks each body and forwards it to the batchsieve deployment's handle."""

    def __init__(self, backend: Any, keys: KeyRing) -> None:
        self._backend = backend
        self._keys = keys  # digests of the API keys only

    @api.post("/v1/process")
    async def process(self, request: Request) -> Response:
        """Run the body's requests through the deployment, answer their results in order."""
        scope = self._keys.tenant(request.headers.get("authorization"))  # before the body is read
        body = await read_model(request, ProcessRequest, _MAX_BODY_BYTES)
        items, many = _items(body)
        timeout = None if body.timeout_ms is None else body.timeout_ms / 1000.0
        try:
            # always a list call: a request that is itself a JSON array stays one request
            results = await self._backend.remote(items, scope=scope, priority=body.priority, dedup=body.dedup,
                                                 timeout=timeout)
        except Exception as exc:
            raise _http_error(exc) from None
        try:
            content = json.dumps({"results": results} if many else {"result": results[0]}, default=_jsonable)
        except (TypeError, ValueError):
            raise ApiError(500, "the handler returned a result that is not JSON-serializable") from None
        return Response(content.encode(), media_type="application/json")

    @api.get("/v1/stats")
    async def stats(self, request: Request) -> Response:
        """Every replica's stats and their aggregate (with keys on, for any valid key)."""
        self._keys.tenant(request.headers.get("authorization"))
        figures = dataclasses.asdict(await gather_stats(self._backend))
        for row in figures["replicas"]:
            row.pop("recent_latencies_ms")  # the percentiles are in the aggregate
        return Response(json.dumps(figures, default=str).encode(), media_type="application/json")


def batchsieve_http(backend: Any, *, name: str = "batchsieve_http", num_replicas: int = 1,
                    ray_actor_options: dict[str, Any] | None = None, api_keys: dict[str, str] | None = None) -> Any:
    """The HTTP ingress application in front of ``backend`` (a bound batchsieve deployment):
    ``serve.run(batchsieve_http(batchsieve_deployment(run_llm).bind()), route_prefix="/")``. ``api_keys``:
    ``{key: tenant}`` (``batchsieve.server.auth.load_api_keys`` reads a key file); the tenant is the scope."""
    if api_keys is not None and not isinstance(api_keys, dict):
        raise TypeError(f"api_keys must be a dict of key -> tenant or None, got {type(api_keys).__name__}")
    if api_keys is not None and not api_keys:
        raise ValueError("api_keys must not be empty (None: no authentication)")
    settings: dict[str, Any] = {"name": name, "num_replicas": num_replicas, "max_ongoing_requests": _INGRESS_ONGOING}
    if ray_actor_options is not None:
        settings["ray_actor_options"] = dict(ray_actor_options)
    return serve.deployment(BatchsieveIngress, **settings).bind(backend, KeyRing(api_keys))
