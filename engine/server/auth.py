"""API keys -> tenants, and the tenant as the dedup scope.

The scope of every request comes from its key, never from the body: a client cannot name another tenant's
scope, so dedup can never hand one tenant an answer computed for another, whatever it sends. Without keys
there is no authentication and every request shares one scope (``None``): a single-tenant deployment only.

The key file is either a JSON object ``{"key": "tenant", ...}`` or text with one ``KEY TENANT`` pair per
line (blank lines and lines starting with ``#`` are skipped). Several keys may name one tenant (key
rotation); they share its scope. Keys are held as SHA-256 digests and looked up by digest, so the lookup
time does not depend on how much of a wrong key matches a right one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from .errors import ApiError

__all__ = ["KeyRing", "RequestScope", "load_api_keys", "request_scope"]


def load_api_keys(path: str | Path) -> dict[str, str]:
    """Read a key file (JSON object or ``KEY TENANT`` lines) into ``{key: tenant}``; ``ValueError`` if bad."""
    text = Path(path).read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise ValueError(f"{path}: the JSON object must map key strings to tenant strings")
        keys = dict(data)
    else:
        keys = {}
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 2:
                raise ValueError(f"{path}, line {number}: expected 'KEY TENANT'")
            if parts[0] in keys:
                raise ValueError(f"{path}, line {number}: this key is listed twice")
            keys[parts[0]] = parts[1]
    if not keys:
        raise ValueError(f"{path}: no API keys")
    for key, tenant in keys.items():
        if not key or not tenant or key.strip() != key:
            raise ValueError(f"{path}: every key and tenant must be a non-empty string")
    return keys


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


class KeyRing:
    """The keys a server accepts; :meth:`scope` turns a request's ``Authorization`` header into its scope."""

    def __init__(self, keys: Mapping[str, str] | None) -> None:
        self._tenants = None if keys is None else {_digest(k): t for k, t in keys.items()}

    @property
    def enabled(self) -> bool:
        """Whether requests need a key."""
        return self._tenants is not None

    @property
    def tenants(self) -> frozenset[str]:
        """The tenants that have keys."""
        return frozenset(self._tenants.values()) if self._tenants else frozenset()

    def tenant(self, authorization: str | None) -> str | None:
        """The tenant of an ``Authorization: Bearer KEY`` header; 401 when keys are on and it is missing or
        wrong; ``None`` (the shared scope) when keys are off."""
        if self._tenants is None:
            return None
        challenge = {"WWW-Authenticate": "Bearer"}
        if not authorization:
            raise ApiError(401, "missing API key: send 'Authorization: Bearer <key>'", headers=challenge)
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise ApiError(401, "malformed Authorization header: expected 'Bearer <key>'", headers=challenge)
        tenant = self._tenants.get(_digest(key.strip()))
        if tenant is None:
            raise ApiError(401, "invalid API key", headers=challenge)
        return tenant


def request_scope(request: Request) -> Hashable:
    """FastAPI dependency: the dedup scope of this request (its tenant), or 401."""
    ring: KeyRing = request.app.state.batchsieve.keys
    return ring.tenant(request.headers.get("authorization"))


#: A route parameter typed ``RequestScope`` receives the request's scope (its tenant, or ``None``), or the
#: route answers 401 before it runs.
RequestScope = Annotated[Hashable, Depends(request_scope)]
