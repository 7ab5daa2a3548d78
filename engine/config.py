"""Configuration of a :class:`~batchsieve.BatchProcessor`, validated at construction.

Every keyword of the product specification is a field here. Each field carries its own check (type and
bounds) beside it; the checks that relate two fields are in :meth:`BatchConfig._check_combinations`.
Wrong types raise ``TypeError``; impossible values (and impossible combinations) raise ``ValueError``
naming the offending value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from functools import partial
from typing import Any

from ._checks import check_bool, check_int, check_number, check_optional_callable, check_str
from .dedup.registry import DEDUP_STRATEGIES, DEFAULT_STRATEGY, DedupStrategyName
from .dedup.thresholds import default_threshold
from .normalize import normalize_text

__all__ = ["DEDUP_STRATEGIES", "DEFAULT_STRATEGY", "BatchConfig", "DedupStrategyName"]

_DEFAULT_MAX_WAIT_MS = 100.0  # the spec's latency bound when the window is shorter


def _check(check: Callable[..., Any], **bounds: Any) -> dict[str, Any]:
    """A field's metadata: its value is checked by ``check(name, value, **bounds)`` after construction."""
    return {"check": partial(check, **bounds)}


def _check_timeout(name: str, value: object) -> None:
    if value is not None:
        check_number(name, value)
        if value <= 0:
            raise ValueError(f"{name} must be > 0 seconds or None, got {value!r}")


def _check_budget(name: str, value: object) -> None:
    if value is not None:
        check_number(name, value, lo=0, lo_open=True)


def _check_threshold(name: str, value: object) -> None:
    if value is not None:
        check_number(name, value, lo=0, hi=1, lo_open=True)


def _check_encoder(name: str, value: object) -> None:
    if value is not None and not callable(getattr(value, "encode", None)):
        raise TypeError(f"{name} must have an encode(texts) method, got {type(value).__name__}")


def _check_normalize(name: str, value: object) -> None:
    if not callable(value):
        raise TypeError(f"{name} must be a callable str -> str, got {value!r}")


