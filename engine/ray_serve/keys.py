"""Routing keys and rendezvous hashing: which replica a request goes to, without Ray.

A request's routing key is a digest of its ``scope`` and its exact-normalised text: the same two things the
processor's exact dedup compares, so two requests that could merge exactly always have the same key (their
other fields may differ: such requests share a replica and are simply not merged there). Keys are digests,
not Python ``hash()``: every process (the driver, the HTTP proxy, an ingress replica) routes a key the same
way, whatever its ``PYTHONHASHSEED``.

Replicas are ranked for a key by rendezvous (highest random weight) hashing: each replica scores
``digest(key, replica id)`` and the highest score wins. Adding a replica moves only the keys it now wins
(about ``1/n`` of them); removing one moves only its own keys, each to its second choice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from ..config import BatchConfig
from ..request import freeze_scope, read_request

__all__ = ["RoutingKey", "rank_replicas"]

_DIGEST_BYTES = 16  # 128 bits: collisions between distinct keys are negligible at any realistic key count


class RoutingKey:
    """``key(request, scope) -> bytes | None``: the routing key the processor's options imply.

    ``None`` for a request that has no key: one the processor cannot read (it will refuse it with a
    ``TypeError`` on whatever replica it lands), an empty list, or a call with ``dedup=False``. A list
    request is keyed by its first item (its items dedup one by one, on the replica the list goes to).
    """

    __slots__ = ("normalize", "text_fn", "text_key")

    def __init__(self, text_key: str = "query", text_fn: Callable[[Any], str] | None = None,
                 normalize: Callable[[str], str] | None = None) -> None:
        config = BatchConfig(text_key=text_key, text_fn=text_fn,
                             **({} if normalize is None else {"normalize": normalize}))  # the same checks
        self.text_key = config.text_key
        self.text_fn = config.text_fn
        self.normalize = config.normalize

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> RoutingKey:
        """The key of a processor built with ``BatchProcessor(**options)``."""
        config = BatchConfig(**{k: v for k, v in options.items() if k in BatchConfig.field_names()})
        return cls(config.text_key, config.text_fn, config.normalize)

    def __call__(self, request: Any, scope: Hashable = None, dedup: bool = True) -> bytes | None:
        if dedup is not True:
            return None
        if request.__class__ is list:
            if not request:
                return None
            request = request[0]
        try:
            text, _ = read_request(request, self.text_key, self.text_fn)
            norm = self.normalize(text)
        except Exception:  # the replica's processor reports it to the caller; routing just has no key
            return None
        if not isinstance(norm, str):
            return None
        h = hashlib.blake2b(digest_size=_DIGEST_BYTES)
        h.update(_scope_bytes(scope))
        h.update(b"\x00")
        h.update(norm.encode("utf-8", "surrogatepass"))
        return h.digest()


def _scope_bytes(scope: Hashable) -> bytes:
    """A stable byte form of the typed scope (``1``, ``1.0`` and ``True`` differ, as in the processor).

    ``repr`` of the frozen scope: stable across processes for the scalars and containers scopes are made of;
    a scope whose ``repr`` holds an address only loses routing affinity (merging is still decided, exactly,
    by the processor)."""
    return repr(freeze_scope(scope)).encode("utf-8", "backslashreplace")


def _score(key: bytes, replica: str) -> int:
    h = hashlib.blake2b(key, digest_size=8)
    h.update(replica.encode("utf-8"))
    return int.from_bytes(h.digest(), "big")


def rank_replicas(key: bytes, replicas: Sequence[str]) -> list[str]:
    """``replicas`` (their unique ids) from the key's first choice to its last (rendezvous hashing)."""
    return sorted(replicas, key=lambda r: (_score(key, r), r), reverse=True)
