"""What a server is set to: its limits, its time bounds, its keys and the processor's options.

One frozen :class:`ServerConfig` is built by the command line (or by hand for :func:`create_app`) and read by
every route; nothing in it changes while the server runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_PROCESSOR_OPTIONS", "EMBEDDINGS_PROCESSOR_OPTIONS", "ServerConfig"]

#: The processor options ``batchsieve serve`` starts from, whatever the handler (each one a flag).
DEFAULT_PROCESSOR_OPTIONS: dict[str, Any] = {"window_ms": 5.0, "max_size": 64, "max_queue_size": 10_000}

#: What the embeddings API adds: exact dedup of identical texts only. Semantic dedup would hand a paraphrase
#: another text's embedding (a wrong vector, silently), and normalisation would hand "Apple" the vector of
#: "apple" (a cased model tells them apart); an identical text always has an identical embedding.
EMBEDDINGS_PROCESSOR_OPTIONS: dict[str, Any] = {"dedup_strategy": "exact", "normalize": str}


def _positive(name: str, value: Any, *, integer: bool = False, optional: bool = False) -> None:
    if value is None and optional:
        return
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"{name} must be {'an int' if integer else 'a number'}, got {value!r}")
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be > 0 and finite, got {value!r}")


@dataclass(frozen=True)
class ServerConfig:
    """A server's settings (times in seconds, sizes in bytes, characters or items).

    ``processor`` holds keyword arguments for :class:`~batchsieve.BatchProcessor` on top of the server's
    defaults (:data:`DEFAULT_PROCESSOR_OPTIONS`, plus :data:`EMBEDDINGS_PROCESSOR_OPTIONS` for the
    embeddings API). ``api_keys`` maps each key to its tenant; ``None`` means no authentication and one
    shared dedup scope (a single-tenant deployment only).
    """

    processor: Mapping[str, Any] = field(default_factory=dict)
    api_keys: Mapping[str, str] | None = None
    #: request bodies larger than this get 413 before they are read in full
    max_body_bytes: int = 4 << 20
    #: items in one call (``input`` list or ``requests`` list) beyond this get 413
    max_inputs: int = 2048
    #: characters in one input text beyond this get 413
    max_input_chars: int = 100_000
    #: the longest any caller waits for its answer (a client's ``timeout_ms`` can only shorten it); then 504
    request_timeout: float | None = 60.0
    #: on SIGTERM/SIGINT: how long accepted requests may take to finish before they are failed
    drain_timeout: float = 30.0
    #: the ``Retry-After`` seconds sent with 429 (queue full) and 503 (loading, draining)
    retry_after: int = 1
    #: the model id the embeddings API answers with and ``/v1/models`` lists (default: the encoder's name)
    model_name: str | None = None

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_inputs", "max_input_chars", "retry_after"):
            _positive(name, getattr(self, name), integer=True)
        _positive("request_timeout", self.request_timeout, optional=True)
        _positive("drain_timeout", self.drain_timeout)
        if not isinstance(self.processor, Mapping):
            raise TypeError(f"processor must be a mapping of BatchProcessor options, got {self.processor!r}")
        if self.api_keys is not None:
            if not isinstance(self.api_keys, Mapping) or not self.api_keys:
                raise ValueError("api_keys must be a non-empty mapping of key -> tenant, or None")
            for key, tenant in self.api_keys.items():
                if not (isinstance(key, str) and key.strip() == key and key):
                    raise ValueError("every API key must be a non-empty string without surrounding spaces")
                if not (isinstance(tenant, str) and tenant):
                    raise ValueError(f"the tenant of each API key must be a non-empty string, got {tenant!r}")

    def processor_options(self, *, embeddings: bool) -> dict[str, Any]:
        """The keyword arguments for the server's :class:`~batchsieve.BatchProcessor`."""
        options = dict(DEFAULT_PROCESSOR_OPTIONS)
        if embeddings:
            options.update(EMBEDDINGS_PROCESSOR_OPTIONS)
        options.update(self.processor)
        queue = options.get("max_queue_size")
        if isinstance(queue, int) and queue < self.max_inputs:
            # a call is accepted whole or refused whole: a list larger than the queue would always be 429
            raise ValueError(f"max_queue_size ({queue}) must be >= max_inputs ({self.max_inputs})")
        return options
