"""Configuration of a :class:`~batchsieve.BatchProcessor`, validated at construction.

Every keyword of the product specification is a field here. Wrong types raise ``TypeError``; impossible
values (and impossible combinations) raise ``ValueError`` naming the offending value.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Literal, get_args

from .normalize import normalize_text

__all__ = ["DEDUP_STRATEGIES", "DEFAULT_STRATEGY", "BatchConfig", "DedupStrategyName"]

DedupStrategyName = Literal["exact", "embedding", "hybrid", "custom"]
DEDUP_STRATEGIES: tuple[str, ...] = get_args(DedupStrategyName)
DEFAULT_STRATEGY: DedupStrategyName = "hybrid"
_DEFAULT_MAX_WAIT_MS = 100.0


def _check_number(name: str, value: object, *, integer: bool = False) -> None:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        want = "an int" if integer else "a number"
        raise TypeError(f"{name} must be {want}, got {type(value).__name__} {value!r}")
    if not integer and not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")


@dataclass(frozen=True, slots=True)
class BatchConfig:
    """All settings of a processor. Times named ``*_ms`` are milliseconds; ``processing_timeout`` is seconds.

    See the README's configuration table for the meaning of each field.
    """

    # collection
    window_ms: float = 50.0
    max_size: int = 32
    min_size: int = 1
    max_wait_ms: float | None = None  # None: 100 ms, or the (max) window if that is longer
    processing_timeout: float | None = 30.0
    max_queue_size: int = 10_000
    max_concurrent_batches: int = 1
    enable_priorities: bool = False
    # deduplication
    enable_dedup: bool = True
    dedup_strategy: DedupStrategyName | None = None  # None: "custom" if dedup_function is given, else default
    dedup_threshold: float = 0.98
    dedup_function: Callable[..., Any] | None = None
    dedup_timeout_ms: float = 1000.0  # a semantic strategy slower than this falls back to exact for the batch
    encoder: Any = None  # for embedding/hybrid: an object with encode(texts) (default: all-MiniLM-L6-v2)
    text_key: str = "query"
    text_fn: Callable[[Any], str] | None = None
    normalize: Callable[[str], str] = normalize_text
    # adaptive window
    adaptive: bool = False
    target_latency_ms: float = 50.0
    min_window_ms: float = 20.0
    max_window_ms: float = 200.0
    # accounting
    cost_per_request: float = 0.0

    def __post_init__(self) -> None:
        if self.max_wait_ms is None:
            longest = self.max_window_ms if self.adaptive is True else self.window_ms
            if isinstance(longest, (int, float)) and not isinstance(longest, bool):
                object.__setattr__(self, "max_wait_ms", max(_DEFAULT_MAX_WAIT_MS, float(longest)))
            else:
                object.__setattr__(self, "max_wait_ms", _DEFAULT_MAX_WAIT_MS)  # the type error comes below
        for name in ("window_ms", "max_wait_ms", "dedup_threshold", "target_latency_ms", "min_window_ms",
                     "max_window_ms", "cost_per_request", "dedup_timeout_ms"):
            _check_number(name, getattr(self, name))
        for name in ("max_size", "min_size", "max_queue_size", "max_concurrent_batches"):
            _check_number(name, getattr(self, name), integer=True)
        for name in ("enable_priorities", "enable_dedup", "adaptive"):
            _check_bool(name, getattr(self, name))
        if self.processing_timeout is not None:
            _check_number("processing_timeout", self.processing_timeout)
            if self.processing_timeout <= 0:
                raise ValueError(f"processing_timeout must be > 0 seconds or None, got {self.processing_timeout!r}")
        if not isinstance(self.text_key, str):
            raise TypeError(f"text_key must be a str, got {type(self.text_key).__name__} {self.text_key!r}")
        for name in ("text_fn", "dedup_function"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be callable or None, got {type(value).__name__} {value!r}")
        if not callable(self.normalize):
            raise TypeError(f"normalize must be a callable str -> str, got {self.normalize!r}")

        if self.window_ms < 0:
            raise ValueError(f"window_ms must be >= 0, got {self.window_ms!r}")
        if self.max_size < 1:
            raise ValueError(f"max_size must be >= 1, got {self.max_size!r}")
        if self.min_size < 1:
            raise ValueError(f"min_size must be >= 1, got {self.min_size!r}")
        if self.min_size > self.max_size:
            raise ValueError(f"min_size ({self.min_size!r}) must not exceed max_size ({self.max_size!r})")
        if self.max_wait_ms < self.window_ms:
            raise ValueError(f"max_wait_ms ({self.max_wait_ms!r}) must be >= window_ms ({self.window_ms!r})")
        if self.max_queue_size < self.max_size:
            raise ValueError(
                f"max_queue_size ({self.max_queue_size!r}) must be >= max_size ({self.max_size!r})")
        if self.max_concurrent_batches < 1:
            raise ValueError(f"max_concurrent_batches must be >= 1, got {self.max_concurrent_batches!r}")
        if not 0.0 < self.dedup_threshold <= 1.0:
            raise ValueError(f"dedup_threshold must be in (0, 1], got {self.dedup_threshold!r}")
        if self.dedup_timeout_ms <= 0:
            raise ValueError(f"dedup_timeout_ms must be > 0, got {self.dedup_timeout_ms!r}")
        if self.encoder is not None and not callable(getattr(self.encoder, "encode", None)):
            raise TypeError(f"encoder must have an encode(texts) method, got {type(self.encoder).__name__}")
        if self.cost_per_request < 0:
            raise ValueError(f"cost_per_request must be >= 0, got {self.cost_per_request!r}")
        if self.target_latency_ms <= 0:
            raise ValueError(f"target_latency_ms must be > 0, got {self.target_latency_ms!r}")
        if self.min_window_ms < 0:
            raise ValueError(f"min_window_ms must be >= 0, got {self.min_window_ms!r}")
        if self.min_window_ms > self.max_window_ms:
            raise ValueError(
                f"min_window_ms ({self.min_window_ms!r}) must not exceed max_window_ms ({self.max_window_ms!r})")

        strategy = self.dedup_strategy
        if strategy is None:
            strategy = "custom" if self.dedup_function is not None else DEFAULT_STRATEGY
            object.__setattr__(self, "dedup_strategy", strategy)
        if strategy not in DEDUP_STRATEGIES:
            raise ValueError(f"unknown dedup_strategy {strategy!r}; choose one of {', '.join(DEDUP_STRATEGIES)}")
        if strategy == "custom" and self.dedup_function is None:
            raise ValueError("dedup_strategy='custom' needs dedup_function=callable(req1, req2) -> float")
        if strategy != "custom" and self.dedup_function is not None:
            raise ValueError(f"dedup_function is only used with dedup_strategy='custom', got {strategy!r}")

    @classmethod
    def field_names(cls) -> frozenset[str]:
        """Names accepted as keywords by :class:`~batchsieve.BatchProcessor`."""
        return frozenset(f.name for f in fields(cls))