@dataclass(frozen=True, slots=True)
class BatchConfig:
    """All settings of a processor. Times named ``*_ms`` are milliseconds; ``processing_timeout`` is seconds.

    See the README's configuration table for the meaning of each field.
    """

    # collection
    #: how long a window collects requests
    window_ms: float = field(default=50.0, metadata=_check(check_number, lo=0))
    #: at most this many unique requests per handler call
    max_size: int = field(default=32, metadata=_check(check_int, lo=1))
    #: a window waits for this many (max_wait still bounds it)
    min_size: int = field(default=1, metadata=_check(check_int, lo=1))
    #: None: 100 ms, or the (max) window if longer
    max_wait_ms: float | None = field(default=None, metadata=_check(check_number, lo=0))
    #: seconds per handler call; None: no limit
    processing_timeout: float | None = field(default=30.0, metadata=_check(_check_timeout))
    #: waiting caller requests before QueueFullError
    max_queue_size: int = field(default=10_000, metadata=_check(check_int, lo=1))
    #: None: batches sized by count only; else the most total cost (cost_fn) per handler call
    max_batch_cost: float | None = field(default=None, metadata=_check(_check_budget))
    #: request -> cost (a number >= 0); None: the request's text length in characters
    cost_fn: Callable[[Any], float] | None = field(default=None, metadata=_check(check_optional_callable))
    #: a dispatch takes requests of similar cost together (max_wait still bounds every request)
    bucket_by_cost: bool = field(default=False, metadata=_check(check_bool))
    #: handler calls in flight at once
    max_concurrent_batches: int = field(default=1, metadata=_check(check_int, lo=1))
    #: dispatch higher priority first
    enable_priorities: bool = field(default=False, metadata=_check(check_bool))
    # deduplication
    #: False: every request gets its own handler slot
    enable_dedup: bool = field(default=True, metadata=_check(check_bool))
    #: None: "custom" if dedup_function is given, else default
    dedup_strategy: DedupStrategyName | None = None
    #: cosine for a merge; None: the strategy's calibrated default (batchsieve.dedup.thresholds)
    dedup_threshold: float | None = field(default=None, metadata=_check(_check_threshold))
    #: custom similarity
    dedup_function: Callable[..., Any] | None = field(default=None, metadata=_check(check_optional_callable))
    #: texts longer than this (characters) take part in exact dedup only: the encoder and the verifier never
    #: see a huge text (an encoder truncates at its token limit anyway, and hybrid refuses truncated texts)
    dedup_max_chars: int = field(default=2048, metadata=_check(check_int, lo=1))
    #: slower: exact for the batch
    dedup_timeout_ms: float = field(default=1000.0, metadata=_check(check_number, lo=0, lo_open=True))
    #: object with encode(texts) (default: all-MiniLM-L6-v2)
    encoder: Any = field(default=None, metadata=_check(_check_encoder))
    #: where a dict request keeps its text
    text_key: str = field(default="query", metadata=_check(check_str))
    #: request -> text
    text_fn: Callable[[Any], str] | None = field(default=None, metadata=_check(check_optional_callable))
    #: the exact-match form
    normalize: Callable[[str], str] = field(default=normalize_text, metadata=_check(_check_normalize))
    # seeing and auditing merges (batchsieve._merges)
    #: share of merges whose duplicate also gets its own handler slot, its answer compared with the shared one
    #: (1%: a disagreement rate worth reading within a few thousand merges, for 1% of the calls dedup saves)
    audit_rate: float = field(default=0.01, metadata=_check(check_number, lo=0, hi=1))
    #: answers_equal(representative_answer, own_answer) -> bool for the audit; None: ==
    answers_equal: Callable[[Any, Any], Any] | None = field(default=None, metadata=_check(check_optional_callable))
    #: on_merge(representative, duplicate, info: MergeInfo), called for every merge a batch decides
    on_merge: Callable[[Any, Any, Any], Any] | None = field(default=None, metadata=_check(check_optional_callable))
    # adaptive window
    #: learn the window from measured latency
    adaptive: bool = field(default=False, metadata=_check(check_bool))
    #: the p95 the window aims at
    target_latency_ms: float = field(default=50.0, metadata=_check(check_number, lo=0, lo_open=True))
    #: the learned window's lower bound
    min_window_ms: float = field(default=20.0, metadata=_check(check_number, lo=0))
    #: the learned window's upper bound (>= min_window_ms)
    max_window_ms: float = field(default=200.0, metadata=_check(check_number))
    # accounting
    #: for the stats' estimated savings
    cost_per_request: float = field(default=0.0, metadata=_check(check_number, lo=0))

    def __post_init__(self) -> None:
        if self.max_wait_ms is None:
            longest = self.max_window_ms if self.adaptive is True else self.window_ms
            if isinstance(longest, (int, float)) and not isinstance(longest, bool):
                object.__setattr__(self, "max_wait_ms", max(_DEFAULT_MAX_WAIT_MS, float(longest)))
            else:
                object.__setattr__(self, "max_wait_ms", _DEFAULT_MAX_WAIT_MS)  # the type error comes below
        for f in fields(self):
            check = f.metadata.get("check")
            if check is not None:
                check(f.name, getattr(self, f.name))
        if self.dedup_strategy is None:
            object.__setattr__(self, "dedup_strategy",
                               "custom" if self.dedup_function is not None else DEFAULT_STRATEGY)
        if self.dedup_threshold is None:  # the strategy's calibrated default; an explicit value always wins
            object.__setattr__(self, "dedup_threshold", default_threshold(self.dedup_strategy))
        self._check_combinations()

    def _check_combinations(self) -> None:
        """The checks that relate two or more fields."""
        if self.min_size > self.max_size:
            raise ValueError(f"min_size ({self.min_size!r}) must not exceed max_size ({self.max_size!r})")
        if self.max_wait_ms < self.window_ms:
            raise ValueError(f"max_wait_ms ({self.max_wait_ms!r}) must be >= window_ms ({self.window_ms!r})")
        if self.max_queue_size < self.max_size:
            raise ValueError(
                f"max_queue_size ({self.max_queue_size!r}) must be >= max_size ({self.max_size!r})")
        if self.min_window_ms > self.max_window_ms:
            raise ValueError(
                f"min_window_ms ({self.min_window_ms!r}) must not exceed max_window_ms ({self.max_window_ms!r})")
        if self.cost_fn is not None and not self.costed:
            raise ValueError("cost_fn is only used with max_batch_cost= or bucket_by_cost=True")
        strategy = self.dedup_strategy
        if strategy not in DEDUP_STRATEGIES:
            raise ValueError(f"unknown dedup_strategy {strategy!r}; choose one of {', '.join(DEDUP_STRATEGIES)}")
        if strategy == "custom" and self.dedup_function is None:
            raise ValueError("dedup_strategy='custom' needs dedup_function=callable(req1, req2) -> float")
        if strategy != "custom" and self.dedup_function is not None:
            raise ValueError(f"dedup_function is only used with dedup_strategy='custom', got {strategy!r}")

    @property
    def costed(self) -> bool:
        """Whether each request's cost is computed at intake (a cost budget or bucketing is on)."""
        return self.max_batch_cost is not None or self.bucket_by_cost

    @classmethod
    def field_names(cls) -> frozenset[str]:
        """Names accepted as keywords by :class:`~batchsieve.BatchProcessor`."""
        return frozenset(f.name for f in fields(cls))
